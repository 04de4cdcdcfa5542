"""Analyzers, the context they read through, and the registry.

An analyzer runs once over a whole cluster and never does I/O. It reads through ``Context``, which
builds each index once (objects by kind and name, by namespace, pods by label, services by host), so
checks that relate objects stay linear: no analyzer scans every resource for each resource.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from meshctl.analysis.messages import MESSAGE_TYPES, Level, Message
from meshctl.errors import NotCapturedError
from meshctl.kube import kinds as K
from meshctl.kube.kinds import Kind
from meshctl.kube.state import ClusterState, Resource
from meshctl.mesh import labels as L
from meshctl.mesh.hosts import DEFAULT_DOMAIN

if TYPE_CHECKING:
    from meshctl.mesh.multicluster import ClusterIdentity



class Analyzer:
    """One check family. Subclasses set the class attributes and implement ``analyze``."""

    name: ClassVar[str]  # Istio's metadata name, e.g. "virtualservice.GatewayAnalyzer"
    description: ClassVar[str]
    inputs: ClassVar[tuple[Kind, ...]] = ()
    codes: ClassVar[tuple[str, ...]] = ()
    # Offline analysis of files only: skip analyzers that need the live cluster's own state.
    needs_cluster: ClassVar[bool] = False

    def analyze(self, ctx: "Context") -> None:
        raise NotImplementedError


class MultiClusterAnalyzer(Analyzer):
    """An analyzer that compares clusters; ``analyze_clusters`` gets every cluster's context."""

    def analyze(self, ctx: "Context") -> None:
        return None

    def analyze_clusters(self, contexts: list["Context"]) -> None:
        raise NotImplementedError


ANALYZERS: list[type[Analyzer]] = []


def analyzer(cls: type[Analyzer]) -> type[Analyzer]:
    """Class decorator: register an analyzer (names and codes must be known and unique)."""
    if any(a.name == cls.name for a in ANALYZERS):
        raise ValueError(f"analyzer {cls.name} registered twice")
    unknown = [c for c in cls.codes if c not in MESSAGE_TYPES]
    if unknown:
        raise ValueError(f"analyzer {cls.name} emits unknown codes {unknown}")
    ANALYZERS.append(cls)
    return cls


def all_analyzers() -> list[type[Analyzer]]:
    import importlib

    importlib.import_module("meshctl.analysis.analyzers")  # importing registers every analyzer
    return sorted(ANALYZERS, key=lambda a: a.name)


def selector_matches(selector: Mapping[str, str] | None, labels: Mapping[str, str]) -> bool:
    if not selector:
        return True
    return all(labels.get(k) == v for k, v in selector.items())


def suppressed_by_annotation(resource: Resource, code: str) -> bool:
    value = resource.annotations.get(L.ANALYZE_SUPPRESS)
    if not value:
        return False
    codes = {c.strip() for c in value.split(",")}
    return "*" in codes or code in codes


