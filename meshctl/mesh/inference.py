"""InferencePools (Gateway API Inference Extension) as they stand, and what stops each from serving.

``describe_inference`` reads one cluster once (one list per kind, indexed), and returns one
``PoolStatus`` per InferencePool: the HTTPRoutes that send traffic to it with each parent Gateway's
``Accepted``/``ResolvedRefs``, the pool's own status per parent, its endpoint picker (EPP), the
model-server pods it selects, and ``problems``, each with a hint.

Routes that name a pool which does not exist (under the right group or the old
``inference.networking.x-k8s.io`` one) get a row of their own, ``found=False``, so that every broken
reference shows up as a pool row with problems, whether or not something exists under that name.

Manifests (``-f``) rarely carry status, Pods or EndpointSlices: from files, what they do not hold is
"unknown" rather than "none", so plain manifests are not reported as broken.

The checks are small functions over an ``InferenceIndex`` (``pool_backend_refs``, ``picker_issues``,
``epp_flag_mismatches``, ``picker_tls``, ``undeclared_target_ports``...): ``inference status`` words what
they find as problems, and meshctl's ``inference.*`` analyzers report the configuration ones under codes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from meshctl.kube import kinds as K
from meshctl.kube.fields import Part, note
from meshctl.kube.state import ClusterState, Resource, list_if_served, matches_labels
from meshctl.mesh import labels as L
from meshctl.mesh.controlplane import istiod_env_by_revision
from meshctl.mesh.hosts import fqdn
from meshctl.mesh.status import pod_ready

POOL_KIND = "InferencePool"
POOL_GROUP = K.INFERENCE  # the v1 API, the only one Istio 1.28+ serves
OLD_POOL_GROUP = K.INFERENCE_X  # v1alpha2: a common mistake in backendRefs
DEFAULT_FAILURE_MODE = "FailClose"
ROUTE_CONDITIONS = ("Accepted", "ResolvedRefs")
POOL_CONDITIONS = ("Accepted", "ResolvedRefs", "Exported")
TLS_SIMPLE = "SIMPLE"
ERROR, WARNING = "error", "warning"
ON, OFF, UNKNOWN = "on", "off", "unknown"
# EPP flags that tie it to one pool (Go flags: one or two dashes, value after a space or '=').
EPP_FLAG = re.compile(r"^--?(pool-name|pool-namespace|pool-group)(?:=(.*))?$")


@dataclass(frozen=True)
class Condition:
    type: str
    status: str  # True | False | Unknown
    reason: str
    message: str
    stale: bool = False  # written for an older generation than the object's current one


@dataclass(frozen=True)
class ParentStatus:
    """What one parent (a Gateway) reports about a route or a pool."""

    kind: str  # Gateway, or Service for a mesh (waypoint) parent
    namespace: str
    name: str
    gateway_class: str  # "" when the Gateway is unknown
    conditions: tuple[Condition, ...]  # only the types that matter here; empty: nothing reported

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)


@dataclass(frozen=True)
class RouteInfo:
    """An HTTPRoute whose backendRef names the pool (maybe under the wrong group)."""

    namespace: str
    name: str
    backend_group: str  # the group the backendRef names
    permitted: bool  # same namespace, or a ReferenceGrant allows the cross-namespace reference
    request_timeout: str  # timeouts.request of the rules naming the pool ("" when none)
    parents: tuple[ParentStatus, ...]

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class EndpointPicker:
    """The pool's endpoint picker: the Service named by ``endpointPickerRef`` and what stands behind it."""

    kind: str
    service: str
    port: int | None
    failure_mode: str
    service_found: bool | None  # None: Services unknown
    service_ports: tuple[int, ...]
    ready_endpoints: int | None  # None: EndpointSlices unknown
    deployments: tuple[str, ...]  # Deployments whose pods the Service selects
    tls_rule: str | None  # DestinationRule ns/name giving TLS; "" none; None: not needed or unknown
    host: str  # the Service's FQDN


@dataclass(frozen=True)
class Problem:
    severity: str  # error | warning
    what: str
    hint: str


@dataclass(frozen=True)
class PoolStatus:
    cluster: str
    namespace: str
    name: str
    group: str
    found: bool  # False: routes name this pool, but it does not exist
    selector: tuple[tuple[str, str], ...]
    target_ports: tuple[int, ...]
    routes: tuple[RouteInfo, ...]
    parents: tuple[ParentStatus, ...]  # the pool's own status, per parent
    endpoint_picker: EndpointPicker | None
    pods_ready: int | None  # None: pods unknown
    pods_total: int | None
    container_ports: tuple[int, ...]  # declared by the selected pods (or their workloads' templates)
    problems: tuple[Problem, ...] = field(default=())

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def failure_mode(self) -> str:
        return self.endpoint_picker.failure_mode if self.endpoint_picker else ""


@dataclass(frozen=True)
class InferenceStatus:
    cluster: str
    served: bool  # whether the cluster (or source) serves InferencePools at all
    inference_flag: str  # on | off | unknown: ENABLE_GATEWAY_API_INFERENCE_EXTENSION on istiod
    pools: tuple[PoolStatus, ...]

    @property
    def problems(self) -> int:
        return sum(len(p.problems) for p in self.pools)


# -- small readers -------------------------------------------------------------------------------------
# Every field is read through meshctl.kube.fields: a field of the wrong type reads as absent and is noted
# (files, snapshots and CRDs that keep unknown fields can hold anything), never an internal error.


def _indexed(part: Part, *keys: str | int) -> Iterator[tuple[int, Part]]:
    """(index, Part) of each map in a list field, with its index as written (items that are not maps are
    noted and skipped), so that field paths built from the index name the right item."""
    for i, item in enumerate(part.sequence(*keys)):
        found = part.part(*keys, i)  # notes an item that is not a map
        if isinstance(item, dict):
            yield i, found


