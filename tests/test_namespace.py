"""`meshctl namespace enroll|unenroll|list` against the fake API server and the demo snapshot."""

import json

import pytest

from tests.conftest import DEMO
from tests.fakekube import FakeKube, seed_from_snapshot, write_kubeconfig

GATEWAY_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gateways.gateway.networking.k8s.io"},
    "spec": {"group": "gateway.networking.k8s.io", "scope": "Namespaced",
             "names": {"kind": "Gateway", "plural": "gateways"},
             "versions": [{"name": "v1", "served": True, "storage": True}]},
}


def ns(name, **labels):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


@pytest.fixture
def cluster(tmp_path):
    with FakeKube(name="c1") as kube:
        kube.add(GATEWAY_CRD)
        kube.add_all([ns("shop"), ns("old", **{"istio-injection": "enabled"})])
        kc = str(write_kubeconfig(tmp_path / "kc.yaml", [kube]))
        yield kube, kc


def labels(kube, name):
    """The namespace's labels, less the one the API server sets on every namespace."""
    found = dict(kube.get_object("namespaces", name)["metadata"].get("labels") or {})
    found.pop("kubernetes.io/metadata.name", None)
    return found


def test_enroll_labels_the_namespace_and_is_idempotent(cli, cluster):
    kube, kc = cluster
    r = cli("namespace", "enroll", "shop", "--kubeconfig", kc)
    assert r.code == 0, r.err
    assert labels(kube, "shop")["istio.io/dataplane-mode"] == "ambient"
    assert "namespace shop enrolled in ambient" in r.err
    assert "ambient data plane is not installed" in r.err  # no istio-cni / ztunnel in this cluster
    again = cli("namespace", "enroll", "shop", "--kubeconfig", kc)
    assert again.code == 0 and "already enrolled" in again.err
    assert labels(kube, "shop")["istio.io/dataplane-mode"] == "ambient"


def test_enroll_with_waypoint_creates_it_and_points_the_namespace_at_it(cli, cluster):
    kube, kc = cluster
    r = cli("namespace", "enroll", "shop", "--waypoint", "--for", "all", "--kubeconfig", kc)
    assert r.code == 0, r.err
    assert labels(kube, "shop")["istio.io/use-waypoint"] == "waypoint"
    gw = kube.get_object("gateways.gateway.networking.k8s.io", "waypoint", "shop")
    assert gw["spec"] == {"gatewayClassName": "istio-waypoint",
                          "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}]}
    assert gw["metadata"]["labels"]["istio.io/waypoint-for"] == "all"
    r = cli("namespace", "enroll", "shop", "--waypoint=edge", "--kubeconfig", kc)
    assert r.code == 0 and labels(kube, "shop")["istio.io/use-waypoint"] == "edge"


def test_enroll_refuses_sidecar_injection_unless_forced(cli, cluster):
    kube, kc = cluster
    r = cli("namespace", "enroll", "old", "--kubeconfig", kc)
    assert r.code == 1
    assert "sidecar injection enabled (istio-injection=enabled)" in r.err and "Hint:" in r.err
    assert "istio.io/dataplane-mode" not in labels(kube, "old")
    r = cli("namespace", "enroll", "old", "--force", "--kubeconfig", kc)
    assert r.code == 0 and "keeps sidecar injection" in r.err
    assert labels(kube, "old")["istio.io/dataplane-mode"] == "ambient"


def test_enroll_checks_every_namespace_before_changing_any(cli, cluster):
    kube, kc = cluster
    r = cli("namespace", "enroll", "shop", "nowhere", "--kubeconfig", kc)
    assert r.code == 1 and "namespace nowhere not found" in r.err
    assert "istio.io/dataplane-mode" not in labels(kube, "shop")


def test_enroll_dry_run_prints_and_changes_nothing(cli, cluster):
    kube, kc = cluster
    r = cli("namespace", "enroll", "shop", "--waypoint", "--dry-run", "--kubeconfig", kc)
    assert r.code == 0
    assert "kind: Gateway" in r.out and "istio.io/dataplane-mode: ambient" in r.out
    assert labels(kube, "shop") == {} and kube.get_object("gateways.gateway.networking.k8s.io", "waypoint",
                                                          "shop") is None


def test_unenroll_removes_exactly_what_enroll_set(cli, cluster):
    kube, kc = cluster
    kube.add(ns("team", owner="me"))
    cli("namespace", "enroll", "team", "--waypoint", "--kubeconfig", kc)
    r = cli("namespace", "unenroll", "team", "--kubeconfig", kc)
    assert r.code == 0, r.err
    assert labels(kube, "team") == {"owner": "me"}
    assert "waypoint team/waypoint is kept" in r.err
    assert kube.get_object("gateways.gateway.networking.k8s.io", "waypoint", "team") is not None
    cli("namespace", "enroll", "team", "--waypoint", "--kubeconfig", kc)
    r = cli("namespace", "unenroll", "team", "--delete-waypoint", "--kubeconfig", kc)
    assert r.code == 0 and kube.get_object("gateways.gateway.networking.k8s.io", "waypoint", "team") is None
    again = cli("namespace", "unenroll", "team", "--kubeconfig", kc)
    assert again.code == 0 and "was not enrolled" in again.err


def test_enroll_needs_a_live_cluster(cli):
    r = cli("namespace", "enroll", "shop", "--kubeconfig", "/nonexistent/kc.yaml")
    assert r.code == 69


def test_list_on_the_demo_snapshot(cli, golden):
    r = cli("namespace", "list", "--snapshot", str(DEMO))
    assert r.code == 0
    golden("namespace-list-demo.txt", r.out)
    data = json.loads(cli("namespace", "list", "--snapshot", str(DEMO), "--context", "cluster1", "-o", "json").out)
    bookinfo = next(d for d in data if d["namespace"] == "bookinfo")
    assert bookinfo == {"namespace": "bookinfo", "mode": "ambient", "waypoint": "waypoint", "pods": 8,
                        "captured": 6, "optedOut": 1, "notCaptured": 1}
    legacy = next(d for d in data if d["namespace"] == "legacy")
    assert legacy["mode"] == "conflict"


def test_list_is_identical_live_and_from_the_snapshot(cli, tmp_path):
    with FakeKube(name="c1") as kube:
        seed_from_snapshot(kube, DEMO / "cluster1")
        kc = write_kubeconfig(tmp_path / "kc.yaml", [kube])
        live = cli("namespace", "list", "--kubeconfig", str(kc), "-o", "json")
    snap = cli("namespace", "list", "--snapshot", str(DEMO), "--context", "cluster1", "-o", "json")
    assert live.code == snap.code == 0
    assert json.loads(live.out) == json.loads(snap.out)
