"""Property: whatever junk a spec holds, validation reports findings and never raises."""

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshctl.analysis.schema import (
    ERROR,
    INEFFECTIVE,
    SCHEMAS,
    UNREACHABLE,
    WARNING,
    Finding,
    validate_object,
)
from meshctl.analysis.schema.core import List, Map, Obj

DATA = Path(__file__).resolve().parents[2] / "testdata" / "analyze" / "schema"
LEVELS = {ERROR, WARNING, UNREACHABLE, INEFFECTIVE}


def field_names() -> list[str]:
    """Every field name the schemas know, so that junk reaches deep into the rules."""
    names: set[str] = set()
    seen: set[int] = set()

    def walk(node):
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, Obj):
            names.update(node.fields)
            for child in node.fields.values():
                walk(child)
        elif isinstance(node, (List, Map)):
            walk(node.item if isinstance(node, List) else node.value)

    for validated in SCHEMAS:
        walk(validated.schema.spec)
    return sorted(names)


NAMES = field_names()
WORDS = st.sampled_from(NAMES + ["", "*", "/", ".", "~", "mesh", "UPGRADE", "DENY", "CUSTOM", "HTTPS", "TLS",
                                 "SIMPLE", "MUTUAL", "ISTIO_MUTUAL", "REMOVE", "UPSERT", "unix:///x", "0s", "1ms",
                                 "10.0.0.0/8", "::1", "(", "%", "@request.auth.claims.x", "PathPrefix", "Terminate",
                                 "ReplacePrefixMatch", "Service", "Exact", "RegularExpression"])
SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12) | WORDS)
KEYS = WORDS | st.text(max_size=6) | st.integers(-3, 70000)
JUNK = st.recursive(SCALARS, lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(KEYS, children, max_size=5), max_leaves=40)


def assert_findings(found):
    assert isinstance(found, list)
    for finding in found:
        assert isinstance(finding, Finding)
        assert finding.level in LEVELS
        assert isinstance(finding.path, str) and isinstance(finding.text, str)
        str(finding)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(SCHEMAS), spec=JUNK, metadata=JUNK, api_version=SCALARS)
def test_junk_specs_never_crash_the_validator(kind, spec, metadata, api_version):
    raw = {"apiVersion": api_version, "kind": kind.kind.kind, "metadata": metadata, "spec": spec}
    found = validate_object(kind.schema, raw)
    assert_findings(found)
    if spec is not None and not isinstance(spec, dict):  # junk is reported, not skipped
        assert ("error", "spec") in {(f.level, f.path) for f in found}


def valid_objects():
    objects = []
    for name in ("istio-valid.yaml", "gatewayapi-valid.yaml", "virtualservice-unreachable.yaml"):
        objects += [doc for doc in yaml.safe_load_all((DATA / name).read_text()) if doc]
    return objects


VALID = valid_objects()
BY_KIND = {(s.kind.group, s.kind.kind): s for s in SCHEMAS}


def schema_of(obj):
    group = obj["apiVersion"].rpartition("/")[0]
    return BY_KIND[(group, obj["kind"])].schema


def replace_somewhere(value, path, junk):
    """A copy of ``value`` with the node ``path`` (a list of choices) leads to replaced by ``junk``."""
    if not path or not isinstance(value, (dict, list)) or not value:
        return junk
    choice, rest = path[0], path[1:]
    if isinstance(value, dict):
        key = sorted(value, key=str)[choice % len(value)]
        return {**value, key: replace_somewhere(value[key], rest, junk)}
    index = choice % len(value)
    return value[:index] + [replace_somewhere(value[index], rest, junk)] + value[index + 1:]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(VALID) - 1), path=st.lists(st.integers(0, 50), min_size=1, max_size=8), junk=JUNK)
def test_junk_anywhere_in_a_valid_object_never_crashes_the_validator(index, path, junk):
    obj = VALID[index]
    spec = replace_somewhere(obj["spec"], path, junk)
    assert_findings(validate_object(schema_of(obj), {**obj, "spec": spec}))


def test_the_valid_objects_are_valid():
    for obj in VALID:
        found = [f for f in validate_object(schema_of(obj), obj) if f.level in (ERROR, WARNING)]
        assert found == [], (obj["metadata"], found)
