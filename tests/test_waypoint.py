"""``meshctl waypoint``: generate, apply, list, status and delete, offline and against the fake API server."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import DEMO
from tests.fakekube import FakeKube, seed_from_snapshot, write_kubeconfig

GATEWAY_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gateways.gateway.networking.k8s.io"},
    "spec": {"group": "gateway.networking.k8s.io", "scope": "Namespaced",
             "names": {"kind": "Gateway", "plural": "gateways"},
             "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}}}]},
}
WAYPOINT = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "Gateway",
    "metadata": {"name": "waypoint", "namespace": "apps"},
    "spec": {"gatewayClassName": "istio-waypoint", "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}]},
}


def namespace(name: str, **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def gateway(name: str, ns: str = "apps", cls: str = "istio-waypoint", **labels: str) -> dict:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"gatewayClassName": cls, "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}]}}


@pytest.fixture
def cluster(tmp_path):
    """A fake cluster with the Gateway API CRD, an ambient namespace ``apps``, and controllers that
    make Gateways Programmed; yields (kube, run) where run(*args) runs meshctl against it."""
    kube = FakeKube(name="c1", controllers=True)
    with kube:
        kube.add(GATEWAY_CRD)
        kube.add(namespace("apps", **{"istio.io/dataplane-mode": "ambient"}))
        kc = write_kubeconfig(tmp_path / "kc.yaml", [kube])
        yield kube, kc


@pytest.fixture
def run(cli, cluster):
    kube, kc = cluster

    def invoke(*args: str):
        return cli("waypoint", *args, "--kubeconfig", str(kc))

    return invoke


def stored(kube: FakeKube, name: str = "waypoint", ns: str = "apps") -> dict | None:
    return kube.get_object("gateways.gateway.networking.k8s.io", name, ns)


def ns_labels(kube: FakeKube, name: str = "apps") -> dict:
    """A namespace's labels, less the one the API server sets on every namespace."""
    labels = kube.get_object("namespaces", name)["metadata"].get("labels") or {}
    return {k: v for k, v in labels.items() if k != "kubernetes.io/metadata.name"}


# -- generate ---------------------------------------------------------------------------------------


def test_generate_golden(cli, golden):
    r = cli("waypoint", "generate", "-n", "bookinfo", "--for", "service", "-r", "canary")
    assert (r.code, r.err) == (0, "")
    golden("waypoint-generate.txt", r.out)


def test_generate_defaults_are_istioctls_shape(cli):
    r = cli("waypoint", "generate")
    assert r.code == 0
    assert yaml.safe_load(r.out) == {**WAYPOINT, "metadata": {"name": "waypoint", "namespace": "default"}}


@pytest.mark.parametrize("args, text", [
    (("--for", "pods"), "--for 'pods' is not one of: service, workload, all, none"),
    (("--name", "none"), "'none' cannot name a waypoint"),
    (("--name", "Bad_Name"), "invalid waypoint name 'Bad_Name'"),
])
def test_generate_rejects_bad_flags(cli, args, text):
    r = cli("waypoint", "generate", *args)
    assert r.code == 2 and r.out == ""
    assert text in r.err and "Hint:" in r.err


# -- apply ------------------------------------------------------------------------------------------


def test_apply_creates_the_exact_gateway(run, cluster):
    kube, _ = cluster
    r = run("apply", "-n", "apps", "--for", "workload", "-r", "canary")
    assert (r.code, r.out) == (0, "waypoint apps/waypoint created\n"), r.err
    gw = stored(kube)
    assert gw["metadata"]["labels"] == {"istio.io/waypoint-for": "workload", "istio.io/rev": "canary"}
    assert gw["spec"] == WAYPOINT["spec"]
    assert gw["apiVersion"] == "gateway.networking.k8s.io/v1"
    managers = {m["manager"] for m in gw["metadata"].get("managedFields") or []}
    assert "meshctl" in managers


