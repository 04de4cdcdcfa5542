"""ambient.*: meshctl's checks of ambient enrollment and waypoint use (codes MSH0001 and up).

Istio's analyzers cover the namespace side of enrollment (IST0123: a namespace labelled for ambient and for
sidecar injection at once), so these look at what they leave out:

- ``istio.io/use-waypoint`` (and ``istio.io/use-waypoint-namespace``) on a Namespace, Service, ServiceEntry,
  Pod, WorkloadEntry or workload pod template: the waypoint must exist, be a waypoint, carry the traffic
  type its user needs (``istio.io/waypoint-for`` on the Gateway, else on its GatewayClass, else
  ``service``: Services and ServiceEntries need service traffic, pods and WorkloadEntries workload
  traffic, a namespace either), and admit users from other namespaces through its HBONE listener's
  ``allowedRoutes`` (default: the same namespace only). istiod drops a waypoint it cannot use, so the
  traffic then skips every L7 policy meant for it.
- A waypoint Gateway needs its HBONE listener on 15008: istiod gives the waypoint's Service the
  listeners' ports, and ztunnel sends to 15008.
- A pod (or pod template) labelled ``istio.io/dataplane-mode=ambient`` that also gets a sidecar is left
  out of ambient: istio-cni does not capture pods that run a sidecar.

A waypoint whose Gateway class belongs to another controller is not judged. When the source cannot say
which Gateways exist (a snapshot without them, a cluster without Gateway API), nothing about waypoints
is reported.
"""

from __future__ import annotations

from typing import Any

from meshctl.analysis.common import (
    ISTIO_PROXY,
    TEMPLATE_KINDS,
    dicts,
    label_selector_matches,
    mapping,
    string_map,
)
from meshctl.analysis.framework import Analyzer, Context, analyzer
from meshctl.analysis.messages import Level, MessageType, register
from meshctl.kube import kinds as K
from meshctl.kube.state import Resource
from meshctl.mesh import labels as L
from meshctl.mesh.gateways import ENVOY, WAYPOINT, data_plane
from meshctl.mesh.waypoints import DEFAULT_TRAFFIC, MESH_LISTENER

NOT_FOUND, TRAFFIC_TYPE, DENIED, NO_HBONE, SIDECAR = "MSH0001", "MSH0002", "MSH0003", "MSH0004", "MSH0005"
register(
    MessageType(NOT_FOUND, "WaypointNotFound", Level.ERROR,
                "istio.io/use-waypoint names waypoint {0}, {1}; traffic to this {2} goes through no waypoint, "
                "so the L7 policies meant for it are not applied."),
    MessageType(TRAFFIC_TYPE, "WaypointTrafficTypeMismatch", Level.WARNING,
                "Waypoint {0} has istio.io/waypoint-for={1}, which does not take {2} traffic, so this {3}'s "
                "istio.io/use-waypoint label has no effect."),
    MessageType(DENIED, "WaypointAttachmentDenied", Level.ERROR,
                "Waypoint {0} does not admit users from namespace {1} ({2}), so this {3}'s istio.io/use-waypoint "
                "label has no effect."),
    MessageType(NO_HBONE, "WaypointWithoutHBONEListener", Level.ERROR,
                "This waypoint has no HBONE listener on port 15008, so its Service has no port 15008 and ztunnel "
                "cannot send it traffic."),
    MessageType(SIDECAR, "AmbientPodWithSidecar", Level.WARNING,
                "istio.io/dataplane-mode=ambient is set, but a sidecar comes too ({0}); istio-cni does not capture "
                "pods that run a sidecar, so {1} out of ambient."),
)