def _map_field(part: Part, key: str) -> Part | None:
    """The map under ``key``, or None when it is absent (or not a map, which is noted)."""
    found = part.part(key)
    return found if isinstance(part.data.get(key), dict) else None


def _string_labels(res: Resource) -> dict[str, str]:
    """``metadata.labels`` with string values only. Run over every pod: the usual all-strings case costs
    one scan and no copy."""
    labels = res.labels
    if all(type(v) is str for v in labels.values()):
        return labels
    return res.fields.string_map("metadata", "labels")


def selector_text(selector: Iterable[tuple[str, str]]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(selector))


def _conditions(entries: Iterable[Part], generation: int | None, wanted: tuple[str, ...]) -> tuple[Condition, ...]:
    """The wanted condition types, first report of each; stale when written for an older generation."""
    found: dict[str, Condition] = {}
    for entry in entries:
        for c in entry.iter_parts("conditions"):
            ctype = c.text("type")
            if ctype not in wanted or ctype in found:
                continue
            observed = c.integer("observedGeneration")
            stale = observed is not None and generation is not None and observed < generation
            found[ctype] = Condition(ctype, c.text("status", default="Unknown"), c.text("reason"), c.text("message"),
                                     stale)
    return tuple(found[t] for t in wanted if t in found)


def pool_selector(pool: Resource) -> dict[str, str]:
    """v1 ``selector.matchLabels``; v1alpha2 pools had a flat map."""
    spec = pool.fields.part("spec")
    keys = ("selector", "matchLabels") if "matchLabels" in spec.mapping("selector") else ("selector",)
    selector = spec.string_map(*keys)
    if all(isinstance(k, str) for k in selector):
        return selector
    # YAML can write a key that is no string (`1: a`), which would also break sorting the selector
    for key in selector:
        if not isinstance(key, str):
            note(pool.origin, ".".join(("spec", *keys, str(key))), str)
    return {k: v for k, v in selector.items() if isinstance(k, str)}


def pool_target_ports(pool: Resource) -> tuple[int, ...]:
    return tuple(port for _, port in target_port_fields(pool))


def pool_picker_ref(pool: Resource) -> dict[str, Any] | None:
    """``endpointPickerRef`` (v1) or ``extensionRef`` (v1alpha2) as {group, kind, name, port, failureMode}."""
    spec = pool.fields.part("spec")
    ref = _map_field(spec, "endpointPickerRef")
    if ref is not None:
        port = ref.integer("port", "number")
    else:
        ref = _map_field(spec, "extensionRef")
        if ref is None:
            return None
        port = ref.integer("portNumber") or 9002  # v1alpha2's default
    return {"group": ref.text("group"), "kind": ref.text("kind") or "Service", "name": ref.text("name"),
            "port": port, "failureMode": ref.text("failureMode") or DEFAULT_FAILURE_MODE}


def _template_containers(workload: Resource) -> list[Part]:
    return workload.fields.parts("spec", "template", "spec", "containers")


def template_containers(workload: Resource) -> list[dict]:
    return [c.data for c in _template_containers(workload)]


def template_labels(workload: Resource) -> dict[str, str]:
    return workload.fields.string_map("spec", "template", "metadata", "labels")


def _pod_containers(pod: Resource) -> list[Part]:
    return pod.fields.parts("spec", "containers")


def container_ports(containers: Iterable[Part]) -> set[int]:
    return {port for c in containers for p in c.iter_parts("ports")
            if (port := p.integer("containerPort")) is not None}


def _container_args(container: Part) -> list[str]:
    return container.strings("command") + container.strings("args")


def epp_flags(workload: Resource) -> dict[str, str]:
    """``--pool-name``, ``--pool-namespace``, ``--pool-group`` from a workload's container args."""
    flags: dict[str, str] = {}
    for container in _template_containers(workload):
        args = _container_args(container)
        for i, arg in enumerate(args):
            m = EPP_FLAG.match(arg)
            if not m:
                continue
            value = m.group(2) if m.group(2) is not None else (args[i + 1] if i + 1 < len(args) else "")
            flags.setdefault(m.group(1), value)
    return flags


def inference_flag(state: ClusterState, istio_namespace: str = L.ISTIO_NAMESPACE) -> str:
    """``on`` when some istiod revision runs with ENABLE_GATEWAY_API_INFERENCE_EXTENSION=true, ``off``
    when istiod is there without it, ``unknown`` when no istiod can be seen."""
    if not state.serves(K.DEPLOYMENT):
        return UNKNOWN
    envs = istiod_env_by_revision(state, istio_namespace)
    if not envs:
        return UNKNOWN
    return ON if any(env.get(L.INFERENCE_ENV, "").lower() == "true" for env in envs.values()) else OFF


# -- indexes, built once per cluster ---------------------------------------------------------------


class _LabelIndex:
    """Objects by (namespace, label key, value): a selector's matches without scanning a namespace."""

    def __init__(self, items: Iterable[tuple[Resource, dict[str, str]]]) -> None:
        self._by_label: dict[tuple[str, str, str], list[tuple[Resource, dict[str, str]]]] = defaultdict(list)
        for res, labels in items:
            for key, value in labels.items():
                self._by_label[(res.namespace, key, value)].append((res, labels))

    def select(self, namespace: str, selector: Mapping[str, str]) -> list[Resource]:
        if not selector:
            return []  # an empty selector selects nothing here (v1 pools require one)
        candidates = min((self._by_label.get((namespace, k, v), []) for k, v in selector.items()), key=len)
        return [res for res, labels in candidates if matches_labels(labels, selector)]


