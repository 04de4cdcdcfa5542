"""Source parity: one scenario read from files, from a snapshot and from API servers gives the same answers."""

import json
import shutil

import pytest

from meshctl.kube import kinds as K
from meshctl.kube.snapshot import load_snapshot
from tests.conftest import DEMO
from tests.fakekube import FakeKube, seed_from_snapshot, write_kubeconfig

CLUSTERS = ("cluster1", "cluster2")
# Fields an API server assigns on every write: they cannot survive a round trip through another server.
SERVER_ASSIGNED = ("resourceVersion",)


def normalized(resource):
    raw = json.loads(json.dumps(resource.raw))
    for field in SERVER_ASSIGNED:
        raw["metadata"].pop(field, None)
    return raw


@pytest.fixture(scope="module")
def live_snapshot(tmp_path_factory):
    """The demo loaded into two fake API servers, then captured by `meshctl snapshot save`."""
    from meshctl.cli.app import run

    tmp = tmp_path_factory.mktemp("parity")
    with FakeKube(name="cluster1") as c1, FakeKube(name="cluster2") as c2:
        for kube, name in ((c1, "cluster1"), (c2, "cluster2")):
            report = seed_from_snapshot(kube, DEMO / name)
            assert not report.skipped, report.skipped
        kc = write_kubeconfig(tmp / "kc.yaml", [c1, c2], contexts=["kind-cluster1", "kind-cluster2"])
        out = tmp / "live-snap"
        code = run(["snapshot", "save", str(out), "--kubeconfig", str(kc),
                    "--context", "kind-cluster1", "--context", "kind-cluster2"])
        assert code == 0
        version_args = ["version", "--kubeconfig", str(kc), "--context", "kind-cluster1", "--context", "kind-cluster2"]
        yield out, version_args, (c1, c2)


def test_live_capture_serves_the_same_kinds_as_the_original(live_snapshot):
    out, _, _ = live_snapshot
    original, captured = load_snapshot(str(DEMO)), load_snapshot(str(out))
    for a, b in zip(original.clusters, captured.clusters):
        assert b.meta.cluster == a.meta.cluster  # named after istiod's CLUSTER_ID, not the context
        assert b.meta.context == a.meta.context
        assert b.meta.kinds == a.meta.kinds
        assert b.meta.missing == a.meta.missing


@pytest.mark.parametrize("cluster", range(len(CLUSTERS)))
def test_live_capture_holds_identical_resources(live_snapshot, cluster):
    out, _, _ = live_snapshot
    a = load_snapshot(str(DEMO)).clusters[cluster]
    b = load_snapshot(str(out)).clusters[cluster]
    for kind in K.SNAPSHOT_KINDS:
        if not a.serves(kind):
            continue
        left = [normalized(r) for r in a.list(kind)]
        right = [normalized(r) for r in b.list(kind)]
        assert left == right, f"{CLUSTERS[cluster]} {kind.resource} differs"


def test_snapshot_show_is_identical_from_snapshot_and_live(cli, live_snapshot):
    out, _, _ = live_snapshot

    def shown(path):
        data = json.loads(cli("snapshot", "show", str(path), "-o", "json").out)
        for cluster in data["clusters"]:
            for volatile in ("captured", "server"):
                cluster.pop(volatile)
        return data["clusters"]

    assert shown(out) == shown(DEMO)


def test_version_is_identical_from_snapshot_and_live(cli, live_snapshot):
    _, version_args, _ = live_snapshot
    from_live = json.loads(cli(*version_args, "-o", "json").out)
    from_snapshot = json.loads(cli("version", "--snapshot", str(DEMO), "-o", "json").out)
    for data in (from_live, from_snapshot):
        for cluster in data["clusters"]:
            cluster.pop("source")
    # live reads name clusters by context; istiod's CLUSTER_ID names them in a snapshot
    assert [c.pop("cluster") for c in from_live["clusters"]] == ["kind-cluster1", "kind-cluster2"]
    assert [c.pop("cluster") for c in from_snapshot["clusters"]] == ["cluster1", "cluster2"]
    assert from_live == from_snapshot


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_files_give_the_same_objects_as_the_snapshot(cli, tmp_path, cluster):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    for f in (DEMO / cluster).glob("*.yaml"):
        if f.name != "meta.yaml":
            shutil.copy(f, manifests / f.name)
    out = tmp_path / "files-snap"
    r = cli("snapshot", "save", str(out), "-f", str(manifests), "--cluster-name", cluster)
    assert r.code == 0, r.err
    a = load_snapshot(str(DEMO)).select([cluster])[0]
    b = load_snapshot(str(out)).clusters[0]
    for kind in K.SNAPSHOT_KINDS:
        if a.serves(kind):
            assert [r.raw for r in a.list(kind)] == [r.raw for r in b.list(kind)], kind.resource
        else:
            assert b.list(kind) == [], "files hold nothing of a kind the cluster does not serve"


def test_analyze_is_identical_from_snapshot_and_live(cli, live_snapshot):
    _, version_args, _ = live_snapshot
    live_args = ["analyze", "-A", "-o", "json", *version_args[1:]]
    from_live = cli(*live_args)
    from_snapshot = cli("analyze", "-A", "-o", "json", "--snapshot", str(DEMO))
    assert from_live.code == from_snapshot.code == 79
    live_messages = json.loads(from_live.out)
    snapshot_messages = json.loads(from_snapshot.out)
    assert live_messages == snapshot_messages  # clusters named by istiod's CLUSTER_ID in both
    assert any(m["code"] == "IST0101" for m in snapshot_messages)


def test_analyze_is_identical_from_files_and_snapshot(cli, tmp_path):
    """cluster1's objects as plain files (with its mesh config given) give the snapshot's findings."""
    import yaml

    manifests = tmp_path / "manifests"
    manifests.mkdir()
    for f in (DEMO / "cluster1").glob("*.yaml"):
        if f.name != "meta.yaml":
            shutil.copy(f, manifests / f.name)
    configmaps = yaml.safe_load((DEMO / "cluster1" / "configmaps.yaml").read_text())["items"]
    [mesh] = [c["data"]["mesh"] for c in configmaps if c["metadata"]["name"] == "istio"
              and c["metadata"]["namespace"] == "istio-system"]
    (tmp_path / "mesh.yaml").write_text(mesh)
    from_files = cli("analyze", str(manifests), "-o", "json", "--meshConfigFile", str(tmp_path / "mesh.yaml"))
    from_snapshot = cli("analyze", "--snapshot", str(DEMO), "--context", "cluster1", "-o", "json")
    assert from_files.code == from_snapshot.code == 79
    files_messages = json.loads(from_files.out)
    assert all(m.pop("reference").startswith(str(manifests)) for m in files_messages)
    snapshot_messages = json.loads(from_snapshot.out)
    assert all(m.pop("reference") == "" for m in snapshot_messages)
    assert files_messages == snapshot_messages