def test_apply_twice_is_idempotent(run, cluster):
    kube, _ = cluster
    assert run("apply", "-n", "apps", "--enroll-namespace").code == 0
    first, labels = stored(kube), ns_labels(kube)
    r = run("apply", "-n", "apps", "--enroll-namespace")
    assert r.code == 0, r.err
    assert r.out == ("waypoint apps/waypoint unchanged\n"
                     "namespace apps already uses waypoint waypoint (unchanged)\n")
    again = stored(kube)
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert ns_labels(kube) == labels


def test_apply_with_a_new_flag_reports_configured(run, cluster):
    kube, _ = cluster
    assert run("apply", "-n", "apps").code == 0
    r = run("apply", "-n", "apps", "--for", "all")
    assert (r.code, r.out) == (0, "waypoint apps/waypoint configured\n")
    assert stored(kube)["metadata"]["labels"] == {"istio.io/waypoint-for": "all"}


def test_apply_uses_the_contexts_namespace(cli, cluster):
    kube, kc = cluster
    text = kc.read_text().replace("namespace: default", "namespace: apps")
    kc.write_text(text)
    r = cli("waypoint", "apply", "--kubeconfig", str(kc))
    assert (r.code, r.out) == (0, "waypoint apps/waypoint created\n"), r.err