# What an index reads a kind through: the objects (in ``namespace``; every namespace when None), or None
# when the source cannot say (kind not served or not captured).
Reader = Callable[[K.Kind, "str | None"], "list[Resource] | None"]


class InferenceIndex:
    """Everything the inference checks read, listed once per kind (on first use) and indexed.

    ``inference status`` builds one per cluster from its state; the ``inference.*`` analyzers build one
    per analysis from the analyzer context, so both find the same problems in the same objects.
    ``complete`` says whether an absent object is absent (a cluster or snapshot) or merely not in the
    source (manifests rarely carry Services, Pods or EndpointSlices).
    """

    def __init__(self, read: Reader, *, complete: bool, scope: str | None = None, flag: str = UNKNOWN,
                 cluster: str = "") -> None:
        self._read = read
        self.complete = complete
        self.scope = scope  # namespace of the pools looked at (None: all)
        self.flag = flag  # the inference switch on istiod (inference_flag)
        self.cluster = cluster

    @classmethod
    def of_state(cls, state: ClusterState, namespace: str | None = None,
                 istio_namespace: str = L.ISTIO_NAMESPACE) -> "InferenceIndex":
        return cls(lambda kind, ns: list_if_served(state, kind, ns), complete=state.info.kind != "files",
                   scope=namespace, flag=inference_flag(state, istio_namespace), cluster=state.info.cluster)

    @cached_property
    def pools(self) -> dict[tuple[str, str], Resource]:
        return {(p.namespace, p.name): p for p in self._read(K.INFERENCE_POOL, self.scope) or []}

    @cached_property
    def old_pools(self) -> dict[tuple[str, str], Resource]:
        return {(p.namespace, p.name): p for p in self._read(K.INFERENCE_POOL_X, self.scope) or []}

    @cached_property
    def routes(self) -> list[Resource] | None:
        return self._read(K.HTTP_ROUTE, None)  # every namespace: routes may point across

    @cached_property
    def gateways(self) -> dict[tuple[str, str], Resource] | None:
        gateways = self._read(K.GATEWAY, None)
        return None if gateways is None else {(g.namespace, g.name): g for g in gateways}

    @cached_property
    def grants(self) -> dict[str, list[Resource]]:
        grants: dict[str, list[Resource]] = defaultdict(list)
        for grant in self._read(K.REFERENCE_GRANT, None) or []:
            grants[grant.namespace].append(grant)
        return grants

    @cached_property
    def services(self) -> dict[tuple[str, str], Resource] | None:
        services = self._observed(K.SERVICE)
        return None if services is None else {(s.namespace, s.name): s for s in services}

    @cached_property
    def ready_addresses(self) -> dict[tuple[str, str], set[str]] | None:
        """Ready endpoint addresses by (namespace, Service name); None when EndpointSlices are unknown."""
        slices = self._observed(K.ENDPOINT_SLICE)
        if slices is None:
            return None
        ready: dict[tuple[str, str], set[str]] = defaultdict(set)
        for piece in slices:
            fields = piece.fields
            owner = fields.text("metadata", "labels", L.SERVICE_NAME_LABEL)
            for endpoint in fields.iter_parts("endpoints"):
                if endpoint.flag("conditions", "ready") is not False:  # unset means ready
                    ready[(piece.namespace, owner)].update(endpoint.strings("addresses"))
        return ready

    @cached_property
    def pods(self) -> "_LabelIndex | None":
        pods = self._observed(K.POD)
        return None if pods is None else _LabelIndex((p, _string_labels(p)) for p in pods)

    @cached_property
    def templates(self) -> _LabelIndex:
        """Deployments and StatefulSets by the labels of their pod templates."""
        workloads = [w for kind in (K.DEPLOYMENT, K.STATEFUL_SET) for w in self._read(kind, self.scope) or []]
        return _LabelIndex((w, template_labels(w)) for w in workloads)

    @cached_property
    def _rules(self) -> tuple[dict[str, list[Resource]], dict[str, list[Resource]], bool]:
        """DestinationRules by the host they name, those with wildcard hosts by the suffix after '*', and
        whether DestinationRules are known at all."""
        by_host: dict[str, list[Resource]] = defaultdict(list)
        by_suffix: dict[str, list[Resource]] = defaultdict(list)
        rules = self._read(K.DESTINATION_RULE, None)
        for rule in rules or []:
            host = fqdn(rule.fields.text("spec", "host"), rule.namespace)
            if host.startswith("*"):
                by_suffix[host[1:]].append(rule)
            else:
                by_host[host].append(rule)
        return by_host, by_suffix, rules is not None

    @property
    def rules_known(self) -> bool:
        return self._rules[2]

    def _observed(self, kind: K.Kind) -> list[Resource] | None:
        items = self._read(kind, self.scope)
        if items is not None and not items and not self.complete:
            return None
        return items

    def in_scope(self, namespace: str) -> bool:
        return self.scope is None or namespace == self.scope

    def gateway_class(self, namespace: str, name: str) -> str:
        gateway = (self.gateways or {}).get((namespace, name))
        return gateway.fields.text("spec", "gatewayClassName") if gateway else ""

    def rules_for(self, host: str) -> list[Resource]:
        """DestinationRules for a host: by its name, then by wildcards covering it (by suffix, no scan)."""
        by_host, by_suffix, _ = self._rules
        found = list(by_host.get(host, []))
        for i, ch in enumerate(host):
            if ch == ".":
                found += by_suffix.get(host[i:], [])
        return found + by_suffix.get("", [])

    def granted(self, route: Resource, group: str, pool_namespace: str, pool_name: str) -> bool:
        """Gateway API's rule: a reference into another namespace needs a ReferenceGrant there."""
        if route.namespace == pool_namespace:
            return True
        for grant in self.grants.get(pool_namespace, []):
            spec = grant.fields.part("spec")
            allowed_from = any(f.text("group") == K.GATEWAY_API and f.text("kind") == route.kind.kind
                               and f.text("namespace") == route.namespace for f in spec.iter_parts("from"))
            allowed_to = any(t.text("group") == group and t.text("kind") == POOL_KIND
                             and t.text("name") in ("", pool_name)  # no name: every pool
                             for t in spec.iter_parts("to"))
            if allowed_from and allowed_to:
                return True
        return False

    def pool(self, namespace: str, name: str, group: str = POOL_GROUP) -> Resource | None:
        """The InferencePool a reference with ``group`` names (None: no such pool, or an unknown group)."""
        pools = self.pools if group == POOL_GROUP else self.old_pools if group == OLD_POOL_GROUP else {}
        return pools.get((namespace, name))


