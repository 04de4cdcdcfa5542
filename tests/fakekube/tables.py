"""meta.k8s.io/v1 Table responses, which ``kubectl get`` asks for (``Accept: ...;as=Table``).

Every kind gets the two columns the real server gives custom resources without printer columns:
Name and Age. kubectl adds NAMESPACE itself for ``-A``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

_COLUMNS = [
    {"name": "Name", "type": "string", "format": "name", "priority": 0,
     "description": "Name must be unique within a namespace."},
    {"name": "Age", "type": "string", "format": "", "priority": 0,
     "description": "CreationTimestamp is a timestamp representing the server time when this object was created."},
]


def wanted_view(accept: str) -> str | None:
    """"Table", "PartialObjectMetadata" or None (plain objects), from the first media range in
    ``Accept`` that asks for a meta.k8s.io view in JSON."""
    for part in accept.split(","):
        media, *raw = part.split(";")
        params = {k.strip(): v.strip() for k, _, v in (p.partition("=") for p in raw)}
        if media.strip() != "application/json" or params.get("g", "meta.k8s.io") != "meta.k8s.io":
            continue
        view = params.get("as", "")
        if view == "Table":
            return "Table"
        if view in ("PartialObjectMetadata", "PartialObjectMetadataList"):
            return "PartialObjectMetadata"
    return None


def wants_table(accept: str) -> bool:
    return wanted_view(accept) == "Table"


def partial(obj: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata") or {}}


def partial_list(objects: list[dict[str, Any]], list_meta: dict[str, Any]) -> dict[str, Any]:
    """What the metadata-only clients (kubectl apply --prune, garbage collectors) ask for."""
    return {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
            "items": [partial(o) for o in objects]}


def human_age(timestamp: str | None, now: dt.datetime | None = None) -> str:
    """kubectl's short duration format (duration.HumanDuration)."""
    if not timestamp:
        return "<unknown>"
    try:
        created = dt.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return "<unknown>"
    secs = int(((now or dt.datetime.now(dt.timezone.utc)) - created).total_seconds())
    secs = max(secs, 0)
    mins, hours, days = secs // 60, secs // 3600, secs // 86400
    if secs < 120:
        return f"{secs}s"
    if mins < 10:
        return f"{mins}m{secs % 60}s" if secs % 60 else f"{mins}m"
    if hours < 3:
        return f"{mins}m"
    if hours < 8:
        return f"{hours}h{mins % 60}m" if mins % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y{days % 365}d" if days < 365 * 8 else f"{days // 365}y"


def table(objects: list[dict[str, Any]], list_meta: dict[str, Any], include_object: str = "Metadata") -> dict[str, Any]:
    rows = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        row: dict[str, Any] = {"cells": [meta.get("name", ""), human_age(meta.get("creationTimestamp"))]}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = partial(obj)
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
            "columnDefinitions": _COLUMNS, "rows": rows}
