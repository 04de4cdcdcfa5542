"""``-f FILE|DIR|-``: manifests as a ClusterState, without any Kubernetes client.

Every document keeps the file and line where it starts, so messages can say ``file:line``. Bad input
(YAML that does not parse, binary data, documents that are not Kubernetes objects, alias bombs) becomes
an ``InputError`` naming the place, never a traceback.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshctl.errors import InputError, UsageError
from meshctl.kube.kinds import REGISTRY, Kind
from meshctl.kube.state import IndexedObjects, Location, Resource, SourceInfo
from meshctl.kube.yamlio import (MAX_DEPTH, MAX_INT_DIGITS, LineError, depth_within, fast_documents,
                                 kubernetes_loader, too_deep, too_long_integer, yaml_problem)

log = logging.getLogger(__name__)

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"


@dataclass(frozen=True)
class Document:
    data: Any
    location: Location


def _is_list(data: Any) -> bool:
    return isinstance(data, dict) and str(data.get("kind", "")).endswith("List") and "items" in data


def _list_items(data: dict[str, Any], where: Location) -> list[Any]:
    items = data.get("items")
    if items is None:
        return []
    if not isinstance(items, list):
        raise InputError(f"{where}: {data.get('kind')} has items that are not a list",
                         hint="a List holds its objects as a sequence under items:")
    return items


def parse_yaml_documents(text: str, name: str, *, item_lines: bool = True) -> Iterator[Document]:
    """Yield each document of a YAML (or JSON) text with the line it starts on.

    ``kind: List`` documents are expanded into their items, each with its own line (with
    ``item_lines=False`` items get the List's line, which lets List files take the fast path).
    """
    fast = fast_documents(text, need_list_lines=item_lines)
    if fast is not None:
        for data, line in fast:
            if data is None:
                continue
            if _is_list(data):
                for item in _list_items(data, Location(name, line)):
                    yield Document(item, Location(name, line))
            else:
                yield Document(data, Location(name, line))
        return
    yield from _parse_with_libyaml(text, name)


def _parse_with_libyaml(text: str, name: str) -> Iterator[Document]:
    import yaml

    loader = None
    try:
        loader = kubernetes_loader()(text)
        # Alias checking walks the node graph; a text without anchors can hold no alias to expand.
        loader.check_aliases = "&" in text
        while loader.check_data():
            try:
                data = loader.get_data()
            except LineError as err:
                raise InputError(f"{name}:{err.line}: {err.message}", err.hint) from None
            except InputError as err:
                raise InputError(f"{name}: {err.message}", err.hint) from None
            line = getattr(loader, "doc_line", 1)
            if data is None:
                continue
            if _is_list(data):
                item_lines = getattr(loader, "item_lines", [])
                for i, item in enumerate(_list_items(data, Location(name, line))):
                    item_line = item_lines[i] if i < len(item_lines) else line
                    yield Document(item, Location(name, item_line))
                continue
            yield Document(data, Location(name, line))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        raise InputError(
            f"{where}: invalid YAML: {yaml_problem(err)}",
            hint="fix the YAML syntax at that line (indentation, quoting, a stray tab or colon)",
        ) from None
    except ValueError as err:  # a scalar that looked like a number but is not one
        raise InputError(f"{name}: invalid value: {err}", hint="quote the value to keep it a string") from None
    except RecursionError:
        raise InputError(
            f"{name}: YAML nested too deeply to read",
            hint="Kubernetes manifests are never this deep; check the file is what you meant",
        ) from None
    finally:
        if loader is not None:
            loader.dispose()


def parse_json_documents(text: str, name: str) -> Iterator[Document]:
    try:
        data = json.loads(text, parse_int=_json_int)
    except json.JSONDecodeError as err:
        raise InputError(
            f"{name}:{err.lineno}: invalid JSON: {err.msg}",
            hint="fix the JSON syntax at that line, or give the file a .yaml name if it is YAML",
        ) from None
    except LineError as err:
        raise InputError(f"{name}:{_long_integer_line(text)}: {err.message}", err.hint) from None
    except RecursionError:
        data = None
    # Only a text with that many brackets can nest that deep: most files skip the walk.
    if text.count("{") + text.count("[") > MAX_DEPTH and (data is None or not depth_within(data, MAX_DEPTH)):
        err = too_deep(_deep_json_line(text))
        raise InputError(f"{name}:{err.line}: {err.message}", err.hint)
    if _is_list(data):
        for item in _list_items(data, Location(name, 1)):
            yield Document(item, Location(name, 1))
    elif data is not None:
        yield Document(data, Location(name, 1))


def _json_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise too_long_integer(0)
    return int(digits)


def _long_integer_line(text: str) -> int:
    found = re.search(rf"\d{{{MAX_INT_DIGITS + 1}}}", text)
    return text.count("\n", 0, found.start()) + 1 if found else 1


def _deep_json_line(text: str) -> int:
    """The line where a JSON text first nests deeper than MAX_DEPTH (only called when it does)."""
    depth, in_string, escaped, line = 0, False, False, 1
    for char in text:
        if char == "\n":
            line += 1
        elif in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH + 1:
                return line
        elif char in "]}":
            depth -= 1
    return 1




def decode(raw: bytes, name: str) -> str:
    if b"\0" in raw:
        raise InputError(
            f"{name}: binary data, not a YAML or JSON manifest",
            hint="pass only Kubernetes manifests (.yaml, .yml, .json)",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise InputError(
            f"{name}:{line}: not valid UTF-8 text",
            hint="save the manifest as UTF-8",
        ) from None
    return text


def parse_text(text: str, name: str) -> Iterator[Document]:
    if name.endswith(".json") or (name == "<stdin>" and text.lstrip().startswith(("{", "["))):
        return parse_json_documents(text, name)
    return parse_yaml_documents(text, name)


def to_resource(doc: Document, default_namespace: str = "default") -> Resource:
    """Check a document is a Kubernetes object and wrap it."""
    data, where = doc.data, doc.location
    if not isinstance(data, dict):
        raise InputError(
            f"{where}: expected a Kubernetes object (a mapping), found {type(data).__name__}",
            hint="each YAML document must be one object with apiVersion, kind and metadata",
        )
    api_version, kind_name = data.get("apiVersion"), data.get("kind")
    missing = [k for k, v in (("apiVersion", api_version), ("kind", kind_name)) if not v]
    if missing:
        raise InputError(
            f"{where}: object has no {' or '.join(missing)}",
            hint="every Kubernetes object needs apiVersion, kind and metadata.name",
        )
    if not isinstance(api_version, str) or not isinstance(kind_name, str):
        raise InputError(f"{where}: apiVersion and kind must be strings", hint="quote them if needed")
    metadata = data.get("metadata")
    if not isinstance(metadata, dict) or not (metadata.get("name") or metadata.get("generateName")):
        raise InputError(
            f"{where}: {kind_name} has no metadata.name",
            hint="every Kubernetes object needs metadata.name",
        )
    for key in ("name", "namespace", "generateName"):
        if metadata.get(key) is not None and not isinstance(metadata.get(key), str):
            raise InputError(f"{where}: metadata.{key} must be a string", hint="quote the value")
    for key in ("labels", "annotations"):
        if metadata.get(key) is not None and not isinstance(metadata.get(key), dict):
            raise InputError(f"{where}: metadata.{key} must be a mapping", hint="use key: value pairs")
    kind = REGISTRY.for_object(api_version, kind_name)
    if kind.namespaced and not metadata.get("namespace"):
        metadata["namespace"] = default_namespace  # as kubectl would when applying the file
    return Resource(data, kind, where)


@dataclass
class FileProblem:
    message: str
    hint: str | None = None


@dataclass
class FileState:
    """A ClusterState over manifests: every kind is 'served' (absent means none in the files)."""

    info: SourceInfo
    objects: IndexedObjects = field(default_factory=IndexedObjects)
    problems: list[FileProblem] = field(default_factory=list)

    def list(self, kind: Kind, namespace: str | None = None, *, labels: Mapping[str, str] | None = None):
        return self.objects.select(kind, namespace, labels)

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> Resource | None:
        return self.objects.find(kind, name, namespace)

    def serves(self, kind: Kind) -> bool:
        return True

    def kinds(self) -> list[Kind]:
        return self.objects.kinds()


def expand_paths(paths: Iterable[str], recursive: bool = True) -> Iterator[str]:
    """Files named, and manifest files inside directories (sorted, like kubectl)."""
    for p in paths:
        if p == STDIN:
            yield p
            continue
        path = Path(p)
        if path.is_dir():
            walker = sorted(path.rglob("*")) if recursive else sorted(path.iterdir())
            found = False
            for child in walker:
                if child.suffix.lower() in MANIFEST_SUFFIXES and child.is_file():
                    found = True
                    yield str(child)
            if not found:
                log.warning("%s: no .yaml, .yml or .json files in this directory", p)
        elif path.exists():
            yield str(path)
        else:
            raise UsageError(f"{p}: no such file or directory", hint="check the path given to -f")


def read_source(name: str) -> str:
    if name == STDIN:
        return decode(sys.stdin.buffer.read(), "<stdin>")
    try:
        raw = Path(name).read_bytes()
    except IsADirectoryError:
        raise UsageError(f"{name}: is a directory", hint="pass a file or directory to -f") from None
    except OSError as err:
        raise InputError(f"{name}: cannot read: {err.strerror}", hint="check the path and its permissions") from None
    return decode(raw, name)


def load_files(
    paths: Iterable[str],
    *,
    recursive: bool = True,
    default_namespace: str = "default",
    strict: bool = True,
    cluster: str = "files",
) -> FileState:
    """Read manifests into a FileState.

    With ``strict`` the first bad document raises ``InputError``; otherwise problems are collected on
    ``state.problems`` and the readable documents kept (for ``analyze --ignore-unknown``).
    """
    paths = list(paths)
    if not paths:
        raise UsageError("no files given", hint="pass -f FILE, -f DIR or -f - (standard input)")
    label = ", ".join(paths)
    state = FileState(SourceInfo("files", label, cluster))
    for name in expand_paths(paths, recursive):
        display = "<stdin>" if name == STDIN else name
        try:
            text = read_source(name)
            for doc in parse_text(text, display):
                state.objects.add(to_resource(doc, default_namespace))
        except InputError as err:
            if strict:
                raise
            state.problems.append(FileProblem(err.message, err.hint))
    if not any(True for _ in state.objects) and not state.problems:
        problem = InputError(
            f"no Kubernetes objects in {label}",
            hint="the input is empty; pass files that hold manifests",
        )
        if strict:
            raise problem
        state.problems.append(FileProblem(problem.message, problem.hint))
    return state
