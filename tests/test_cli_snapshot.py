"""`meshctl snapshot` and `version --snapshot` on the bundled demo, with golden outputs."""

import json

import yaml

from meshctl.kube import kinds as K
from meshctl.kube.snapshot import load_snapshot
from tests.conftest import DEMO


def test_version_on_demo_snapshot(cli, golden):
    r = cli("version", "--snapshot", str(DEMO))
    assert r.code == 0 and r.err == ""
    golden("version-demo.txt", r.out.replace(str(DEMO), "DEMO"))


def test_version_json_on_demo_snapshot(cli):
    data = json.loads(cli("version", "--snapshot", str(DEMO), "-o", "json").out)
    assert [c["cluster"] for c in data["clusters"]] == ["cluster1", "cluster2"]
    components = {(c["component"], c["version"], c["ready"]) for c in data["clusters"][0]["components"]}
    assert components == {("istiod", "1.30.3", 1), ("istio-cni", "1.30.3", 3), ("ztunnel", "1.30.3", 3)}


def test_snapshot_show_demo(cli, golden):
    r = cli("snapshot", "show", str(DEMO))
    assert r.code == 0 and r.err == ""
    golden("snapshot-show-demo.txt", r.out.replace(str(DEMO), "DEMO"))


def test_snapshot_show_json_counts_match_the_files(cli):
    data = json.loads(cli("snapshot", "show", str(DEMO), "-o", "json").out)
    c1 = data["clusters"][0]
    assert c1["cluster"] == "cluster1" and c1["context"] == "kind-cluster1"
    listed = yaml.safe_load((DEMO / "cluster1" / "pods.yaml").read_text())["items"]
    assert c1["objects"]["pods"] == len(listed)
    assert "inferencepools.inference.networking.k8s.io" in data["clusters"][1]["missing"]


def test_snapshot_show_kind_lists_objects(cli, golden):
    r = cli("snapshot", "show", str(DEMO), "--kind", "gtw")
    assert r.code == 0
    golden("snapshot-show-demo-gateways.txt", r.out)
    r = cli("snapshot", "show", str(DEMO), "--context", "cluster1", "--kind", "pods", "-n", "llm", "-o", "json")
    pods = json.loads(r.out)["items"]
    assert pods and all(p["metadata"]["namespace"] == "llm" for p in pods)


def test_snapshot_show_kind_not_captured_is_an_error(cli):
    r = cli("snapshot", "show", str(DEMO), "--context", "cluster2", "--kind", "infpool")
    assert r.code == 1
    assert "InferencePool.inference.networking.k8s.io is not available from snapshot" in r.err
    assert "does not serve it" in r.err


def test_snapshot_save_from_files_round_trips_via_cli(cli, tmp_path):
    manifests = tmp_path / "in"
    manifests.mkdir()
    for name in ("namespaces.yaml", "services.yaml", "secrets.yaml", "virtualservices.networking.istio.io.yaml"):
        (manifests / name).write_text((DEMO / "cluster1" / name).read_text())
    out = tmp_path / "snap.tar.gz"
    r = cli("snapshot", "save", str(out), "-f", str(manifests), "--cluster-name", "from-files")
    assert r.code == 0, r.err
    assert "captured from-files:" in r.out and f"snapshot written to {out}" in r.out
    cluster = load_snapshot(str(out)).clusters[0]
    assert cluster.meta.cluster == "from-files"
    assert len(cluster.list(K.SECRET)) == 4
    again = cli("snapshot", "save", str(out), "-f", str(manifests), "--cluster-name", "from-files")
    assert again.code == 0, "saving twice to the same path is safe"


def test_snapshot_save_refuses_two_sources(cli, tmp_path):
    r = cli("snapshot", "save", str(tmp_path / "x"), "-f", str(DEMO), "--context", "a")
    assert r.code == 2 and "--context does not apply" in r.err


def test_snapshot_show_missing_path(cli, tmp_path):
    r = cli("snapshot", "show", str(tmp_path / "nope"))
    assert r.code == 2 and "no such snapshot" in r.err and "Hint:" in r.err


def test_snapshot_show_unknown_cluster_and_kind(cli):
    r = cli("snapshot", "show", str(DEMO), "--context", "cluster9")
    assert r.code == 2 and "it holds: cluster1, cluster2" in r.err
    r = cli("snapshot", "show", str(DEMO), "--kind", "frobs")
    assert r.code == 2 and "unknown resource kind 'frobs'" in r.err
