"""The schema language: what each node accepts and refuses, and the shared value checks."""

import pytest

from meshctl.analysis.schema import checks as C
from meshctl.analysis.schema.core import (
    Any_,
    Bool,
    Duration,
    Int,
    KindSchema,
    List,
    Map,
    Num,
    Obj,
    Str,
    Validation,
    parse_duration_ns,
    validate_object,
)


def run(node, value):
    v = Validation()
    node.check(value, "spec", v)
    return [(f.level, f.path, f.text) for f in v.findings]


@pytest.mark.parametrize("node, value, expected", [
    (Str(), "x", []),
    (Str(), 5, [("error", "spec", "expected string, got integer")]),
    (Str(enum=("A", "B")), "C", [("error", "spec", "unsupported value 'C': must be one of A, B")]),
    (Str(min_len=1), "", [("error", "spec", "must not be empty")]),
    (Str(max_len=2), "abc", [("error", "spec", "must be at most 2 characters")]),
    (Str(pattern=r"^[a-z]+$", hint="lower-case letters"), "aB", [("error", "spec", ("'aB' is not valid: must be "
                                                                  "lower-case letters"))]),
    (Str(fmt=lambda s: None if s.isdigit() else "digits only"), "a1", [("error", "spec", "digits only")]),
    (Int(1, 10), 0, [("error", "spec", "must be at least 1")]),
    (Int(1, 10), 11, [("error", "spec", "must be at most 10")]),
    (Int(), True, [("error", "spec", "expected integer, got boolean")]),
    (Int(), 2.0, []),  # a YAML 2e0 is a whole number
    (Int(), 2.5, [("error", "spec", "expected integer, got number")]),
    (Int(enum=(301, 302)), 303, [("error", "spec", "unsupported value 303: must be one of 301, 302")]),
    (Num(0, 100), 100.5, [("error", "spec", "must be at most 100")]),
    (Num(), float("nan"), [("error", "spec", "expected number, got number")]),
    (Num(), "1", [("error", "spec", "expected number, got string")]),
    (Bool(), "true", [("error", "spec", "expected boolean, got string")]),
    (Duration(), "1h30m", []),
    (Duration(), "0.5ms", [("error", "spec", "must be at least 1ms")]),
    (Duration(), "1500us", [("error", "spec", "must be a whole number of milliseconds")]),
    (Duration(), "0s", [("error", "spec", "must be at least 1ms")]),
    (Duration(allow_zero=True), "0s", []),
    (Duration(istio=False), "1ns", []),
    (Duration(), "10", [("error", "spec", "'10' is not a duration (e.g. 500ms, 10s, 1h30m)")]),
    (List(Str(), min_items=1), [], [("error", "spec", "must not be empty")]),
    (List(Str(), max_items=1), ["a", "b"], [("error", "spec", "must have at most 1 items")]),
    (List(Str()), ["a", None, 3], [("error", "spec[1]", "must not be null"),
                                   ("error", "spec[2]", "expected string, got integer")]),
    (List(Str()), {"a": 1}, [("error", "spec", "expected array, got object")]),
    (Map(Int()), {"a": 1, "b": "x"}, [("error", "spec.b", "expected integer, got string")]),
    (Map(Str(), key=lambda k: "no dots" if "." in k else None), {"a.b": "x", 1: "y"},
     [("error", "spec.a.b", "no dots"), ("error", "spec.1", "key 1 is not a string")]),
    (Any_(dict), {"anything": [1, {"goes": None}]}, []),
    (Any_(dict), [1], [("error", "spec", "expected object, got array")]),
])
def test_nodes(node, value, expected):
    assert run(node, value) == expected


def test_objects_refuse_unknown_fields_and_check_required_ones():
    node = Obj({"name": Str(), "port": Int()}, required=("name",))
    assert run(node, {"port": 80, "prot": "x"}) == [
        ("error", "spec.prot", "unknown field 'prot'"), ("error", "spec.name", "required")]
    # null is "unset": it neither fails the type check nor satisfies required
    assert run(node, {"name": None, "port": None}) == [("error", "spec.name", "required")]
    assert run(node, "text") == [("error", "spec", "expected object, got string")]


def test_one_of_groups_allow_at_most_one_field():
    node = Obj({"a": Str(), "b": Str(), "c": Str()}, one_of=[("a", "b")])
    assert run(node, {"a": "x", "c": "y"}) == []
    assert run(node, {"a": "x", "b": "y"}) == [("error", "spec", "only one of a, b may be set (found a, b)")]