# -- reading -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackendRef:
    """One backendRef of kind InferencePool in a route: where it is and what it names."""

    rule: int  # index in spec.rules
    index: int  # index in the rule's backendRefs
    namespace: str
    name: str
    group: str  # as written ("" when left out)
    request_timeout: str  # the rule's timeouts.request ("" when none)

    @property
    def path(self) -> str:
        return f"spec.rules[{self.rule}].backendRefs[{self.index}]"


def pool_backend_refs(route: Resource) -> list[BackendRef]:
    """Every backendRef of kind InferencePool (with a name) in an HTTPRoute or GRPCRoute, in order."""
    found = []
    for i, rule in _indexed(route.fields, "spec", "rules"):
        for j, ref in _indexed(rule, "backendRefs"):
            name = ref.text("name")
            if ref.text("kind") != POOL_KIND or not name:
                continue
            found.append(BackendRef(i, j, ref.text("namespace") or route.namespace, name, ref.text("group"),
                                    _request_timeout(rule)))
    return found


def route_parents(index: InferenceIndex, route: Resource) -> tuple[ParentStatus, ...]:
    """Each parentRef of the route, with what the status reports for it."""
    fields = route.fields
    reported: dict[tuple[str, str, str], list[Part]] = defaultdict(list)
    for entry in fields.iter_parts("status", "parents"):
        reported[_parent_key(entry.part("parentRef"), route.namespace)].append(entry)
    generation = fields.integer("metadata", "generation")
    parents = []
    for ref in fields.iter_parts("spec", "parentRefs"):
        kind, namespace, name = _parent_key(ref, route.namespace)
        if not name:
            continue
        gateway_class = index.gateway_class(namespace, name) if kind == "Gateway" else ""
        conditions = _conditions(reported.get((kind, namespace, name), []), generation, ROUTE_CONDITIONS)
        parents.append(ParentStatus(kind, namespace, name, gateway_class, conditions))
    return tuple(parents)


def _parent_key(ref: Part, namespace: str) -> tuple[str, str, str]:
    """(kind, namespace, name) of a parentRef, with Gateway API's defaults."""
    return ref.text("kind") or "Gateway", ref.text("namespace") or namespace, ref.text("name")


def is_waypoint_parent(parent: ParentStatus) -> bool:
    """A mesh parent (a Service, so its waypoint) or a waypoint Gateway: Istio wires InferencePools into
    neither, only into Gateways of class istio."""
    return parent.kind == "Service" or parent.gateway_class == L.CLASS_WAYPOINT


def istio_gateway_namespaces(parents: Iterable[ParentStatus]) -> set[str]:
    """Namespaces of the istio-class Gateways among ``parents`` (whose gateways call the endpoint picker)."""
    return {p.namespace for p in parents if p.gateway_class == L.CLASS_ISTIO}


def _pool_parents(index: InferenceIndex, pool: Resource) -> tuple[ParentStatus, ...]:
    fields = pool.fields
    generation = fields.integer("metadata", "generation")
    parents = []
    for entry in fields.iter_parts("status", "parents"):
        kind, namespace, name = _parent_key(entry.part("parentRef"), pool.namespace)
        gateway_class = index.gateway_class(namespace, name) if kind == "Gateway" else ""
        parents.append(ParentStatus(kind, namespace, name, gateway_class,
                                    _conditions([entry], generation, POOL_CONDITIONS)))
    return tuple(parents)


def _request_timeout(rule: Part) -> str:
    return rule.text("timeouts", "request")


def _references(index: InferenceIndex) -> dict[tuple[str, str], list[RouteInfo]]:
    """Every HTTPRoute backendRef of kind InferencePool, by the (namespace, name) it names."""
    found: dict[tuple[str, str], list[RouteInfo]] = defaultdict(list)
    for route in index.routes or []:
        parents = None
        seen: set[tuple[str, str, str]] = set()
        for ref in pool_backend_refs(route):
            if (ref.namespace, ref.name, ref.group) in seen or not index.in_scope(ref.namespace):
                continue
            seen.add((ref.namespace, ref.name, ref.group))
            parents = parents if parents is not None else route_parents(index, route)
            found[(ref.namespace, ref.name)].append(RouteInfo(
                route.namespace, route.name, ref.group, index.granted(route, ref.group, ref.namespace, ref.name),
                ref.request_timeout, parents))
    return found


