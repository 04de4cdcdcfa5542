"""tests/fakekube/schema.py: pruning, defaulting, OpenAPI and CEL validation of custom resources,
with the messages a real kube-apiserver sends. Small schemas for each rule, then the real Gateway
API and inference-extension CRDs (read from shared/data/upstream)."""

from __future__ import annotations

import copy
import functools

import pytest
import yaml

from tests.conftest import needs_upstream
from tests.fakekube import celeval
from tests.fakekube.schema import (admit, compile_schema, crd_version_has_status, crd_version_schema, defaulted,
                                   strict_error_message, warning_header)

# --- helpers ----------------------------------------------------------------------------------


def schema(spec_props: dict, **spec_extra) -> dict:
    return {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {"type": "object", "properties": spec_props, **spec_extra},
            "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
        },
    }


def widget(spec=None, **extra) -> dict:
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"}}
    if spec is not None:
        obj["spec"] = spec
    obj.update(extra)
    return obj


def check(spec_props: dict, spec, old_spec=None, *, strict=False, **spec_extra):
    old = widget(old_spec) if old_spec is not None else None
    return admit(compile_schema(schema(spec_props, **spec_extra)), widget(spec), old, strict=strict)


def errors(spec_props: dict, spec, old_spec=None, **spec_extra):
    return check(spec_props, spec, old_spec, **spec_extra).errors


@functools.lru_cache(maxsize=None)
def upstream_crds() -> dict:
    up = needs_upstream()
    crds = {}
    for name in ("gateway-api-v1.5.1-standard-install.yaml", "gateway-api-inference-extension-v1.6.0-manifests.yaml"):
        for doc in yaml.safe_load_all((up / name).read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                crds[doc["metadata"]["name"]] = doc
    return crds


def upstream(name: str, version: str = "v1"):
    crd = upstream_crds()[name]
    return compile_schema(crd_version_schema(crd, version))


def gateway(listeners, **spec) -> dict:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": "gw", "namespace": "default"},
            "spec": {"gatewayClassName": "istio", "listeners": listeners, **spec}}


def httproute(rules, parent_refs=None) -> dict:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "r", "namespace": "default"},
            "spec": {"parentRefs": parent_refs or [{"name": "gw"}], "rules": rules}}


BLOCKED = ("<nil>", "FieldValueInvalid", 'Invalid value: "null": some validation rules were not checked because the '
           "object was invalid; correct the existing errors to complete validation")

# --- structural validation --------------------------------------------------------------------


def test_type_mismatch_is_type_invalid_with_the_inferred_json_type():
    assert errors({"replicas": {"type": "integer"}}, {"replicas": "3"}) == [
        ("spec.replicas", "FieldValueTypeInvalid",
         'Invalid value: "string": spec.replicas in body must be of type integer: "string"')]
    assert errors({"on": {"type": "boolean"}}, {"on": 1}) == [
        ("spec.on", "FieldValueTypeInvalid", 'Invalid value: "integer": spec.on in body must be of type boolean: "integer"')]
    # A float holding an integer is an integer; 1.5 is not. An integer is a number.
    assert errors({"n": {"type": "integer"}, "x": {"type": "number"}}, {"n": 2.0, "x": 3}) == []
    assert errors({"n": {"type": "integer"}}, {"n": 1.5})[0][2].endswith('must be of type integer: "number"')


def test_required_enum_and_their_reasons():
    props = {"mode": {"type": "string", "enum": ["Fast", "Slow"]}, "size": {"type": "integer", "enum": [1, 2]}}
    assert errors(props, {"mode": "Medium", "size": 3}, required=["name"]) == [
        ("spec.mode", "FieldValueNotSupported", 'Unsupported value: "Medium": supported values: "Fast", "Slow"'),
        ("spec.size", "FieldValueNotSupported", 'Unsupported value: 3: supported values: "1", "2"'),
        ("spec.name", "FieldValueRequired", "Required value"),
    ]
    assert errors(props, {"mode": "Slow", "size": 2.0}) == []  # converted to the enum value's type


def test_numeric_bounds_and_multiple_of():
    props = {"port": {"type": "integer", "minimum": 1, "maximum": 65535},
             "ratio": {"type": "number", "exclusiveMinimum": True, "minimum": 0, "exclusiveMaximum": True, "maximum": 1},
             "step": {"type": "integer", "multipleOf": 5}}
    assert errors(props, {"port": 70000, "ratio": 1, "step": 7}) == [
        ("spec.port", "FieldValueInvalid", "Invalid value: 70000: spec.port in body should be less than or equal to 65535"),
        ("spec.ratio", "FieldValueInvalid", "Invalid value: 1: spec.ratio in body should be less than 1"),
        ("spec.step", "FieldValueInvalid", "Invalid value: 7: spec.step in body should be a multiple of 5"),
    ]
    assert errors(props, {"port": 0, "ratio": 0.0})[:2] == [
        ("spec.port", "FieldValueInvalid", "Invalid value: 0: spec.port in body should be greater than or equal to 1"),
        ("spec.ratio", "FieldValueInvalid", "Invalid value: 0: spec.ratio in body should be greater than 0"),
    ]
    assert errors(props, {"port": 443, "ratio": 0.5, "step": 15}) == []