def test_enroll_namespace_labels_it(run, cluster):
    kube, _ = cluster
    r = run("apply", "-n", "apps", "--name", "wp1", "--enroll-namespace")
    assert r.code == 0, r.err
    assert r.out == "waypoint apps/wp1 created\nnamespace apps labelled istio.io/use-waypoint=wp1\n"
    assert ns_labels(kube) == {"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "wp1"}
    assert r.err == ""


def test_enroll_warns_when_the_namespace_is_not_ambient(run, cluster):
    kube, _ = cluster
    kube.add(namespace("plain"))
    r = run("apply", "-n", "plain", "--enroll-namespace")
    assert r.code == 0
    assert "Warning: namespace plain is not enrolled in ambient" in r.err
    assert ns_labels(kube, "plain") == {"istio.io/use-waypoint": "waypoint"}


def test_enroll_conflict_fails_with_a_hint_and_writes_nothing(run, cluster):
    kube, _ = cluster
    kube.add(namespace("apps", **{"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "other"}))
    r = run("apply", "-n", "apps", "--enroll-namespace")
    assert r.code == 1 and r.out == ""
    assert "Error: namespace apps already uses waypoint other (istio.io/use-waypoint=other)" in r.err
    assert "Hint: add --overwrite" in r.err
    assert stored(kube) is None  # refused before anything was applied
    assert ns_labels(kube)["istio.io/use-waypoint"] == "other"


def test_overwrite_replaces_the_namespaces_waypoint(run, cluster):
    kube, _ = cluster
    kube.add(namespace("apps", **{"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "other",
                                  "istio.io/use-waypoint-namespace": "shared"}))
    r = run("apply", "-n", "apps", "--enroll-namespace", "--overwrite")
    assert r.code == 0, r.err
    assert r.out.splitlines()[-1] == "namespace apps labelled istio.io/use-waypoint=waypoint (was shared/other)"
    assert ns_labels(kube) == {"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"}


def test_apply_without_gateway_api_names_the_install_command(cli, tmp_path):
    with FakeKube(name="bare", controllers=True) as kube:
        kube.add(namespace("apps"))
        kc = write_kubeconfig(tmp_path / "kc.yaml", [kube])
        r = cli("waypoint", "apply", "-n", "apps", "--kubeconfig", str(kc))
    assert r.code == 1 and r.out == ""
    assert "Gateway.gateway.networking.k8s.io is not available" in r.err
    assert "meshctl install --gateway-api -y (add --artifacts DIR|BUNDLE where there is no network)" in r.err
    assert cli("install", "--gateway-api", "-y", "--help").code == 0  # the hinted flags exist


def test_apply_into_a_missing_namespace_fails_clearly(run):
    r = run("apply", "-n", "nowhere")
    assert r.code == 1
    assert "cannot apply Gateway nowhere/waypoint" in r.err and "create the namespace" in r.err


def test_apply_refuses_to_take_over_another_gateway(run, cluster):
    kube, _ = cluster
    kube.add(gateway("waypoint", cls="istio"))
    r = run("apply", "-n", "apps")
    assert r.code == 1
    assert "exists with class 'istio', not 'istio-waypoint'" in r.err
    assert stored(kube)["spec"]["gatewayClassName"] == "istio"


def test_wait_succeeds_when_programmed(run, cluster):
    kube, _ = cluster
    r = run("apply", "-n", "apps", "--wait", "--enroll-namespace")
    assert r.code == 0, r.err
    assert r.out == ("waypoint apps/waypoint created\nwaypoint apps/waypoint is programmed\n"
                     "namespace apps labelled istio.io/use-waypoint=waypoint\n")


def test_wait_times_out_with_the_condition_message(cli, tmp_path):
    with FakeKube(name="c1", controllers={"crds"}) as kube:
        kube.add(GATEWAY_CRD)
        kube.add(namespace("apps", **{"istio.io/dataplane-mode": "ambient"}))
        stuck = dict(WAYPOINT, status={"conditions": [
            {"type": "Programmed", "status": "False", "reason": "Invalid", "observedGeneration": 1,
             "message": "no istiod revision 'canary'", "lastTransitionTime": "2026-01-01T00:00:00Z"}]})
        kube.add(stuck)
        kc = write_kubeconfig(tmp_path / "kc.yaml", [kube])
        r = cli("waypoint", "apply", "-n", "apps", "--wait", "--timeout", "2", "--enroll-namespace",
                "--kubeconfig", str(kc))
        labels = ns_labels(kube)
    assert r.code == 1
    assert r.out == "waypoint apps/waypoint unchanged\n"
    assert "Error: Gateway apps/waypoint not ready after 2s: Programmed=False (Invalid: no istiod revision 'canary')" in r.err
    assert "Hint: see 'meshctl waypoint status -n apps'" in r.err
    assert "istio.io/use-waypoint" not in labels  # not enrolled onto a waypoint that is not ready


def test_wait_times_out_when_nothing_reports_status(cli, tmp_path):
    with FakeKube(name="c1", controllers={"crds"}) as kube:
        kube.add(GATEWAY_CRD)
        kube.add(namespace("apps"))
        kc = write_kubeconfig(tmp_path / "kc.yaml", [kube])
        r = cli("waypoint", "apply", "-n", "apps", "-w", "--waypoint-timeout", "1s", "--kubeconfig", str(kc))
    assert r.code == 1
    assert "not ready after 1s: no Programmed condition reported yet" in r.err


def test_bad_timeout_is_a_usage_error(cli):
    r = cli("waypoint", "apply", "--timeout", "soon")
    assert r.code == 2 and "--timeout 'soon' is not a duration" in r.err


def test_dry_run_changes_nothing(run, cluster):
    kube, _ = cluster
    before = kube.resource_version
    r = run("apply", "-n", "apps", "--enroll-namespace", "--wait", "--dry-run")
    assert r.code == 0, r.err
    assert r.out == ("waypoint apps/waypoint created (dry run)\n"
                     "namespace apps labelled istio.io/use-waypoint=waypoint (dry run)\n")
    assert stored(kube) is None and "istio.io/use-waypoint" not in ns_labels(kube)
    assert kube.resource_version == before
    kube.add(WAYPOINT)
    before = kube.resource_version
    r = run("delete", "waypoint", "-n", "apps", "--dry-run")
    assert (r.code, r.out) == (0, "waypoint apps/waypoint deleted (dry run)\n")
    assert stored(kube) is not None and kube.resource_version == before


def test_write_commands_refuse_offline_sources(cli):
    r = cli("waypoint", "apply", "--snapshot", str(DEMO))
    assert r.code == 2 and "No such option" in r.err


# -- list and status ---------------------------------------------------------------------------------


def test_list_demo_snapshot_golden(cli, golden):
    r = cli("waypoint", "list", "--snapshot", str(DEMO))
    assert (r.code, r.err) == (0, "")
    golden("waypoint-list-demo.txt", r.out)


def test_list_one_snapshot_cluster_golden(cli, golden):
    r = cli("waypoint", "list", "--snapshot", str(DEMO), "--context", "cluster1", "-A")
    assert r.code == 0
    golden("waypoint-list-demo-cluster1.txt", r.out)


def test_status_demo_snapshot_golden(cli, golden):
    r = cli("waypoint", "status", "--snapshot", str(DEMO), "--context", "cluster1")
    assert (r.code, r.err) == (0, "")
    golden("waypoint-status-demo-cluster1.txt", r.out)


def test_list_json_and_yaml_are_data(cli):
    r = cli("waypoint", "list", "--snapshot", str(DEMO), "--context", "cluster2", "-o", "json")
    data = json.loads(r.out)
    assert [(w["cluster"], w["namespace"], w["name"], w["programmed"], w["trafficType"]) for w in data] == [
        ("cluster2", "bookinfo", "waypoint", "True", "service")]
    assert yaml.safe_load(cli("waypoint", "list", "--snapshot", str(DEMO), "--context", "cluster2",
                              "-o", "yaml").out) == data


def test_list_in_a_namespace_without_waypoints(cli):
    r = cli("waypoint", "list", "--snapshot", str(DEMO), "-n", "llm")
    assert (r.code, r.out, r.err) == (0, "", "No waypoints found in namespace llm.\n")
    assert cli("waypoint", "list", "--snapshot", str(DEMO), "-n", "llm", "-o", "json").out == "[]\n"


def test_list_from_files(cli, tmp_path):
    manifest = tmp_path / "wp.yaml"
    manifest.write_text(yaml.safe_dump_all([gateway("wp", "apps", **{"istio.io/rev": "canary"}),
                                            gateway("ingress", "apps", cls="istio")]))
    r = cli("waypoint", "list", "-f", str(manifest))
    assert r.code == 0
    assert r.out.splitlines() == ["NAMESPACE   NAME   REVISION   TRAFFIC TYPE   PROGRAMMED",
                                  "apps        wp     canary     service        Unknown"]
    r = cli("waypoint", "status", "-f", str(manifest))
    assert r.out.splitlines()[1].split()[:3] == ["apps", "wp", "Unknown"]


def test_list_parity_snapshot_and_live(cli, tmp_path):
    offline = cli("waypoint", "list", "--snapshot", str(DEMO), "--context", "cluster1", "-A")
    offline_status = cli("waypoint", "status", "--snapshot", str(DEMO), "--context", "cluster1", "-n", "bookinfo")
    with FakeKube(name="cluster1") as kube:
        report = seed_from_snapshot(kube, DEMO / "cluster1")
        assert report.loaded > 0
        kc = write_kubeconfig(tmp_path / "kc.yaml", [kube])
        live = cli("waypoint", "list", "--kubeconfig", str(kc), "-A")
        live_status = cli("waypoint", "status", "--kubeconfig", str(kc), "-n", "bookinfo")
    assert live.code == 0 and live.out == offline.out
    assert live_status.code == 0 and live_status.out == offline_status.out


def test_live_list_reads_the_contexts_namespace(run, cluster):
    kube, _ = cluster
    kube.add(gateway("wp", "default"))
    kube.add(gateway("other", "apps"))
    r = run("list")
    assert [line.split()[:2] for line in r.out.splitlines()[1:]] == [["default", "wp"]]


def test_status_after_apply_shows_each_condition(run):
    assert run("apply", "-n", "apps").code == 0
    r = run("status", "-n", "apps")
    assert r.code == 0
    rows = [line.split()[:4] for line in r.out.splitlines()[1:]]
    assert rows == [["apps", "waypoint", "True", "Accepted"], ["apps", "waypoint", "True", "Programmed"]]


def test_list_without_gateway_api_says_so(cli, tmp_path):
    with FakeKube(name="bare") as kube:
        kc = write_kubeconfig(tmp_path / "kc.yaml", [kube])
        r = cli("waypoint", "list", "-A", "--kubeconfig", str(kc))
    assert r.code == 1 and "meshctl install --gateway-api -y" in r.err


# -- delete -----------------------------------------------------------------------------------------


def test_delete_one(run, cluster):
    kube, _ = cluster
    kube.add(gateway("wp1"))
    kube.add(gateway("wp2"))
    r = run("delete", "wp1", "-n", "apps")
    assert (r.code, r.out) == (0, "waypoint apps/wp1 deleted\n"), r.err
    assert stored(kube, "wp1") is None and stored(kube, "wp2") is not None


def test_delete_all_leaves_other_gateways(run, cluster):
    kube, _ = cluster
    for name in ("wp1", "wp2"):
        kube.add(gateway(name))
    kube.add(gateway("ingress", cls="istio"))
    r = run("delete", "--all", "-n", "apps")
    assert (r.code, r.out) == (0, "waypoint apps/wp1 deleted\nwaypoint apps/wp2 deleted\n")
    assert stored(kube, "ingress") is not None
    r = run("delete", "--all", "-n", "apps")  # idempotent
    assert (r.code, r.out, r.err) == (0, "", "No waypoints found in namespace apps.\n")


def test_delete_by_revision(run, cluster):
    kube, _ = cluster
    kube.add(gateway("old", **{"istio.io/rev": "1-29"}))
    kube.add(gateway("new", **{"istio.io/rev": "1-30"}))
    r = run("delete", "-r", "1-29", "-n", "apps")
    assert r.out == "waypoint apps/old deleted\n"
    assert stored(kube, "new") is not None


def test_delete_missing_is_reported_not_a_crash(run, cluster):
    kube, _ = cluster
    kube.add(gateway("wp1"))
    r = run("delete", "wp1", "ghost", "-n", "apps")
    assert r.code == 0, r.err
    assert r.out == "waypoint apps/wp1 deleted\nwaypoint apps/ghost not found (nothing to delete)\n"
    r = run("delete", "wp1", "-n", "apps")
    assert (r.code, r.out) == (0, "waypoint apps/wp1 not found (nothing to delete)\n")


def test_delete_refuses_gateways_of_another_class(run, cluster):
    kube, _ = cluster
    kube.add(gateway("ingress", cls="istio"))
    kube.add(gateway("wp1"))
    r = run("delete", "wp1", "ingress", "-n", "apps")
    assert r.code == 1 and r.out == ""
    assert "not waypoints, so not deleted: Gateway apps/ingress (class 'istio')" in r.err
    assert stored(kube, "ingress") is not None and stored(kube, "wp1") is not None


@pytest.mark.parametrize("args", [(), ("wp1", "--all")])
def test_delete_needs_names_or_all_but_not_both(cli, args):
    r = cli("waypoint", "delete", *args)
    assert r.code == 2 and "Hint:" in r.err


def test_a_waypoint_on_a_revision_tag_shows_the_revision_behind_it():
    """The REVISION column reads tag -> revision, as the tag's webhook says (a label-less waypoint is on
    the default tag)."""
    from meshctl.kube import kinds as K
    from meshctl.kube.state import Resource
    from meshctl.mesh.waypoints import waypoint_info

    class Info:
        cluster = "c1"

    class State:
        info = Info()

    def gw(labels):
        return Resource({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                         "metadata": {"name": "waypoint", "namespace": "apps", "labels": labels},
                         "spec": {"gatewayClassName": "istio-waypoint"}}, K.GATEWAY)

    tags = {"default": "canary", "prod": "1-30", "same": "same"}
    assert waypoint_info(State(), gw({}), tags).revision == "default -> canary"
    assert waypoint_info(State(), gw({"istio.io/rev": "prod"}), tags).revision == "prod -> 1-30"
    assert waypoint_info(State(), gw({"istio.io/rev": "canary"}), tags).revision == "canary"
    assert waypoint_info(State(), gw({"istio.io/rev": "same"}), tags).revision == "same"
