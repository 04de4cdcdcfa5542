"""Waypoint proxies: Gateways of class ``istio-waypoint``, what they look like and how they stand.

Reads are pure functions of a ClusterState returning frozen dataclasses. ``plan_*`` functions read
the state and decide what a write must do (or refuse, before anything is written); the few
functions at the end carry a plan out through a ``ClusterWriter``, so the decisions stay here and
the command bodies stay thin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from meshctl.errors import MeshctlError, NotCapturedError, UsageError
from meshctl.kube import kinds as K
from meshctl.kube.fields import Part
from meshctl.kube.state import ClusterState, Resource
from meshctl.mesh import labels as L
from meshctl.mesh.controlplane import find_revision_tags

if TYPE_CHECKING:
    from meshctl.kube.apply import ClusterWriter

DEFAULT_NAME = "waypoint"
MESH_LISTENER = {"name": "mesh", "port": 15008, "protocol": "HBONE"}
TRAFFIC_TYPES = ("service", "workload", "all", "none")
# What istiod assumes for a waypoint without istio.io/waypoint-for.
DEFAULT_TRAFFIC = "service"
PROGRAMMED = "Programmed"
# Gateway names become Deployment and Service names: a DNS-1123 label.
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class WaypointConflictError(MeshctlError):
    """The namespace already uses another waypoint."""


@dataclass(frozen=True)
class ConditionInfo:
    type: str
    status: str  # True | False | Unknown
    reason: str
    message: str


@dataclass(frozen=True)
class WaypointInfo:
    cluster: str
    namespace: str
    name: str
    revision: str
    traffic_type: str
    programmed: str  # the Programmed condition's status; Unknown while none is reported
    conditions: tuple[ConditionInfo, ...]


# -- reading ---------------------------------------------------------------------------------------


def is_waypoint(gateway: Resource) -> bool:
    return gateway.spec.get("gatewayClassName") == L.CLASS_WAYPOINT


def _require_gateway_api(state: ClusterState) -> None:
    if not state.serves(K.GATEWAY):
        from meshctl.kube.apply import install_hint

        why = f" (the cluster does not serve {K.GATEWAY.resource})" if state.info.kind == "live" else ""
        raise NotCapturedError(K.GATEWAY.qualified_kind, _where(state) + why, hint=install_hint(K.GATEWAY))


def _where(state: ClusterState) -> str:
    info = state.info
    return f"context {info.label}" if info.kind == "live" else f"{info.kind} {info.label}"


def _current(condition: Part, generation: int | None) -> bool:
    """A condition written for an older spec says nothing about the current one (a generation that
    is not an integer reads as absent: the condition counts as current)."""
    observed = condition.integer("observedGeneration")
    return observed is None or generation is None or observed >= generation


def conditions(gateway: Resource) -> tuple[ConditionInfo, ...]:
    fields = gateway.fields
    generation = fields.integer("metadata", "generation")
    return tuple(
        ConditionInfo(c.text("type"),
                      c.text("status", default="Unknown") if _current(c, generation) else "Unknown",
                      c.text("reason"), c.text("message"))
        for c in fields.iter_parts("status", "conditions")
    )


def _label(obj: Resource, key: str) -> str:
    return obj.fields.text("metadata", "labels", key)  # "" when absent or not a string (noted)


def programmed_condition(gateway: Resource) -> tuple[str, str]:
    """(status, reason) of a Gateway's Programmed condition; a condition written for an older spec, or
    none at all, is ("Unknown", ...)."""
    return next(((c.status, c.reason) for c in conditions(gateway) if c.type == PROGRAMMED), ("Unknown", ""))


def waypoint_info(state: ClusterState, gateway: Resource, tags: dict[str, str] | None = None) -> WaypointInfo:
    conds = conditions(gateway)
    programmed = next((c.status for c in conds if c.type == PROGRAMMED), "Unknown")
    revision = _label(gateway, L.REV) or L.DEFAULT_REVISION
    if tags and revision in tags and tags[revision] != revision:
        revision = f"{revision} -> {tags[revision]}"  # a tag: the revision that serves it
    return WaypointInfo(
        cluster=state.info.cluster,
        namespace=gateway.namespace,
        name=gateway.name,
        revision=revision,
        traffic_type=_label(gateway, L.WAYPOINT_FOR) or DEFAULT_TRAFFIC,
        programmed=programmed,
        conditions=conds,
    )


def find_waypoints(state: ClusterState, namespace: str | None = None) -> list[WaypointInfo]:
    """Every waypoint in ``namespace`` (all namespaces when None), sorted by namespace and name."""
    _require_gateway_api(state)
    tags = dict(find_revision_tags(state))
    found = [waypoint_info(state, g, tags) for g in state.list(K.GATEWAY, namespace) if is_waypoint(g)]
    return sorted(found, key=lambda w: (w.namespace, w.name))


def programmed(gateway: Resource | None) -> tuple[bool, str]:
    """Whether a Gateway is Programmed for its current spec, and if not, what it reports instead."""
    if gateway is None:
        return False, "the Gateway does not exist"
    for c in conditions(gateway):
        if c.type == PROGRAMMED:
            if c.status == "True":
                return True, "Programmed"
            detail = ": ".join(p for p in (c.reason, c.message) if p)
            return False, f"Programmed={c.status}" + (f" ({detail})" if detail else "")
    return False, "no Programmed condition reported yet (is istiod running for this revision?)"


# -- the Gateway istioctl and meshctl create ---------------------------------------------------------


def check_options(name: str, traffic_type: str | None = None) -> None:
    """Refuse a waypoint name or --for value that istiod could not use."""
    if name == "none":
        raise UsageError("'none' cannot name a waypoint: istio.io/use-waypoint=none means 'no waypoint'",
                         hint="pick another --name")
    if not NAME_RE.match(name):
        raise UsageError(f"invalid waypoint name {name!r}: it must be a DNS-1123 label "
                         "(lower-case letters, digits and '-', at most 63 characters)",
                         hint=f"for example --name {DEFAULT_NAME}")
    if traffic_type is not None and traffic_type not in TRAFFIC_TYPES:
        raise UsageError(f"--for {traffic_type!r} is not one of: {', '.join(TRAFFIC_TYPES)}",
                         hint="use --for service (what istiod assumes without the flag)")


def waypoint_gateway(name: str, namespace: str, traffic_type: str | None = None,
                     revision: str | None = None) -> dict[str, Any]:
    """The waypoint Gateway, shaped as ``istioctl waypoint generate`` shapes it.

    Without ``traffic_type`` no label is set, so istiod (or the GatewayClass) picks the default.
    """
    check_options(name, traffic_type)
    labels = {}
    if traffic_type:
        labels[L.WAYPOINT_FOR] = traffic_type
    if revision:
        labels[L.REV] = revision
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = labels
    return {
        "apiVersion": K.GATEWAY.api_version,
        "kind": K.GATEWAY.kind,
        "metadata": metadata,
        "spec": {"gatewayClassName": L.CLASS_WAYPOINT, "listeners": [dict(MESH_LISTENER)]},
    }


# -- planning writes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrollPlan:
    namespace: str
    waypoint: str
    needed: bool  # False: the namespace already uses this waypoint
    drop_labels: tuple[str, ...] = ()  # e.g. a use-waypoint-namespace pointing elsewhere
    replaces: str = ""  # the waypoint the namespace used before (--overwrite)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApplyPlan:
    gateway: dict[str, Any]
    existing: Resource | None
    enroll: EnrollPlan | None

    @property
    def namespace(self) -> str:
        return self.gateway["metadata"]["namespace"]

    @property
    def name(self) -> str:
        return self.gateway["metadata"]["name"]


def plan_enroll(state: ClusterState, namespace: str, waypoint: str, overwrite: bool) -> EnrollPlan:
    """What labelling ``namespace`` with ``istio.io/use-waypoint=<waypoint>`` takes; refuses to
    replace another waypoint unless ``overwrite`` (istioctl silently did nothing)."""
    ns = state.get(K.NAMESPACE, namespace)
    if ns is None:
        raise MeshctlError(f"namespace {namespace} not found in {_where(state)}",
                           hint=f"create it first (kubectl create namespace {namespace})")
    used = _label(ns, L.USE_WAYPOINT)
    used_ns = _label(ns, L.USE_WAYPOINT_NAMESPACE)
    current = f"{used_ns}/{used}" if used_ns and used_ns != namespace else used
    drop = (L.USE_WAYPOINT_NAMESPACE,) if used_ns else ()
    warnings = ()
    if _label(ns, L.DATAPLANE_MODE) != L.DATAPLANE_MODE_AMBIENT:
        warnings = (f"namespace {namespace} is not enrolled in ambient, so its traffic will not reach the "
                    f"waypoint; enroll it with: meshctl namespace enroll {namespace}",)
    if current == waypoint:
        return EnrollPlan(namespace, waypoint, needed=False, warnings=warnings)
    if used and not overwrite:
        raise WaypointConflictError(
            f"namespace {namespace} already uses waypoint {current} ({L.USE_WAYPOINT}={used}"
            + (f", {L.USE_WAYPOINT_NAMESPACE}={used_ns}" if used_ns else "") + ")",
            hint=f"add --overwrite to make it use {waypoint} instead, or drop --enroll-namespace",
        )
    return EnrollPlan(namespace, waypoint, needed=True, drop_labels=drop, replaces=current if used else "",
                      warnings=warnings)


def plan_apply(state: ClusterState, gateway: dict[str, Any], *, enroll: bool = False,
               overwrite: bool = False) -> ApplyPlan:
    """Check everything an apply needs before writing anything."""
    _require_gateway_api(state)
    meta = gateway["metadata"]
    existing = state.get(K.GATEWAY, meta["name"], meta["namespace"])
    if existing is not None and not is_waypoint(existing):
        raise MeshctlError(
            f"Gateway {meta['namespace']}/{meta['name']} exists with class "
            f"{existing.spec.get('gatewayClassName')!r}, not {L.CLASS_WAYPOINT!r}",
            hint="choose another --name; meshctl does not turn other Gateways into waypoints",
        )
    plan = plan_enroll(state, meta["namespace"], meta["name"], overwrite) if enroll else None
    return ApplyPlan(gateway, existing, plan)


@dataclass(frozen=True)
class DeletePlan:
    namespace: str
    delete: tuple[str, ...]
    missing: tuple[str, ...]


def plan_delete(state: ClusterState, namespace: str, names: list[str], *, everything: bool = False,
                revision: str | None = None) -> DeletePlan:
    """Which waypoints to delete: the ``names`` given, or all (of ``revision``) in the namespace.

    Gateways of another class are never deleted: naming one is an error, before anything is deleted.
    """
    _require_gateway_api(state)
    gateways = {g.name: g for g in state.list(K.GATEWAY, namespace)}
    if everything or revision:
        chosen = [w.name for w in find_waypoints(state, namespace)
                  if not revision or w.revision == revision]
        return DeletePlan(namespace, tuple(chosen), ())
    others = [n for n in names if n in gateways and not is_waypoint(gateways[n])]
    if others:
        classes = ", ".join(f"{n} (class {gateways[n].spec.get('gatewayClassName')!r})" for n in others)
        raise MeshctlError(f"not waypoints, so not deleted: Gateway {namespace}/{classes}",
                           hint=f"meshctl deletes only Gateways of class {L.CLASS_WAYPOINT}; "
                                "use kubectl delete gateway for others")
    unique = list(dict.fromkeys(names))
    return DeletePlan(namespace, tuple(n for n in unique if n in gateways),
                      tuple(n for n in unique if n not in gateways))


# -- carrying plans out (live clusters only) --------------------------------------------------------

CREATED, CONFIGURED, UNCHANGED = "created", "configured", "unchanged"


def _content(obj: dict[str, Any], origin: str) -> tuple[Any, ...]:
    fields = Part(obj, origin)
    return fields.mapping("metadata", "labels"), fields.mapping("metadata", "annotations"), fields.mapping("spec")


def apply_gateway(writer: ClusterWriter, plan: ApplyPlan, *, dry_run: bool = False) -> str:
    """Server-side apply the waypoint; says whether it was created, configured or unchanged."""
    answer = writer.apply(plan.gateway, dry_run=dry_run)
    if plan.existing is None:
        return CREATED
    origin = plan.existing.origin
    return UNCHANGED if _content(answer, origin) == _content(plan.existing.raw, origin) else CONFIGURED


def wait_programmed(writer: ClusterWriter, plan: ApplyPlan, timeout: float,
                    progress: Callable[[str], None] | None = None) -> None:
    """Wait until the waypoint is Programmed; a timeout raises with the condition last seen."""
    from meshctl.kube.apply import WaitTimeout

    try:
        writer.wait(K.GATEWAY, plan.name, plan.namespace, programmed, timeout=timeout, progress=progress)
    except WaitTimeout as err:
        err.hint = (f"see 'meshctl waypoint status -n {plan.namespace}' and istiod's logs; "
                    "wait longer with --timeout")
        raise


def enroll_namespace(writer: ClusterWriter, plan: EnrollPlan, *, dry_run: bool = False) -> str:
    """Label the namespace to use the waypoint (a server-side apply of just that label)."""
    if not plan.needed:
        return UNCHANGED
    writer.apply({"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": plan.namespace, "labels": {L.USE_WAYPOINT: plan.waypoint}}},
                 dry_run=dry_run)
    writer.remove_labels(K.NAMESPACE, plan.namespace, None, plan.drop_labels, dry_run=dry_run)
    return CONFIGURED


def delete_waypoints(writer: ClusterWriter, plan: DeletePlan, *, dry_run: bool = False) -> list[tuple[str, bool]]:
    """Delete each planned waypoint: (name, deleted); False when it was already gone."""
    gone = [(name, writer.delete(K.GATEWAY, name, plan.namespace, dry_run=dry_run)) for name in plan.delete]
    return gone + [(name, False) for name in plan.missing]