def test_string_lengths_count_code_points_and_pattern_is_anchored_like_re2():
    props = {"name": {"type": "string", "maxLength": 3, "minLength": 2}, "id": {"type": "string", "pattern": "^[a-z]+$"}}
    assert errors(props, {"name": "ééé"}) == []  # 3 code points, 6 bytes
    assert errors(props, {"name": "éééé"}) == [("spec.name", "FieldValueTooLong", "Too long: may not be more than 3 bytes")]
    assert errors(props, {"name": "a"}) == [
        ("spec.name", "FieldValueInvalid", 'Invalid value: "a": spec.name in body should be at least 2 chars long')]
    assert errors(props, {"id": "abc\n"}) == [  # RE2's $ is the end of the text (Python's would match)
        ("spec.id", "FieldValueInvalid", 'Invalid value: "abc\\n": spec.id in body should match \'^[a-z]+$\'')]
    assert errors({"c": {"type": "string", "maxLength": 1}}, {"c": "ab"})[0][2] == "Too long: may not be more than 1 byte"


def test_array_and_object_sizes_and_unique_items():
    props = {"tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2, "uniqueItems": True},
             "labels": {"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 1}}
    assert errors(props, {"tags": ["a", "b", "c"], "labels": {"a": "1", "b": "2"}}) == [
        ("spec.tags", "FieldValueTooMany", "Too many: 3: must have at most 2 items"),
        ("spec.labels", "FieldValueTooMany", "Too many: 2: must have at most 1 item"),
    ]
    assert errors(props, {"tags": []}) == [
        ("spec.tags", "FieldValueInvalid", "Invalid value: 0: spec.tags in body should have at least 1 items")]
    assert errors(props, {"tags": ["a", "a"]}) == [
        ("spec.tags", "FieldValueInvalid", 'Invalid value: "": spec.tags in body shouldn\'t contain duplicates')]
    assert errors({"o": {"type": "object", "minProperties": 1}}, {"o": {}}) == [
        ("spec.o", "FieldValueInvalid", "Invalid value: 0: spec.o in body should have at least 1 properties")]


@pytest.mark.parametrize("fmt,good,bad", [
    ("uuid", "123e4567-e89b-12d3-a456-426614174000", "123e4567"),
    ("ipv4", "10.0.0.1", "10.0.0.256"),
    ("ipv6", "fd00::1", "10.0.0.1"),
    ("cidr", "10.0.0.0/8", "10.0.0.0/33"),
    ("date-time", "2025-01-02T03:04:05Z", "2025-13-02T03:04:05Z"),
    ("date", "2024-02-29", "2023-02-29"),
    ("duration", "1h30m", "90 parsecs"),
    ("byte", "aGVsbG8=", "not base64!"),
    ("hostname", "api.example.com", "-bad-.example.com"),
    ("mac", "00:1a:2b:3c:4d:5e", "00:1a:2b"),
    ("email", "a@example.com", "no-at-sign"),
    ("uri", "https://example.com/x", "no scheme"),
])
def test_formats_kubernetes_checks(fmt, good, bad):
    props = {"v": {"type": "string", "format": fmt}}
    assert errors(props, {"v": good}) == []
    assert errors(props, {"v": bad}) == [
        ("spec.v", "FieldValueTypeInvalid", f'Invalid value: "{bad}": spec.v in body must be of type {fmt}: "{bad}"')]


def test_unknown_formats_and_int32_ranges_are_not_checked():
    props = {"a": {"type": "string", "format": "color-name"}, "b": {"type": "integer", "format": "int32"}}
    assert errors(props, {"a": "#nope", "b": 2**40}) == []


def test_nullable_nulls_and_non_nullable_nulls():
    props = {"note": {"type": "string", "nullable": True}, "gone": {"type": "string"},
             "dflt": {"type": "string", "default": "x"}, "list": {"type": "array", "items": {"type": "string"}},
             "nd": {"type": "string", "nullable": True, "default": "y"}}
    res = check(props, {"note": None, "gone": None, "dflt": None, "list": ["a", None], "nd": None})
    # non-nullable: dropped, or replaced by the default; nullable: kept, even with a default
    assert res.obj["spec"] == {"note": None, "dflt": "x", "list": ["a", None], "nd": None}
    assert res.errors == [("spec.list[1]", "FieldValueTypeInvalid",
                           'Invalid value: "null": spec.list[1] in body must be of type string: "null"')]


def test_int_or_string():
    props = {"port": {"x-kubernetes-int-or-string": True}}
    assert errors(props, {"port": 8080}) == [] and errors(props, {"port": "http"}) == []
    assert errors(props, {"port": True}) == [
        ("spec.port", "FieldValueTypeInvalid",
         'Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"')]


def test_junctors_report_at_nil_with_the_branch_errors():
    props = {"addr": {"type": "object", "properties": {"type": {"type": "string"}, "value": {"type": "string"}},
                      "oneOf": [{"properties": {"type": {"enum": ["IP"]}, "value": {"anyOf": [{"format": "ipv4"},
                                                                                               {"format": "ipv6"}]}}},
                                {"properties": {"type": {"not": {"enum": ["IP"]}}}}]}}
    assert errors(props, {"addr": {"type": "Hostname", "value": "x"}}) == []
    assert errors(props, {"addr": {"type": "IP", "value": "fd00::1"}}) == []
    assert errors(props, {"addr": {"type": "IP", "value": "nope"}}) == [
        ("<nil>", "FieldValueInvalid", 'Invalid value: "": "spec.addr" must validate one and only one schema (oneOf). '
                                       "Found none valid"),
        ("<nil>", "FieldValueInvalid", 'Invalid value: "": "spec.addr.value" must validate at least one schema (anyOf)'),
        ("spec.addr.value", "FieldValueTypeInvalid",
         'Invalid value: "nope": spec.addr.value in body must be of type ipv4: "nope"'),
    ]
    assert errors({"n": {"type": "integer", "allOf": [{"minimum": 1}, {"maximum": 3}]}}, {"n": 5}) == [
        ("spec.n", "FieldValueInvalid", "Invalid value: 5: spec.n in body should be less than or equal to 3"),
        ("<nil>", "FieldValueInvalid", 'Invalid value: "": "spec.n" must validate all the schemas (allOf)'),
    ]


def test_map_values_use_dotted_paths_in_schema_errors_and_brackets_in_cel_errors():
    props = {"labels": {"type": "object", "additionalProperties": {
        "type": "string", "maxLength": 3, "x-kubernetes-validations": [{"rule": "self != 'bad'"}]}}}
    assert errors(props, {"labels": {"foo": "toolong"}}) == [
        ("spec.labels.foo", "FieldValueTooLong", "Too long: may not be more than 3 bytes"), BLOCKED]
    assert errors(props, {"labels": {"foo": "bad"}}) == [
        ("spec.labels[foo]", "FieldValueInvalid", 'Invalid value: "string": failed rule: self != \'bad\'')]


# --- list types -------------------------------------------------------------------------------


def test_list_type_set_and_map_duplicates():
    props = {
        "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
        "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["port", "protocol"],
                  "items": {"type": "object", "properties": {"port": {"type": "integer"}, "protocol": {"type": "string"}}}},
        "named": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                  "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
    }
    spec = {"tags": ["a", "b", "a", "a"],  # only the first repeat is reported
            "ports": [{"port": 80, "protocol": "TCP"}, {"port": 80, "protocol": "UDP"}, {"port": 80, "protocol": "TCP"}],
            "named": [{"name": "x"}, {"name": "x"}]}
    assert errors(props, spec) == [
        ("spec.tags[2]", "FieldValueDuplicate", 'Duplicate value: "a"'),
        ("spec.ports[2]", "FieldValueDuplicate", 'Duplicate value: map[string]interface {}{"port":80, "protocol":"TCP"}'),
        ("spec.named[1]", "FieldValueDuplicate", 'Duplicate value: map[string]interface {}{"name":"x"}'),
    ]
    assert errors(props, {"named": ["x"]}) == [
        ("spec.named[0]", "FieldValueTypeInvalid",
         'Invalid value: "string": spec.named[0] in body must be of type object: "string"'),
        ("spec.named[0]", "FieldValueInvalid", 'Invalid value: "x": must be an object for an array of list-type map'),
    ]


# --- pruning, metadata, strict ------------------------------------------------------------------


def test_unknown_fields_are_pruned_and_reported_once_with_full_paths():
    props = {"listeners": {"type": "array", "items": {"type": "object", "properties": {"port": {"type": "integer"}}}}}
    obj = widget({"listeners": [{"port": 1, "foo": {"deep": 1}}, {"port": 2}], "extra": 1},
                 status={"ready": True, "phase": "x"}, top=1)
    obj["metadata"]["bogus"] = 1
    original = copy.deepcopy(obj)
    res = admit(compile_schema(schema(props)), obj, None, strict=False)
    assert res.warnings == ['unknown field "metadata.bogus"', 'unknown field "spec.extra"',
                            'unknown field "spec.listeners[0].foo"', 'unknown field "status.phase"',
                            'unknown field "top"']
    assert res.unknown == ["metadata.bogus", "spec.extra", "spec.listeners[0].foo", "status.phase", "top"]
    assert res.obj == {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"},
                       "spec": {"listeners": [{"port": 1}, {"port": 2}]}, "status": {"ready": True}}
    assert res.errors == [] and obj == original  # the input is untouched


def test_root_type_meta_is_never_pruned_and_preserve_unknown_keeps_fields():
    s = {"type": "object", "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                                                    "properties": {"known": {"type": "object",
                                                                             "properties": {"a": {"type": "string"}}}}}}}
    obj = widget({"free": {"any": [1, 2]}, "known": {"a": "x", "b": "pruned"}})
    res = admit(compile_schema(s), obj, None, strict=False)
    assert res.obj["apiVersion"] == "example.com/v1" and res.obj["kind"] == "Widget"
    assert res.obj["spec"] == {"free": {"any": [1, 2]}, "known": {"a": "x"}}
    assert res.unknown == ["spec.known.b"]


