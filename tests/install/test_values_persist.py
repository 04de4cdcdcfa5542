"""A re-run of install or upgrade keeps the values the last install stored in the cluster; the value
changes come first; dropping a value that identifies the cluster in its mesh needs --force (issue 15,
item 2)."""

from __future__ import annotations

from tests.install.test_install_cli import cluster  # noqa: F401 (the fixture)

IDENTITY = ("--set", "values.global.meshID=mesh1", "--set", "values.global.network=net1",
            "--set", "values.global.multiCluster.clusterName=east")


def mesh_config(kube) -> str:
    return kube.get_object("configmaps", "istio", "istio-system")["data"]["mesh"]


def test_a_plain_rerun_keeps_every_stored_value_and_changes_nothing(cluster):
    kube, run, _ = cluster
    assert run("install", "-y", *IDENTITY).code == 0
    before = kube.resource_version
    again = run("install", "-y")
    assert again.code == 0, again.err
    assert "Already up to date" in again.err and "Values changed" not in again.err
    assert kube.resource_version == before
    assert "mesh1" in mesh_config(kube)
    up = run("upgrade", "-y")
    assert up.code == 0, up.err
    assert kube.resource_version == before


def test_value_changes_are_listed_before_the_plan(cluster):
    kube, run, _ = cluster
    assert run("install", "-y", *IDENTITY).code == 0
    r = run("install", "-y", "--set", "values.pilot.env.EXTRA=on")
    assert r.code == 0, r.err
    assert "Values changed since the last install:\n  values.pilot.env.EXTRA: (unset) → 'on'" in r.err
    assert r.err.index("Values changed") < r.err.index("Installed:")
    assert "mesh1" in mesh_config(kube)  # the stored values stayed underneath


def test_dropping_a_cluster_identity_value_needs_force(cluster):
    kube, run, _ = cluster
    assert run("install", "-y", *IDENTITY).code == 0
    before = kube.resource_version
    refused = run("install", "-y", "--reset-values")
    assert refused.code == 1
    assert "values.global.meshID would be dropped (it was 'mesh1')" in refused.err
    assert "--set values.global.meshID=mesh1" in refused.err
    assert kube.resource_version == before  # nothing was applied
    changed = run("install", "-y", "--set", "values.global.network=net2")  # set anew: the user's intent
    assert changed.code == 0, changed.err
    assert "values.global.network: 'net1' → 'net2'" in changed.err
    forced = run("install", "-y", "--reset-values", "--force")
    assert forced.code == 0, forced.err
    assert "values.global.meshID: 'mesh1' → (unset)" in forced.err
    assert "mesh1" not in mesh_config(kube)


def test_manifest_diff_renders_what_install_would(cluster):
    kube, run, _ = cluster
    assert run("install", "-y", *IDENTITY).code == 0
    same = run("manifest", "diff")
    assert same.code == 0 and same.out == "", same.out + same.err  # the stored values, as install re-uses them
    reset = run("manifest", "diff", "--reset-values")
    assert reset.code == 1
    assert "values.global.meshID: 'mesh1' → (unset)" in reset.err and "mesh1" in reset.out
