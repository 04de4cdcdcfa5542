"""Typed reads of raw objects: a field of the wrong type reads as absent, and is noted.

Files and snapshots can hold anything, and even an API server keeps whatever a CRD's schema leaves
open, so the read commands never trust a field's type. ``analyze`` reports such objects as schema
errors; every other command reads through these getters, which give the empty value of the expected
type instead of crashing, and note what they ignored so the command can say so once
("ignored Service ns/x: spec.selector is not a map").

It sits in ``kube`` rather than ``mesh`` because ``Resource`` and snapshot writing use it too, and
layers only import downwards.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

MAX_NOTES = 1000  # distinct notes kept per run: the first ones say enough

_WORDS = {dict: "a map", list: "a list", str: "a string", int: "an integer", bool: "true or false",
          float: "a number"}
_notes: dict[tuple[str, str], str] = {}  # (origin, path) -> what was expected; ordered, deduplicated
_lock = threading.Lock()  # multicluster commands read clusters in threads


def note(origin: str, path: str, expected: type) -> None:
    """Remember that ``origin``'s field ``path`` was not ``expected`` and was read as absent."""
    key = (origin, path)
    if key in _notes or len(_notes) >= MAX_NOTES:
        return
    with _lock:
        _notes.setdefault(key, _WORDS.get(expected, expected.__name__))


def take_notes() -> list[str]:
    """What was ignored since the last call, one line each, and forget it."""
    with _lock:
        lines = [f"ignored {origin}: {path} is not {word}" for (origin, path), word in _notes.items()]
        _notes.clear()
    return lines


def _is(value: Any, expected: type) -> bool:
    if expected is int:  # YAML's true is no port number
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, expected)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class Part:
    """A map inside an object, with where it sits (for notes). Getters walk ``keys`` from here; a
    missing or null field is absent, a field of another type is absent and noted."""

    __slots__ = ("data", "origin", "path")

    def __init__(self, data: Any, origin: str, path: str = "") -> None:
        self.data = data if isinstance(data, dict) else {}
        self.origin = origin
        self.path = path

    def _get(self, keys: tuple[str | int, ...], expected: type) -> Any:
        value: Any = self.data
        path = self.path
        for i, key in enumerate(keys):
            container = dict if isinstance(key, str) else list
            if not _is(value, container):
                note(self.origin, path, container)
                return None
            if isinstance(key, str):
                value = value.get(key)
            else:
                value = value[key] if -len(value) <= key < len(value) else None
            path = _join(path, key)
            if value is None:
                return None
        if not _is(value, expected):
            note(self.origin, path, expected)
            return None
        return value

    def mapping(self, *keys: str | int) -> dict[str, Any]:
        return self._get(keys, dict) or {}

    def sequence(self, *keys: str | int) -> list[Any]:
        return self._get(keys, list) or []

    def text(self, *keys: str | int, default: str = "") -> str:
        value = self._get(keys, str)
        return default if value is None else value

    def integer(self, *keys: str | int) -> int | None:
        return self._get(keys, int)

    def number(self, *keys: str | int) -> int | float | None:
        return self._get(keys, float)

    def flag(self, *keys: str | int) -> bool | None:
        return self._get(keys, bool)

    def scalar(self, *keys: str | int) -> str:
        """A string, number or boolean as text ("" when absent, or a map or list)."""
        value = self._get(keys, object)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (str, int, float)):
            return str(value)
        if value is not None:
            note(self.origin, _path(self.path, keys), str)
        return ""

    def part(self, *keys: str | int) -> Part:
        return Part(self._get(keys, dict), self.origin, _path(self.path, keys))

    def parts(self, *keys: str | int) -> list[Part]:
        """The maps of a list field, each a Part; items that are not maps are noted and skipped."""
        return list(self.iter_parts(*keys))

    def iter_parts(self, *keys: str | int) -> Iterator[Part]:
        base = _path(self.path, keys)
        for i, item in enumerate(self.sequence(*keys)):
            if isinstance(item, dict):
                yield Part(item, self.origin, f"{base}[{i}]")
            else:
                note(self.origin, f"{base}[{i}]", dict)

    def strings(self, *keys: str | int) -> list[str]:
        """The strings of a list field; other items are noted and skipped."""
        base = _path(self.path, keys)
        out = []
        for i, item in enumerate(self.sequence(*keys)):
            if isinstance(item, str):
                out.append(item)
            else:
                note(self.origin, f"{base}[{i}]", str)
        return out

    def string_map(self, *keys: str | int) -> dict[str, str]:
        """A map of strings (labels, selectors); entries whose value is not a string are noted and left out."""
        found = self.mapping(*keys)
        if all(isinstance(k, str) and isinstance(v, str) for k, v in found.items()):
            return found
        base = _path(self.path, keys)
        for key, value in found.items():
            if not isinstance(key, str) or not isinstance(value, str):
                note(self.origin, _join(base, str(key)), str)
        return {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, str)}


def _path(base: str, keys: tuple[str | int, ...]) -> str:
    for key in keys:
        base = _join(base, key)
    return base