def test_no_schema_accepts_everything_but_still_reduces_metadata():
    obj = widget({"anything": [1]}, more={"x": 1})
    obj["metadata"]["nope"] = True
    res = admit(compile_schema(None), obj, None, strict=False)
    assert res.obj["spec"] == {"anything": [1]} and res.obj["more"] == {"x": 1}
    assert res.unknown == ["metadata.nope"] and res.errors == []


def test_metadata_is_reduced_to_object_meta_including_nested_structs():
    obj = widget({})
    obj["metadata"].update(labels={"a": "b"}, ownerReferences=[{"apiVersion": "v1", "kind": "X", "name": "n", "uid": "u",
                                                                "color": "red"}])
    res = admit(compile_schema(schema({})), obj, None, strict=False)
    assert res.unknown == ["metadata.ownerReferences[0].color"]
    assert res.obj["metadata"]["ownerReferences"] == [{"apiVersion": "v1", "kind": "X", "name": "n", "uid": "u"}]
    bad = widget({})
    bad["metadata"]["labels"] = "app=x"
    assert admit(compile_schema(schema({})), bad, None, strict=False).bad_request == (
        "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string")


def test_non_string_type_meta_is_a_decoding_error():
    res = admit(compile_schema(schema({})), widget({}, kind=5), None, strict=False)
    assert res.bad_request == ".kind accessor error: 5 is of the type int64, expected string"