NONE = "none"  # istio.io/use-waypoint=none opts an object out of its namespace's waypoint
SERVICE_TRAFFIC, WORKLOAD_TRAFFIC, ALL_TRAFFIC = "service", "workload", "all"
# Waypoint users by the traffic they send through it.
SERVICE_USERS = (K.SERVICE, K.SERVICE_ENTRY)
WORKLOAD_USERS = (K.POD, K.WORKLOAD_ENTRY, *TEMPLATE_KINDS)
TEMPLATE_LABELS = "spec.template.metadata.labels"
# Annotation values the sidecar injector reads as "inject" (the label takes only "true").
INJECT_WORDS = ("y", "yes", "true", "on")


# -- reading pods and their templates ------------------------------------------------------------------


def _spec(resource: Resource) -> dict[str, Any]:
    return mapping(resource.spec)  # hand-written files can hold anything there


def _template(workload: Resource) -> dict[str, Any]:
    return mapping(_spec(workload).get("template"))


def pod_labels(resource: Resource) -> dict[str, str]:
    """A pod's labels, or those a workload gives its pods."""
    if resource.kind in TEMPLATE_KINDS:
        return string_map(mapping(_template(resource).get("metadata")).get("labels"))
    return string_map(resource.labels)


def labels_path(resource: Resource, key: str) -> str:
    return f"{TEMPLATE_LABELS if resource.kind in TEMPLATE_KINDS else 'metadata.labels'}.{key}"


def inherited(ctx: Context, resource: Resource, key: str) -> bool:
    """Whether ``resource`` (a pod or a ReplicaSet) got ``key``'s value from its controller's pod template,
    which the source holds: then the controller is the one to report (and to fix), once."""
    value = pod_labels(resource).get(key)
    for ref in dicts(resource.metadata.get("ownerReferences")):
        kind = next((k for k in TEMPLATE_KINDS if k.kind == ref.get("kind")), None)
        if kind is None or ref.get("controller") is not True:
            continue
        owner = ctx.get(kind, resource.namespace, str(ref.get("name") or ""))
        if owner is not None and pod_labels(owner).get(key) == value:
            return True
    return False


def labelled_workloads(ctx: Context, key: str, kinds: tuple[K.Kind, ...]) -> list[Resource]:
    """Objects of ``kinds`` (pods, workloads) whose pods carry label ``key``, each label reported once."""
    found = []
    for kind in kinds:
        for resource in ctx.resources(kind):
            if key in pod_labels(resource) and not inherited(ctx, resource, key):
                found.append(resource)
    return found


# -- waypoints -----------------------------------------------------------------------------------------


def traffic_type(ctx: Context, gateway: Resource) -> str:
    """What a waypoint takes: its own istio.io/waypoint-for label, else its class's, else service."""
    if L.WAYPOINT_FOR in string_map(gateway.labels):
        return string_map(gateway.labels)[L.WAYPOINT_FOR]
    gateway_class = ctx.get(K.GATEWAY_CLASS, "", str(_spec(gateway).get("gatewayClassName") or ""))
    if gateway_class is not None and L.WAYPOINT_FOR in string_map(gateway_class.labels):
        return string_map(gateway_class.labels)[L.WAYPOINT_FOR]
    return DEFAULT_TRAFFIC


def hbone_listener(gateway: Resource) -> dict[str, Any] | None:
    """The waypoint's HBONE listener (port 15008, protocol HBONE), None when it has none."""
    return next((listener for listener in dicts(_spec(gateway).get("listeners"))
                 if listener.get("port") == MESH_LISTENER["port"]
                 and listener.get("protocol") == MESH_LISTENER["protocol"]), None)


def attachment_refused(ctx: Context, gateway: Resource, namespace: str) -> str | None:
    """Why the waypoint refuses users from ``namespace`` (its HBONE listener's allowedRoutes, as istiod
    reads them: Same when absent), or None when it admits them."""
    if namespace == gateway.namespace:
        return None
    allowed = mapping(mapping(mapping(hbone_listener(gateway)).get("allowedRoutes")).get("namespaces"))
    origin = allowed.get("from") or "Same"
    if origin == "All":
        return None
    if origin == "Selector":
        ns = ctx.get(K.NAMESPACE, "", namespace)
        labels = {**string_map(ns.labels if ns is not None else {}), L.NAMESPACE_NAME_LABEL: namespace}
        if label_selector_matches(allowed.get("selector") or {}, labels):
            return None
        return "its HBONE listener's allowedRoutes selector does not match that namespace"
    if hbone_listener(gateway) is None:
        return "it has no HBONE listener, so only its own namespace may use it"
    return f"its HBONE listener's allowedRoutes.namespaces.from is {origin}"


