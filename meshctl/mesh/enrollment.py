"""Ambient enrollment of namespaces: what each namespace is, and what enrolling one takes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from meshctl.errors import MeshctlError
from meshctl.kube import kinds as K
from meshctl.kube.state import ClusterState, Resource
from meshctl.mesh import labels as L
from meshctl.mesh.controlplane import CNI, ZTUNNEL, find_control_plane
from meshctl.mesh.waypoints import waypoint_gateway

AMBIENT, SIDECAR, NONE, CONFLICT = "ambient", "sidecar", "none", "conflict"
FINISHED_PHASES = ("Succeeded", "Failed")
CAPTURED, OPTED_OUT, NOT_CAPTURED = "captured", "opted-out", "not-captured"
DEFAULT_WAYPOINT = "waypoint"


def namespace_mode(labels: dict[str, str]) -> str:
    """ambient, sidecar (injection on), none, or conflict (both asked for)."""
    ambient = labels.get(L.DATAPLANE_MODE) == L.DATAPLANE_MODE_AMBIENT
    injection = labels.get(L.INJECTION)
    sidecar = injection == "enabled" or (L.REV in labels and injection != "disabled")
    if ambient and sidecar:
        return CONFLICT
    return AMBIENT if ambient else SIDECAR if sidecar else NONE


def injection_labels(labels: dict[str, str]) -> list[str]:
    """The labels that turn sidecar injection on, as ``key=value``."""
    found = []
    if labels.get(L.INJECTION) == "enabled":
        found.append(f"{L.INJECTION}=enabled")
    if L.REV in labels and labels.get(L.INJECTION) != "disabled":
        found.append(f"{L.REV}={labels[L.REV]}")
    return found


@dataclass(frozen=True)
class NamespaceInfo:
    name: str
    mode: str
    waypoint: str  # istio.io/use-waypoint, "" when none
    pods: int  # pods that are not finished
    captured: int  # of those, captured by ztunnel (istio-cni set the redirection annotation)
    opted_out: int = 0  # pods labelled istio.io/dataplane-mode=none (waypoints and gateways are)

    @property
    def not_captured(self) -> int:
        return self.pods - self.captured - self.opted_out if self.mode in (AMBIENT, CONFLICT) else 0

    def to_dict(self) -> dict[str, Any]:
        return {"namespace": self.name, "mode": self.mode, "waypoint": self.waypoint, "pods": self.pods,
                "captured": self.captured, "optedOut": self.opted_out, "notCaptured": self.not_captured}


def pod_capture(pod: Resource) -> str | None:
    """captured (istio-cni redirected its traffic), opted-out (labelled istio.io/dataplane-mode=none, as
    waypoints and gateways are) or not-captured; None for a pod that has finished."""
    if pod.fields.text("status", "phase") in FINISHED_PHASES:
        return None
    if pod.annotations.get(L.REDIRECTION) == L.REDIRECTION_ENABLED:
        return CAPTURED
    if pod.labels.get(L.DATAPLANE_MODE) == L.DATAPLANE_MODE_NONE:
        return OPTED_OUT
    return NOT_CAPTURED


def describe_namespaces(state: ClusterState, namespace: str | None = None) -> list[NamespaceInfo]:
    """Each namespace's mode, waypoint and pod capture counts (one pass over the pods)."""
    pods: Counter[str] = Counter()
    captured: Counter[str] = Counter()
    opted_out: Counter[str] = Counter()
    for pod in state.list(K.POD, namespace):
        capture = pod_capture(pod)
        if capture is None:
            continue
        pods[pod.namespace] += 1
        if capture == CAPTURED:
            captured[pod.namespace] += 1
        elif capture == OPTED_OUT:
            opted_out[pod.namespace] += 1
    namespaces = state.list(K.NAMESPACE)
    if namespace is not None:
        namespaces = [n for n in namespaces if n.name == namespace]
    return [
        NamespaceInfo(ns.name, namespace_mode(ns.labels), str(ns.labels.get(L.USE_WAYPOINT, "")), pods[ns.name],
                      captured[ns.name], opted_out[ns.name])
        for ns in sorted(namespaces, key=lambda n: n.name)
    ]