def test_strict_reports_unknown_fields_instead_of_warning_and_validating():
    res = check({"n": {"type": "integer", "maximum": 1}}, {"n": 5, "x": 1, "a": 2}, strict=True)
    assert res.unknown == ["spec.a", "spec.x"] and res.warnings == [] and res.errors == []
    assert strict_error_message(res.unknown, "create", "Widget", "v1") == (
        'Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field "spec.a", '
        'unknown field "spec.x"')
    assert strict_error_message(["spec.a"], "patch") == 'strict decoding error: unknown field "spec.a"'
    assert strict_error_message(["spec.a"], "apply") == ".spec.a: field not declared in schema"
    assert warning_header('unknown field "spec.a"') == '299 - "unknown field \\"spec.a\\""'
    lax = check({"n": {"type": "integer"}}, {"n": 1, "x": 1})
    assert lax.warnings_for("Ignore") == [] and lax.warnings_for("Warn") == ['unknown field "spec.x"']


def test_embedded_resources_keep_type_meta_and_coerce_their_metadata():
    props = {"template": {"type": "object", "x-kubernetes-embedded-resource": True,
                          "properties": {"spec": {"type": "object", "properties": {"n": {"type": "integer"}}}}}}
    tmpl = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "junk": 1}, "spec": {"n": 1, "m": 2}}
    res = check(props, {"template": tmpl})
    assert res.obj["spec"]["template"] == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                                           "spec": {"n": 1}}
    assert res.unknown == ["spec.template.spec.m", "spec.template.metadata.junk"] and res.errors == []
    assert errors(props, {"template": {"metadata": {"name": "a/b"}}}) == [
        ("spec.template.apiVersion", "FieldValueRequired", "Required value"),
        ("spec.template.kind", "FieldValueRequired", "Required value"),
        ("spec.template.metadata.name", "FieldValueInvalid", "Invalid value: \"a/b\": may not contain '/'"),
    ]


# --- defaulting -----------------------------------------------------------------------------


def test_defaults_apply_recursively_where_the_parent_exists():
    props = {
        "opts": {"type": "object", "properties": {"level": {"type": "integer", "default": 3},
                                                  "inner": {"type": "object", "properties": {
                                                      "on": {"type": "boolean", "default": True}}}}},
        "mode": {"type": "string", "default": "Auto"},
        "items": {"type": "array", "items": {"type": "object", "properties": {"w": {"type": "integer", "default": 1}}}},
        "byName": {"type": "object", "additionalProperties": {
            "type": "object", "properties": {"ttl": {"type": "string", "default": "1h"}}}},
        "box": {"type": "object", "default": {}, "properties": {"size": {"type": "string", "default": "M"}}},
    }
    res = check(props, {"opts": {"inner": {}}, "items": [{}, {"w": 5}], "byName": {"a": {}}})
    assert res.obj["spec"] == {"opts": {"level": 3, "inner": {"on": True}}, "items": [{"w": 1}, {"w": 5}],
                               "byName": {"a": {"ttl": "1h"}}, "mode": "Auto", "box": {"size": "M"}}
    assert "opts" not in check(props, {}).obj["spec"]  # no parent, no default inside it


