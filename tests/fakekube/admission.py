"""What a real server does to an object between decoding a write and storing it, in its order:

1. decode: unknown fields dropped (a warning, or a 400 under ``fieldValidation=Strict`` and always
   for server-side apply), wrong JSON types refused (400) — built-in kinds from their OpenAPI types
   (decoding.py), custom resources from their CRD's structural schema (schema.py);
2. default: built-in defaults (builtins.py), CRD ``default:`` values (schema.py);
3. validate: ObjectMeta rules for every kind, built-in kinds' own rules, CRD schemas and CEL rules;
   any error is one 422 ``Invalid`` with ``details.causes[]`` naming each field.

``Admission.admit`` is called by api.py for create, update, patch and apply, with the request's
verb (the messages differ by verb, as they do on a real server).
"""

from __future__ import annotations

import ipaddress
import threading
from typing import Any

from . import builtins, decoding, schema
from .errors import ApiError, bad_request, invalid
from .kinds import CRD_GROUP, ResourceType
from .store import Store

MODES = ("Ignore", "Warn", "Strict")
SERVICES = ("", "services")
CRDS = (CRD_GROUP, "customresourcedefinitions")
SERVICE_RANGE = ipaddress.ip_network("10.96.0.0/12")


class Admission:
    """Per cluster: the decode → default → validate pipeline, and the Service IP allocator."""

    def __init__(self, store: Store, server_minor: Any) -> None:
        self.store = store
        self.server_minor = server_minor  # callable: the minor version the fake claims to be
        self._ip_lock = threading.Lock()
        self._next_ip = int(SERVICE_RANGE.network_address) + 10

    def admit(self, rt: ResourceType, version: str, obj: dict[str, Any], old: dict[str, Any] | None, *,
              verb: str, mode: str | None, sub: str | None, warnings: list[str]) -> dict[str, Any]:
        """``obj`` decoded, defaulted and validated (a new dict), or an ApiError. ``verb`` is
        create, update, patch or apply; ``mode`` the fieldValidation parameter; ``warnings``
        collects what goes back in Warning headers."""
        mode = mode or "Warn"
        if mode not in MODES:
            raise bad_request(f'fieldValidation must be one of "Ignore", "Warn", "Strict", got "{mode}"')
        strict = mode == "Strict" or verb == "apply"
        name = (obj.get("metadata") or {}).get("name", "")
        if rt.custom:
            obj = self._custom(rt, version, obj, old, verb=verb, mode=mode, strict=strict, sub=sub,
                               warnings=warnings)
            errors = builtins.validate_metadata(obj, old)
        else:
            decoded = decoding.decode(rt.group, version, rt.kind, obj, minor=self._minor())
            if decoded.type_error:
                raise bad_request(decoded.type_error)
            if decoded.unknown and strict:
                raise bad_request(_strict(rt, version, verb, decoded.unknown))
            if decoded.unknown and mode == "Warn":
                warnings.extend(f'unknown field "{p}"' for p in decoded.unknown)
            obj = decoded.obj
            if sub != "status":
                builtins.default(rt.key, obj, old, allocate_ip=self._allocate_ip if rt.key == SERVICES else None)
            errors = builtins.validate_metadata(obj, old) + (builtins.validate(rt.key, obj, old) if sub != "status" else [])
        if errors:
            raise invalid(rt.kind, rt.group, name, errors)
        return obj

    def _custom(self, rt: ResourceType, version: str, obj: dict[str, Any], old: dict[str, Any] | None, *,
                verb: str, mode: str, strict: bool, sub: str | None, warnings: list[str]) -> dict[str, Any]:
        crd = self.store.get(CRDS, "", f"{rt.plural}.{rt.group}")
        compiled = schema.compile_schema(schema.crd_version_schema(crd, version) if crd else None)
        result = schema.admit(compiled, obj, old, strict=strict, subresource=sub, status_subresource=rt.status)
        if result.bad_request:
            raise bad_request(result.bad_request)
        if strict and result.unknown:
            raise bad_request(_strict(rt, version, verb, result.unknown))
        if result.errors:
            raise invalid(rt.kind, rt.group, (obj.get("metadata") or {}).get("name", ""), result.errors)
        warnings.extend(result.warnings_for(mode))
        return result.obj

    def _minor(self) -> int:
        try:
            return int(str(self.server_minor()).rstrip("+"))
        except ValueError:
            return 32

    def _allocate_ip(self) -> str:
        """The next free ClusterIP of 10.96.0.0/12 (the kubeadm default), as the allocator hands them out."""
        used = {(s.get("spec") or {}).get("clusterIP") for s in self.store.list(SERVICES)}
        with self._ip_lock:
            for _ in range(SERVICE_RANGE.num_addresses):
                candidate = str(ipaddress.ip_address(self._next_ip))
                self._next_ip += 1
                if self._next_ip >= int(SERVICE_RANGE.broadcast_address):
                    self._next_ip = int(SERVICE_RANGE.network_address) + 10
                if candidate not in used:
                    return candidate
        raise ApiError(500, "Internal error occurred: failed to allocate a serviceIP: range is full")


def _strict(rt: ResourceType, version: str, verb: str, unknown: list[str]) -> str:
    """The 400 for unknown fields; server-side apply words it as structured-merge-diff does."""
    text = schema.strict_error_message(unknown, verb, rt.kind, version)
    if verb == "apply":
        return f"failed to create typed patch object ({rt.group}/{version}, Kind={rt.kind}): {text}"
    return text