def namespace_labels_manifest(name: str, labels: dict[str, str]) -> dict:
    """A Namespace with only the labels meshctl manages (what server-side apply sends)."""
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


@dataclass(frozen=True)
class EnrollPlan:
    namespace: str
    objects: tuple[dict, ...]  # to apply, in order (waypoint first, then the namespace labels)
    warnings: tuple[str, ...] = ()
    already: bool = False  # nothing would change


def _namespace(state: ClusterState, name: str) -> Resource:
    ns = state.get(K.NAMESPACE, name)
    if ns is None:
        raise MeshctlError(f"namespace {name} not found in {state.info.label}",
                           hint=f"create it first: kubectl create namespace {name}")
    return ns


def data_plane_warning(state: ClusterState, istio_namespace: str) -> str | None:
    present = {c.component for c in find_control_plane(state, istio_namespace)}
    missing = [c for c in (CNI, ZTUNNEL) if c not in present]
    if not missing:
        return None
    return (f"the ambient data plane is not installed ({', '.join(missing)} missing in {istio_namespace}): "
            "pods will not be captured until it is (meshctl install)")


def plan_enroll(
    state: ClusterState,
    name: str,
    *,
    waypoint: str | None = None,
    traffic: str | None = None,
    force: bool = False,
    istio_namespace: str = L.ISTIO_NAMESPACE,
) -> EnrollPlan:
    """What enrolling ``name`` takes; refuses a namespace with sidecar injection unless ``force``."""
    ns = _namespace(state, name)
    injecting = injection_labels(ns.labels)
    if injecting and not force:
        raise MeshctlError(
            f"namespace {name} has sidecar injection enabled ({', '.join(injecting)}); enrolling it in ambient "
            "as well leaves its pods with sidecars that ztunnel then skips",
            hint=f"remove injection first (kubectl label namespace {name} {injecting[0].split('=')[0]}-) "
                 "and restart its pods, or pass --force",
        )
    labels = {L.DATAPLANE_MODE: L.DATAPLANE_MODE_AMBIENT}
    objects: list[dict] = []
    if waypoint:
        labels[L.USE_WAYPOINT] = waypoint
        objects.append(waypoint_gateway(waypoint, name, traffic))
    objects.append(namespace_labels_manifest(name, labels))
    warnings = []
    if injecting:
        warnings.append(f"namespace {name} keeps sidecar injection ({', '.join(injecting)}) because of --force")
    if state.serves(K.DAEMON_SET):
        warning = data_plane_warning(state, istio_namespace)
        if warning:
            warnings.append(warning)
    already = all(ns.labels.get(k) == v for k, v in labels.items()) and (
        not waypoint or state.serves(K.GATEWAY) and state.get(K.GATEWAY, waypoint, name) is not None)
    return EnrollPlan(name, tuple(objects), tuple(warnings), already)


@dataclass(frozen=True)
class UnenrollPlan:
    namespace: str
    remove_labels: tuple[str, ...]
    delete_waypoint: str = ""  # name of the waypoint Gateway to delete, "" to keep it
    notes: tuple[str, ...] = field(default=())


def plan_unenroll(state: ClusterState, name: str, *, delete_waypoint: bool = False) -> UnenrollPlan:
    """Undo exactly what enroll sets: the data-plane label and the use-waypoint label (and the waypoint
    itself only when asked)."""
    ns = _namespace(state, name)
    keys = tuple(k for k in (L.DATAPLANE_MODE, L.USE_WAYPOINT) if k in ns.labels)
    waypoint = ns.labels.get(L.USE_WAYPOINT, "")
    notes = []
    if waypoint and not delete_waypoint:
        notes.append(f"waypoint {name}/{waypoint} is kept (pass --delete-waypoint to remove it)")
    return UnenrollPlan(name, keys, waypoint if delete_waypoint else "", tuple(notes))
