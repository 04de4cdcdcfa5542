"""Property tests: whatever bytes arrive through -f, meshctl answers with objects or a clear error."""

import string

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshctl.errors import MeshctlError
from meshctl.kube.files import load_files
from meshctl.kube.yamlio import kubernetes_dumper

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

names = st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=20).filter(
    lambda s: s[0].isalnum()
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.text(max_size=30),
                    st.floats(allow_nan=False, allow_infinity=False))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                      max_leaves=20)
objects = st.builds(
    lambda kind, name, ns, spec, labels: {
        "apiVersion": "v1" if kind in ("Service", "ConfigMap") else "networking.istio.io/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": spec,
    },
    st.sampled_from(["Service", "ConfigMap", "VirtualService", "DestinationRule"]),
    names,
    names,
    st.dictionaries(st.text(max_size=10), values, max_size=5),
    st.dictionaries(names, names, max_size=3),
)


def _load(tmp_path, data: bytes, suffix: str = ".yaml"):
    path = tmp_path / f"input{suffix}"
    path.write_bytes(data)
    try:
        return load_files([str(path)])
    except MeshctlError as err:
        assert err.message and err.hint, "every error carries a message and a hint"
        assert str(path) in err.message or "input" in err.message, "errors say where"
        return None


@SETTINGS
@given(data=st.binary(max_size=400))
def test_any_bytes_give_objects_or_a_clear_error(tmp_path, data):
    _load(tmp_path, data)
    _load(tmp_path, data, ".json")


@SETTINGS
@given(text=st.text(alphabet=string.printable + "é€-:[]{}&*!|>'\"", max_size=300))
def test_any_text_gives_objects_or_a_clear_error(tmp_path, text):
    _load(tmp_path, text.encode())


@SETTINGS
@given(docs=st.lists(objects, min_size=1, max_size=6))
def test_valid_manifests_round_trip_with_increasing_lines(tmp_path, docs):
    text = yaml.dump_all(docs, Dumper=kubernetes_dumper(), sort_keys=False)
    state = _load(tmp_path, text.encode())
    assert state is not None
    loaded = list(state.objects)
    by_kind = {}
    for r in loaded:
        by_kind.setdefault(r.kind.kind, []).append(r)
    assert sorted(r.raw["metadata"]["name"] for r in loaded) == sorted(d["metadata"]["name"] for d in docs)
    for docs_of_kind in by_kind.values():
        lines = [r.location.line for r in docs_of_kind]
        assert lines == sorted(lines)
    assert [r.raw for r in sorted(loaded, key=lambda r: r.location.line)] == docs