def is_istio_waypoint(gateway: Resource, controllers: dict[str, str]) -> bool | None:
    """True for a waypoint, False for a Gateway istiod serves as something else, None for another
    controller's class (whose waypoints meshctl does not judge)."""
    class_name = str(_spec(gateway).get("gatewayClassName") or "")
    plane = data_plane(class_name, controllers.get(class_name))
    if plane.role == WAYPOINT:
        return True
    return False if plane.istio else None


@analyzer
class UseWaypointAnalyzer(Analyzer):
    name = "ambient.UseWaypointAnalyzer"
    description = ("Checks that the waypoint an istio.io/use-waypoint label names exists, takes the traffic "
                   "type its user sends, and admits users from the user's namespace")
    inputs = (K.NAMESPACE, *SERVICE_USERS, *WORKLOAD_USERS, K.GATEWAY, K.GATEWAY_CLASS)
    codes = (NOT_FOUND, TRAFFIC_TYPE, DENIED)

    def analyze(self, ctx: Context) -> None:
        if not ctx.has(K.GATEWAY):
            return  # the source cannot say which waypoints exist
        controllers = {gc.name: str(_spec(gc).get("controllerName") or "") for gc in ctx.resources(K.GATEWAY_CLASS)}
        for ns in ctx.resources(K.NAMESPACE):
            self._check(ctx, controllers, ns, string_map(ns.labels), ns.name, "namespace",
                        (SERVICE_TRAFFIC, WORKLOAD_TRAFFIC))
        for kind in SERVICE_USERS:
            for resource in ctx.resources(kind):
                if string_map(resource.labels).get(L.GATEWAY_MANAGED) == L.GATEWAY_MANAGED_WAYPOINT:
                    continue  # a waypoint's own Service: istiod never sends it through a waypoint
                self._check(ctx, controllers, resource, string_map(resource.labels), resource.namespace, "service",
                            (SERVICE_TRAFFIC,))
        for resource in labelled_workloads(ctx, L.USE_WAYPOINT, WORKLOAD_USERS):
            self._check(ctx, controllers, resource, pod_labels(resource), resource.namespace, "workload",
                        (WORKLOAD_TRAFFIC,))

    def _check(self, ctx: Context, controllers: dict[str, str], user: Resource, labels: dict[str, str],
               namespace: str, what: str, sends: tuple[str, ...]) -> None:
        name = str(labels.get(L.USE_WAYPOINT) or "")
        if not name or name == NONE:
            return
        waypoint_ns = str(labels.get(L.USE_WAYPOINT_NAMESPACE) or namespace)
        shown = f"{waypoint_ns}/{name}"
        path = labels_path(user, L.USE_WAYPOINT)
        gateway = ctx.get(K.GATEWAY, waypoint_ns, name)
        if gateway is None:
            ctx.report(NOT_FOUND, user, shown, "which does not exist", what, field_path=path)
            return
        waypoint = is_istio_waypoint(gateway, controllers)
        if waypoint is False:
            ctx.report(NOT_FOUND, user, shown, f"a Gateway of class {_spec(gateway).get('gatewayClassName')}, "
                                               "which is not a waypoint class", what, field_path=path)
            return
        if waypoint is None:
            return
        takes = traffic_type(ctx, gateway)
        carried = (SERVICE_TRAFFIC, WORKLOAD_TRAFFIC) if takes == ALL_TRAFFIC else (takes,)
        if not any(t in carried for t in sends):
            ctx.report(TRAFFIC_TYPE, user, shown, takes, " or ".join(sends), what, field_path=path)
        why = attachment_refused(ctx, gateway, namespace)
        if why:
            ctx.report(DENIED, user, shown, namespace, why, what, field_path=path)


