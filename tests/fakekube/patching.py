"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.

Strategic merge patch is approximated without the Go structs' patch tags: a list merges by key
when its field name is in MERGE_KEYS (containers by name, conditions by type, ...) or, failing
that, when every item on both sides is a map with a ``name``; every other list is replaced whole,
as are primitive lists (the real server merges a few, such as ``finalizers``). The directives
kubectl sends are honoured: ``$patch: delete|replace|merge``, ``$setElementOrder/<field>``,
``$deleteFromPrimitiveList/<field>`` and ``$retainKeys``.

All functions return new values and never modify their arguments.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from .errors import ApiError

# list field name -> the key its items merge by (the patchMergeKey of the real types).
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "hostAliases": "ip",
    "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "listeners": "name",
}


class PatchError(ApiError):
    pass


def merge_key(field: str | None, *lists: Any) -> str | None:
    """The key a list of maps merges by, or None when the list is atomic."""
    items = [i for lst in lists if isinstance(lst, list) for i in lst]
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    if field == "ports":
        # Container ports merge by containerPort, Service ports by port.
        key = "containerPort" if any("containerPort" in i for i in items) else "port"
        return key if all(key in i for i in items if "$patch" not in i) else None
    key = MERGE_KEYS.get(field or "")
    if key is None and all("name" in i for i in items if "$patch" not in i):
        key = "name"
    return key


# --- RFC 7386 ------------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- RFC 6902 ------------------------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(400, f"invalid JSON pointer {path!r}: must start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list, token: str, *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchError(422, f"invalid array index {token!r}")
    i = int(token)
    if i > len(container) or (i == len(container) and not allow_end):
        raise PatchError(422, f"array index {i} out of bounds")
    return i


def _parent(doc: Any, tokens: list[str]) -> Any:
    cur = doc
    for tok in tokens[:-1]:
        if isinstance(cur, dict):
            if tok not in cur:
                raise PatchError(422, f"doc is missing path: /{'/'.join(tokens)}")
            cur = cur[tok]
        elif isinstance(cur, list):
            cur = cur[_index(cur, tok, allow_end=False)]
        else:
            raise PatchError(422, f"doc is missing path: /{'/'.join(tokens)}")
    return cur


def _get(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        return doc
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, allow_end=False)]
    raise PatchError(422, f"doc is missing path: /{'/'.join(tokens)}")


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _parent(doc, tokens)
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, tokens[-1], allow_end=True), value)
    else:
        raise PatchError(422, f"doc is missing path: /{'/'.join(tokens)}")
    return doc


def _remove(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        raise PatchError(422, "cannot remove the whole document")
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list):
        del parent[_index(parent, last, allow_end=False)]
    else:
        raise PatchError(422, f"unable to remove nonexistent key: {last}: missing value")
    return doc


def json_patch(doc: Any, ops: Any) -> Any:
    """Apply RFC 6902 operations. Malformed operations are 400s; failing ones (a missing path,
    a failed ``test``) are 422s, as on the real server."""
    if not isinstance(ops, list):
        raise PatchError(400, "json patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(400, f"invalid json patch operation: {json.dumps(op)}")
        kind, tokens = op["op"], _pointer(op["path"])
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(400, f"missing value for {kind} operation")
        if kind == "add":
            doc = _add(doc, tokens, copy.deepcopy(op["value"]))
        elif kind == "remove":
            doc = _remove(doc, tokens)
        elif kind == "replace":
            _get(doc, tokens)  # the target must exist
            doc = _add(_remove(doc, tokens), tokens, copy.deepcopy(op["value"])) if tokens else copy.deepcopy(op["value"])
        elif kind in ("move", "copy"):
            if "from" not in op:
                raise PatchError(400, f"missing from for {kind} operation")
            src = _pointer(op["from"])
            value = copy.deepcopy(_get(doc, src))
            if kind == "move":
                if tokens[: len(src)] == src and tokens != src:
                    raise PatchError(422, "cannot move a value into one of its children")
                doc = _remove(doc, src)
            doc = _add(doc, tokens, value)
        elif kind == "test":
            if _get(doc, tokens) != op["value"]:
                raise PatchError(422, f"testing value {op['path']} failed: test operation failed")
        else:
            raise PatchError(400, f"unexpected json patch operation {kind!r}")
    return doc


# --- strategic merge patch (approximation, see module docstring) --------------------------------

_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVES = "$deleteFromPrimitiveList/"


def strategic_merge_patch(original: Any, patch: Any, field: str | None = None) -> Any:
    if not isinstance(patch, dict):
        return _strip(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip({k: v for k, v in patch.items() if k != "$patch"})
    if directive == "delete":
        return None
    result = dict(original) if isinstance(original, dict) else {}
    orders: dict[str, list] = {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys"):
            continue
        if key.startswith(_ORDER):
            orders[key[len(_ORDER):]] = value
            continue
        if key.startswith(_DELETE_PRIMITIVES):
            name = key[len(_DELETE_PRIMITIVES):]
            if isinstance(result.get(name), list):
                result[name] = [v for v in result[name] if v not in (value or [])]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, key)
        elif isinstance(value, dict):
            merged = strategic_merge_patch(result.get(key), value, key)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = value
    for name, order in orders.items():
        if isinstance(result.get(name), list):
            result[name] = _reorder(result[name], order, merge_key(name, result[name], order))
    if isinstance(patch.get("$retainKeys"), list):
        keep = set(patch["$retainKeys"])
        result = {k: v for k, v in result.items() if k in keep}
    return result


def _merge_list(original: Any, patch: list, field: str) -> list:
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [_strip(i) for i in patch if not (isinstance(i, dict) and i.get("$patch") == "replace")]
    key = merge_key(field, original, patch)
    if key is None or not isinstance(original, list):
        return [_strip(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    result = [copy.deepcopy(i) for i in original]
    for item in patch:
        pos = next((n for n, cur in enumerate(result) if cur.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if pos is not None:
                del result[pos]
        elif pos is None:
            result.append(_strip(item))
        else:
            result[pos] = strategic_merge_patch(result[pos], item, field)
    return result


def _reorder(items: list, order: list, key: str | None) -> list:
    """Put ``items`` in the order $setElementOrder gives; items it does not name keep their
    relative order after the named ones."""
    ident = (lambda i: i.get(key) if isinstance(i, dict) else i) if key else (lambda i: json.dumps(i, sort_keys=True))
    wanted = [ident(o) for o in order]
    rank = {w: n for n, w in enumerate(wanted)}
    named = sorted((i for i in items if ident(i) in rank), key=lambda i: rank[ident(i)])
    return named + [i for i in items if ident(i) not in rank]


def _strip(value: Any) -> Any:
    """Drop patch directives from a value that is copied in whole."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value
