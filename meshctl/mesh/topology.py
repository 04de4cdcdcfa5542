"""The mesh as a graph: clusters, networks, the control plane, namespaces, workloads, services,
waypoints, gateways, routes and inference pools, and how they refer to each other.

``build_graph`` reads each cluster once (one list per kind), indexes what it read, and returns a
networkx ``DiGraph`` whose node ids are stable (``cluster1/Service/bookinfo/reviews``). Every node
carries its health as data; an object that something refers to but that does not exist becomes a
node with status ``missing``. ``restrict``/``focus`` cut the graph down, ``to_topology`` turns it
into plain, sorted dataclasses for the renderers (which never see networkx).

This is the only module that imports networkx.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from meshctl.errors import MeshctlError, UsageError
from meshctl.kube import kinds as K
from meshctl.kube.fields import Part, note
from meshctl.kube.state import ClusterState, Resource, list_if_served
from meshctl.mesh import labels as L
from meshctl.mesh.controlplane import find_control_plane, name_clusters
from meshctl.mesh.enrollment import AMBIENT, CONFLICT, FINISHED_PHASES, NONE, namespace_mode
from meshctl.mesh.gateways import EAST_WEST as EAST_WEST_ROLE
from meshctl.mesh.gateways import WAYPOINT as WAYPOINT_ROLE
from meshctl.mesh.gateways import class_controllers, gateway_data_plane
from meshctl.mesh.status import pod_ready

# Labels and annotations only this module reads (candidates for meshctl.mesh.labels).
GATEWAY_NAME, SIDECAR_STATUS, POD_TEMPLATE_HASH = L.GATEWAY_NAME, L.SIDECAR_STATUS, L.POD_TEMPLATE_HASH

# Node types, in the order a namespace lists them.
NETWORK, CLUSTER, CONTROL_PLANE, NAMESPACE = "network", "cluster", "control-plane", "namespace"
GATEWAY, WAYPOINT, ROUTE, INFERENCE_POOL = "gateway", "waypoint", "route", "inference-pool"
SERVICE, ENDPOINT_PICKER, MODEL_SERVER, WORKLOAD, OTHER = (
    "service", "endpoint-picker", "model-server", "workload", "other")
TYPES = (NETWORK, CLUSTER, CONTROL_PLANE, NAMESPACE, GATEWAY, WAYPOINT, ROUTE, INFERENCE_POOL, SERVICE,
         ENDPOINT_PICKER, MODEL_SERVER, WORKLOAD, OTHER)
# Types that belong to a cluster rather than to a namespace of it: kept whatever the namespace scope.
CLUSTER_LEVEL = (NETWORK, CLUSTER, CONTROL_PLANE)

# Health, worst last.
OK, UNKNOWN, WARNING, ERROR, MISSING = "ok", "unknown", "warning", "error", "missing"
_SEVERITY = {OK: 0, UNKNOWN: 1, WARNING: 2, ERROR: 3, MISSING: 4}

# Edge relations.
MEMBER = "member"  # network -> cluster
RUNS = "runs"  # cluster -> control-plane component
REMOTE_SECRET = "remote-secret"  # cluster -> cluster whose API server its istiod reads
EAST_WEST = "east-west"  # cluster -> the east-west gateway its traffic to another network enters by
GLOBAL = "global"  # Service -> the same istio.io/global Service in another cluster
SELECTS = "selects"  # Service or InferencePool -> workload (label selector)
USES_WAYPOINT = "use-waypoint"  # namespace, Service or workload -> waypoint
ROUTES = "routes"  # Gateway or Service (route parent) -> route
BACKEND = "backend"  # route -> Service or InferencePool
PICKS_ENDPOINTS = "endpoint-picker"  # InferencePool -> its endpoint picker Service
RELATIONS = (MEMBER, RUNS, REMOTE_SECRET, EAST_WEST, GLOBAL, USES_WAYPOINT, ROUTES, BACKEND, PICKS_ENDPOINTS,
             SELECTS)

WORKLOAD_KINDS = (K.DEPLOYMENT, K.STATEFUL_SET, K.DAEMON_SET)
ROUTE_KINDS = (K.HTTP_ROUTE, K.GRPC_ROUTE)
POOL_KINDS = (K.INFERENCE_POOL, K.INFERENCE_POOL_X)  # the second only where its old CRD is still served
KUBE_SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")


# -- the plain view the renderers use ----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Node:
    id: str
    type: str
    kind: str  # Kubernetes kind (``Group`` qualified when it is not the usual one); Cluster, Network
    cluster: str  # "" for networks
    namespace: str
    name: str
    status: str  # ok, unknown, warning, error, missing
    health: Mapping[str, Any] = field(default_factory=dict)  # ready counts, conditions, capture
    details: Mapping[str, Any] = field(default_factory=dict)  # what the object is (class, mode, ports...)
    findings: tuple[Mapping[str, str], ...] = ()  # analysis messages about the object (--analyze)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type, "kind": self.kind, "cluster": self.cluster,
                                "namespace": self.namespace, "name": self.name, "status": self.status,
                                "health": dict(self.health), "details": dict(self.details)}
        if self.findings:
            data["findings"] = [dict(f) for f in self.findings]
        return data


@dataclass(frozen=True, eq=False)
class Edge:
    source: str
    target: str
    relation: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "relation": self.relation, **self.data}


@dataclass(frozen=True, eq=False)
class Topology:
    clusters: tuple[str, ...]  # every cluster read, sorted
    nodes: tuple[Node, ...]  # sorted: networks, then per cluster by namespace and type
    edges: tuple[Edge, ...]  # sorted by source, then target
    scope: str = "mesh"  # mesh | all | namespace <name>
    focus: str = ""
    depth: int | None = None

    def by_id(self) -> dict[str, Node]:
        return {n.id: n for n in self.nodes}

    def to_dict(self) -> dict[str, Any]:
        """networkx's node-link layout, with meshctl's attributes on every node and link."""
        graph: dict[str, Any] = {"clusters": list(self.clusters), "scope": self.scope}
        if self.focus:
            graph |= {"focus": self.focus, "depth": self.depth}
        return {"directed": True, "multigraph": False, "graph": graph,
                "nodes": [n.to_dict() for n in self.nodes], "links": [e.to_dict() for e in self.edges]}


@dataclass(frozen=True)
class Finding:
    """An analysis message about one object (the analysis layer sits above this one, so the CLI
    converts its messages into these)."""

    cluster: str  # "" when one cluster was analyzed: matches any
    kind: str
    namespace: str
    name: str
    code: str
    level: str  # Error, Warning, Info
    message: str


# -- ids ----------------------------------------------------------------------------------------------


def node_id(cluster: str, kind: str, namespace: str, name: str) -> str:
    return "/".join(p for p in (cluster, kind, namespace, name) if p)


def network_id(network: str) -> str:
    return f"Network/{network}"


def kind_label(kind: K.Kind) -> str:
    """``Service``; ``InferencePool.inference.networking.x-k8s.io`` for a kind whose name another
    group uses by default, so two different kinds never share an id."""
    default = K.REGISTRY.get(kind.group, kind.kind)
    preferred = _preferred_kind(kind.kind)
    if default is not None and preferred is not None and preferred is default:
        return kind.kind
    return kind.qualified_kind


def _preferred_kind(name: str) -> K.Kind | None:
    try:
        return K.REGISTRY.lookup(name.lower())
    except UsageError:
        return None


def _ref_kind(ref: Part, default_kind: K.Kind) -> K.Kind:
    """The Kind a Gateway API reference names (group "" means core; no group, the default kind's)."""
    group = ref.text("group", default=default_kind.group)
    kind = ref.text("kind") or default_kind.kind
    found = K.REGISTRY.get(group, kind)
    return found if found is not None else K.Kind(group, "", kind, kind.lower() + "s", known=False)


# -- reading ------------------------------------------------------------------------------------------


def _list(state: ClusterState, kind: K.Kind, namespace: str | None = None) -> list[Resource]:
    """Every object of a kind; none when the source cannot provide the kind (CRD not installed)."""
    return list_if_served(state, kind, namespace) or []


# Hot loops (20,000 pods, 5,000 Services) read fields with plain dict walks and isinstance checks, and
# fall back to the typed getters of meshctl.kube.fields, which note what was wrong, only when a field
# has the wrong type; the few Gateways, routes and pools read through the getters directly.


def _map_at(res: Resource, *keys: str) -> dict[str, Any]:
    """The map at ``keys`` ({} when absent or of another type, which is noted)."""
    value: Any = res.raw
    for key in keys:
        value = value.get(key)
        if not isinstance(value, dict):
            return {} if value is None else res.fields.mapping(*keys)
    return value


def _string_map_at(res: Resource, *keys: str) -> dict[str, str]:
    """Labels or a selector at ``keys``: entries whose value is not a string are left out (noted)."""
    found = _map_at(res, *keys)
    for value in found.values():
        if not isinstance(value, str):
            return res.fields.string_map(*keys)
    return found


def _label(res: Resource, labels: Mapping[str, Any], key: str, where: str = "metadata.labels") -> str | None:
    """One label (or annotation) value; None when absent or not a string (noted)."""
    value = labels.get(key)
    if value is None or isinstance(value, str):
        return value
    note(res.origin, f"{where}.{key}", str)
    return None


def _conditions(status: Part) -> dict[str, tuple[str, str]]:
    return {c.text("type"): (c.text("status", default="Unknown"), c.text("reason"))
            for c in status.iter_parts("conditions")}


def _worst_conditions(parents: Iterable[Part], types: Sequence[str]) -> list[dict[str, str]]:
    """Per condition type, the worst status any parent reports (False, then Unknown, then True)."""
    rank = {"False": 0, "Unknown": 1, "True": 2}
    worst: dict[str, tuple[str, str]] = {}
    for parent in parents:
        for ctype, (status, reason) in _conditions(parent).items():
            if ctype not in types:
                continue
            if ctype not in worst or rank.get(status, 1) < rank.get(worst[ctype][0], 1):
                worst[ctype] = (status, reason)
    return [{"type": t, "status": worst[t][0], "reason": worst[t][1]} for t in types if t in worst]


def _conditions_status(conditions: Sequence[Mapping[str, str]], runtime: bool) -> str:
    if not runtime:
        return UNKNOWN
    if any(c["status"] == "False" for c in conditions):
        return ERROR
    if not conditions or any(c["status"] != "True" for c in conditions):
        return WARNING
    return OK


def _ready_status(ready: int, desired: int, runtime: bool) -> str:
    if not runtime:
        return UNKNOWN
    if ready >= desired:
        return OK
    return ERROR if ready == 0 else WARNING


def _worse(a: str, b: str) -> str:
    return a if _SEVERITY[a] >= _SEVERITY[b] else b


@dataclass
class _PodCounts:
    pods: int = 0  # not finished
    ready: int = 0
    enrolled: int = 0  # should be captured by ztunnel (ambient namespace or pod label, not opted out)
    captured: int = 0
    sidecars: int = 0

    def add(self, pod: Resource, labels: Mapping[str, Any], ambient_namespace: bool) -> None:
        self.pods += 1
        if pod_ready(pod):
            self.ready += 1
        mode = _label(pod, labels, L.DATAPLANE_MODE)
        if mode != L.DATAPLANE_MODE_NONE and (ambient_namespace or mode == L.DATAPLANE_MODE_AMBIENT):
            self.enrolled += 1
        annotations = pod.annotations  # compared, never used as text: another type just does not match
        if annotations.get(L.REDIRECTION) == L.REDIRECTION_ENABLED:
            self.captured += 1
        if SIDECAR_STATUS in annotations:
            self.sidecars += 1

    def health(self) -> dict[str, int]:
        data = {"pods": self.pods, "ready": self.ready}
        if self.enrolled or self.captured:
            data |= {"enrolled": self.enrolled, "captured": self.captured}
        if self.sidecars:
            data["sidecars"] = self.sidecars
        return data


def _desired(kind: K.Kind, workload: Resource) -> int:
    """Pods the workload asks for (a count that is not an integer reads as absent: 0, or 1 replica)."""
    if kind is K.DAEMON_SET:
        section, key, default = workload.status, "desiredNumberScheduled", 0
    else:
        section, key, default = workload.spec, "replicas", 1
    value = section.get(key)
    if value is None:
        return default
    if type(value) is int:  # bools are no counts
        return value
    found = workload.fields.integer("status" if kind is K.DAEMON_SET else "spec", key)  # notes a wrong type
    return default if found is None else found


def _template_labels(workload: Resource) -> dict[str, str]:
    return _string_map_at(workload, "spec", "template", "metadata", "labels")


def _waypoint_ref(res: Resource, labels: Mapping[str, Any], namespace: str,
                  where: str = "metadata.labels") -> tuple[str, str] | None:
    """(namespace, name) of the waypoint an object's labels ask for; None for none."""
    name = _label(res, labels, L.USE_WAYPOINT, where)
    if not name or name == L.DATAPLANE_MODE_NONE:
        return None
    return _label(res, labels, L.USE_WAYPOINT_NAMESPACE, where) or namespace, name


class _Cluster:
    """Reads one cluster into the shared graph (one list per kind, then index lookups only)."""

    def __init__(self, graph: nx.DiGraph, state: ClusterState, name: str, istio_namespace: str) -> None:
        self.g = graph
        self.state = state
        self.name = name
        self.istio_ns = istio_namespace
        self.runtime = state.info.kind != "files"  # manifests carry no status: health is unknown
        self.namespaces: dict[str, Resource] = {}
        self.network = ""
        self.seen_namespaces: set[str] = set()
        # (namespace, label, value) -> ids of workloads whose pods carry that label
        self.by_label: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        self.services: dict[tuple[str, str], str] = {}  # (namespace, name) -> node id (or its Gateway's)
        self.gateways: dict[tuple[str, str], str] = {}
        self.controllers: dict[str, str] = {}  # GatewayClass -> its controller
        self.east_west: list[str] = []
        self.global_services: list[tuple[str, str, str]] = []  # (namespace, name, id)
        self.remote_secrets: list[tuple[str, str]] = []  # (peer cluster, secret name)

    # graph helpers

    def id(self, kind: str, namespace: str, name: str) -> str:
        return node_id(self.name, kind, namespace, name)

    def add(self, nid: str, type_: str, kind: str, namespace: str, name: str, status: str,
            health: dict | None = None, details: dict | None = None) -> str:
        self.g.add_node(nid, type=type_, kind=kind, cluster=self.name, namespace=namespace, name=name,
                        status=status, health=health or {}, details=details or {})
        if namespace:
            self.seen_namespaces.add(namespace)
        return nid

    def edge(self, source: str, target: str, relation: str, **data: Any) -> None:
        if not self.g.has_edge(source, target):
            self.g.add_edge(source, target, relation=relation, **data)

    def missing(self, kind: K.Kind, namespace: str, name: str, type_: str) -> str:
        nid = self.id(kind_label(kind), namespace, name)
        if nid not in self.g:
            self.add(nid, type_, kind_label(kind), namespace, name, MISSING)
        return nid

    def select(self, namespace: str, selector: Mapping[str, str]) -> list[str]:
        """Ids of the workloads whose pod labels match ``selector`` (an empty selector matches none)."""
        if not selector:
            return []
        sets = sorted((self.by_label.get((namespace, k, v), set()) for k, v in selector.items()), key=len)
        found = set(sets[0])
        for s in sets[1:]:
            found &= s
            if not found:
                break
        return sorted(found)

    # reading

    def read(self) -> None:
        state = self.state
        self.namespaces = {ns.name: ns for ns in _list(state, K.NAMESPACE)}
        istio_ns = self.namespaces.get(self.istio_ns)
        self.network = (_label(istio_ns, istio_ns.labels, L.NETWORK) or "") if istio_ns is not None else ""
        gateways = _list(state, K.GATEWAY)
        gateway_keys = {(g.namespace, g.name) for g in gateways}
        self.controllers = class_controllers(state) if gateways else {}
        components = {(c.kind, c.namespace, c.name): c for c in find_control_plane(state, self.istio_ns)} \
            if state.serves(K.DEPLOYMENT) and state.serves(K.DAEMON_SET) else {}
        self._cluster_node(components)
        pods = self._pods_by_workload()
        folded = self._workloads(components, pods, gateway_keys)
        self._namespaces(pods)
        for gw in gateways:
            self._gateway(gw, folded.get((gw.namespace, gw.name)))
        for svc in _list(state, K.SERVICE):
            self._service(svc)
        self._waypoint_users()
        for kind in POOL_KINDS:  # before the routes, which name pools as backends
            for pool in _list(state, kind):
                self._pool(pool, kind)
        for kind in ROUTE_KINDS:
            for route in _list(state, kind):
                self._route(route, kind)
        for secret in _list(state, K.SECRET, self.istio_ns):
            if secret.labels.get(L.MULTICLUSTER_SECRET) == "true":
                peer = _label(secret, secret.annotations, L.CLUSTER_ANNOTATION, "metadata.annotations")
                self.remote_secrets.append((secret.name if peer is None else peer, secret.name))
        self.remote_secrets.sort()

    def _pods_by_workload(self) -> dict[tuple[str, str, str], _PodCounts]:
        """Pod counts per (kind, namespace, name) of the workload that owns them (one pass)."""
        ambient = {name for name, ns in self.namespaces.items()
                   if namespace_mode(ns.labels) in (AMBIENT, CONFLICT)}
        counts: dict[tuple[str, str, str], _PodCounts] = defaultdict(_PodCounts)
        for pod in _list(self.state, K.POD):
            if pod.status.get("phase") in FINISHED_PHASES:
                continue
            labels = pod.labels
            key = self._pod_owner(pod, labels)
            if key is not None:
                counts[key].add(pod, labels, pod.namespace in ambient)
        return counts

    @staticmethod
    def _pod_owner(pod: Resource, labels: Mapping[str, Any]) -> tuple[str, str, str] | None:
        refs = pod.metadata.get("ownerReferences")
        if refs and not isinstance(refs, list):
            note(pod.origin, "metadata.ownerReferences", list)
            refs = None
        # the controller's reference, else the first; references that are not maps are skipped (noted)
        ref, at = None, 0
        for i, r in enumerate(refs or ()):
            if not isinstance(r, dict):
                note(pod.origin, f"metadata.ownerReferences[{i}]", dict)
            elif r.get("controller") is True:
                ref, at = r, i
                break
            elif ref is None:
                ref, at = r, i
        if ref is None:
            return ("Pod", pod.namespace, pod.name)  # a bare pod is its own workload
        kind, name = ref.get("kind"), ref.get("name")
        if not isinstance(name, str):
            if name is not None:
                note(pod.origin, f"metadata.ownerReferences[{at}].name", str)
            return None  # an owner without a name names no workload
        if kind == "ReplicaSet":
            # A Deployment names its ReplicaSets <deployment>-<pod-template-hash> and labels their pods
            # with the hash, so the pod names its Deployment without the ReplicaSets being read.
            suffix = _label(pod, labels, POD_TEMPLATE_HASH)
            if suffix and name.endswith("-" + suffix):
                return ("Deployment", pod.namespace, name[: -len(suffix) - 1])
            return None  # a ReplicaSet of its own
        if kind in ("StatefulSet", "DaemonSet"):
            return (kind, pod.namespace, name)
        return None  # Jobs, static pods and the like are not drawn

    def _workloads(self, components, pods, gateway_keys) -> dict[tuple[str, str], tuple[int, int, _PodCounts]]:
        """Workload nodes; returns the counts of Deployments istiod runs for Gateways, which are
        folded into the Gateway's node instead of drawn."""
        folded: dict[tuple[str, str], tuple[int, int, _PodCounts]] = {}
        for kind in WORKLOAD_KINDS:
            for w in _list(self.state, kind):
                counts = pods.get((kind.kind, w.namespace, w.name)) or _PodCounts()
                desired = _desired(kind, w)
                gateway = _label(w, w.labels, GATEWAY_NAME)
                if kind is K.DEPLOYMENT and gateway and (w.namespace, gateway) in gateway_keys:
                    folded[(w.namespace, gateway)] = (counts.ready, desired, counts)
                    continue
                component = components.get((kind.kind, w.namespace, w.name))
                nid = self.id(kind.kind, w.namespace, w.name)
                health: dict[str, Any] = {"desired": desired, **counts.health()}
                status = _worse(_ready_status(counts.ready, desired, self.runtime), self._capture_status(counts))
                template_labels = _template_labels(w)
                if component is not None:
                    details = {"component": component.component, "revision": component.revision,
                               "version": component.version}
                    self.add(nid, CONTROL_PLANE, kind.kind, w.namespace, w.name, status, health, details)
                    self.edge(self.name, nid, RUNS)
                else:
                    self.add(nid, WORKLOAD, kind.kind, w.namespace, w.name, status, health)
                    waypoint = _waypoint_ref(w, template_labels, w.namespace, "spec.template.metadata.labels")
                    if waypoint:
                        self.g.nodes[nid]["_waypoint"] = waypoint
                for k, v in template_labels.items():
                    self.by_label[(w.namespace, k, v)].add(nid)
        for (kind_name, namespace, name), counts in sorted(pods.items()):
            if kind_name == "Pod":
                nid = self.id("Pod", namespace, name)
                status = _worse(_ready_status(counts.ready, 1, self.runtime), self._capture_status(counts))
                self.add(nid, WORKLOAD, "Pod", namespace, name, status, {"desired": 1, **counts.health()})
        return folded

    def _capture_status(self, counts: _PodCounts) -> str:
        if self.runtime and counts.captured < counts.enrolled:
            return WARNING
        return OK

    def _cluster_node(self, components) -> None:
        info = self.state.info
        details = {"context": info.context, "serverVersion": info.server_version, "network": self.network}
        status = OK if any(c.component == "istiod" for c in components.values()) else ERROR
        if not self.runtime:
            status = UNKNOWN
        self.g.add_node(self.name, type=CLUSTER, kind="Cluster", cluster=self.name, namespace="", name=self.name,
                        status=status, health={}, details={k: v for k, v in details.items() if v})
        if self.network:
            nid = network_id(self.network)
            if nid not in self.g:
                self.g.add_node(nid, type=NETWORK, kind="Network", cluster="", namespace="", name=self.network,
                                status=OK, health={}, details={})
            self.g.add_edge(nid, self.name, relation=MEMBER)

    def _namespaces(self, pods: Mapping[tuple[str, str, str], _PodCounts]) -> None:
        totals: dict[str, _PodCounts] = defaultdict(_PodCounts)
        for (_, namespace, _), c in pods.items():
            t = totals[namespace]
            t.pods += c.pods
            t.ready += c.ready
            t.enrolled += c.enrolled
            t.captured += c.captured
            t.sidecars += c.sidecars
        for name, ns in self.namespaces.items():
            mode = namespace_mode(ns.labels)
            details: dict[str, Any] = {"mode": mode}
            use_waypoint = _label(ns, ns.labels, L.USE_WAYPOINT)
            if use_waypoint:
                details["useWaypoint"] = use_waypoint
            counts = totals.get(name) or _PodCounts()
            status = WARNING if mode == CONFLICT or (self.runtime and counts.captured < counts.enrolled) else OK
            nid = self.add(self.id("Namespace", "", name), NAMESPACE, "Namespace", name, name, status,
                           counts.health(), details)
            waypoint = _waypoint_ref(ns, ns.labels, name)
            if waypoint:
                self.g.nodes[nid]["_waypoint"] = waypoint

    def _gateway(self, gw: Resource, folded: tuple[int, int, _PodCounts] | None) -> None:
        fields = gw.fields
        gw_class = fields.text("spec", "gatewayClassName")
        plane = gateway_data_plane(gw, self.controllers)
        role = plane.role
        type_ = WAYPOINT if role == WAYPOINT_ROLE else GATEWAY
        conditions = _worst_conditions([fields.part("status")], ("Accepted", "Programmed"))
        addresses = [a.text("value") for a in fields.iter_parts("status", "addresses")]
        addresses = [a for a in addresses if a]
        health: dict[str, Any] = {"conditions": conditions}
        status = _conditions_status(conditions, self.runtime)
        if folded is not None:
            ready, desired, counts = folded
            health |= {"desired": desired, **counts.health()}
            status = _worse(status, _ready_status(ready, desired, self.runtime))
        details: dict[str, Any] = {"class": gw_class, "role": role, "dataPlane": plane.label}
        labels = gw.labels
        if type_ == WAYPOINT:
            traffic = _label(gw, labels, L.WAYPOINT_FOR)
            details["for"] = "service" if traffic is None else traffic
        network = _label(gw, labels, L.NETWORK)
        if network:
            details["network"] = network
        if addresses:
            details["addresses"] = addresses
        nid = self.add(self.id("Gateway", gw.namespace, gw.name), type_, "Gateway", gw.namespace, gw.name, status,
                       health, details)
        self.gateways[(gw.namespace, gw.name)] = nid
        if role == EAST_WEST_ROLE:
            self.east_west.append(nid)

    def _service(self, svc: Resource) -> None:
        labels = svc.labels
        gateway = _label(svc, labels, GATEWAY_NAME)
        if gateway and (svc.namespace, gateway) in self.gateways:  # istiod's Service for a Gateway
            self.services[(svc.namespace, svc.name)] = self.gateways[(svc.namespace, gateway)]
            return
        spec = svc.spec
        selector = _string_map_at(svc, "spec", "selector")
        selected = self.select(svc.namespace, selector)
        svc_type = spec.get("type", "ClusterIP")
        if not isinstance(svc_type, str):
            svc_type = svc.fields.text("spec", "type", default="ClusterIP")  # notes a wrong type
        details: dict[str, Any] = {"type": svc_type, "ports": _service_ports(svc, spec)}
        is_global = labels.get(L.GLOBAL_SERVICE) == "true"
        if is_global:
            details["global"] = True
        use_waypoint = _label(svc, labels, L.USE_WAYPOINT)
        if use_waypoint:
            details["useWaypoint"] = use_waypoint
        status = WARNING if selector and not selected else OK
        nid = self.add(self.id("Service", svc.namespace, svc.name), SERVICE, "Service", svc.namespace, svc.name,
                       status, {"workloads": len(selected)} if selector else {}, details)
        self.services[(svc.namespace, svc.name)] = nid
        for target in selected:
            self.edge(nid, target, SELECTS)
        waypoint = _waypoint_ref(svc, labels, svc.namespace)
        if waypoint:
            self.g.nodes[nid]["_waypoint"] = waypoint
        if is_global:
            self.global_services.append((svc.namespace, svc.name, nid))

    def _waypoint_users(self) -> None:
        """Edges from namespaces, Services and workloads to the waypoint they use (made once every
        Gateway is known; a waypoint that does not exist becomes a missing node)."""
        users = [(nid, data.pop("_waypoint")) for nid, data in self.g.nodes(data=True)
                 if data.get("cluster") == self.name and "_waypoint" in data]
        for nid, (namespace, name) in sorted(users):
            target = self.gateways.get((namespace, name)) or self.missing(K.GATEWAY, namespace, name, WAYPOINT)
            self.edge(nid, target, USES_WAYPOINT)

    def _route(self, route: Resource, kind: K.Kind) -> None:
        fields = route.fields
        conditions = _worst_conditions(fields.iter_parts("status", "parents"), ("Accepted", "ResolvedRefs"))
        nid = self.add(self.id(kind.kind, route.namespace, route.name), ROUTE, kind.kind, route.namespace,
                       route.name, _conditions_status(conditions, self.runtime), {"conditions": conditions})
        for ref in fields.iter_parts("spec", "parentRefs"):
            name = ref.text("name")
            if name:
                parent = self._resolve(_ref_kind(ref, K.GATEWAY), ref.text("namespace") or route.namespace, name)
                self.edge(parent, nid, ROUTES)
        for rule in fields.iter_parts("spec", "rules"):
            refs = [(r, name) for r in rule.iter_parts("backendRefs") if (name := r.text("name"))]
            for ref, name in refs:
                target = self._resolve(_ref_kind(ref, K.SERVICE), ref.text("namespace") or route.namespace, name)
                weight = ref.integer("weight")
                data = {"weight": 1 if weight is None else weight} if len(refs) > 1 else {}
                self.edge(nid, target, BACKEND, **data)

    def _resolve(self, kind: K.Kind, namespace: str, name: str) -> str:
        """The node of a referenced object; a missing node when it does not exist."""
        if kind is K.SERVICE:
            return self.services.get((namespace, name)) or self.missing(kind, namespace, name, SERVICE)
        if kind is K.GATEWAY:
            return self.gateways.get((namespace, name)) or self.missing(kind, namespace, name, GATEWAY)
        nid = self.id(kind_label(kind), namespace, name)
        if nid in self.g:
            return nid
        return self.missing(kind, namespace, name, INFERENCE_POOL if kind.kind == "InferencePool" else OTHER)

    def _pool(self, pool: Resource, kind: K.Kind) -> None:
        fields = pool.fields
        parents = fields.parts("status", "parents")
        conditions = _worst_conditions(parents, ("Accepted", "ResolvedRefs"))
        selected = self.select(pool.namespace, fields.string_map("spec", "selector", "matchLabels"))
        picker = fields.part("spec", "endpointPickerRef")
        ports = (p.integer("number") for p in fields.iter_parts("spec", "targetPorts"))
        details: dict[str, Any] = {"targetPorts": [p for p in ports if p is not None]}
        app_protocol = fields.text("spec", "appProtocol")
        if app_protocol:
            details["appProtocol"] = app_protocol
        if picker.data:
            details["failureMode"] = picker.text("failureMode", default="FailClose")
        status = _conditions_status(conditions, self.runtime) if parents or not self.runtime else WARNING
        if not selected:
            status = _worse(status, WARNING)
        nid = self.id(kind_label(kind), pool.namespace, pool.name)
        self.add(nid, INFERENCE_POOL, kind_label(kind), pool.namespace, pool.name, status,
                 {"conditions": conditions, "workloads": len(selected)}, details)
        for target in selected:
            self.edge(nid, target, SELECTS)
            if self.g.nodes[target]["type"] == WORKLOAD:
                self.g.nodes[target]["type"] = MODEL_SERVER
        picker_name = picker.text("name")
        if picker_name:
            target = self._resolve(_ref_kind(picker, K.SERVICE), pool.namespace, picker_name)
            port = picker.integer("port", "number")
            self.edge(nid, target, PICKS_ENDPOINTS, **({"port": port} if port else {}))
            for epp in self.g.successors(target) if self.g.nodes[target]["type"] == SERVICE else ():
                if self.g.nodes[epp]["type"] == WORKLOAD:
                    self.g.nodes[epp]["type"] = ENDPOINT_PICKER


def _service_ports(svc: Resource, spec: Mapping[str, Any]) -> list[str]:
    """``name:port`` (or the port alone) per port; a port whose number is not an integer is left out."""
    ports = spec.get("ports")
    if not isinstance(ports, list):
        return [] if ports is None else svc.fields.sequence("spec", "ports")  # [], noting the wrong type
    out = []
    for i, p in enumerate(ports):
        number = p.get("port") if isinstance(p, dict) else None
        if type(number) is not int:
            svc.fields.integer("spec", "ports", i, "port")  # notes what was wrong
            continue
        name = p.get("name")
        if name is not None and not isinstance(name, str):
            name = svc.fields.text("spec", "ports", i, "name")  # "", noted
        out.append(f"{name}:{number}" if name else str(number))
    return out


def _link_clusters(graph: nx.DiGraph, clusters: Sequence[_Cluster]) -> None:
    """Remote-secret links (one-way ones marked so), east-west gateways, global services."""
    by_name = {c.name: c for c in clusters}
    for c in clusters:
        for peer, secret in c.remote_secrets:
            other = by_name.get(peer)
            if other is None:
                if peer not in graph:
                    graph.add_node(peer, type=CLUSTER, kind="Cluster", cluster=peer, namespace="", name=peer,
                                   status=UNKNOWN, health={}, details={"read": False})
                graph.add_edge(c.name, peer, relation=REMOTE_SECRET, secret=secret, twoWay=None)
                continue
            two_way = any(p == c.name for p, _ in other.remote_secrets)
            graph.add_edge(c.name, peer, relation=REMOTE_SECRET, secret=secret, twoWay=two_way)
            if not (c.network and other.network and c.network == other.network):
                for gw in other.east_west:
                    graph.add_edge(c.name, gw, relation=EAST_WEST)
    shared: dict[tuple[str, str], list[str]] = defaultdict(list)
    for c in sorted(clusters, key=lambda c: c.name):
        for namespace, name, nid in c.global_services:
            shared[(namespace, name)].append(nid)
    for ids in shared.values():
        for other in ids[1:]:
            graph.add_edge(ids[0], other, relation=GLOBAL)


# -- building, scoping, focusing -----------------------------------------------------------------------


def build_graph(states: Sequence[ClusterState], *, istio_namespace: str = L.ISTIO_NAMESPACE,
                cluster_names: Sequence[str] | None = None) -> nx.DiGraph:
    """The whole graph of every cluster (all namespaces; ``restrict`` narrows it)."""
    names = list(cluster_names) if cluster_names else name_clusters(list(states), None, istio_namespace)
    names = _unique(names)
    graph = nx.DiGraph(clusters=sorted(names))
    clusters = []
    for state, name in zip(states, names):
        cluster = _Cluster(graph, state, name, istio_namespace)
        cluster.read()
        clusters.append(cluster)
    _link_clusters(graph, clusters)
    for source, target in graph.edges():  # whatever refers to something missing is broken too
        if graph.nodes[target]["status"] == MISSING:
            graph.nodes[source]["status"] = _worse(graph.nodes[source]["status"], ERROR)
    graph.graph["mesh_namespaces"] = {c.name: _mesh_namespaces(c) for c in clusters}
    graph.graph["namespaces"] = {c.name: sorted(set(c.namespaces) | c.seen_namespaces) for c in clusters}
    return graph


def _unique(names: Sequence[str]) -> list[str]:
    """Two contexts on one cluster keep apart: the second gets a suffix."""
    out: list[str] = []
    for name in names:
        candidate, n = name, 2
        while candidate in out:
            candidate, n = f"{name}-{n}", n + 1
        out.append(candidate)
    return out


def _mesh_namespaces(c: _Cluster) -> list[str]:
    """Namespaces that take part in the mesh: enrolled (or asking for sidecars), using a waypoint,
    holding a Gateway, the control plane's, or not described by a Namespace object (manifests)."""
    with_gateways = {ns for ns, _ in c.gateways}
    found = set()
    for name in set(c.namespaces) | c.seen_namespaces:
        ns = c.namespaces.get(name)
        if (ns is None or name == c.istio_ns or name in with_gateways or namespace_mode(ns.labels) != NONE
                or _label(ns, ns.labels, L.USE_WAYPOINT)):
            found.add(name)
    return sorted(found)


def restrict(graph: nx.DiGraph, namespace: str | None = None, all_namespaces: bool = False) -> nx.DiGraph:
    """The part of the graph in scope: one namespace (``namespace``), every namespace
    (``all_namespaces``), or the mesh's namespaces (default), plus what is cluster-wide, plus the
    objects in-scope ones refer to or are referred to by (so no edge is cut)."""
    if all_namespaces:
        graph.graph["scope"] = "all"
        return graph
    if namespace is not None:
        if not any(namespace in names for names in graph.graph["namespaces"].values()):
            raise MeshctlError(f"namespace {namespace} not found in any cluster read",
                               hint="list namespaces with 'meshctl namespace list'")
        scope = {c: {namespace} for c in graph.graph["namespaces"]}
    else:
        scope = {c: set(names) for c, names in graph.graph["mesh_namespaces"].items()}
    inside = {n for n, d in graph.nodes(data=True)
              if d["type"] not in CLUSTER_LEVEL and d["namespace"] in scope.get(d["cluster"], ())}
    keep = set(inside)
    for n in inside:
        keep.update(graph.successors(n))
        keep.update(graph.predecessors(n))
    for n, d in graph.nodes(data=True):
        if d["type"] in CLUSTER_LEVEL:
            keep.add(n)
            if d["type"] == CLUSTER:
                keep.update(t for t in graph.successors(n) if graph.edges[n, t]["relation"] == EAST_WEST)
    scope_name = f"namespace {namespace}" if namespace is not None else "mesh"
    if len(keep) == len(graph):
        graph.graph["scope"] = scope_name
        return graph
    view = graph.subgraph(keep).copy()
    view.graph["scope"] = scope_name
    return view


FOCUS_FORMS = "KIND/NAMESPACE/NAME, KIND/NAME for cluster-wide objects, or a node id from -o json"


def focus(graph: nx.DiGraph, ref: str, depth: int = 1) -> nx.DiGraph:
    """The neighbourhood of the object(s) ``ref`` names: every node at most ``depth`` edges away,
    whichever way the edges point. ``ref`` matches in every cluster unless it is a full node id."""
    if depth < 0:
        raise UsageError(f"--depth {depth} is negative", hint="use --depth 0 for the object alone")
    start = _match(graph, ref)
    undirected = graph.to_undirected(as_view=True)
    keep: set[str] = set()
    for node in start:
        keep.update(nx.single_source_shortest_path_length(undirected, node, cutoff=depth))
    view = graph.subgraph(keep).copy()
    view.graph |= {"focus": ref, "depth": depth}
    return view


def _match(graph: nx.DiGraph, ref: str) -> list[str]:
    if ref in graph:
        return [ref]
    parts = ref.strip("/").split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise UsageError(f"--focus {ref!r}: expected {FOCUS_FORMS}", hint="e.g. --focus Service/bookinfo/reviews")
    kind, name = parts[0], parts[-1]
    namespace = parts[1] if len(parts) == 3 else ""
    wanted = _focus_kind(kind)
    found = sorted(n for n, d in graph.nodes(data=True)
                   if wanted(d) and d["name"] == name and (d["namespace"] == namespace or d["type"] == NAMESPACE
                                                            and not namespace))
    if not found:
        raise MeshctlError(f"--focus {ref}: no such object in the clusters read (or outside -n)",
                           hint=f"name it as {FOCUS_FORMS}; -A widens the scope")
    return found


def _focus_kind(text: str):
    """A test on node data for the kind or node type a user typed (``svc``, ``waypoint``...)."""
    lowered = text.lower()
    for type_ in TYPES:
        if lowered in (type_, type_.replace("-", "")):
            if type_ == NAMESPACE:
                return lambda d: d["type"] == NAMESPACE
            return lambda d, t=type_: d["type"] == t
    kind = K.REGISTRY.lookup(text)  # raises a usage error naming the unknown kind
    label = kind_label(kind)
    if kind is K.NAMESPACE:
        return lambda d: d["type"] == NAMESPACE
    return lambda d: d["kind"] == label


def attach_findings(graph: nx.DiGraph, findings: Iterable[Finding]) -> None:
    """Put each finding on its object's node; on the namespace's (or cluster's) node when the object
    is not drawn (VirtualServices, DestinationRules, policies). Errors and warnings raise the status."""
    index: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for n, d in graph.nodes(data=True):
        index[(d["kind"], d["namespace"], d["name"])].append(n)
    clusters = graph.graph.get("clusters", [])
    for f in findings:
        in_clusters = [f.cluster] if f.cluster else clusters
        namespace = f.name if f.kind == "Namespace" else f.namespace  # a Namespace node's namespace is itself
        targets = [n for n in index.get((f.kind, namespace, f.name), []) if graph.nodes[n]["cluster"] in in_clusters]
        if not targets and f.namespace:
            targets = [n for c in in_clusters if (n := node_id(c, "Namespace", "", f.namespace)) in graph]
        if not targets:
            targets = [c for c in in_clusters if c in graph]
        origin = f"{f.kind} {f.namespace}/{f.name}" if f.namespace else f"{f.kind} {f.name}"
        for n in targets:
            data = graph.nodes[n]
            data.setdefault("findings", []).append(
                {"code": f.code, "level": f.level, "origin": origin, "message": f.message})
            if f.level in ("Error", "Warning"):
                data["status"] = _worse(data["status"], ERROR if f.level == "Error" else WARNING)


# -- to the plain view -----------------------------------------------------------------------------------


def to_topology(graph: nx.DiGraph) -> Topology:
    clusters = tuple(graph.graph.get("clusters", ()))
    order = {c: i for i, c in enumerate(clusters)}
    rank = {t: i for i, t in enumerate(TYPES)}
    components = {"istiod": 0, "istio-cni": 1, "ztunnel": 2}

    def key(item: tuple[str, Mapping[str, Any]]) -> tuple:
        n, d = item  # a Namespace node's namespace is its name, so it leads its namespace
        return (d["type"] != NETWORK, order.get(d["cluster"], len(order)), d["cluster"],
                d["type"] not in CLUSTER_LEVEL, d["namespace"], rank[d["type"]],
                components.get(d["details"].get("component"), 0), d["kind"], d["name"], n)

    nodes = []
    position = {}
    for i, (n, d) in enumerate(sorted(graph.nodes(data=True), key=key)):
        position[n] = i
        findings = tuple(sorted(d.get("findings", ()), key=lambda f: (f["code"], f["origin"], f["message"])))
        nodes.append(Node(n, d["type"], d["kind"], d["cluster"], d["namespace"], d["name"], d["status"],
                          d["health"], d["details"], findings))
    edges = []
    for u, v, d in graph.edges(data=True):
        data = {k: val for k, val in d.items() if k != "relation"}
        edges.append(Edge(u, v, d["relation"], data))
    edges.sort(key=lambda e: (position[e.source], position[e.target]))
    return Topology(clusters, tuple(nodes), tuple(edges), graph.graph.get("scope", "all"),
                    graph.graph.get("focus", ""), graph.graph.get("depth"))


def describe_topology(states: Sequence[ClusterState], *, namespace: str | None = None, all_namespaces: bool = False,
                      focus_on: str | None = None, depth: int = 1, istio_namespace: str = L.ISTIO_NAMESPACE,
                      cluster_names: Sequence[str] | None = None, findings: Iterable[Finding] = ()) -> Topology:
    """Build, scope (a focus without -n looks at every namespace), focus, and flatten."""
    with _collector_paused():
        graph = build_graph(states, istio_namespace=istio_namespace, cluster_names=cluster_names)
        attach_findings(graph, findings)
        graph = restrict(graph, namespace, all_namespaces or (bool(focus_on) and namespace is None))
        if focus_on:
            graph = focus(graph, focus_on, depth)
        return to_topology(graph)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Without the cyclic garbage collector while reading and building: the objects read and the
    graph are large and hold no cycles to free, and each collection would walk them all again
    (a third of the time at 5,000 services)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