def test_rules_run_after_the_fields_in_the_same_walk():
    seen = []

    def rule(obj, path, v):
        seen.append((path, sorted(obj)))
        v.warn(path, "rule ran")

    node = Obj({"items": List(Obj({"x": Int()}, rules=(rule,)))})
    assert run(node, {"items": [{"x": 1}, {"x": "bad"}]}) == [
        ("warning", "spec.items[0]", "rule ran"),
        ("error", "spec.items[1].x", "expected integer, got string"),
        ("warning", "spec.items[1]", "rule ran"),
    ]
    assert seen == [("spec.items[0]", ["x"]), ("spec.items[1]", ["x"])]


def test_required_fields_must_exist_in_the_schema():
    with pytest.raises(ValueError, match="not fields"):
        Obj({"a": Str()}, required=("b",))


def test_validate_object_reads_name_namespace_annotations_and_version():
    seen = {}

    def object_rule(v):
        seen.update(name=v.name, namespace=v.namespace, annotations=dict(v.annotations), api=v.api_version)

    schema = KindSchema(Obj({}), object_rules=(object_rule,))
    raw = {"apiVersion": "x/v1", "metadata": {"name": "n", "namespace": "ns", "annotations": {"a": "b"}}, "spec": {}}
    assert validate_object(schema, raw) == []
    assert seen == {"name": "n", "namespace": "ns", "annotations": {"a": "b"}, "api": "x/v1"}
    # junk metadata does not break anything
    assert validate_object(schema, {"metadata": ["junk"], "spec": {}}) == []
    assert validate_object(schema, "not even an object") == []


@pytest.mark.parametrize("text, nanos", [
    ("0", 0), ("1s", 10**9), ("1.5s", 1_500_000_000), ("1h2m3s", 3723 * 10**9), ("250ms", 250_000_000),
    ("1us", 1000), ("1µs", 1000), (".5s", 500_000_000), ("1d", None), ("", None), ("-1s", None), ("s", None),
])
def test_go_durations(text, nanos):
    assert parse_duration_ns(text) == nanos


@pytest.mark.parametrize("host, problem", [
    ("reviews", None), ("reviews.shop.svc.cluster.local", None), ("*.example.com", None), ("*", None),
    ("*-api.example.com", None), ("istio.io.", None), ("Example.COM", None),
    ("", "host name must not be empty"), ("a..b", "is not valid: '' is not a DNS label"),
    ("a.*.com", "is not valid: '*' is not a DNS label"), ("1.2.3.4", "its last label '4' is all digits"),
    ("a_b.com", "is not valid: 'a_b' is not a DNS label"), ("x" * 64 + ".com", "is not a DNS label"),
    ("a." * 128 + "com", "is longer than 255 characters"),
])
def test_wildcard_domains(host, problem):
    found = C.check_wildcard_domain(host)
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize("entry, gateway, problems", [
    ("shop/reviews.shop.svc.cluster.local", False, []),
    ("*/*", False, []), ("./*", False, []), ("~/*", False, []),
    ("reviews.example.com", False, ["write the host as <namespace>/<dnsName>"]),
    ("reviews.example.com", True, []), ("1.2.3.4", True, []),
    ("~/*", True, ["'~' cannot be the namespace of a gateway host"]),
    ("shop/reviews", False, ["use a fully qualified host name, not a short name"]),
    ("shop/a*.com", False, ["host name 'a*.com' is not valid: 'a*' is not a DNS label",
                            "'a*.com' has a partial wildcard: use '*' alone or as a leading '*.' label"]),
])
def test_namespace_slash_host(entry, gateway, problems):
    assert C.check_namespace_host(entry, gateway) == problems


@pytest.mark.parametrize("value, problem", [
    ("plain", None), ("%HOSTNAME%", None), ("100%%", None), ("prefix %REQ(x-a)% suffix", None),
    ("abc%123", "unterminated variable"), ("%START_TIME%%", "unterminated variable"), ("%%%", "unterminated"),
    ("a\nb", "control characters"), ("%%x%%", None), ("%%", None), ("a%%b%", "unterminated"),
])
def test_header_values(value, problem):
    found = C.check_header_value(value)
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize("pattern, ok", [
    ("^/api/v[0-9]+/.*$", True), ("(?i)^/api", True), ("abc(?i)def", True), ("(?P<v>[0-9]+)", True),
    ("(?<v>[0-9]+)", True), (r"\pL+", True), (r"\p{Greek}", True), ("[[:alpha:]]+", True), (r"end\z", True),
    ("(", False), ("[a-", False), ("a**", False), ("(?=look)", False), ("(?<!behind)x", False),
    (r"(a)\1", False), ("a++", False), ("x{1001}", False), ("x" * 1025, False), (r"\Z", False),
])
def test_regexes_are_checked_as_re2_would(pattern, ok):
    assert (C.check_regex(pattern) is None) == ok
