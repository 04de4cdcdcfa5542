"""One cluster's mesh at a glance: control plane, data plane coverage, enrollment, gateways, peers,
and the problems worth a look first (each with a hint)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from meshctl.kube import kinds as K
from meshctl.kube.state import ClusterState, Resource, list_if_served
from meshctl.mesh import labels as L
from meshctl.mesh.controlplane import (ISTIOD, ComponentInfo, DataPlaneLink, dataplane_links, find_control_plane,
                                      find_revision_tags, istiod_env_by_revision, move_dataplane_hint, unfollowed)
from meshctl.mesh.enrollment import AMBIENT, CONFLICT, NamespaceInfo, describe_namespaces
from meshctl.mesh.gateways import WAYPOINT, class_controllers, env_true, gateway_data_plane, serving_revision
from meshctl.mesh.waypoints import programmed_condition


@dataclass(frozen=True)
class GatewayState:
    namespace: str
    name: str
    role: str  # waypoint, east-west, ingress, remote, gateway (another controller's)
    gateway_class: str
    data_plane: str  # what serves it: "Envoy (ingress)", "agentgateway", a controller's name... (mesh.gateways)
    revision: str  # the istiod revision that deploys and programs it; "" when istiod does not
    programmed: str  # True, False, Unknown
    reason: str
    addresses: tuple[str, ...]
    needs_agentgateway: bool = False  # istiod serves it only while it runs with PILOT_ENABLE_AGENTGATEWAY=true

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["needs_agentgateway"]  # how problems are found, not what users read
        return data


@dataclass(frozen=True)
class Problem:
    severity: str  # error, warning
    what: str
    hint: str


@dataclass(frozen=True)
class ClusterStatus:
    cluster: str
    context: str
    server_version: str
    components: tuple[ComponentInfo, ...]
    revision_tags: tuple[tuple[str, str], ...]  # (tag, revision)
    nodes: int | None  # None: nodes unknown
    nodes_with_ztunnel: int | None
    namespaces: tuple[NamespaceInfo, ...]  # enrolled (ambient or conflicting) namespaces only
    gateways: tuple[GatewayState, ...]
    remote_clusters: tuple[str, ...]
    problems: tuple[Problem, ...] = field(default=())
    # (component, revision it follows or None) for istio-cni and ztunnel, which every revision shares
    dataplane: tuple[tuple[str, str | None], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["namespaces"] = [n.to_dict() for n in self.namespaces]
        data["gateways"] = [g.to_dict() for g in self.gateways]
        data["revision_tags"] = [{"tag": t, "revision": r} for t, r in self.revision_tags]
        return data


def find_gateways(state: ClusterState, tags: dict[str, str] | None = None) -> list[GatewayState]:
    """Every Gateway (by namespace and name, whatever the source's order), with the data plane its class
    names; ``tags`` (tag -> revision) resolve the istiod revision of the Gateways istiod serves."""
    gateways = sorted(list_if_served(state, K.GATEWAY) or [], key=lambda g: (g.namespace, g.name))
    controllers = class_controllers(state) if gateways else {}
    found = []
    for gw in gateways:
        plane = gateway_data_plane(gw, controllers)
        programmed, reason = programmed_condition(gw)  # the same reading as `waypoint list`
        addresses = tuple(a.scalar("value") for a in gw.fields.iter_parts("status", "addresses"))
        found.append(GatewayState(gw.namespace, gw.name, plane.role, gw.fields.text("spec", "gatewayClassName"),
                                  plane.label, serving_revision(gw, tags or {}) if plane.istio else "",
                                  programmed, reason, addresses, plane.needs_agentgateway_switch))
    return found


def find_remote_clusters(state: ClusterState, namespace: str) -> list[str]:
    secrets = list_if_served(state, K.SECRET, namespace) or []
    return sorted(str(s.annotations.get(L.CLUSTER_ANNOTATION, s.name)) for s in secrets
                  if s.labels.get(L.MULTICLUSTER_SECRET) == "true")


def is_linux(node: Resource) -> bool:
    return node.labels.get(L.OS_LABEL, "linux") == "linux"


def pod_ready(pod: Resource) -> bool:
    """The pod's Ready condition is True and it is not terminating (a deleted pod keeps Ready until the
    kubelet stops it, but it is on its way out; kubectl shows it Terminating). Malformed status, as
    hand-written files may hold, is not ready."""
    if pod.fields.text("metadata", "deletionTimestamp"):
        return False
    conditions = pod.status.get("conditions")
    if not isinstance(conditions, list):
        return False
    return any(isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def node_coverage(state: ClusterState, namespace: str, pod_label: tuple[str, str],
                  counts: Callable[[Resource], bool] = is_linux) -> tuple[int | None, int | None, list[str]]:
    """(nodes that ``counts``, those with a ready pod labelled ``pod_label`` in ``namespace``, names of
    the others); (None, None, []) when nodes or pods are unknown."""
    nodes = list_if_served(state, K.NODE)
    pods = list_if_served(state, K.POD, namespace)
    if nodes is None or pods is None:
        return None, None, []
    key, value = pod_label
    ready_on = {pod.fields.text("spec", "nodeName") for pod in pods if pod.labels.get(key) == value and pod_ready(pod)}
    wanted = [n for n in nodes if counts(n)]
    missing = sorted(n.name for n in wanted if n.name not in ready_on)
    return len(wanted), len(wanted) - len(missing), missing


def ztunnel_coverage(state: ClusterState, namespace: str) -> tuple[int | None, int | None, list[str]]:
    """(Linux nodes, nodes with a ready ztunnel, names of nodes without one)."""
    return node_coverage(state, namespace, L.ZTUNNEL_APP_LABEL)


def agentgateway_problems(gateways: list[GatewayState], istiod_env: dict[str, dict[str, str]]) -> list[Problem]:
    """One problem per istiod revision that runs without PILOT_ENABLE_AGENTGATEWAY=true while Gateways it
    would serve need agentgateway (nothing deploys or programs them). A revision not running is left to
    the other problems."""
    waiting: dict[str, list[str]] = {}
    for g in gateways:
        env = istiod_env.get(g.revision)
        if g.needs_agentgateway and env is not None and not env_true(env, L.AGENTGATEWAY_ENV):
            waiting.setdefault(g.revision, []).append(f"{g.namespace}/{g.name}")
    problems = []
    for revision, names in sorted(waiting.items()):
        shown = ", ".join(names[:3]) + (" …" if len(names) > 3 else "")
        which = "" if revision == L.DEFAULT_REVISION else f" --revision {revision}"
        problems.append(Problem("error", f"istiod {revision} runs without {L.AGENTGATEWAY_ENV}=true, so nothing "
                                         f"serves {len(names)} agentgateway Gateway(s): {shown}",
                                f"turn agentgateway on: meshctl upgrade{which} --set features.agentgateway=true"))
    return problems


def find_problems(components: list[ComponentInfo], missing_ztunnel: list[str], namespaces: list[NamespaceInfo],
                  gateways: list[GatewayState], waypoint_names: set[tuple[str, str]]) -> list[Problem]:
    problems = []
    if not any(c.component == ISTIOD for c in components):
        problems.append(Problem("error", "no istiod found", "install the control plane: meshctl install"))
    for c in components:
        if c.ready < c.desired:
            problems.append(Problem("error", f"{c.component} {c.namespace}/{c.name}: {c.ready}/{c.desired} ready",
                                    f"kubectl -n {c.namespace} describe {c.kind.lower()} {c.name}"))
    if missing_ztunnel:
        shown = ", ".join(missing_ztunnel[:3]) + (" …" if len(missing_ztunnel) > 3 else "")
        problems.append(Problem("error", f"no ready ztunnel on {len(missing_ztunnel)} node(s): {shown}",
                                "ambient pods there get no mesh traffic; check the ztunnel DaemonSet's pods"))
    for n in namespaces:
        if n.mode == CONFLICT:
            problems.append(Problem("warning", f"namespace {n.name} asks for ambient and sidecar injection",
                                    f"keep one: kubectl label namespace {n.name} istio-injection-"))
        if n.not_captured:
            problems.append(Problem("warning", f"namespace {n.name}: {n.not_captured} pod(s) not captured",
                                    f"pods started before istio-cni ran on their node are not captured; restart them: "
                                    f"kubectl -n {n.name} rollout restart deployment"))
        if n.waypoint and (n.name, n.waypoint) not in waypoint_names:
            problems.append(Problem("error", f"namespace {n.name} uses waypoint {n.waypoint}, which does not exist",
                                    f"create it: meshctl waypoint apply -n {n.name} --name {n.waypoint}"))
    for g in gateways:
        if g.revision and g.programmed != "True":  # istiod's to program; other controllers explain their own
            problems.append(Problem("error" if g.programmed == "False" else "warning",
                                    f"{g.role} gateway {g.namespace}/{g.name} not programmed"
                                    + (f" ({g.reason})" if g.reason else ""),
                                    f"kubectl -n {g.namespace} describe gateway {g.name}"))
    return problems


def describe_status(state: ClusterState, istio_namespace: str = L.ISTIO_NAMESPACE) -> ClusterStatus:
    served = state.serves(K.DEPLOYMENT)
    components = find_control_plane(state, istio_namespace) if served else []
    nodes, covered, missing = ztunnel_coverage(state, istio_namespace)
    enrolled = [n for n in describe_namespaces(state) if n.mode in (AMBIENT, CONFLICT)]
    tags = find_revision_tags(state)
    gateways = find_gateways(state, dict(tags))
    waypoints = {(g.namespace, g.name) for g in gateways if g.role == WAYPOINT}
    problems = find_problems(components, missing, enrolled, gateways, waypoints)
    problems += agentgateway_problems(gateways, istiod_env_by_revision(state, istio_namespace) if served else {})
    links = dataplane_links(state, istio_namespace) if state.serves(K.DAEMON_SET) else []
    problems += dataplane_problems(links, components)
    info = state.info
    return ClusterStatus(
        cluster=info.cluster, context=info.context, server_version=info.server_version,
        components=tuple(components), revision_tags=tuple(tags),
        nodes=nodes, nodes_with_ztunnel=covered, namespaces=tuple(enrolled), gateways=tuple(gateways),
        remote_clusters=tuple(find_remote_clusters(state, istio_namespace)),
        # errors before warnings, each group in the order found
        problems=tuple(sorted(problems, key=lambda p: p.severity != "error")),
        dataplane=tuple((link.component, link.revision) for link in links),
    )


def dataplane_problems(links: list[DataPlaneLink], components: list[ComponentInfo]) -> list[Problem]:
    """ztunnel or istio-cni following an istiod revision that is not installed (it keeps running, so it
    looks ready, but gets no configuration)."""
    installed = {c.revision for c in components if c.component == ISTIOD}
    return [Problem("error", f"{link.component} {why}", move_dataplane_hint(installed))
            for link in links if (why := unfollowed(link, installed))]
