import json
import time
from pathlib import Path

import pytest

from meshctl.errors import ExitCode, InputError, UsageError
from meshctl.kube import kinds as K
from meshctl.kube.files import load_files

TWO_DOCS = """\
# a comment
apiVersion: v1
kind: Service
metadata:
  name: reviews
  namespace: bookinfo
spec:
  ports: [{port: 9080}]
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
"""


def write(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return str(path)


def test_documents_keep_file_and_start_line(tmp_path):
    f = write(tmp_path, "app.yaml", TWO_DOCS)
    state = load_files([f])
    svc = state.get(K.SERVICE, "reviews", "bookinfo")
    vs = state.get(K.VIRTUAL_SERVICE, "reviews", "default")
    assert (svc.location.file, svc.location.line) == (f, 2)
    assert vs.location.line == 10
    assert vs.namespace == "default"  # namespaced object without a namespace lands in the default one


def test_default_namespace_can_be_chosen(tmp_path):
    f = write(tmp_path, "app.yaml", TWO_DOCS)
    assert load_files([f], default_namespace="team").get(K.VIRTUAL_SERVICE, "reviews", "team") is not None


def test_list_documents_are_expanded_with_item_lines(tmp_path):
    text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a}\n" \
           "- apiVersion: v1\n  kind: Namespace\n  metadata: {name: b}\n"
    state = load_files([write(tmp_path, "l.yaml", text)])
    assert [(r.name, r.location.line) for r in state.list(K.NAMESPACE)] == [("a", 4), ("b", 7)]
    assert state.get(K.NAMESPACE, "a").namespace == ""  # cluster-scoped objects get no namespace


def test_json_files_and_lists(tmp_path):
    doc = {"apiVersion": "v1", "kind": "ConfigMapList", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "n"}}]}
    state = load_files([write(tmp_path, "c.json", json.dumps(doc))])
    assert state.get(K.CONFIG_MAP, "x", "n") is not None


def test_directory_is_read_recursively_and_skips_other_files(tmp_path):
    write(tmp_path, "a/one.yaml", TWO_DOCS)
    write(tmp_path, "a/b/two.yml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: deep}\n")
    write(tmp_path, "a/logo.png", b"\x89PNG\r\n\x1a\n\0\0binary")
    write(tmp_path, "a/notes.txt", "not yaml: [")
    state = load_files([str(tmp_path / "a")])
    assert state.get(K.NAMESPACE, "deep") is not None
    assert len(state.list(K.SERVICE)) == 1


def test_label_filter_and_namespace_filter(tmp_path):
    text = "".join(
        f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: ns{i % 2}, labels: {{app: a{i % 3}}}}}\n"
        for i in range(6)
    )
    state = load_files([write(tmp_path, "pods.yaml", text)])
    assert [p.name for p in state.list(K.POD, "ns0")] == ["p0", "p2", "p4"]
    assert [p.name for p in state.list(K.POD, labels={"app": "a1"})] == ["p1", "p4"]
    assert state.list(K.DEPLOYMENT) == []


def test_invalid_yaml_names_file_and_line(tmp_path):
    f = write(tmp_path, "bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n  other: 1\n")
    with pytest.raises(InputError) as info:
        load_files([f])
    assert info.value.exit_code == ExitCode.DATA
    assert f"{f}:" in info.value.message and "invalid YAML" in info.value.message and info.value.hint


def test_invalid_json_names_file_and_line(tmp_path):
    f = write(tmp_path, "bad.json", '{\n  "apiVersion": "v1",\n  "kind": \n}')
    with pytest.raises(InputError, match=r"bad.json:4: invalid JSON"):
        load_files([f])


@pytest.mark.parametrize(
    "text, message",
    [
        ("kind: Pod\nmetadata: {name: x}\n", "has no apiVersion"),
        ("apiVersion: v1\nmetadata: {name: x}\n", "has no kind"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {}\n", "Pod has no metadata.name"),
        ("apiVersion: v1\nkind: Pod\n", "Pod has no metadata.name"),
        ("- just\n- a list\n", "expected a Kubernetes object"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: x, labels: [a]}\n", "metadata.labels must be a mapping"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: 1e3}\n", "metadata.name must be a string"),
    ],
)
def test_documents_that_are_not_objects_are_refused(tmp_path, text, message):
    f = write(tmp_path, "x.yaml", text)
    with pytest.raises(InputError, match=message) as info:
        load_files([f])
    assert info.value.message.startswith(f"{f}:1")


def test_binary_manifest_is_refused(tmp_path):
    f = write(tmp_path, "blob.yaml", b"\x00\x01\x02kind: Pod")
    with pytest.raises(InputError, match="binary data"):
        load_files([f])


def test_non_utf8_manifest_is_refused_with_line(tmp_path):
    f = write(tmp_path, "latin.yaml", "apiVersion: v1\nkind: Pod\n".encode() + b"metadata: {name: caf\xe9}\n")
    with pytest.raises(InputError, match=r"latin.yaml:3: not valid UTF-8"):
        load_files([f])


def test_empty_input_is_refused(tmp_path):
    f = write(tmp_path, "empty.yaml", "---\n# nothing\n---\n")
    with pytest.raises(InputError, match="no Kubernetes objects"):
        load_files([f])


def test_missing_path_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        load_files([str(tmp_path / "nope.yaml")])


def test_alias_bomb_is_refused_quickly(tmp_path):
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, cur in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    f = write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")
    start = time.perf_counter()
    with pytest.raises(InputError, match="aliases expand to more than") as info:
        load_files([f])
    assert "alias bomb" in info.value.hint
    assert time.perf_counter() - start < 2.0


def test_small_aliases_are_fine(tmp_path):
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: ns1, labels: &l {a: b}, annotations: *l}\n"
    state = load_files([write(tmp_path, "a.yaml", text)])
    assert state.get(K.CONFIG_MAP, "x", "ns1").annotations == {"a": "b"}


def test_deep_nesting_is_refused(tmp_path):
    f = write(tmp_path, "deep.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(InputError):
        load_files([f])


def test_lenient_mode_collects_problems_and_keeps_good_documents(tmp_path):
    good = write(tmp_path, "good.yaml", TWO_DOCS)
    bad = write(tmp_path, "bad.yaml", "kind: [")
    state = load_files([good, bad], strict=False)
    assert len(state.list(K.SERVICE)) == 1
    assert len(state.problems) == 1 and "bad.yaml" in state.problems[0].message


def test_upstream_gateway_api_bundle_reads_with_lines():
    from tests.conftest import needs_upstream

    bundle = needs_upstream() / "gateway-api-v1.5.1-standard-install.yaml"
    state = load_files([str(bundle)])
    crds = state.list(K.CRD)
    assert {c.name for c in crds} >= {"gateways.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io"}
    assert all(c.location.line >= 1 for c in crds)
