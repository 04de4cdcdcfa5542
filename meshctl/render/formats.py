"""Machine-readable output: JSON and YAML exactly as data, nothing else on stdout."""

from __future__ import annotations

import json
from typing import Any

from meshctl.errors import UsageError


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False)


def to_yaml(data: Any) -> str:
    from meshctl.kube.yamlio import dump

    return dump(data)


def render_data(data: Any, output: str) -> str:
    if output == "json":
        return to_json(data)
    if output == "yaml":
        return to_yaml(data).rstrip("\n")
    raise UsageError(f"unknown output format {output!r}", hint="use json or yaml")
