"""A minimal OpenAPI v3 index, just enough for kubectl's field validation check.

kubectl (1.27+) validates files before ``apply``/``create``: it looks in /openapi/v3 for the
PATCH operation of the object's kind and, if that lists the ``fieldValidation`` query parameter,
leaves validation to the server. Without any OpenAPI it refuses ("failed to download openapi").
So each group-version document lists, per kind, the write operations with their
``x-kubernetes-group-version-kind`` and query parameters, and no schemas (kubectl then falls back
to its compiled-in types for strategic merge patches, and skips client-side checks).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .kinds import Registry, ResourceType

_PARAMS = ["dryRun", "fieldManager", "fieldValidation"]
V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"  # as a Go mime.ParseMediaType accepts


def empty_v2(server_version: str) -> dict[str, Any]:
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": server_version}, "paths": {}}


def _prefix(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def _param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}


def _operation(rt: ResourceType, version: str, verb: str, params: list[str]) -> dict[str, Any]:
    return {
        "operationId": f"{verb}{rt.kind}",
        "x-kubernetes-action": verb,
        "x-kubernetes-group-version-kind": {"group": rt.group, "version": version, "kind": rt.kind},
        "parameters": [_param(p) for p in params],
        "responses": {"200": {"description": "OK"}},
    }


def group_version_doc(registry: Registry, group: str, version: str, server_version: str) -> dict[str, Any] | None:
    types = registry.in_group_version(group, version)
    if not types:
        return None
    paths: dict[str, Any] = {}
    base = "/" + _prefix(group, version)
    for rt in types:
        scope = base + ("/namespaces/{namespace}" if rt.namespaced else "")
        if rt.verbs == ("create",):
            paths[f"{scope}/{rt.plural}"] = {"post": _operation(rt, version, "post", _PARAMS)}
            continue
        paths[f"{scope}/{rt.plural}"] = {"post": _operation(rt, version, "post", _PARAMS)}
        paths[f"{scope}/{rt.plural}/{{name}}"] = {
            "put": _operation(rt, version, "put", _PARAMS),
            "patch": _operation(rt, version, "patch", _PARAMS + ["force"]),
        }
        if rt.status:
            paths[f"{scope}/{rt.plural}/{{name}}/status"] = {
                "put": _operation(rt, version, "put", _PARAMS),
                "patch": _operation(rt, version, "patch", _PARAMS + ["force"]),
            }
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": server_version}, "paths": paths,
            "components": {"schemas": {}}}


def index(registry: Registry, server_version: str) -> dict[str, Any]:
    """/openapi/v3: every group-version, linked with a content hash so clients re-fetch on change."""
    gvs = [("", "v1")] + [(g, v) for g, versions in registry.groups() for v in versions]
    paths = {}
    for group, version in gvs:
        doc = group_version_doc(registry, group, version, server_version)
        if doc is None:
            continue
        digest = hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:64].upper()
        paths[_prefix(group, version)] = {"serverRelativeURL": f"/openapi/v3/{_prefix(group, version)}?hash={digest}"}
    return {"paths": paths}
