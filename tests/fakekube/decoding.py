"""Decoding of built-in kinds as a real server decodes a body into its Go types.

A real API server decodes a JSON body into the kind's Go struct before anything else, so for every
built-in kind:

- a field the type does not have is dropped, with a ``Warning: 299 - "unknown field \"spec.foo\""``
  header (``fieldValidation=Warn``, the default), silently (``Ignore``), or the request fails with
  400 ``strict decoding error: unknown field "spec.foo"`` (``Strict``, what kubectl sends; apply is
  always strict); the messages are schema.py's, shared with custom resources;
- a value of the wrong JSON type (a string for ``replicas``) is a 400: ``Deployment in version "v1"
  cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field
  DeploymentSpec.spec.replicas of type int32``;
- ``null`` leaves a field at its zero value, i.e. absent.

The types come from the Kubernetes OpenAPI as packaged by ``kubernetes-validate`` (JSON schemas per
Kubernetes release; a test dependency). The walk follows the data, resolving ``$ref`` as it goes, so
recursive types (JSONSchemaProps in CRDs) cost nothing until a body uses them.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VERSION_DIR = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-local-strict$")
# Go types behind the OpenAPI formats, for the messages of type errors.
GO_TYPES = {"int32": "int32", "int64": "int64", "double": "float64", "float": "float32", "byte": "[]uint8"}


@dataclass
class Decoded:
    obj: dict[str, Any]
    unknown: list[str] = field(default_factory=list)  # paths of dropped fields, e.g. spec.foo
    type_error: str = ""  # the 400 message when a value has the wrong type


@functools.lru_cache(maxsize=4)
def definitions(minor: int) -> tuple[dict[str, Any], dict[tuple[str, str, str], str]]:
    """The OpenAPI definitions of the Kubernetes release nearest to 1.<minor>, and their index by
    (group, version, kind). Empty when kubernetes-validate is not installed."""
    try:
        import kubernetes_validate
    except ImportError:
        return {}, {}
    root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    releases = {}
    for entry in root.iterdir():
        m = VERSION_DIR.match(entry.name)
        if m and m.group(1) == "1":
            releases[int(m.group(2))] = entry
    if not releases:
        return {}, {}
    nearest = min(releases, key=lambda r: (abs(r - minor), -r))
    defs = json.loads((releases[nearest] / "_definitions.json").read_text())["$defs"]
    index = {}
    for name, schema in defs.items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            index.setdefault((gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", "")), name)
    return defs, index


class _TypeError(Exception):
    pass


def decode(group: str, version: str, kind: str, obj: dict[str, Any], *, minor: int = 32) -> Decoded:
    """Decode ``obj`` as the built-in ``kind``: a copy without unknown fields and nulls, the paths
    of what was dropped, and a type error if any. Kinds without a definition pass unchanged."""
    defs, index = definitions(minor)
    name = index.get((group, version, kind))
    if name is None:
        return Decoded(obj)
    walker = _Walker(defs, kind, version)
    try:
        out = walker.value(obj, defs[name], "", kind)
    except _TypeError as e:
        return Decoded(obj, walker.unknown, str(e))
    return Decoded(out, walker.unknown)


class _Walker:
    def __init__(self, defs: dict[str, Any], kind: str, version: str) -> None:
        self.defs = defs
        self.kind = kind
        self.version = version
        self.unknown: list[str] = []

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.defs[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def value(self, value: Any, schema: dict[str, Any], path: str, struct: str) -> Any:
        schema = self.resolve(schema)
        if "oneOf" in schema:  # IntOrString, Quantity: a string or a number
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                self.fail(value, path, struct, "intstr.IntOrString" if _int_or_string(schema) else "resource.Quantity")
            return value
        types = schema.get("type")
        types = set(types) if isinstance(types, list) else {types} if types else set()
        if "object" in types:
            if not isinstance(value, dict):
                self.fail(value, path, struct, "map" if "additionalProperties" in schema else "struct")
            props = schema.get("properties")
            extra = schema.get("additionalProperties")
            if props is None and not isinstance(extra, dict):
                return value  # free-form (RawExtension, FieldsV1, JSON): kept as given
            out = {}
            for key, item in value.items():
                sub = f"{path}.{key}" if path else key
                if props is not None and key in props:
                    if item is None:
                        continue  # null leaves a Go field at its zero value
                    out[key] = self.value(item, props[key], sub, _struct_name(props[key]) or struct)
                elif isinstance(extra, dict):
                    if item is None and not _nullable(self.resolve(extra)):
                        continue
                    out[key] = self.value(item, extra, f"{path}[{key}]", struct) if item is not None else None
                else:
                    self.unknown.append(sub)
            return out
        if "array" in types:
            if not isinstance(value, list):
                self.fail(value, path, struct, "array")
            items = schema.get("items") or {}
            return [self.value(item, items, f"{path}[{i}]", struct) for i, item in enumerate(value) if item is not None]
        if "integer" in types:
            if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
                self.fail(value, path, struct, GO_TYPES.get(schema.get("format", ""), "int"))
            return int(value)
        if "number" in types:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(value, path, struct, GO_TYPES.get(schema.get("format", ""), "float64"))
            return value
        if "boolean" in types:
            if not isinstance(value, bool):
                self.fail(value, path, struct, "bool")
            return value
        if "string" in types:
            if not isinstance(value, str):
                self.fail(value, path, struct, "string")
            return value
        return value

    def fail(self, value: Any, path: str, struct: str, go_type: str) -> None:
        got = ("string" if isinstance(value, str) else "bool" if isinstance(value, bool)
               else "number" if isinstance(value, (int, float)) else "array" if isinstance(value, list)
               else "object" if isinstance(value, dict) else "null")
        raise _TypeError(f'{self.kind} in version "{self.version}" cannot be handled as a {self.kind}: json: cannot '
                         f"unmarshal {got} into Go struct field {struct}.{path} of type {go_type}")


def _struct_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref", "")
    return ref.rsplit(".", 1)[-1] if ref else ""


def _nullable(schema: dict[str, Any]) -> bool:
    types = schema.get("type")
    return isinstance(types, list) and "null" in types and len(types) == 2 and "string" not in types


def _int_or_string(schema: dict[str, Any]) -> bool:
    return any("integer" in (s.get("type") or []) for s in schema.get("oneOf") or [])