def endpoint_picker(index: InferenceIndex, pool: Resource) -> tuple[EndpointPicker | None, list[Resource]]:
    """The pool's endpoint picker, and the Deployments running it (those its Service selects)."""
    ref = pool_picker_ref(pool)
    if ref is None:
        return None, []
    name, port = ref["name"], ref["port"]
    service = None if index.services is None else index.services.get((pool.namespace, name))
    found = None if index.services is None else service is not None
    ports = tuple(p for p in (x.integer("port") for x in service.fields.iter_parts("spec", "ports"))
                  if p is not None) if service else ()
    ready = None
    if service is not None and index.ready_addresses is not None:
        ready = len(index.ready_addresses.get((pool.namespace, name), ()))
    deployments: list[Resource] = []
    if service is not None:
        selector = service.fields.string_map("spec", "selector")
        deployments = sorted((w for w in index.templates.select(pool.namespace, selector) if w.kind is K.DEPLOYMENT),
                             key=lambda w: w.name)
    host = fqdn(name, pool.namespace)
    picker = EndpointPicker(ref["kind"], name, port, ref["failureMode"], found, ports, ready,
                            tuple(d.name for d in deployments), None, host)
    return picker, deployments


# What can be wrong with a pool's endpoint picker (picker_issues): inference status words each as a
# problem, the analyzers report each under a code of its own.
NO_PICKER = "no-picker"  # no endpointPickerRef at all
PICKER_NOT_SERVICE = "not-service"  # it names another kind than Service
PICKER_NO_PORT = "no-port"  # no port.number
PICKER_MISSING = "missing"  # the Service does not exist
PICKER_EXTERNAL_NAME = "external-name"  # the Service is of type ExternalName
PICKER_PORT_UNKNOWN = "port-unknown"  # port.number is not a port of the Service
PICKER_NOT_READY = "not-ready"  # the Service has no ready endpoints


def picker_issues(index: InferenceIndex, pool: Resource, picker: EndpointPicker | None) -> list[str]:
    """What is wrong with the pool's endpoint picker, in the order to tell it (see the constants above).

    Without a ref, or with one to another kind, nothing further is checked; nor past a missing Service."""
    if picker is None or not picker.service:
        return [NO_PICKER]
    if picker.kind != "Service":
        return [PICKER_NOT_SERVICE]
    issues = []
    if picker.port is None:
        issues.append(PICKER_NO_PORT)
    if picker.service_found is False:
        return issues + [PICKER_MISSING]
    service = (index.services or {}).get((pool.namespace, picker.service))
    if service is not None and service.fields.text("spec", "type") == "ExternalName":
        issues.append(PICKER_EXTERNAL_NAME)
    if picker.service_found and picker.port is not None and picker.port not in picker.service_ports:
        issues.append(PICKER_PORT_UNKNOWN)
    if picker.ready_endpoints == 0:
        issues.append(PICKER_NOT_READY)
    return issues


def epp_flag_mismatches(pool: Resource, flags: Mapping[str, str]) -> list[str]:
    """The EPP flags (pool-name, pool-namespace, pool-group; as epp_flags reads them) that do not name
    ``pool``: the EPP serves the one pool its flags name, so name, namespace (default: its own) and API
    group must all match."""
    wrong = []
    if flags.get("pool-name") != pool.name:
        wrong.append("pool-name")
    if flags.get("pool-namespace") not in (None, pool.namespace):
        wrong.append("pool-namespace")
    if flags.get("pool-group", POOL_GROUP) != pool.kind.group:
        wrong.append("pool-group")
    return wrong


def epp_container_index(workload: Resource) -> int:
    """Index of the first container whose command or args carry an EPP pool flag (0 when none does)."""
    for i, container in enumerate(_template_containers(workload)):
        if any(EPP_FLAG.match(a) for a in _container_args(container)):
            return i
    return 0


@dataclass(frozen=True)
class PickerTls:
    """How Istio's gateways in some namespaces reach the endpoint picker: the DestinationRule that decides
    (the first with tls.mode SIMPLE, else the first visible one; None when none covers the host)."""

    rule: Resource | None
    mode: str  # the rule's TLS mode for the picker's port ("" when it sets none)
    path: str  # where in the rule that TLS setting is
    # SIMPLE with verification on and no CA given: the picker's (usually self-signed) certificate is
    # checked against default roots
    default_roots: bool = False

    @property
    def simple(self) -> bool:
        return self.mode == TLS_SIMPLE


def picker_tls_applies(index: InferenceIndex, picker: EndpointPicker | None, gateway_namespaces: set[str]) -> bool:
    """Whether the picker's TLS DestinationRule matters and can be looked for: istio-class gateways (in
    ``gateway_namespaces``) call the picker (over TLS; without a DestinationRule saying so every request
    fails), its Service is not known to be missing, and the source tells which DestinationRules exist."""
    return picker is not None and bool(picker.service) and picker.service_found is not False \
        and bool(gateway_namespaces) and index.rules_known


def picker_tls(index: InferenceIndex, picker: EndpointPicker, gateway_namespaces: set[str]) -> PickerTls:
    """Istio's gateway calls the EPP over TLS only when a DestinationRule for its host says so."""
    candidates = [r for r in index.rules_for(picker.host) if _visible(r, gateway_namespaces)]
    if not candidates:
        return PickerTls(None, "", "")
    for rule in candidates:
        path, tls = _rule_tls(rule, picker.port)
        if tls.text("mode") == TLS_SIMPLE:
            default_roots = tls.flag("insecureSkipVerify") is not True \
                and not (tls.text("caCertificates") or tls.text("credentialName"))
            return PickerTls(rule, TLS_SIMPLE, path, default_roots)
    rule = candidates[0]
    path, tls = _rule_tls(rule, picker.port)
    return PickerTls(rule, tls.text("mode"), path)


