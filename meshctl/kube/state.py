"""The one interface every command reads cluster state through, and the Resource wrapper.

Domain code (``meshctl.mesh``, ``meshctl.analysis``) takes a ``ClusterState`` and never knows whether
the objects came from files, a snapshot or a live API server: all three hand out the same raw dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from meshctl.kube.fields import Part, note
from meshctl.kube.kinds import Kind

SourceKind = Literal["live", "files", "snapshot"]


@dataclass(frozen=True)
class Location:
    """Where a document starts in its file (1-based line)."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class SourceInfo:
    kind: SourceKind
    label: str  # what the user named: a context, a path, a snapshot path
    cluster: str  # cluster name (Istio's clusterName when known)
    context: str = ""
    server: str = ""  # API server URL, never credentials
    server_version: str = ""


class Resource:
    """A Kubernetes object: the raw dict plus its Kind and, for file input, where it came from."""

    __slots__ = ("raw", "kind", "location")

    def __init__(self, raw: dict[str, Any], kind: Kind, location: Location | None = None) -> None:
        self.raw = raw
        self.kind = kind
        self.location = location

    # Each top-level map reads as {} when it is something else (a file can say `status: Running`).

    @property
    def metadata(self) -> dict[str, Any]:
        return self._map("metadata")

    @property
    def name(self) -> str:
        name = self.metadata.get("name")
        return name if isinstance(name, str) else ""

    @property
    def namespace(self) -> str:
        namespace = self.metadata.get("namespace")
        return namespace if isinstance(namespace, str) else ""

    @property
    def labels(self) -> dict[str, str]:
        return self._meta_map("labels")

    @property
    def annotations(self) -> dict[str, str]:
        return self._meta_map("annotations")

    @property
    def uid(self) -> str:
        uid = self.metadata.get("uid")
        return uid if isinstance(uid, str) else ""

    @property
    def spec(self) -> dict[str, Any]:
        return self._map("spec")

    @property
    def status(self) -> dict[str, Any]:
        return self._map("status")

    @property
    def fields(self) -> Part:
        """Typed getters over the whole object (meshctl.kube.fields)."""
        return Part(self.raw, self.origin)

    def _map(self, key: str) -> dict[str, Any]:
        value = self.raw.get(key)
        if type(value) is dict:
            return value
        if value is not None:
            note(self.origin if key != "metadata" else f"{self.kind.kind} (unnamed)", key, dict)
        return {}

    def _meta_map(self, key: str) -> dict[str, str]:
        value = self.metadata.get(key)
        if type(value) is dict:
            return value
        if value is not None:
            note(self.origin, f"metadata.{key}", dict)
        return {}

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Identity inside one cluster: (group, kind, namespace, name)."""
        return (self.kind.group, self.kind.kind, self.namespace, self.name)

    @property
    def origin(self) -> str:
        """How istioctl names an object in messages: ``Kind ns/name`` or ``Kind name``."""
        if self.namespace:
            return f"{self.kind.kind} {self.namespace}/{self.name}"
        return f"{self.kind.kind} {self.name}"

    def __repr__(self) -> str:
        return f"<Resource {self.kind.qualified_kind} {self.namespace}/{self.name}>"


class ClusterState(Protocol):
    info: SourceInfo

    def list(
        self, kind: Kind, namespace: str | None = None, *, labels: Mapping[str, str] | None = None
    ) -> list[Resource]:
        """Objects of a kind (all namespaces when ``namespace`` is None).

        Raises ``NotCapturedError`` when the source cannot say (CRD absent, kind not captured).
        """
        ...

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> Resource | None: ...

    def serves(self, kind: Kind) -> bool:
        """Whether ``list(kind)`` can answer (False: it would raise NotCapturedError)."""
        ...


def list_if_served(state: ClusterState, kind: Kind, namespace: str | None = None) -> list[Resource] | None:
    """Objects of a kind, or None when the source cannot provide it (say 'unknown', not 'none')."""
    from meshctl.errors import NotCapturedError

    if not state.serves(kind):
        return None
    try:
        return state.list(kind, namespace)
    except NotCapturedError:
        return None


def matches_labels(labels: Mapping[str, str], wanted: Mapping[str, str] | None) -> bool:
    if not wanted:
        return True
    if not isinstance(labels, Mapping):  # hand-written files can hold anything there
        return False
    return all(labels.get(k) == v for k, v in wanted.items())


class IndexedObjects:
    """Objects of one cluster held in memory, indexed by kind: the core of the offline sources."""

    def __init__(self, resources: Iterable[Resource] = ()) -> None:
        self._by_kind: dict[tuple[str, str], list[Resource]] = {}
        # (group, kind) -> {(namespace, name): resource}, built on first lookup of that kind
        self._by_name: dict[tuple[str, str], dict[tuple[str, str], Resource]] = {}
        for res in resources:
            self.add(res)

    def add(self, res: Resource) -> None:
        gk = (res.kind.group, res.kind.kind)
        self._by_kind.setdefault(gk, []).append(res)
        self._by_name.pop(gk, None)

    def set_kind(self, kind: Kind, resources: list[Resource]) -> None:
        gk = (kind.group, kind.kind)
        self._by_kind[gk] = resources
        self._by_name.pop(gk, None)

    def has_kind(self, kind: Kind) -> bool:
        return (kind.group, kind.kind) in self._by_kind

    def kinds(self) -> list[Kind]:
        return [items[0].kind for items in self._by_kind.values() if items]

    def select(
        self, kind: Kind, namespace: str | None, labels: Mapping[str, str] | None
    ) -> list[Resource]:
        items = self._by_kind.get((kind.group, kind.kind), [])
        return [
            r
            for r in items
            if (namespace is None or r.namespace == namespace) and matches_labels(r.labels, labels)
        ]

    def find(self, kind: Kind, name: str, namespace: str | None) -> Resource | None:
        gk = (kind.group, kind.kind)
        index = self._by_name.get(gk)
        if index is None:
            # the last document wins, as when applying files in order
            index = {(r.namespace, r.name): r for r in self._by_kind.get(gk, [])}
            self._by_name[gk] = index
        if namespace is None and kind.namespaced:
            return next((r for (_, n), r in index.items() if n == name), None)
        return index.get((namespace or "", name))

    def __iter__(self):
        for items in self._by_kind.values():
            yield from items


class OverlayState:
    """``top``'s objects over ``base``'s: an object in ``top`` replaces the one with the same identity.

    Used to analyze files against a live cluster (or a snapshot), and to add default objects under
    files in offline analysis.
    """

    def __init__(self, base: ClusterState, top: ClusterState) -> None:
        self.base = base
        self.top = top
        self.info = base.info

    def serves(self, kind: Kind) -> bool:
        return self.base.serves(kind) or bool(self.top.list(kind))

    def list(self, kind: Kind, namespace: str | None = None, *, labels: Mapping[str, str] | None = None):
        mine = self.top.list(kind, namespace, labels=labels)
        below = self.base.list(kind, namespace, labels=labels) if self.base.serves(kind) else []
        replaced = {r.key for r in mine}
        return [r for r in below if r.key not in replaced] + mine

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> Resource | None:
        found = self.top.get(kind, name, namespace)
        if found is None and self.base.serves(kind):
            found = self.base.get(kind, name, namespace)
        return found
