"""Server-side apply: merge an applied configuration and track field ownership in managedFields.

Fields are paths of ``f:<key>`` (map keys) and ``k:{"<mergeKey>":<value>}`` (items of keyed
lists, see patching.merge_key); lists without a merge key are atomic and owned whole. Ownership is
recorded per Apply manager in ``metadata.managedFields`` as ``fieldsV1``, the real encoding.

Every write records ownership: Apply managers through :func:`apply`, and creates, updates and
patches through :func:`record_update` as ``Update`` entries (named by ``fieldManager`` or the
User-Agent's product, as a real server names them). An update never conflicts: it takes the fields
it changed from whoever owned them, so a later apply of a different value by their former owner
conflicts unless forced, exactly what keeps ``kubectl scale``'s replicas from silently reverting.

Approximations: removal of fields a manager stopped applying works at the level of map keys and
keyed list items; parent entries (``.`` for maps) are not written.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Iterable

from .patching import merge_key

Path = tuple[str, ...]
ITEM = "."  # marks a keyed list item itself (fieldsV1 writes it as ".": {})

# Fields apply never tracks: identity and server-owned metadata.
_UNTRACKED_META = ("name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                   "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds")


class ApplyConflict(Exception):
    def __init__(self, conflicts: list[tuple[str, Path]]) -> None:
        super().__init__(conflicts)
        self.conflicts = conflicts


def clean_applied(applied: dict[str, Any]) -> dict[str, Any]:
    """The applied configuration minus fields apply does not manage and null values."""
    obj = _drop_nulls(copy.deepcopy(applied))
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        for key in _UNTRACKED_META:
            meta.pop(key, None)
        if not meta:  # only name/namespace were given: nothing in metadata is applied
            del obj["metadata"]
    return obj


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def field_set(obj: dict[str, Any]) -> set[Path]:
    """The leaf paths (and keyed list items) an applied configuration sets."""
    paths: set[Path] = set()
    for key, value in obj.items():
        if key in ("apiVersion", "kind"):
            continue
        _collect(value, ("f:" + key,), key, paths)
    return paths


def _collect(value: Any, path: Path, field: str, out: set[Path]) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _collect(v, path + ("f:" + k,), k, out)
    elif isinstance(value, list) and (key := merge_key(field, value)):
        if not value:
            out.add(path)
        for item in value:
            item_path = path + (_item_element(key, item.get(key)),)
            out.add(item_path + (ITEM,))
            for k, v in item.items():
                _collect(v, item_path + ("f:" + k,), k, out)
    else:
        out.add(path)


def _item_element(key: str, value: Any) -> str:
    return "k:" + json.dumps({key: value}, separators=(",", ":"))


def lookup(obj: Any, path: Path) -> tuple[bool, Any]:
    """(found, value) at ``path``."""
    cur = obj
    for el in path:
        if el == ITEM:
            continue
        if el.startswith("f:") and isinstance(cur, dict) and el[2:] in cur:
            cur = cur[el[2:]]
        elif el.startswith("k:") and isinstance(cur, list):
            want = json.loads(el[2:])
            cur = next((i for i in cur if isinstance(i, dict) and all(i.get(k) == v for k, v in want.items())), None)
            if cur is None:
                return False, None
        else:
            return False, None
    return True, cur


def remove(obj: dict[str, Any], path: Path) -> None:
    """Delete the field or keyed list item at ``path`` from ``obj`` in place, if present."""
    if path and path[-1] == ITEM:
        path = path[:-1]
    found, parent = lookup(obj, path[:-1])
    if not found:
        return
    last = path[-1]
    if last.startswith("f:") and isinstance(parent, dict):
        parent.pop(last[2:], None)
    elif last.startswith("k:") and isinstance(parent, list):
        want = json.loads(last[2:])
        parent[:] = [i for i in parent if not (isinstance(i, dict) and all(i.get(k) == v for k, v in want.items()))]


def merge(live: Any, applied: Any, field: str | None = None) -> Any:
    """Merge an applied value into a live one: maps by key, keyed lists by item, else replace."""
    if isinstance(applied, dict) and isinstance(live, dict):
        result = dict(live)
        for k, v in applied.items():
            result[k] = merge(live.get(k), v, k)
        return result
    if isinstance(applied, list) and isinstance(live, list) and (key := merge_key(field, live, applied)):
        by_key = {i.get(key): i for i in live}
        applied_keys = {i.get(key) for i in applied}
        merged = [merge(by_key.get(i.get(key)), i, field) for i in applied]
        return merged + [copy.deepcopy(i) for i in live if i.get(key) not in applied_keys]
    return copy.deepcopy(applied)


# --- managedFields encoding ---------------------------------------------------------------------


def encode(paths: Iterable[Path]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path in paths:
        node = root
        for el in path:
            node = node.setdefault(el, {})
    return root


def decode(fields: dict[str, Any] | None, prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for el, sub in (fields or {}).items():
        if el == ITEM:
            out.add(prefix + (ITEM,))
        elif sub:
            out |= decode(sub, prefix + (el,))
        else:
            out.add(prefix + (el,))
    return out


def render(path: Path) -> str:
    """A path as the real conflict messages print it: ``.spec.replicas``, ``.spec.containers[name="c"]``."""
    text = ""
    for el in path:
        if el.startswith("f:"):
            text += "." + el[2:]
        elif el.startswith("k:"):
            text += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(el[2:]).items()) + "]"
    return text


# --- the apply operation ------------------------------------------------------------------------


def apply(live: dict[str, Any] | None, applied: dict[str, Any], *, manager: str, force: bool,
          timestamp: str, subresource: str = "") -> dict[str, Any]:
    """Return the object after ``manager`` applies ``applied`` to ``live`` (None: create).

    Raises ApplyConflict when another manager owns a field this apply sets to a different
    value and ``force`` is false. With ``force`` the fields change hands.
    """
    config = clean_applied(applied)
    new_paths = field_set(config)
    live = copy.deepcopy(live) if live else {}
    entries = [dict(e) for e in (live.get("metadata") or {}).get("managedFields") or []]
    mine = next((e for e in entries if _is(e, manager, subresource)), None)
    old_paths = decode(mine.get("fieldsV1")) if mine else set()

    # Every other manager of the same subresource, Update managers included (that is what makes an
    # apply of ``replicas`` conflict with ``kubectl scale``).
    others = [e for e in entries if e is not mine and e.get("subresource", "") == subresource]
    other_paths = {id(e): decode(e.get("fieldsV1")) for e in others}
    conflicts: list[tuple[str, Path]] = []
    for e in others:
        for path in sorted(new_paths & other_paths[id(e)]):
            if path[-1] == ITEM:
                continue
            if lookup(live, path) != lookup(config, path):
                conflicts.append((e.get("manager", ""), path))
    if conflicts and not force:
        raise ApplyConflict(conflicts)
    for manager_name, path in conflicts:  # forced: the fields change hands
        for e in others:
            if e.get("manager") == manager_name:
                other_paths[id(e)].discard(path)

    result = merge(live, config)
    still_owned = set().union(*other_paths.values()) if other_paths else set()
    dropped: list[Path] = []
    # Shallowest first: a dropped list item goes whole before its fields (its key among them).
    for path in sorted(old_paths - new_paths, key=lambda p: (len(p) - (p[-1] == ITEM), p)):
        # Drop a field this manager no longer applies unless someone else owns it or part of it.
        base = path[:-1] if path[-1] == ITEM else path
        if any(p[: len(base)] == base for p in still_owned):
            continue
        remove(result, path)
        dropped.append(base)
    # A map the manager set and no longer sets goes too once empty (real servers own it through the
    # "." entry written for every map an apply sets), unless someone still sets something in it.
    parents = {p[:i] for p in dropped for i in range(1, len(p)) if p[i - 1].startswith("f:")}
    for parent in sorted(parents, key=len, reverse=True):
        if any(p[: len(parent)] == parent for p in new_paths | still_owned):
            continue
        found, value = lookup(result, parent)
        if found and value == {}:
            remove(result, parent)

    kept = []
    for e in entries:
        if e is mine:
            continue
        if id(e) in other_paths:
            if not other_paths[id(e)]:
                continue  # lost every field
            e["fieldsV1"] = encode(other_paths[id(e)])
        kept.append(e)
    entry = {"manager": manager, "operation": "Apply", "apiVersion": applied.get("apiVersion", ""),
             "time": timestamp, "fieldsType": "FieldsV1", "fieldsV1": encode(new_paths)}
    if subresource:
        entry["subresource"] = subresource
    result.setdefault("metadata", {})["managedFields"] = kept + [entry]
    return result


def _is(entry: dict[str, Any], manager: str, subresource: str) -> bool:
    return (entry.get("manager") == manager and entry.get("operation") == "Apply"
            and entry.get("subresource", "") == subresource)


def conflict_message(conflicts: list[tuple[str, Path]]) -> tuple[str, list[dict[str, str]]]:
    # StatusCause serialises its type as "reason", which is what clients read.
    causes = [{"reason": "FieldManagerConflict", "message": f'conflict with "{m}": {render(p)}', "field": render(p)}
              for m, p in conflicts]
    n = len(conflicts)
    if n == 1:
        head = f"Apply failed with 1 conflict: {causes[0]['message']}"
    else:
        head = f"Apply failed with {n} conflicts: " + "\n".join(c["message"] for c in causes)
    return head, causes


# --- ownership of non-apply writes --------------------------------------------------------------


def manager_name(field_manager: str | None, user_agent: str | None) -> str:
    """Who made an update: ``fieldManager`` when given, else the User-Agent's product (the part
    before the first '/', at most 128 characters), as a real server derives it."""
    if field_manager:
        return field_manager
    return (user_agent or "").split("/", 1)[0][:128] or "unknown"


def tracked(obj: dict[str, Any], *, status_apart: bool, subresource: str) -> dict[str, Any]:
    """The part of an object a write to ``subresource`` can own."""
    if subresource == "status":
        return {"status": obj["status"]} if "status" in obj else {}
    if status_apart:
        return {k: v for k, v in obj.items() if k != "status"}
    return obj


def record_update(old: dict[str, Any] | None, new: dict[str, Any], *, manager: str, api_version: str,
                  timestamp: str, subresource: str = "", status_apart: bool = False) -> None:
    """Record in ``new``'s managedFields that ``manager`` changed ``old`` into ``new`` by a create,
    update or patch: it now owns each field it set or changed (taken from whoever owned it, never a
    conflict); fields that disappeared are nobody's. Managers left owning nothing are dropped."""
    before = field_set(clean_applied(tracked(old, status_apart=status_apart, subresource=subresource))) if old else set()
    after_obj = clean_applied(tracked(new, status_apart=status_apart, subresource=subresource))
    after = field_set(after_obj)
    changed = {p for p in after if old is None or p not in before or lookup(old, p) != lookup(new, p)}
    gone = before - after
    nm = new.setdefault("metadata", {})
    entries = [dict(e) for e in nm.get("managedFields") or []]
    kept: list[dict[str, Any]] = []
    mine: set[Path] = set()
    for e in entries:
        owned = decode(e.get("fieldsV1"))
        if e.get("subresource", "") == subresource:
            owned -= gone
            if e.get("manager") == manager and e.get("operation") == "Update":
                mine |= owned
                continue
            owned -= changed
        if owned:
            e["fieldsV1"] = encode(owned)
            kept.append(e)
    mine |= changed
    mine = {p for p in mine if lookup(new, p)[0]}
    if mine:
        entry = {"manager": manager, "operation": "Update", "apiVersion": api_version, "time": timestamp,
                 "fieldsType": "FieldsV1", "fieldsV1": encode(mine)}
        if subresource:
            entry["subresource"] = subresource
        kept.append(entry)
    if kept:
        nm["managedFields"] = kept
    else:
        nm.pop("managedFields", None)


def without_times(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` with its managedFields timestamps left out: a real server treats a write that changes
    only those as a no-op (no new resourceVersion, no event)."""
    m = obj.get("metadata")
    if not isinstance(m, dict) or not m.get("managedFields"):
        return obj
    entries = [{k: v for k, v in e.items() if k != "time"} if isinstance(e, dict) else e for e in m["managedFields"]]
    return {**obj, "metadata": {**m, "managedFields": entries}}