def _tls_rule(index: InferenceIndex, picker: EndpointPicker, gateway_namespaces: set[str]) -> tuple[str, list[Problem]]:
    """The DestinationRule that makes Istio's gateway speak TLS to the EPP ("" when none), and problems."""
    tls = picker_tls(index, picker, gateway_namespaces)
    add_rule = (f"apply a DestinationRule for host {picker.host} with trafficPolicy.tls.mode: SIMPLE and "
                "insecureSkipVerify: true (meshctl inference scaffold writes one)")
    if tls.rule is None:
        return "", [Problem(ERROR, f"no DestinationRule gives TLS to the endpoint picker {picker.host}, so the "
                                   "istio gateway's ext_proc calls to it fail (HTTP 5xx)", add_rule)]
    rule = tls.rule
    if tls.simple:
        problems = []
        if tls.default_roots:
            problems.append(Problem(
                WARNING, f"DestinationRule {rule.namespace}/{rule.name} checks the endpoint picker's certificate, "
                         "which is self-signed unless you gave it one",
                "set trafficPolicy.tls.insecureSkipVerify: true, or caCertificates for the EPP's CA"))
        return f"{rule.namespace}/{rule.name}", problems
    mode = tls.mode or "none"
    return "", [Problem(ERROR, f"DestinationRule {rule.namespace}/{rule.name} for {picker.host} sets TLS mode {mode}, "
                               "not SIMPLE, so the istio gateway's ext_proc calls to the endpoint picker fail",
                        f"set trafficPolicy.tls.mode: SIMPLE (and insecureSkipVerify: true) in {rule.name}")]


def _rule_tls(rule: Resource, port: int | None) -> tuple[str, Part]:
    """The TLS settings a DestinationRule gives ``port`` (the port-level ones first) and their path."""
    policy = rule.fields.part("spec", "trafficPolicy")
    for i, setting in _indexed(policy, "portLevelSettings"):
        if port is not None and setting.integer("port", "number") == port and setting.mapping("tls"):
            return f"spec.trafficPolicy.portLevelSettings[{i}].tls", setting.part("tls")
    return "spec.trafficPolicy.tls", policy.part("tls")


def _visible(rule: Resource, namespaces: set[str]) -> bool:
    """Whether a DestinationRule's exportTo lets the gateways in ``namespaces`` see it."""
    export = rule.fields.strings("spec", "exportTo")
    if not export or "*" in export:
        return True
    scopes = {rule.namespace if e == "." else e for e in export}
    return bool(namespaces) and all(ns in scopes for ns in namespaces)


def _pods(index: InferenceIndex, namespace: str, selector: dict[str, str]) -> tuple[int | None, int | None, set[int]]:
    """(ready, total, declared container ports) of the pods a selector matches; counts None when pods
    are unknown, and then the ports come from the pod templates of matching workloads."""
    if index.pods is not None:
        pods = index.pods.select(namespace, selector)
        ports = container_ports(c for p in pods for c in _pod_containers(p))
        return sum(1 for p in pods if pod_ready(p)), len(pods), ports
    workloads = index.templates.select(namespace, selector)
    return None, None, container_ports(c for w in workloads for c in _template_containers(w))


def declared_ports(index: InferenceIndex, namespace: str, selector: Mapping[str, str]) -> set[int]:
    """Container ports the model servers of a selector declare: those of the matching pods the source
    holds, and those of the matching workloads' pod templates (the pods they will run)."""
    pods = index.pods.select(namespace, selector) if index.pods is not None else []
    workloads = index.templates.select(namespace, selector)
    return container_ports([c for p in pods for c in _pod_containers(p)]
                           + [c for w in workloads for c in _template_containers(w)])


def target_port_fields(pool: Resource) -> list[tuple[str, int]]:
    """(field path, port) of each target port: v1 ``targetPorts[].number``, v1alpha2 ``targetPortNumber``."""
    spec = pool.fields.part("spec")
    found = [(f"spec.targetPorts[{i}].number", p.integer("number")) for i, p in _indexed(spec, "targetPorts")]
    found.append(("spec.targetPortNumber", spec.integer("targetPortNumber")))
    return [(path, port) for path, port in found if port is not None]


def undeclared_target_ports(pool: Resource, declared: set[int]) -> list[tuple[str, int]]:
    """Target ports no container declares (none when nothing is declared: then nothing can be told)."""
    if not declared:
        return []
    return [(path, port) for path, port in target_port_fields(pool) if port not in declared]


def _pool_status(index: InferenceIndex, pool: Resource, routes: list[RouteInfo]) -> PoolStatus:
    selector = pool_selector(pool)
    ready, total, declared = _pods(index, pool.namespace, selector)
    picker, epp_deployments = endpoint_picker(index, pool)
    parents = _pool_parents(index, pool)
    istio_parents = istio_gateway_namespaces(p for r in routes for p in r.parents)
    problems: list[Problem] = []
    if pool.kind is K.INFERENCE_POOL_X:
        problems.append(Problem(ERROR, f"uses the old API {pool.kind.api_version}; Istio 1.28 and later serve only "
                                       f"{K.INFERENCE_POOL.api_version} InferencePools",
                                f"recreate it as {K.INFERENCE_POOL.api_version} (selector.matchLabels, "
                                "targetPorts, endpointPickerRef) and point the routes at that group"))
    problems += _route_problems(index, pool, routes)
    problems += _parent_problems(f"{POOL_KIND} {pool.namespace}/{pool.name}", parents, index.complete and bool(routes))
    if istio_parents and index.flag == OFF:
        problems.append(Problem(ERROR, f"istiod runs without {L.INFERENCE_ENV}=true, so Istio's gateways ignore "
                                       "InferencePool backends (routes report ResolvedRefs=False, InvalidKind)",
                                "turn it on: meshctl inference enable"))
    elif istio_parents and not parents and index.complete:
        problems.append(Problem(WARNING, "no Gateway has reported status for the pool yet",
                                "is istiod running with the inference extension on? (meshctl inference enable)"))
    problems += _picker_problems(index, pool, picker) + _epp_args_problems(pool, epp_deployments)
    if picker_tls_applies(index, picker, istio_parents):
        assert picker is not None
        tls_rule, tls_problems = _tls_rule(index, picker, istio_parents)
        picker = replace(picker, tls_rule=tls_rule)
        problems += tls_problems
    problems += _pod_problems(pool, selector, ready, total, declared)
    return PoolStatus(
        cluster=index.cluster, namespace=pool.namespace, name=pool.name, group=pool.kind.group,
        found=True, selector=tuple(sorted(selector.items())), target_ports=pool_target_ports(pool),
        routes=tuple(routes), parents=parents, endpoint_picker=picker, pods_ready=ready, pods_total=total,
        container_ports=tuple(sorted(declared)), problems=_ordered(problems))


