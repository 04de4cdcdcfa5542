"""install, upgrade, manifest diff, tag set and uninstall end to end against a fake API server with
simulated controllers (Deployments and DaemonSets become ready, CRDs established)."""

from __future__ import annotations

import json

import pytest

from meshctl.mesh import labels as L
from tests.install.conftest import fake_cluster


@pytest.fixture
def cluster(tmp_path, cli, release_files):
    with fake_cluster(tmp_path) as (kube, kc):
        def run(*args):
            return cli(*args, "--kubeconfig", str(kc), "--artifacts", str(release_files))

        def plain(*args):
            return cli(*args, "--kubeconfig", str(kc))

        yield kube, run, plain


def deployment(kube, name="istiod"):
    return kube.get_object("deployments.apps", name, "istio-system")


def test_install_applies_everything_and_waits(cluster):
    kube, run, _ = cluster
    result = run("install", "-y", "--readiness-timeout", "20s")
    assert result.code == 0, result.err
    assert "Installed:" in result.err and "ready:" in result.err
    istiod = deployment(kube)
    assert istiod["metadata"]["labels"][L.MANAGED_BY] == "meshctl"
    assert istiod["status"]["readyReplicas"] == 1
    assert kube.get_object("daemonsets.apps", "ztunnel", "istio-system") is not None
    assert kube.get_object("daemonsets.apps", "istio-cni-node", "istio-system") is not None
    assert kube.get_object("customresourcedefinitions.apiextensions.k8s.io",
                           "destinationrules.networking.istio.io") is not None
    assert kube.get_object("mutatingwebhookconfigurations.admissionregistration.k8s.io",
                           "istio-revision-tag-default") is not None
    # the values the user gave are kept in the cluster for upgrades
    values = kube.get_object("configmaps", "values", "istio-system")
    assert "original-values" in values["data"]


def test_second_install_changes_nothing(cluster):
    kube, run, _ = cluster
    assert run("install", "-y").code == 0
    before = kube.resource_version
    again = run("install", "-y")
    assert again.code == 0, again.err
    assert "Already up to date" in again.err
    assert kube.resource_version == before


def test_dry_run_prints_the_plan_and_changes_nothing(cluster):
    kube, run, _ = cluster
    result = run("install", "--dry-run")
    assert result.code == 0, result.err
    assert "+ create    Deployment istio-system/istiod" in result.out
    assert "Plan:" in result.out
    assert deployment(kube) is None


def test_install_needs_confirmation_without_a_terminal(cluster):
    kube, run, _ = cluster
    result = run("install")
    assert result.code == 2 and "-y" in result.err
    assert deployment(kube) is None


def test_objects_of_another_tool_stop_the_install_unless_forced(cluster):
    kube, run, _ = cluster
    kube.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}})
    kube.add({"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "istio", "namespace": "istio-system", "labels": {L.MANAGED_BY: "Helm"}},
              "data": {"mesh": "{}"}})
    result = run("install", "-y")
    assert result.code == 1 and "managed by Helm" in result.err
    assert deployment(kube) is None
    forced = run("install", "-y", "--force")
    assert forced.code == 0, forced.err
    cm = kube.get_object("configmaps", "istio", "istio-system")
    assert cm["metadata"]["labels"][L.MANAGED_BY] == "meshctl"