def test_reads_apply_defaults_like_decoding_from_storage():
    c = compile_schema(schema({"mode": {"type": "string", "default": "Auto"}, "gone": {"type": "string"}}))
    stored = widget({"gone": None})
    assert defaulted(c, stored)["spec"] == {"mode": "Auto"} and stored["spec"] == {"gone": None}


def test_defaults_come_after_pruning_and_are_validated():
    props = {"n": {"type": "integer", "default": 10, "maximum": 5}}
    res = check(props, {"m": 1})
    assert res.obj["spec"] == {"n": 10} and res.unknown == ["spec.m"]
    assert res.errors == [("spec.n", "FieldValueInvalid", "Invalid value: 10: spec.n in body should be less than or equal to 5")]


# --- CEL ------------------------------------------------------------------------------------


def test_cel_message_message_expression_reason_field_path_and_default_message():
    props = {"min": {"type": "integer"}, "max": {"type": "integer"}}
    rules = [
        {"rule": "self.min <= self.max", "message": "min must not exceed max"},
        {"rule": "self.min <= self.max", "messageExpression": "'min ' + string(self.min) + ' > max ' + string(self.max)"},
        {"rule": "self.min <= self.max", "reason": "FieldValueForbidden", "fieldPath": ".max", "message": "no"},
        {"rule": "self.min <= self.max", "reason": "FieldValueDuplicate"},
        {"rule": "self.min <= self.max"},
    ]
    assert errors(props, {"min": 5, "max": 1}, **{"x-kubernetes-validations": rules}) == [
        ("spec", "FieldValueInvalid", 'Invalid value: "object": min must not exceed max'),
        ("spec", "FieldValueInvalid", 'Invalid value: "object": min 5 > max 1'),
        ("spec.max", "FieldValueForbidden", "Forbidden: no"),
        ("spec", "FieldValueDuplicate", 'Duplicate value: "object"'),
        ("spec", "FieldValueInvalid", 'Invalid value: "object": failed rule: self.min <= self.max'),
    ]
    assert errors(props, {"min": 1, "max": 5}, **{"x-kubernetes-validations": rules}) == []


def test_cel_rules_do_not_run_on_absent_values_and_report_evaluation_errors():
    props = {"opt": {"type": "object", "properties": {"a": {"type": "string"}},
                     "x-kubernetes-validations": [{"rule": "self.a == 'x'", "message": "a must be x"}]}}
    assert errors(props, {}) == []
    assert errors(props, {"opt": {}}) == [
        ("spec.opt", "FieldValueInvalid", 'Invalid value: "object": no such key: a evaluating rule: a must be x')]


def test_cel_sees_escaped_names_doubles_and_the_library():
    props = {"ref": {"type": "object", "properties": {"namespace": {"type": "string"}, "x-y": {"type": "string"},
                                                       "weight": {"type": "number"}, "ip": {"type": "string"}},
                     "x-kubernetes-validations": [
                         {"rule": "self.__namespace__ == 'prod'"}, {"rule": "self.x__dash__y.lowerAscii() == 'ab'"},
                         {"rule": "type(self.weight) == double"}, {"rule": "isIP(self.ip) && ip(self.ip).family() == 6"},
                         {"rule": "'a,b'.split(',').size() == 2 && ['b', 'a'].sort().join('') == 'ab' && "
                                  "quantity('1Gi').isGreaterThan(quantity('1G')) && isURL('https://x/y') && "
                                  "cidr('10.0.0.0/8').containsIP('10.1.2.3') && '%s=%d'.format(['a', 1]) == 'a=1'"}]}}
    assert errors(props, {"ref": {"namespace": "prod", "x-y": "AB", "weight": 1, "ip": "fd00::1"}}) == []
    assert [e[2] for e in errors(props, {"ref": {"namespace": "dev", "x-y": "AB", "weight": 1, "ip": "10.0.0.1"}})] == [
        'Invalid value: "object": failed rule: self.__namespace__ == \'prod\'',
        'Invalid value: "object": failed rule: isIP(self.ip) && ip(self.ip).family() == 6']


