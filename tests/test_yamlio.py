"""YAML is read with Kubernetes' scalar rules and written so that it reads back the same."""

import json

import pytest

from meshctl.kube.yamlio import dump, kubernetes_loader


def load(text):
    loader = kubernetes_loader()(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


@pytest.mark.parametrize(
    "plain, value",
    [
        ("2024-01-01", "2024-01-01"),
        ("2024-01-01T10:00:00Z", "2024-01-01T10:00:00Z"),
        ("1e3", 1000.0),
        ("-1.5E-2", -0.015),
        ("0o755", 493),
        ("0755", 493),
        ("0x1F", 31),
        ("0b101", 5),
        ("1_000", 1000),
        ("0", 0),
        ("42", 42),
        ("y", True),
        ("N", False),
        ("yes", True),
        ("Off", False),
        ("true", True),
        ("1:30", "1:30"),
        ("190:20:30", "190:20:30"),
        ("=", "="),
        ("~", None),
        ("null", None),
        ("", None),
        (".inf", float("inf")),
        ("-.Inf", float("-inf")),
        ("v1.32", "v1.32"),
        ("1.30.3", "1.30.3"),
        ("'0755'", "0755"),
        ('"y"', "y"),
        ("!!str 1e3", "1e3"),
    ],
)
def test_plain_scalars_resolve_as_in_kubernetes(plain, value):
    assert load(f"k: {plain}\n") == {"k": value}


def test_nan_is_a_float():
    v = load("k: .nan\n")["k"]
    assert v != v


def test_merge_keys_still_merge():
    assert load("base: &b {a: 1}\nx:\n  <<: *b\n  c: 2\n")["x"] == {"a": 1, "c": 2}


def test_timestamps_stay_json_serialisable():
    json.dumps(load("created: 2024-01-01\n"))


@pytest.mark.parametrize("value", ["y", "n", "on", "1e3", "0o755", "0755", "2024-01-01", "null", "1:30", "", "=", "~"])
def test_strings_that_look_like_other_types_are_quoted_on_output(value):
    text = dump({"k": value})
    assert load(text) == {"k": value}, text


def test_dump_keeps_key_order_and_writes_no_anchors():
    shared = {"a": 1}
    text = dump({"z": shared, "a": shared})
    assert text.index("z:") < text.index("a:") and "&" not in text and "*" not in text


# -- the fast path gives exactly what the libyaml path gives, or steps aside ----------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from meshctl.errors import InputError  # noqa: E402
from meshctl.kube.files import _parse_with_libyaml  # noqa: E402
from meshctl.kube.yamlio import fast_documents  # noqa: E402
from tests.conftest import DEMO, UPSTREAM  # noqa: E402

TRICKY = [
    "a: 1\n", "# c\n---\na: 1\n---\nb: 2\n", "---\n# x\n\na: 1\n...\n", "a: yes\n", "a: 'yes'\n", "a: 0755\n",
    "ports: [80, 443, 0]\n", "on: push\n", "- on\n", "a: 1.30\n", "a: 0.5\n", "a: !!str 1\n", "a: x # no\n",
    "desc: turn it on now\n", "a: 1_000\n", "a: 1_000.5\n", "a: 0b11\n", "a: _1\n", "x: &a {b: 1}\ny:\n  <<: *a\n",
    "a: '0755'\n", "a: 8080\n", "a: [0, 01]\n", "---\n---\na: 1\n", "a: 2024-01-01\n", "a: 1e3\n", "a: ~\nb: null\n",
    "a: .inf\n", "a: |\n  no\n  yes\n", "a: >\n  folded\n  text\n", "k: {x: y}\n", "k: [y, n]\n", "'on': 1\n",
    "a: \"\\u00e9\"\n", "a: 0x1F\n", "a: 1:30\n", "a: =\n", "a:\n- b: 1\n  c: [1, 2]\n", "a: -1\nb: +1\n",
    "a: 1.0e+3\n", "a: True\nb: FALSE\n", "a: 0o17\n", "list: []\nmap: {}\n", "a: b\n---\n",
]


def libyaml(text):
    return [(d.data, d.location.line) for d in _parse_with_libyaml(text, "t")]


def agrees(text):
    fast = fast_documents(text)
    if fast is None:
        return True  # stepped aside
    expected = libyaml(text)
    return [(d, line) for d, line in fast if d is not None] == expected


@pytest.mark.parametrize("text", TRICKY)
def test_fast_path_agrees_or_steps_aside_on_tricky_yaml(text):
    assert agrees(text), (fast_documents(text), libyaml(text))


def test_fast_path_is_taken_for_ordinary_manifests():
    text = "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: b}\nspec:\n  ports:\n  - port: 80\n"
    assert fast_documents(text) == [(libyaml(text)[0][0], 1)]


def test_fast_path_agrees_on_the_demo_snapshot_and_upstream_bundles():
    texts = [p.read_text() for p in sorted(DEMO.rglob("*.yaml"))]
    if UPSTREAM.is_dir():
        texts += [p.read_text() for p in UPSTREAM.glob("*.yaml")]
    taken = 0
    for text in texts:
        fast = fast_documents(text, need_list_lines=False)
        if fast is None:
            continue
        taken += 1
        expected = libyaml(text)
        got = []
        for data, line in fast:
            if data is None:
                continue
            if isinstance(data, dict) and str(data.get("kind", "")).endswith("List") and "items" in data:
                got += [item for item in data["items"] or []]
            else:
                got.append(data)
        assert got == [d for d, _ in expected]
    assert taken > len(texts) // 2, "the fast path should serve most real files"


scalars = st.one_of(
    st.sampled_from(["y", "n", "yes", "no", "on", "off", "0755", "0o7", "0x1F", "1_000", "1e3", "2024-01-01",
                     "~", "null", "true", "False", "1:30", "=", "<<", "-", ".5", "+1", "0", "08"]),
    st.text(alphabet="abcxyz019 _-.:/'\"#", max_size=12),
    st.integers(-1000, 1000),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.text(alphabet="abk-_", min_size=1, max_size=5), scalars, max_size=4),
                min_size=1, max_size=4))
def test_fast_path_agrees_on_generated_plain_yaml(docs):
    # Written by hand as plain scalars (no quoting), the way people write manifests.
    parts = []
    for doc in docs:
        lines = [f"{k}: {v}" for k, v in doc.items()] or ["{}"]
        parts.append("\n".join(lines) + "\n")
    text = "---\n".join(parts)
    try:
        expected = libyaml(text)
    except InputError:
        assert fast_documents(text) is None, "text libyaml refuses must not pass the fast way"
        return
    fast = fast_documents(text)
    if fast is not None:
        assert [(d, line) for d, line in fast if d is not None] == expected


@pytest.mark.parametrize("text", ["a: 0_10\n", "a: 0o10\n", "- 0_7\n", "a: [0_1]\n", "_: _010\n", "a: 1_000 # n\n", "_: _0b0\n", "a: 0x_1f\n"])
def test_leading_zero_numbers_with_underscores_or_o_take_the_slow_path(text):
    # YAML 1.1 (Kubernetes) reads 0_10 as octal 8 and 0o10 as a string; a YAML 1.2 parser disagrees on both
    assert fast_documents(text) is None