def _route_problems(index: InferenceIndex, pool: Resource, routes: list[RouteInfo]) -> list[Problem]:
    problems = []
    for route in routes:
        what = f"HTTPRoute {route.ref}"
        if route.backend_group != pool.kind.group:
            problems.append(Problem(ERROR, f"{what} names this pool with group {route.backend_group or '(none)'!r}, "
                                           f"not {pool.kind.group!r}, so its backend does not resolve",
                                    f"set the backendRef's group: {pool.kind.group}"))
        if not route.permitted:
            problems.append(Problem(ERROR, f"{what} refers to this pool across namespaces without a ReferenceGrant",
                                    f"create a ReferenceGrant in namespace {pool.namespace} from HTTPRoute in "
                                    f"{route.namespace} to {POOL_KIND} (group {route.backend_group or POOL_GROUP})"))
        problems += _parent_problems(what, route.parents, index.complete, route_parents=True,
                                     known=index.gateways is not None)
    return problems


def _parent_problems(what: str, parents: Iterable[ParentStatus], expect_status: bool, *,
                     route_parents: bool = False, known: bool = True) -> list[Problem]:
    """Problems in what parents report about ``what`` ("HTTPRoute ns/name" or "InferencePool ns/name")."""
    kind, _, ref = what.partition(" ")
    namespace, _, name = ref.partition("/")
    describe = f"kubectl -n {namespace} describe {kind.lower()} {name}"
    problems = []
    for parent in parents:
        if route_parents and is_waypoint_parent(parent):
            problems.append(Problem(ERROR, f"{what} is attached to waypoint {parent.ref}; Istio serves "
                                           "InferencePools only through Gateways of class istio",
                                    "attach the route to an istio-class Gateway instead"))
            continue
        if route_parents and known and parent.kind == "Gateway" and not parent.gateway_class:
            problems.append(Problem(ERROR, f"{what} names parent Gateway {parent.ref}, which does not exist",
                                    "create the Gateway, or fix the route's parentRefs"))
            continue
        if not parent.conditions:
            if expect_status:
                problems.append(Problem(WARNING, f"{what}: Gateway {parent.ref} has reported no status for it",
                                        f"is the Gateway's controller running? "
                                        f"kubectl -n {parent.namespace} describe gateway {parent.name}"))
            continue
        for c in parent.conditions:
            if c.type == "Exported":
                continue  # only meaningful when exporting to other clusters
            if c.stale:
                problems.append(Problem(WARNING, f"{what}: {c.type} from Gateway {parent.ref} is stale (written for "
                                                 "an older generation)",
                                        "the controller has not processed the current spec yet; is istiod running?"))
            elif c.status == "False":
                detail = ": ".join(x for x in (c.reason, c.message) if x)
                problems.append(Problem(ERROR, f"{what}: {c.type}=False from Gateway {parent.ref}"
                                               + (f" ({detail})" if detail else ""), describe))
    return problems


def _picker_problems(index: InferenceIndex, pool: Resource, picker: EndpointPicker | None) -> list[Problem]:
    ns = pool.namespace
    problems = []
    for issue in picker_issues(index, pool, picker):
        if issue == NO_PICKER:
            problems.append(Problem(ERROR, "no endpointPickerRef: Istio needs an endpoint picker to route to the pool",
                                    "add spec.endpointPickerRef naming the EPP Service and port "
                                    "(meshctl inference scaffold writes a whole set)"))
            continue
        assert picker is not None
        epp = f"endpoint picker Service {ns}/{picker.service}"
        if issue == PICKER_NOT_SERVICE:
            problems.append(Problem(ERROR, f"endpointPickerRef names a {picker.kind}, not a Service",
                                    "set endpointPickerRef.kind: Service (group \"\")"))
        elif issue == PICKER_NO_PORT:
            problems.append(Problem(ERROR, "endpointPickerRef has no port.number",
                                    "set endpointPickerRef.port.number to the EPP Service's gRPC port (9002)"))
        elif issue == PICKER_MISSING:
            problems.append(Problem(ERROR, f"{epp} does not exist",
                                    f"create it, or fix endpointPickerRef.name (kubectl -n {ns} get services)"))
        elif issue == PICKER_EXTERNAL_NAME:
            problems.append(Problem(ERROR, f"{epp} is of type ExternalName; the gateway needs endpoints to call",
                                    "make it a ClusterIP Service selecting the EPP pods"))
        elif issue == PICKER_PORT_UNKNOWN:
            have = ", ".join(str(p) for p in picker.service_ports) or "none"
            problems.append(Problem(ERROR, f"endpointPickerRef port {picker.port} is not a port of {epp} "
                                           f"(it has: {have})",
                                    "set endpointPickerRef.port.number to a Service port (not a container port)"))
        elif issue == PICKER_NOT_READY:
            logs = f"deploy/{picker.deployments[0]}" if picker.deployments else "-l <the Service's selector>"
            problems.append(Problem(ERROR, f"{epp} has no ready endpoints",
                                    f"check the EPP pods: kubectl -n {ns} get pods; kubectl -n {ns} logs {logs}"))
    return problems