def test_rules_on_the_root_report_at_nil_and_see_only_name_in_metadata():
    s = schema({})
    s["x-kubernetes-validations"] = [{"rule": "self.metadata.name.startsWith('w')", "message": "bad name"},
                                     {"rule": "!has(self.metadata.namespace)", "message": "metadata is reduced"}]
    assert admit(compile_schema(s), widget({}), None, strict=False).errors == []
    other = widget({})
    other["metadata"]["name"] = "x"
    assert admit(compile_schema(s), other, None, strict=False).errors == [
        ("<nil>", "FieldValueInvalid", 'Invalid value: "object": bad name')]


def test_blocking_errors_skip_cel():
    props = {"n": {"type": "integer"}, "m": {"type": "integer", "maximum": 1}}
    cel = {"x-kubernetes-validations": [{"rule": "false", "message": "never"}]}
    assert errors(props, {"n": "x"}, **cel) == [
        ("spec.n", "FieldValueTypeInvalid", 'Invalid value: "string": spec.n in body must be of type integer: "string"'),
        BLOCKED]
    assert errors(props, {"m": 2}, **cel) == [  # Invalid value is not blocking
        ("spec.m", "FieldValueInvalid", "Invalid value: 2: spec.m in body should be less than or equal to 1"),
        ("spec", "FieldValueInvalid", 'Invalid value: "object": never')]


def test_transition_rules_need_an_old_value_unless_optional_old_self():
    props = {"id": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "immutable"}]},
             "gen": {"type": "integer", "x-kubernetes-validations": [
                 {"rule": "!oldSelf.hasValue() || self >= oldSelf.value()", "optionalOldSelf": True,
                  "message": "may not decrease"},
                 {"rule": "oldSelf.hasValue() || self == 1", "optionalOldSelf": True, "message": "starts at 1"}]}}
    assert errors(props, {"id": "a", "gen": 1}) == []
    assert errors(props, {"id": "a", "gen": 5}) == [("spec.gen", "FieldValueInvalid", 'Invalid value: "integer": starts at 1')]
    assert errors(props, {"id": "b", "gen": 1}, {"id": "a", "gen": 2}) == [
        ("spec.id", "FieldValueInvalid", 'Invalid value: "string": immutable'),
        ("spec.gen", "FieldValueInvalid", 'Invalid value: "integer": may not decrease')]
    assert errors(props, {"id": "a", "gen": 3}, {"gen": 2}) == []  # no old id: the id rule does not run


def test_old_self_of_map_list_items_is_found_by_key():
    props = {"ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                       "items": {"type": "object", "properties": {"name": {"type": "string"}, "n": {"type": "integer"}},
                                 "x-kubernetes-validations": [{"rule": "self.n == oldSelf.n", "message": "n is fixed"}]}}}
    old = {"ports": [{"name": "a", "n": 1}, {"name": "b", "n": 2}]}
    assert errors(props, {"ports": [{"name": "b", "n": 2}, {"name": "a", "n": 1}, {"name": "c", "n": 9}]}, old) == []
    assert errors(props, {"ports": [{"name": "b", "n": 3}]}, old) == [
        ("spec.ports[0]", "FieldValueInvalid", 'Invalid value: "object": n is fixed')]


# --- ratcheting -----------------------------------------------------------------------------


def test_schema_errors_of_unchanged_values_are_ratcheted():
    props = {"n": {"type": "integer", "maximum": 5}, "other": {"type": "string"},
             "items": {"type": "array", "items": {"type": "string", "maxLength": 2}}}
    old = {"n": 9, "other": "a", "items": ["toolong", "ok"]}
    assert errors(props, {"n": 9, "other": "b", "items": ["toolong", "ok", "no"]}, old) == []  # unchanged values
    assert errors(props, {"n": 8, "other": "a", "items": ["toolong"]}, old) == [
        ("spec.n", "FieldValueInvalid", "Invalid value: 8: spec.n in body should be less than or equal to 5")]
    assert errors(props, {"n": 1, "items": ["ok", "toolong"]}, old) == [  # by index: item 1 changed
        ("spec.items[1]", "FieldValueTooLong", "Too long: may not be more than 2 bytes")]


