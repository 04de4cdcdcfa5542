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
