"""``meshctl waypoint`` output: the list and status tables, their data form, and what apply/delete did."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meshctl.mesh import labels as L
from meshctl.mesh.waypoints import UNCHANGED, ApplyPlan, EnrollPlan, WaypointInfo
from meshctl.render.tables import render_table


def render_manifest(obj: dict[str, Any]) -> str:
    from meshctl.kube.yamlio import dump

    return dump(obj)


def _cluster(w: WaypointInfo, show: bool) -> tuple[str, ...]:
    return (w.cluster,) if show else ()


def render_list(waypoints: Sequence[WaypointInfo], show_cluster: bool = False) -> str:
    headers = (("CLUSTER",) if show_cluster else ()) + ("NAMESPACE", "NAME", "REVISION", "TRAFFIC TYPE", "PROGRAMMED")
    rows = [_cluster(w, show_cluster) + (w.namespace, w.name, w.revision, w.traffic_type, w.programmed)
            for w in waypoints]
    return render_table(headers, rows)


def render_status(waypoints: Sequence[WaypointInfo], show_cluster: bool = False) -> str:
    """One row per condition of each waypoint (a waypoint with none yet gets one Unknown row)."""
    headers = (("CLUSTER",) if show_cluster else ()) + ("NAMESPACE", "NAME", "STATUS", "TYPE", "REASON", "MESSAGE")
    rows = []
    for w in waypoints:
        first = _cluster(w, show_cluster) + (w.namespace, w.name)
        if not w.conditions:
            rows.append(first + ("Unknown", "", "", "no conditions reported yet (is istiod running?)"))
        rows += [first + (c.status, c.type, c.reason, c.message) for c in w.conditions]
    return render_table(headers, rows)


def waypoints_data(waypoints: Sequence[WaypointInfo]) -> list[dict[str, Any]]:
    return [
        {
            "cluster": w.cluster,
            "namespace": w.namespace,
            "name": w.name,
            "revision": w.revision,
            "trafficType": w.traffic_type,
            "programmed": w.programmed,
            "conditions": [{"type": c.type, "status": c.status, "reason": c.reason, "message": c.message}
                           for c in w.conditions],
        }
        for w in waypoints
    ]


def none_found(namespace: str | None) -> str:
    return "No waypoints found" + (f" in namespace {namespace}." if namespace else ".")


def _dry(dry_run: bool) -> str:
    return " (dry run)" if dry_run else ""


def render_applied(plan: ApplyPlan, change: str, dry_run: bool = False) -> str:
    return f"waypoint {plan.namespace}/{plan.name} {change}{_dry(dry_run)}"


def render_programmed(plan: ApplyPlan) -> str:
    return f"waypoint {plan.namespace}/{plan.name} is programmed"


def render_enrolled(plan: EnrollPlan, change: str, dry_run: bool = False) -> str:
    if change == UNCHANGED:
        return f"namespace {plan.namespace} already uses waypoint {plan.waypoint} (unchanged)"
    was = f" (was {plan.replaces})" if plan.replaces else ""
    return f"namespace {plan.namespace} labelled {L.USE_WAYPOINT}={plan.waypoint}{was}{_dry(dry_run)}"


def render_deleted(namespace: str, outcomes: Sequence[tuple[str, bool]], dry_run: bool = False) -> str:
    return "\n".join(f"waypoint {namespace}/{name} deleted{_dry(dry_run)}" if deleted
                     else f"waypoint {namespace}/{name} not found (nothing to delete)"
                     for name, deleted in outcomes)