def _epp_args_problems(pool: Resource, deployments: list[Resource]) -> list[Problem]:
    problems = []
    for deployment in deployments:
        flags = epp_flags(deployment)
        where = f"endpoint picker Deployment {pool.namespace}/{deployment.name}"
        for flag in epp_flag_mismatches(pool, flags):
            if flag == "pool-name":
                have = f"--pool-name {flags['pool-name']}" if flags.get("pool-name") else "no --pool-name"
                problems.append(Problem(ERROR, f"{where} does not serve this pool ({have})",
                                        f"run it with --pool-name {pool.name} --pool-namespace {pool.namespace}"))
            elif flag == "pool-namespace":
                problems.append(Problem(ERROR, f"{where} watches namespace {flags['pool-namespace']} "
                                               f"(--pool-namespace), not {pool.namespace}",
                                        f"set --pool-namespace {pool.namespace}"))
            else:
                problems.append(Problem(ERROR, f"{where} watches InferencePools of group "
                                               f"{flags.get('pool-group', POOL_GROUP)}, not {pool.kind.group}",
                                        f"set --pool-group {pool.kind.group}"))
    return problems


def _pod_problems(pool: Resource, selector: dict[str, str], ready: int | None, total: int | None,
                  declared: set[int]) -> list[Problem]:
    ns = pool.namespace
    if not selector:
        return [Problem(ERROR, "the pool has no selector, so it selects no model servers",
                        "set spec.selector.matchLabels to the model server pods' labels")]
    text = selector_text(selector.items())
    problems = []
    if total == 0:
        problems.append(Problem(ERROR, f"selector {text} matches no pods in namespace {ns}",
                                f"compare with the model server's pod labels: kubectl -n {ns} get pods --show-labels"))
    elif ready == 0:
        problems.append(Problem(ERROR, f"none of the {total} pods selected by {text} is ready",
                                f"kubectl -n {ns} describe pods -l {text}"))
    for _, port in undeclared_target_ports(pool, declared):
        have = ", ".join(str(p) for p in sorted(declared))
        problems.append(Problem(ERROR, f"target port {port} is not a container port of the selected pods "
                                       f"(they declare: {have})",
                                "set spec.targetPorts[].number to the port the model server listens on"))
    return problems


def _missing_pool(index: InferenceIndex, namespace: str, name: str, routes: list[RouteInfo]) -> PoolStatus:
    """A row for routes naming a pool that does not exist under any group they use."""
    problems = []
    for route in routes:
        what = f"HTTPRoute {route.ref}"
        if route.backend_group != POOL_GROUP:
            problems.append(Problem(ERROR, f"{what} names InferencePool {namespace}/{name} with group "
                                           f"{route.backend_group or '(none)'!r}, and no such pool exists",
                                    f"use group {POOL_GROUP} and create the pool as {K.INFERENCE_POOL.api_version}"))
        elif (namespace, name) in index.old_pools:
            problems.append(Problem(ERROR, f"{what} names InferencePool {namespace}/{name}, which exists only "
                                           f"under the old group {OLD_POOL_GROUP}",
                                    f"recreate the pool as {K.INFERENCE_POOL.api_version}"))
        else:
            problems.append(Problem(ERROR, f"{what} names InferencePool {namespace}/{name}, which does not exist",
                                    "create it (meshctl inference scaffold), or fix the backendRef's name"))
        problems += _parent_problems(what, route.parents, index.complete, route_parents=True,
                                     known=index.gateways is not None)
    return PoolStatus(cluster=index.cluster, namespace=namespace, name=name, group=POOL_GROUP,
                      found=False, selector=(), target_ports=(), routes=tuple(routes), parents=(),
                      endpoint_picker=None, pods_ready=None, pods_total=None, container_ports=(),
                      problems=_ordered(problems))


def _ordered(problems: list[Problem]) -> tuple[Problem, ...]:
    """Errors before warnings, each group in the order found, duplicates dropped."""
    unique = list(dict.fromkeys(problems))
    return tuple(sorted(unique, key=lambda p: p.severity != ERROR))


def describe_inference(state: ClusterState, namespace: str | None = None,
                       istio_namespace: str = L.ISTIO_NAMESPACE) -> InferenceStatus:
    """Every InferencePool in ``namespace`` (all when None), plus rows for pools that routes name but
    that do not exist; sorted by namespace and name."""
    index = InferenceIndex.of_state(state, namespace, istio_namespace)
    references = _references(index)
    rows = []
    for key, pool in index.pools.items():
        rows.append(_pool_status(index, pool, references.pop(key, [])))
    for key, pool in index.old_pools.items():
        # v1 pools took their routes above; routes naming the old group belong to the old pool
        routes = references.pop(key, [])
        rest = [r for r in routes if r.backend_group != OLD_POOL_GROUP]
        if rest:
            references[key] = rest
        rows.append(_pool_status(index, pool, [r for r in routes if r.backend_group == OLD_POOL_GROUP]))
    for (ns, name), routes in references.items():
        rows.append(_missing_pool(index, ns, name, routes))
    rows.sort(key=lambda p: (p.namespace, p.name, p.group != POOL_GROUP))
    return InferenceStatus(state.info.cluster, state.serves(K.INFERENCE_POOL), index.flag, tuple(rows))