def test_ratcheting_correlates_map_lists_by_key_and_sets_not_per_item():
    item = {"type": "object", "properties": {"name": {"type": "string"}, "v": {"type": "string", "maxLength": 1}}}
    props = {"m": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"], "items": item},
             "s": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string", "maxLength": 1}}}
    old = {"m": [{"name": "a", "v": "xx"}, {"name": "b", "v": "y"}], "s": ["zz"]}
    assert errors(props, {"m": [{"name": "b", "v": "y"}, {"name": "a", "v": "xx"}], "s": ["zz"]}, old) == []
    assert errors(props, {"m": [{"name": "a", "v": "xx"}], "s": ["zz", "q"]}, old) == [
        ("spec.s[0]", "FieldValueTooLong", "Too long: may not be more than 1 byte")]


def test_cel_errors_of_unchanged_values_become_warnings():
    props = {"a": {"type": "string", "x-kubernetes-validations": [{"rule": "self != 'bad'", "message": "not bad"}]},
             "b": {"type": "string"}}
    res = check(props, {"a": "bad", "b": "new"}, {"a": "bad", "b": "old"})
    assert res.errors == [] and res.warnings == ['spec.a: Invalid value: "string": not bad']
    assert check(props, {"a": "bad"}, {"a": "good"}).errors == [
        ("spec.a", "FieldValueInvalid", 'Invalid value: "string": not bad')]


def test_list_type_checks_are_skipped_on_update_when_the_old_object_violated_them():
    props = {"tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
             "n": {"type": "integer"}}
    assert errors(props, {"tags": ["a", "a"], "n": 2}, {"tags": ["a", "a"], "n": 1}) == []
    assert errors(props, {"tags": ["a", "a"]}, {"tags": ["a"]}) == [
        ("spec.tags[1]", "FieldValueDuplicate", 'Duplicate value: "a"')]


# --- status ---------------------------------------------------------------------------------


def test_status_subresource_scopes_validation():
    c = compile_schema(schema({"n": {"type": "integer"}}))
    bad_status = widget({"n": 1}, status={"ready": "yes"})
    type_err = ("status.ready", "FieldValueTypeInvalid",
                'Invalid value: "string": status.ready in body must be of type boolean: "string"')
    assert admit(c, bad_status, None, strict=False).errors == [type_err]  # no status subresource: whole object
    assert admit(c, bad_status, None, strict=False, status_subresource=True).errors == []  # create drops status
    old = widget({"n": "stored-bad"}, status={"ready": True})
    # A status write validates the status only (the rest is the stored object, unchanged).
    assert admit(c, widget({"n": "ignored"}, status={"ready": "yes"}), old, strict=False, subresource="status",
                 status_subresource=True).errors == [type_err]
    assert admit(c, widget({"n": 2}, status={"ready": "yes"}), old, strict=False, status_subresource=True).errors == []


# --- CRD helpers and caching ------------------------------------------------------------------


def test_crd_version_schema_per_version_and_v1beta1_top_level():
    s = {"type": "object"}
    v1 = {"spec": {"versions": [{"name": "v1", "served": True, "schema": {"openAPIV3Schema": s},
                                 "subresources": {"status": {}}},
                                {"name": "v0", "served": False, "schema": {"openAPIV3Schema": s}}]}}
    assert crd_version_schema(v1, "v1") is s and crd_version_schema(v1, "v0") is None
    assert crd_version_schema(v1, "v2") is None
    beta = {"spec": {"version": "v1beta1", "validation": {"openAPIV3Schema": s}, "subresources": {"status": {}}}}
    assert crd_version_schema(beta, "v1beta1") is s
    beta2 = {"spec": {"versions": [{"name": "v1beta1", "served": True}], "validation": {"openAPIV3Schema": s}}}
    assert crd_version_schema(beta2, "v1beta1") is s
    assert crd_version_has_status(v1, "v1") and crd_version_has_status(beta, "v1beta1")
    assert not crd_version_has_status(beta2, "v1beta1")


def test_compile_schema_is_cached_by_content_and_programs_by_rule():
    a = schema({"n": {"type": "integer", "x-kubernetes-validations": [{"rule": "self > 0"}]}})
    assert compile_schema(a) is compile_schema(copy.deepcopy(a))
    assert celeval.compile_program("self > 0") is celeval.compile_program("self > 0")


# --- the real CRDs ----------------------------------------------------------------------------


def test_gateway_port_out_of_range_is_a_422_cause_at_the_listener():
    res = admit(upstream("gateways.gateway.networking.k8s.io"), gateway([{"name": "http", "port": 70000,
                                                                           "protocol": "HTTP"}]), None, strict=False,
                status_subresource=True)
    assert res.errors == [("spec.listeners[0].port", "FieldValueInvalid",
                           "Invalid value: 70000: spec.listeners[0].port in body should be less than or equal to 65535")]


def test_gateway_defaults_allowed_routes_and_rejects_duplicate_listener_names():
    gw = upstream("gateways.gateway.networking.k8s.io")
    ok = admit(gw, gateway([{"name": "http", "port": 80, "protocol": "HTTP"}]), None, strict=False, status_subresource=True)
    assert ok.errors == [] and ok.obj["spec"]["listeners"][0]["allowedRoutes"] == {"namespaces": {"from": "Same"}}
    dup = gateway([{"name": "a", "port": 80, "protocol": "HTTP"}, {"name": "a", "port": 81, "protocol": "HTTP"}])
    assert admit(gw, dup, None, strict=False, status_subresource=True).errors == [
        ("spec.listeners[1]", "FieldValueDuplicate", 'Duplicate value: map[string]interface {}{"name":"a"}'),
        ("spec.listeners", "FieldValueInvalid", 'Invalid value: "array": Listener name must be unique within the Gateway'),
    ]
    tls = gateway([{"name": "t", "port": 443, "protocol": "HTTPS", "tls": {"mode": "Passthrough"}}])
    assert admit(gw, tls, None, strict=False, status_subresource=True).errors == [
        ("spec.listeners", "FieldValueInvalid", 'Invalid value: "array": tls mode must be Terminate for protocol HTTPS')]


def test_gateway_unknown_listener_field_warns_or_fails_strictly():
    gw = upstream("gateways.gateway.networking.k8s.io")
    obj = gateway([{"name": "http", "port": 80, "protocol": "HTTP", "foo": 1}])
    assert admit(gw, obj, None, strict=False, status_subresource=True).warnings == [
        'unknown field "spec.listeners[0].foo"']
    assert admit(gw, obj, None, strict=True, status_subresource=True).unknown == ["spec.listeners[0].foo"]


def test_httproute_defaults_parent_refs_backend_refs_and_path_match():
    hr = upstream("httproutes.gateway.networking.k8s.io")
    res = admit(hr, httproute([{"matches": [{}], "backendRefs": [{"name": "svc", "port": 80}]}]), None, strict=False,
                status_subresource=True)
    assert res.errors == []
    spec = res.obj["spec"]
    assert spec["parentRefs"] == [{"name": "gw", "group": "gateway.networking.k8s.io", "kind": "Gateway"}]
    assert spec["rules"][0]["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    assert spec["rules"][0]["backendRefs"] == [{"name": "svc", "port": 80, "group": "", "kind": "Service", "weight": 1}]


def test_httproute_cel_rules_on_path_matches():
    hr = upstream("httproutes.gateway.networking.k8s.io")
    relative = httproute([{"matches": [{"path": {"type": "PathPrefix", "value": "api"}}]}])
    assert admit(hr, relative, None, strict=False, status_subresource=True).errors == [
        ("spec.rules[0].matches[0].path", "FieldValueInvalid",
         "Invalid value: \"object\": value must be an absolute path and start with '/' when type one of "
         "['Exact', 'PathPrefix']")]
    regex = httproute([{"matches": [{"path": {"type": "RegularExpression", "value": "/v[12]/.*"}}]}])
    assert admit(hr, regex, None, strict=False, status_subresource=True).errors == []
    dup_parents = httproute([{}], parent_refs=[{"name": "gw", "namespace": "a"}, {"name": "gw", "namespace": "a"}])
    assert admit(hr, dup_parents, None, strict=False, status_subresource=True).errors == [
        ("spec.parentRefs", "FieldValueInvalid", 'Invalid value: "array": sectionName must be unique when parentRefs '
                                                 'includes 2 or more references to the same parent')]
    # Rules see `namespace` as __namespace__: two namespaces are two parents.
    two = httproute([{}], parent_refs=[{"name": "gw", "namespace": "a"}, {"name": "gw", "namespace": "b"}])
    assert admit(hr, two, None, strict=False, status_subresource=True).errors == []


def test_gateway_class_controller_name_is_immutable():
    gc = upstream("gatewayclasses.gateway.networking.k8s.io")

    def cls(controller):
        return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "istio"},
                "spec": {"controllerName": controller}}

    assert admit(gc, cls("istio.io/gateway-controller"), None, strict=False).errors == []
    assert admit(gc, cls("istio.io/gateway-controller"), cls("istio.io/gateway-controller"), strict=False).errors == []
    assert admit(gc, cls("example.com/other"), cls("istio.io/gateway-controller"), strict=False).errors == [
        ("spec.controllerName", "FieldValueInvalid", 'Invalid value: "string": Value is immutable')]