def test_changed_values_update_and_a_smaller_profile_prunes(cluster):
    kube, run, _ = cluster
    assert run("install", "-y").code == 0
    changed = run("install", "-y", "--set", "values.pilot.env.PILOT_TRACE_SAMPLING=5")
    assert changed.code == 0, changed.err
    env = deployment(kube)["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "PILOT_TRACE_SAMPLING", "value": "5"} in env
    minimal = run("install", "-y", "--profile", "minimal")
    assert minimal.code == 0, minimal.err
    assert "delete" in minimal.err
    assert kube.get_object("daemonsets.apps", "ztunnel", "istio-system") is None
    assert kube.get_object("daemonsets.apps", "istio-cni-node", "istio-system") is None
    assert deployment(kube) is not None


def test_manifest_diff_against_the_cluster(cluster):
    kube, run, _ = cluster
    assert run("install", "-y").code == 0
    same = run("manifest", "diff")
    assert same.code == 0 and same.out == "", same.err
    differs = run("manifest", "diff", "--set", "values.pilot.env.PILOT_TRACE_SAMPLING=7")
    assert differs.code == 1
    assert "+" in differs.out and "PILOT_TRACE_SAMPLING" in differs.out


def test_upgrade_keeps_values_and_checks_the_version_step(cluster):
    kube, run, _ = cluster
    assert run("install", "-y", "--istio-version", "1.29.8",
               "--set", "values.global.meshID=mesh1").code == 0
    skip = run("upgrade", "-y", "--istio-version", "1.31")
    assert skip.code == 1 and "one minor version at a time" in skip.err
    up = run("upgrade", "-y", "--istio-version", "1.30.3")
    assert up.code == 0, up.err
    image = deployment(kube)["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.endswith(":1.30.3-distroless")
    mesh = kube.get_object("configmaps", "istio", "istio-system")["data"]["mesh"]
    assert "mesh1" in mesh  # the meshID given at install time was kept


def test_canary_revision_tag_move_and_uninstall(cluster):
    kube, run, plain = cluster
    assert run("install", "-y").code == 0
    canary = run("install", "-y", "--revision", "canary")
    assert canary.code == 0, canary.err
    assert deployment(kube, "istiod-canary") is not None
    listed = json.loads(plain("tag", "list", "-o", "json").out)
    assert [(t["tag"], t["revision"]) for t in listed] == [("default", "default")]
    refused = plain("tag", "set", "default", "--revision", "canary", "-y")
    assert refused.code == 1 and "--overwrite" in refused.err
    moved = plain("tag", "set", "default", "--revision", "canary", "--overwrite", "-y")
    assert moved.code == 0, moved.err
    listed = json.loads(plain("tag", "list", "-o", "json").out)
    assert [(t["tag"], t["revision"]) for t in listed] == [("default", "canary")]
    # ztunnel and istio-cni still follow default (test_shared_dataplane.py): move them, then remove default
    assert run("upgrade", "--revision", "canary", "--components", "cni,ztunnel", "-y").code == 0
    gone = plain("uninstall", "--revision", "default", "-y")
    assert gone.code == 0, gone.err
    assert deployment(kube) is None and deployment(kube, "istiod-canary") is not None
    assert kube.get_object("daemonsets.apps", "ztunnel", "istio-system") is not None  # canary still needs it


def test_uninstall_purge_after_install_leaves_only_the_namespace(cluster):
    kube, run, plain = cluster
    assert run("install", "-y").code == 0
    result = plain("uninstall", "--purge", "-y")
    assert result.code == 0, result.err
    assert kube.objects("deployments.apps", "istio-system") == []
    assert kube.objects("daemonsets.apps", "istio-system") == []
    assert kube.get_object("customresourcedefinitions.apiextensions.k8s.io",
                           "destinationrules.networking.istio.io") is None
    assert kube.get_object("namespaces", "istio-system") is not None


def test_uninstall_purge_waits_for_crds_and_names_what_a_finalizer_holds(cluster):
    kube, run, plain = cluster
    assert run("install", "-y").code == 0
    kube.add({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
              "metadata": {"name": "held", "namespace": "default", "finalizers": ["example.com/audit"]},
              "spec": {"host": "x"}})
    result = plain("uninstall", "--purge", "-y", "--timeout", "1s")
    assert result.code == 1
    assert "waiting for the cluster to remove" in result.err
    assert ("customresourcedefinition destinationrules.networking.istio.io "
            "(held by finalizer customresourcecleanup.apiextensions.k8s.io)") in result.err
    # once the finalizer's controller lets go, running again finishes the job
    dr = kube.get_object("destinationrules.networking.istio.io", "held", "default")
    kube.add({**dr, "metadata": {**dr["metadata"], "finalizers": []}})
    kube.delete_object("destinationrules.networking.istio.io", "held", "default")
    again = plain("uninstall", "--purge", "-y")
    assert again.code == 0, again.err
    assert kube.get_object("customresourcedefinitions.apiextensions.k8s.io",
                           "destinationrules.networking.istio.io") is None


def test_failed_precheck_stops_before_any_change(cluster):
    kube, run, _ = cluster
    kube.version = dict(kube.version, minor="29", gitVersion="v1.29.0")
    result = run("install", "-y")
    assert result.code == 1 and "precheck" in result.err
    assert deployment(kube) is None


@pytest.mark.parametrize("fault", [{"status": 500}, {"drop": True}, {"status": 429}])
def test_transient_faults_mid_apply_are_retried(cluster, fault):
    kube, run, _ = cluster
    kube.faults.add(**fault, times=1, method="PATCH", path="/apis/apps/v1/namespaces/istio-system/deployments/istiod")
    result = run("install", "-y")
    assert result.code == 0, result.err
    assert len(kube.faults) == 0  # the fault was met, and the apply sent again
    assert deployment(kube)["status"]["readyReplicas"] == 1


def test_a_persistent_server_error_stops_with_a_clear_message_and_a_rerun_completes(cluster):
    kube, run, _ = cluster
    kube.faults.add(503, times=None, method="PATCH", path="/apis/apps/v1/namespaces/istio-system/daemonsets/ztunnel")
    failed = run("install", "-y")
    assert failed.code == 69 and "ztunnel" in failed.err and "Traceback" not in failed.err
    kube.faults.clear()
    again = run("install", "-y")
    assert again.code == 0, again.err
    assert kube.get_object("daemonsets.apps", "ztunnel", "istio-system") is not None


def test_readiness_timeout_exits_1_naming_what_is_not_ready(cluster):
    kube, run, _ = cluster
    kube.controllers.discard("deployments")
    result = run("install", "-y", "--readiness-timeout", "1s")
    assert result.code == 1
    assert "Pilot not ready after 1s: Deployment istio-system/istiod" in result.err
    assert "no pods yet" in result.err  # the explanation, shown above the error


def test_a_cluster_that_stops_answering_during_the_precheck_is_69_not_1(cluster):
    kube, run, _ = cluster
    kube.faults.add(503, times=None, method="GET", path=r"^/apis?(/|$)", retry_after=0)
    result = run("install", "-y")
    assert result.code == 69, result.err
    assert "precheck could not read the cluster" in result.err and "kept failing" in result.err
    assert deployment(kube) is None
    result = run("install", "-y", "--force")  # --force passes failed checks, never an unanswering cluster
    assert result.code == 69 and deployment(kube) is None


def test_reinstall_keeps_fields_other_managers_set(cluster, tmp_path):
    """`kubectl scale` (replicas under istiod's HPA) and `kubectl label` are Update managers: an
    install that does not render those fields leaves them alone and has nothing to change."""
    from tests.fakekube.pyclient import api_client, call

    kube, run, _ = cluster
    assert run("install", "-y").code == 0
    api = api_client(kube)
    try:
        path = "/apis/apps/v1/namespaces/istio-system/deployments/istiod"
        r = call(api, "PATCH", path, body={"spec": {"replicas": 3}, "metadata": {"labels": {"team": "mesh"}}},
                 content_type="application/merge-patch+json", query={"fieldManager": "kubectl"})
        assert r.status == 200, r.body
    finally:
        api.close()
    before = kube.resource_version
    again = run("install", "-y")
    assert again.code == 0, again.err
    assert "Already up to date" in again.err
    istiod = deployment(kube)
    assert istiod["spec"]["replicas"] == 3 and istiod["metadata"]["labels"]["team"] == "mesh"
    assert kube.resource_version == before
