"""`meshctl status` on the demo snapshot, on fake API servers, and its error paths."""

import json

from tests.conftest import DEMO
from tests.fakekube import FakeKube, seed_from_snapshot, write_kubeconfig


def test_status_of_the_demo(cli, golden):
    r = cli("status", "--snapshot", str(DEMO))
    assert r.code == 0 and r.err == ""
    golden("status-demo.txt", r.out)


def test_status_json_lists_problems_with_hints(cli):
    data = json.loads(cli("status", "--snapshot", str(DEMO), "-o", "json").out)
    c1, c2 = data
    assert (c1["cluster"], c1["nodes"], c1["nodes_with_ztunnel"]) == ("cluster1", 3, 3)
    assert c1["remote_clusters"] == ["cluster2"] and c2["remote_clusters"] == []
    assert c1["problems"][0] == {
        "severity": "error", "what": "namespace payments uses waypoint missing-waypoint, which does not exist",
        "hint": "create it: meshctl waypoint apply -n payments --name missing-waypoint"}
    assert all(p["hint"] for p in c1["problems"]) and c2["problems"] == []
    assert {g["role"] for g in c1["gateways"]} == {"waypoint", "ingress", "east-west"}


def test_status_is_identical_from_two_live_clusters_and_the_snapshot(cli, tmp_path):
    with FakeKube(name="c1") as one, FakeKube(name="c2") as two:
        seed_from_snapshot(one, DEMO / "cluster1")
        seed_from_snapshot(two, DEMO / "cluster2")
        kc = write_kubeconfig(tmp_path / "kc.yaml", [one, two], contexts=["kind-cluster1", "kind-cluster2"])
        live = cli("status", "--kubeconfig", str(kc), "--context", "kind-cluster1", "--context", "kind-cluster2",
                   "-o", "json")
    snap = cli("status", "--snapshot", str(DEMO), "-o", "json")
    assert live.code == snap.code == 0
    live_data, snap_data = json.loads(live.out), json.loads(snap.out)
    for c in live_data:
        c["cluster"] = c["cluster"].removeprefix("kind-")  # live clusters go by their context names
    assert live_data == snap_data


def test_an_empty_cluster_reports_the_missing_control_plane(cli, tmp_path):
    with FakeKube(name="empty") as kube:
        kc = write_kubeconfig(tmp_path / "kc.yaml", [kube])
        r = cli("status", "--kubeconfig", str(kc))
    assert r.code == 0
    assert "control plane   not installed" in r.out
    assert "\u2718 no istiod found" in r.out and "hint: install the control plane" in r.out


def test_watch_needs_a_terminal(cli):
    r = cli("status", "--snapshot", str(DEMO), "--watch")
    assert r.code == 2 and "--watch" in r.err


def test_a_terminating_pod_is_not_ready():
    from meshctl.kube import kinds as K
    from meshctl.kube.state import Resource
    from meshctl.mesh.status import pod_ready

    raw = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
           "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    assert pod_ready(Resource(raw, K.POD))
    raw["metadata"]["deletionTimestamp"] = "2026-12-08T00:00:00Z"
    assert not pod_ready(Resource(raw, K.POD))  # Ready until the kubelet stops it, but on its way out


def test_the_restart_hint_for_pods_not_captured_is_a_command_kubectl_accepts(tmp_path):
    """status's hint, run as written (kubectl's `rollout restart` needs a resource: the old hint lacked it)."""
    import shutil
    import subprocess

    import pytest

    from meshctl.mesh.enrollment import AMBIENT, NamespaceInfo
    from meshctl.mesh.status import find_problems

    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    with FakeKube(name="c1", controllers=True) as kube:
        kube.add({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
                  "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
                      "metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
        kc = write_kubeconfig(tmp_path / "kc.yaml", [kube])
        [problem] = [p for p in find_problems([], [], [NamespaceInfo("shop", AMBIENT, "", 2, 1)], [], set())
                     if "not captured" in p.what]
        hint = problem.hint[problem.hint.index("kubectl"):]  # the command, as status prints it
        r = subprocess.run([kubectl, "--kubeconfig", str(kc), *hint.split()[1:]], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        assert "deployment.apps/web restarted" in r.stdout
