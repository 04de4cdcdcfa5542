"""``meshctl namespace list`` output."""

from __future__ import annotations

from collections.abc import Sequence

from meshctl.mesh.enrollment import AMBIENT, CONFLICT, NamespaceInfo
from meshctl.render.tables import render_table


def render_namespaces(by_cluster: Sequence[tuple[str, Sequence[NamespaceInfo]]]) -> str:
    multi = len(by_cluster) > 1
    headers = (("CLUSTER",) if multi else ()) + ("NAMESPACE", "MODE", "WAYPOINT", "PODS", "CAPTURED", "NOT CAPTURED")
    rows = []
    for cluster, infos in by_cluster:
        for n in infos:
            ambient = n.mode in (AMBIENT, CONFLICT)
            rows.append(((cluster,) if multi else ()) + (
                n.name, n.mode, n.waypoint or "-", n.pods, n.captured if ambient else "-",
                n.not_captured if ambient else "-"))
    return render_table(headers, rows)


def namespaces_data(by_cluster: Sequence[tuple[str, Sequence[NamespaceInfo]]]) -> list[dict]:
    multi = len(by_cluster) > 1
    return [({"cluster": cluster} if multi else {}) | n.to_dict() for cluster, infos in by_cluster for n in infos]