@dataclass
class Context:
    """What an analyzer sees of one cluster, indexed."""

    state: ClusterState
    cluster: str = ""
    mesh_config: dict[str, Any] = field(default_factory=dict)
    mesh_networks: dict[str, Any] = field(default_factory=dict)
    istio_namespace: str = L.ISTIO_NAMESPACE
    live: bool = False  # the state is a live cluster (or a snapshot of one), not just files
    multi_cluster: bool = False  # several clusters are analyzed together (MultiClusterAnalyzers compare them)
    messages: list[Message] = field(default_factory=list)
    unknown: set[str] = field(default_factory=set)  # kinds the source could not provide
    current: str = ""  # name of the analyzer running, stamped on messages
    domain: str = DEFAULT_DOMAIN  # the cluster's DNS suffix (istiod's --domain)

    # -- reading ----------------------------------------------------------------------------

    @cached_property
    def identity(self) -> ClusterIdentity:
        """The cluster's multicluster identity, as ``meshctl multicluster check`` reads it; read once per
        analysis however many analyzers compare clusters."""
        from meshctl.mesh.multicluster import describe_identity

        return describe_identity(self.state, self.istio_namespace)

    def resources(self, kind: Kind) -> list[Resource]:
        return self._all(kind)

    def _all(self, kind: Kind) -> list[Resource]:
        cache = self.__dict__.setdefault("_cache", {})
        key = (kind.group, kind.kind)
        if key not in cache:
            try:
                cache[key] = sorted(self.state.list(kind), key=lambda r: (r.namespace, r.name))
            except NotCapturedError:
                self.unknown.add(kind.resource)
                cache[key] = []
        return cache[key]

    def objects_read(self) -> int:
        """How many objects the analyzers read (the kinds no analyzer asked for were never loaded)."""
        return sum(len(items) for items in self.__dict__.get("_cache", {}).values())

    def has(self, kind: Kind) -> bool:
        """Whether the source could say anything about this kind (an empty answer still counts)."""
        self._all(kind)
        return kind.resource not in self.unknown

    def _index(self, name: str, build: Callable[[], Any]) -> Any:
        indexes = self.__dict__.setdefault("_indexes", {})
        if name not in indexes:
            indexes[name] = build()
        return indexes[name]

    def get(self, kind: Kind, namespace: str, name: str) -> Resource | None:
        def build():
            return {(r.namespace, r.name): r for r in self._all(kind)}

        return self._index(f"byname:{kind.group}/{kind.kind}", build).get((namespace if kind.namespaced else "", name))

    def in_namespace(self, kind: Kind, namespace: str) -> list[Resource]:
        def build():
            out: dict[str, list[Resource]] = defaultdict(list)
            for r in self._all(kind):
                out[r.namespace].append(r)
            return out

        return self._index(f"byns:{kind.group}/{kind.kind}", build).get(namespace, [])

    def select(self, kind: Kind, namespace: str | None, selector: Mapping[str, str] | None) -> list[Resource]:
        """Objects of ``kind`` whose labels contain ``selector`` (in ``namespace``; all when None).

        Uses an inverted label index, so N selectors over M objects cost about N plus the matches.
        """
        def build():
            by_label: dict[tuple[str, str, str], list[Resource]] = defaultdict(list)
            for r in self._all(kind):
                for k, v in r.labels.items():
                    by_label[(r.namespace, k, v)].append(r)
            return by_label

        if not selector:
            return self.in_namespace(kind, namespace) if namespace is not None else self._all(kind)
        if namespace is None:
            return [r for r in self._all(kind) if selector_matches(selector, r.labels)]
        index = self._index(f"bylabel:{kind.group}/{kind.kind}", build)
        (first_key, first_value), *rest = sorted(selector.items())
        candidates = index.get((namespace, first_key, first_value), [])
        return [r for r in candidates if selector_matches(dict(rest), r.labels)]

    @cached_property
    def services_by_host(self) -> dict[str, Resource]:
        """Kubernetes Services by FQDN."""
        return {f"{s.name}.{s.namespace}.svc.{self.domain}": s for s in self._all(K.SERVICE)}

    # -- reporting ----------------------------------------------------------------------------

    def report(self, code: str, resource: Resource, *args: Any, field_path: str | None = None) -> None:
        """Record a message about ``resource`` (unless its suppress annotation names the code)."""
        mtype = MESSAGE_TYPES[code]
        if suppressed_by_annotation(resource, code):
            return
        reference = str(resource.location) if resource.location else ""
        self.messages.append(
            Message(
                type=mtype,
                origin=resource.origin,
                text=mtype.template.format(*args),
                reference=reference,
                cluster=self.cluster,
                analyzer=self.current,
                kind=resource.kind.kind,
                namespace=resource.namespace,
                name=resource.name,
                extra={"field": field_path} if field_path else {},
            )
        )


@dataclass(frozen=True)
class Suppression:
    """``--suppress "CODE=Kind ns/name"``; code and resource may use ``*`` globs."""

    code: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> "Suppression":
        code, sep, resource = text.partition("=")
        if not sep or not code.strip() or not resource.strip():
            raise ValueError(f"suppression {text!r} is not CODE=Kind ns/name (e.g. \"IST0102=Namespace frod\")")
        return cls(code.strip(), resource.strip())

    def matches(self, message: Message) -> bool:
        return fnmatch.fnmatchcase(message.code, self.code) and fnmatch.fnmatchcase(message.origin, self.resource)


def filter_messages(
    messages: Iterable[Message],
    *,
    suppressions: Iterable[Suppression] = (),
    output_threshold: Level = Level.INFO,
    namespace: str | None = None,
) -> list[Message]:
    """Apply suppressions, the output threshold and namespace selection (None: every namespace)."""
    rules = list(suppressions)
    kept = []
    for m in messages:
        if m.level < output_threshold:
            continue
        if any(rule.matches(m) for rule in rules):
            continue
        if namespace is not None and m.namespace and m.namespace != namespace:
            continue
        kept.append(m)
    return sorted(set(kept), key=Message.sort_key)