def test_inference_pool_defaults_and_rules():
    pool = upstream("inferencepools.inference.networking.k8s.io")
    obj = {"apiVersion": "inference.networking.k8s.io/v1", "kind": "InferencePool",
           "metadata": {"name": "p", "namespace": "default"},
           "spec": {"selector": {"matchLabels": {"app": "vllm"}}, "targetPorts": [{"number": 8000}],
                    "endpointPickerRef": {"name": "epp", "port": {"number": 9002}}}}
    ok = admit(pool, obj, None, strict=False, status_subresource=True)
    assert ok.errors == []
    assert ok.obj["spec"]["endpointPickerRef"] == {"name": "epp", "port": {"number": 9002}, "failureMode": "FailClose",
                                                   "group": "", "kind": "Service"}
    bad = copy.deepcopy(obj)
    bad["spec"]["targetPorts"] = [{"number": 8000}, {"number": 8000}]
    del bad["spec"]["endpointPickerRef"]["port"]
    assert admit(pool, bad, None, strict=False, status_subresource=True).errors == [
        ("spec.targetPorts", "FieldValueInvalid", 'Invalid value: "array": port number must be unique'),
        ("spec.endpointPickerRef", "FieldValueInvalid",
         "Invalid value: \"object\": port is required when kind is 'Service' or unspecified (defaults to 'Service')"),
    ]
