"""Object metadata rules: names, generated names, timestamps, generation, plain-JSON values."""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import re
import uuid
from typing import Any

from .errors import ApiError, invalid
from .kinds import ResourceType

_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = rf"{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*"
_DNS1035_LABEL = r"[a-z]([-a-z0-9]*[a-z0-9])?"

# rule -> (regex, max length, the message the real validators print)
NAME_RULES: dict[str, tuple[str, int, str]] = {
    "subdomain": (_DNS1123_SUBDOMAIN, 253,
                  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                  "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                  f"validation is '{_DNS1123_SUBDOMAIN}')"),
    "label": (_DNS1123_LABEL, 63,
              "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
              f"start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
              f"validation is '{_DNS1123_LABEL}')"),
    "dns1035": (_DNS1035_LABEL, 63,
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                f"regex used for validation is '{_DNS1035_LABEL}')"),
}


def name_problem(rt: ResourceType, name: str) -> str | None:
    """Why ``name`` is not a valid name for ``rt``, or None."""
    rule = rt.name_rule
    if rule == "path":
        # RBAC objects take any path segment ("system:controller:foo" is common).
        if name in (".", "..") or "/" in name or "%" in name:
            return f'Invalid value: "{name}": may not be \'.\' or \'..\' and may not contain \'/\' or \'%\''
        return None
    if rule == "crd":
        rule = "subdomain"
    regex, max_len, message = NAME_RULES[rule]
    if len(name) > max_len:
        return f'Invalid value: "{name}": must be no more than {max_len} characters'
    if not re.fullmatch(regex, name):
        return f'Invalid value: "{name}": {message}'
    return None


def validate_name(rt: ResourceType, obj: dict[str, Any]) -> None:
    meta = obj.get("metadata") or {}
    name = meta.get("name") or ""
    if not name:
        raise invalid(rt.kind, rt.group, "", [("metadata.name", "FieldValueRequired",
                                               "Required value: name or generateName is required")])
    problem = name_problem(rt, name)
    if problem:
        raise invalid(rt.kind, rt.group, name, [("metadata.name", "FieldValueInvalid", problem)])


_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what the real name generator draws from


def generate_name(prefix: str) -> str:
    return prefix[:58] + "".join(random.choice(_GENERATE_ALPHABET) for _ in range(5))


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_uid() -> str:
    return str(uuid.uuid4())


def spec_part(obj: dict[str, Any]) -> dict[str, Any]:
    """Everything generation tracks: the object minus metadata, status and type fields."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def next_generation(old: dict[str, Any] | None, new: dict[str, Any]) -> int:
    if old is None:
        return 1
    gen = int((old.get("metadata") or {}).get("generation") or 1)
    return gen + 1 if spec_part(old) != spec_part(new) else gen


# ObjectMeta's optional collections: Go leaves them out when empty (omitempty), for every kind.
_OMIT_EMPTY = ("labels", "annotations", "finalizers", "ownerReferences", "managedFields")


def omit_empty_meta(obj: dict[str, Any]) -> None:
    m = obj.get("metadata")
    if isinstance(m, dict):
        for key in _OMIT_EMPTY:
            if key in m and not m[key]:
                del m[key]


def deepcopy(obj: Any) -> Any:
    return copy.deepcopy(obj)


def plain(value: Any) -> Any:
    """Make YAML-loaded data JSON-clean: YAML turns unquoted timestamps into datetimes."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def parse_body(raw: bytes, content_type: str) -> Any:
    """Decode a request body: JSON, or YAML for YAML media types. A bad body is a 400."""
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        if "yaml" not in content_type:
            raise ApiError(400, "the body of the request was in an unknown format - accepted media types "
                                "include: application/json, application/yaml") from None
    import yaml  # YAML only for YAML bodies: keeps the JSON path free of the import

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return plain(yaml.load(text, Loader=loader))
    except yaml.YAMLError as e:
        raise ApiError(400, f"error decoding YAML: {e}") from None
