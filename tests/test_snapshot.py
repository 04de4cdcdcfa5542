import tarfile

import pytest
import yaml

from meshctl.errors import InputError, NotCapturedError, UsageError
from meshctl.kube import kinds as K
from meshctl.kube.files import load_files
from meshctl.kube.snapshot import FORMAT, load_snapshot, save_snapshot, scrub

MANIFESTS = """\
apiVersion: v1
kind: Namespace
metadata: {name: bookinfo, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Secret
metadata:
  name: cacerts
  namespace: istio-system
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"data":{"ca-key.pem":"c2VjcmV0"}}'
  managedFields: [{manager: kubectl}]
type: Opaque
data: {ca-key.pem: c2VjcmV0LWtleQ==, root-cert.pem: cm9vdA==}
stringData: {token: hunter2}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com, annotations: {gateway.networking.k8s.io/bundle-version: v1.5.1}}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, properties: {spec: {type: object}}}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: bookinfo}
spec: {hosts: [reviews]}
"""


@pytest.fixture
def state(tmp_path):
    path = tmp_path / "in.yaml"
    path.write_text(MANIFESTS)
    return load_files([str(path)])


@pytest.mark.parametrize("target", ["snap", "snap.tar.gz"])
def test_save_then_load_round_trips(tmp_path, state, target):
    out = str(tmp_path / target)
    saved = save_snapshot([state], out, names=["c1"])
    assert saved[0].counts["namespaces"] == 1 and saved[0].counts["virtualservices.networking.istio.io"] == 1
    snap = load_snapshot(out)
    assert [c.meta.cluster for c in snap.clusters] == ["c1"]
    cluster = snap.clusters[0]
    vs = cluster.get(K.VIRTUAL_SERVICE, "reviews", "bookinfo")
    assert vs.raw["spec"] == {"hosts": ["reviews"]}
    assert vs.raw["apiVersion"] == "networking.istio.io/v1" and vs.raw["kind"] == "VirtualService"
    assert cluster.list(K.DEPLOYMENT) == []  # captured, and empty
    assert cluster.serves(K.DEPLOYMENT)


def test_secret_values_never_reach_the_snapshot(tmp_path, state):
    out = tmp_path / "snap"
    save_snapshot([state], str(out), names=["c1"])
    text = "".join(p.read_text() for p in out.rglob("*.yaml"))
    for secret in ("c2VjcmV0LWtleQ==", "cm9vdA==", "hunter2", "c2VjcmV0"):
        assert secret not in text
    secret = load_snapshot(str(out)).clusters[0].get(K.SECRET, "cacerts", "istio-system")
    assert secret.raw["data"] == {"ca-key.pem": "", "root-cert.pem": ""}
    assert secret.raw["stringData"] == {"token": ""}
    assert secret.raw["type"] == "Opaque"
    assert "managedFields" not in secret.raw["metadata"]
    assert "kubectl.kubernetes.io/last-applied-configuration" not in secret.annotations


def test_crd_schemas_are_left_out_but_versions_and_annotations_kept(state):
    crd = state.get(K.CRD, "widgets.example.com")
    out = scrub(K.CRD, crd.raw)
    assert out["spec"]["versions"] == [{"name": "v1", "served": True, "storage": True}]
    assert out["metadata"]["annotations"]["gateway.networking.k8s.io/bundle-version"] == "v1.5.1"
    assert "schema" in crd.raw["spec"]["versions"][0], "scrub must not change the object it was given"


def test_kind_not_captured_raises_instead_of_answering_empty(tmp_path, state):
    out = tmp_path / "snap"
    save_snapshot([state], str(out), names=["c1"])
    meta_path = out / "c1" / "meta.yaml"
    meta = yaml.safe_load(meta_path.read_text())
    meta["kinds"].remove("pods")
    meta["kinds"].remove("inferencepools.inference.networking.k8s.io")
    meta["missing"] = ["inferencepools.inference.networking.k8s.io"]
    meta_path.write_text(yaml.safe_dump(meta))
    cluster = load_snapshot(str(out)).clusters[0]
    with pytest.raises(NotCapturedError, match="not captured"):
        cluster.list(K.POD)
    with pytest.raises(NotCapturedError, match="does not serve"):
        cluster.list(K.INFERENCE_POOL)
    assert not cluster.serves(K.POD)


def test_resaving_replaces_the_snapshot(tmp_path, state):
    out = str(tmp_path / "snap")
    save_snapshot([state], out, names=["c1"])
    save_snapshot([state, state], out, names=["c1", "c1"])
    snap = load_snapshot(out)
    assert [c.meta.cluster for c in snap.clusters] == ["c1", "c1"]
    assert sorted(p.name for p in (tmp_path / "snap").iterdir()) == ["c1", "c1-2", "meta.yaml"]
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir()), "no temporary leftovers"


def test_refuses_to_overwrite_something_else(tmp_path, state):
    other = tmp_path / "precious"
    other.mkdir()
    (other / "thesis.tex").write_text("x")
    with pytest.raises(UsageError, match="not a meshctl snapshot"):
        save_snapshot([state], str(other), names=["c1"])
    assert (other / "thesis.tex").read_text() == "x"
    # --force replaces a snapshot, never a directory holding files a snapshot does not write
    with pytest.raises(UsageError, match="not a meshctl snapshot"):
        save_snapshot([state], str(other), names=["c1"], force=True)
    assert (other / "thesis.tex").read_text() == "x"


def test_select_clusters_by_name_or_context(tmp_path, state):
    out = str(tmp_path / "snap")
    save_snapshot([state, state], out, names=["east", "west"])
    snap = load_snapshot(out)
    assert [c.meta.cluster for c in snap.select(["west"])] == ["west"]
    with pytest.raises(UsageError, match="no cluster or context 'north'") as info:
        snap.select(["north"])
    assert "east, west" in info.value.hint


def test_archive_with_files_at_the_root_is_read(tmp_path, state):
    out = tmp_path / "snap"
    save_snapshot([state], str(out), names=["c1"])
    archive = tmp_path / "flat.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        for p in out.rglob("*"):
            tar.add(p, arcname=str(p.relative_to(out)), recursive=False)
    assert load_snapshot(str(archive)).clusters[0].get(K.NAMESPACE, "bookinfo") is not None


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda d: None, "not a meshctl snapshot"),
        (lambda d: (d / "meta.yaml").write_text("format: something/else\n"), "not a meshctl snapshot"),
        (lambda d: (d / "meta.yaml").write_text(f"format: {FORMAT}\nclusters: [c1]\n"), "missing or not a mapping"),
        (lambda d: (d / "meta.yaml").write_text(f"format: {FORMAT}\nclusters: []\n"), "holds no clusters"),
        (lambda d: (d / "meta.yaml").write_text(f"format: {FORMAT}\nclusters: c1\n"), "expected a list"),
        (lambda d: (d / "meta.yaml").write_text("format: [\n"), "invalid YAML"),
    ],
)
def test_damaged_snapshots_give_clear_errors(tmp_path, setup, message):
    d = tmp_path / "snap"
    d.mkdir()
    setup(d)
    with pytest.raises(InputError, match=message):
        load_snapshot(str(d))


def test_missing_snapshot_and_non_archive_file(tmp_path):
    with pytest.raises(UsageError, match="no such snapshot"):
        load_snapshot(str(tmp_path / "nope"))
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not gzip at all")
    with pytest.raises(InputError, match="cannot read archive"):
        load_snapshot(str(junk))