@analyzer
class WaypointGatewayAnalyzer(Analyzer):
    name = "ambient.WaypointGatewayAnalyzer"
    description = "Checks that each waypoint Gateway has the HBONE listener on port 15008 ztunnel sends to"
    inputs = (K.GATEWAY, K.GATEWAY_CLASS)
    codes = (NO_HBONE,)

    def analyze(self, ctx: Context) -> None:
        classes = {gc.name: gc for gc in ctx.resources(K.GATEWAY_CLASS)}
        for gateway in ctx.resources(K.GATEWAY):
            class_name = str(_spec(gateway).get("gatewayClassName") or "")
            gateway_class = classes.get(class_name)
            controller = str(_spec(gateway_class).get("controllerName") or "") if gateway_class else None
            plane = data_plane(class_name, controller)
            if plane.role != WAYPOINT or plane.proxy != ENVOY:
                continue  # agentgateway's waypoints and other controllers' have their own rules
            if L.WAYPOINT_INBOUND_BINDING in string_map(gateway.annotations) or \
                    (gateway_class is not None and L.WAYPOINT_INBOUND_BINDING in string_map(gateway_class.annotations)):
                continue  # ztunnel sends to the listener the binding names
            if hbone_listener(gateway) is None:
                ctx.report(NO_HBONE, gateway, field_path="spec.listeners")


def sidecar_reason(ctx: Context, resource: Resource) -> str | None:
    """Why the pods of ``resource`` get (or have) a sidecar, or None when they do not."""
    template = _template(resource) if resource.kind in TEMPLATE_KINDS else resource.raw
    spec = mapping(template.get("spec"))
    containers = dicts(spec.get("containers")) + dicts(spec.get("initContainers"))
    if any(c.get("name") == ISTIO_PROXY for c in containers):
        return f"it has an {ISTIO_PROXY} container"
    labels = pod_labels(resource)
    if L.SIDECAR_INJECT in labels:
        return f"label {L.SIDECAR_INJECT}=true" if labels[L.SIDECAR_INJECT] == "true" else None
    annotations = string_map(mapping(template.get("metadata")).get("annotations"))
    if L.SIDECAR_INJECT in annotations:
        inject = annotations[L.SIDECAR_INJECT].lower() in INJECT_WORDS
        return f"annotation {L.SIDECAR_INJECT}={annotations[L.SIDECAR_INJECT]}" if inject else None
    ns = ctx.get(K.NAMESPACE, "", resource.namespace)
    if ns is not None and string_map(ns.labels).get(L.INJECTION) == "enabled":
        return f"namespace {ns.name} has {L.INJECTION}=enabled"
    return None


@analyzer
class SidecarConflictAnalyzer(Analyzer):
    name = "ambient.SidecarConflictAnalyzer"
    description = "Checks for pods and pod templates labelled for ambient that also get a sidecar"
    inputs = (K.POD, *TEMPLATE_KINDS, K.NAMESPACE)
    codes = (SIDECAR,)

    def analyze(self, ctx: Context) -> None:
        for resource in labelled_workloads(ctx, L.DATAPLANE_MODE, (K.POD, *TEMPLATE_KINDS)):
            if pod_labels(resource)[L.DATAPLANE_MODE] != L.DATAPLANE_MODE_AMBIENT:
                continue
            reason = sidecar_reason(ctx, resource)
            if reason:
                stays = "this pod stays" if resource.kind is K.POD else "its pods stay"
                ctx.report(SIDECAR, resource, reason, stays, field_path=labels_path(resource, L.DATAPLANE_MODE))
