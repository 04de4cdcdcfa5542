"""`meshctl dataplane upgrade`: istio-cni then ztunnel move to another revision node by node, on a fake
cluster with simulated nodes, kubelet and DaemonSet controller (issue 15, item 1)."""

from __future__ import annotations

import pytest

from tests.fakekube import FakeKube, write_kubeconfig
from tests.fakekube import controllers as ctl

NS = "istio-system"


@pytest.fixture
def cluster(tmp_path, cli, release_files):
    kube = FakeKube(name="c1", controllers=ctl.SIMULATE)
    kube.version = dict(kube.version, major="1", minor="33", gitVersion="v1.33.1")
    with kube:
        for node in ctl.simulated_nodes("c1", 3):
            kube.add(node, reconcile=True)
        kc = write_kubeconfig(tmp_path / "kc.yaml", [kube])

        def run(*args):
            return cli(*args, "--kubeconfig", str(kc), "--artifacts", str(release_files))

        def plain(*args):
            return cli(*args, "--kubeconfig", str(kc))

        assert run("install", "-y").code == 0
        assert run("install", "--revision", "canary", "-y").code == 0
        yield kube, run, plain


def pods(kube, app):
    """{node: pod} of a DaemonSet (ztunnel pods carry app=, istio-cni's k8s-app=)."""
    return {p["spec"]["nodeName"]: p["metadata"]["name"] for p in kube.objects("pods", NS)
            if app in ((p["metadata"].get("labels") or {}).get("app"), (p["metadata"].get("labels") or {}).get("k8s-app"))
            and not p["metadata"].get("deletionTimestamp")}


def xds(kube):
    ds = kube.get_object("daemonsets.apps", "ztunnel", NS)
    proxy = next(c for c in ds["spec"]["template"]["spec"]["containers"] if c["name"] == "istio-proxy")
    return next(e["value"] for e in proxy["env"] if e["name"] == "XDS_ADDRESS")


def deleted_pods(kube, since):
    return [r.path.rsplit("/", 1)[-1] for r in kube.requests[since:]
            if r.method == "DELETE" and "/pods/" in r.path]


def test_upgrade_moves_istio_cni_then_ztunnel_one_node_at_a_time(cluster):
    kube, _, plain = cluster
    cni, zt = pods(kube, "istio-cni-node"), pods(kube, "ztunnel")
    assert len(zt) == 3 and len(cni) == 3
    start = len(kube.requests)
    r = plain("dataplane", "upgrade", "--revision", "canary", "-y")
    assert r.code == 0, r.err
    assert "from revision default to canary" in r.err and "long-lived TCP connections" in r.err
    # istio-cni first: its DaemonSet is applied before ztunnel's (its pod template is the same for both
    # revisions, so its pods stay: only what changed restarts), then ztunnel's pods one node after another
    patched = [r.path.rsplit("/", 1)[-1] for r in kube.requests[start:] if r.method == "PATCH" and "/daemonsets/" in r.path]
    assert patched[:2] == ["istio-cni-node", "ztunnel"]
    assert pods(kube, "istio-cni-node") == cni
    assert deleted_pods(kube, start) == [zt[n] for n in sorted(zt)]
    lines = [line for line in r.err.splitlines() if line.startswith("ztunnel: node")]
    assert [line.split()[2] for line in lines] == sorted(zt) and lines[-1].endswith("(3/3)") and "✔ The data plane follows revision canary on 3 node(s)" in r.err
    assert xds(kube) == "istiod-canary.istio-system.svc:15012"
    now = pods(kube, "ztunnel")
    assert set(now) == set(zt) and not set(now.values()) & set(zt.values())  # a new pod on every node
    ds = kube.get_object("daemonsets.apps", "ztunnel", NS)
    assert ds["spec"]["updateStrategy"]["type"] == "RollingUpdate"  # the rendered strategy is back
    version = plain("version")
    ztunnel_row = next(line for line in version.out.splitlines() if line.split()[:1] == ["ztunnel"])
    assert ztunnel_row.split()[1] == "canary", version.out  # the revision it follows, read from its address
    # running it again restarts nothing
    start = len(kube.requests)
    assert plain("dataplane", "upgrade", "--revision", "canary", "-y").code == 0
    assert deleted_pods(kube, start) == []


def test_a_node_pool_moves_alone_and_rollback_is_the_same_command(cluster):
    kube, _, plain = cluster
    assert plain("dataplane", "upgrade", "--revision", "canary", "-y").code == 0
    node = kube.get_object("nodes", "c1-worker")
    node["metadata"]["labels"]["pool"] = "blue"
    kube.add(node)
    before = pods(kube, "ztunnel")
    r = plain("dataplane", "upgrade", "--revision", "default", "--nodes", "pool=blue", "-y")
    assert r.code == 0, r.err
    after = pods(kube, "ztunnel")
    assert after["c1-worker"] != before["c1-worker"]
    assert {n: after[n] for n in after if n != "c1-worker"} == {n: before[n] for n in before if n != "c1-worker"}
    assert "2 node(s) outside --nodes keep the pods of revision canary" in r.err
    assert kube.get_object("daemonsets.apps", "ztunnel", NS)["spec"]["updateStrategy"] == {"type": "OnDelete"}
    finish = plain("dataplane", "upgrade", "--revision", "default", "-y")
    assert finish.code == 0, finish.err
    assert xds(kube) == "istiod.istio-system.svc:15012"
    assert not set(pods(kube, "ztunnel").values()) & set(after.values()) - {after["c1-worker"]}


def test_dry_run_and_bad_input_change_nothing(cluster):
    kube, _, plain = cluster
    version = kube.resource_version
    dry = plain("dataplane", "upgrade", "--revision", "canary", "--dry-run")
    assert dry.code == 0 and "would apply daemonset/ztunnel" in dry.out
    missing = plain("dataplane", "upgrade", "--revision", "nope", "-y")
    assert missing.code == 1 and "installed: canary, default" in missing.err
    nobody = plain("dataplane", "upgrade", "--revision", "canary", "--nodes", "pool=none", "-y")
    assert nobody.code == 1 and "no node has the labels pool=none" in nobody.err
    bad = plain("dataplane", "upgrade", "--revision", "canary", "--nodes", "pool", "-y")
    assert bad.code == 2 and "KEY=VALUE" in bad.err
    assert kube.resource_version == version


def test_a_node_that_never_gets_ready_stops_the_upgrade_with_resume_and_rollback(cluster):
    kube, _, plain = cluster
    kube.controllers.discard("kubelet")  # new pods are never run
    r = plain("dataplane", "upgrade", "--revision", "canary", "--timeout", "1s", "-y")
    assert r.code == 1
    assert "has no ready new pod after 1s; stopped there" in r.err
    assert "resume with: meshctl dataplane upgrade --revision canary" in r.err
    assert "roll back with: meshctl dataplane upgrade --revision default" in r.err
    assert len(deleted_pods(kube, 0)) == 1  # it stopped at the first node
