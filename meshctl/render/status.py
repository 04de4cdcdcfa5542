"""``meshctl status``: one screen per cluster."""

from __future__ import annotations

from collections.abc import Sequence

from meshctl.mesh.gateways import WAYPOINT
from meshctl.mesh.status import ClusterStatus

MARKS = {"error": "\u2718", "warning": "\u203c"}


def _components(s: ClusterStatus) -> str:
    if not s.components:
        return "not installed"
    parts = []
    for c in s.components:
        rev = f" {c.revision}" if c.component == "istiod" else ""
        parts.append(f"{c.component}{rev} {c.version or '?'} {c.ready}/{c.desired}")
    return " · ".join(parts)


def _enrolled(s: ClusterStatus) -> str:
    if not s.namespaces:
        return "no namespaces"
    pods = sum(n.pods - n.opted_out for n in s.namespaces)
    captured = sum(n.captured for n in s.namespaces)
    each = ", ".join(f"{n.name} {n.captured}/{n.pods - n.opted_out}" for n in s.namespaces)
    count = f"{len(s.namespaces)} namespace{'s' if len(s.namespaces) != 1 else ''}"
    return f"{count}, {captured}/{pods} pods captured ({each})"


def _gateways(s: ClusterStatus, waypoints: bool) -> list[str]:
    """One line per Gateway: name, the data plane that serves it, state and addresses, in columns
    aligned across the cluster's waypoints and other gateways."""
    width_name = max((len(g.namespace) + 1 + len(g.name) for g in s.gateways), default=0)
    width_plane = max((len(g.data_plane) for g in s.gateways), default=0)
    shown = []
    for g in s.gateways:
        if (g.role == WAYPOINT) != waypoints:
            continue
        state = "programmed" if g.programmed == "True" else f"not programmed{' (' + g.reason + ')' if g.reason else ''}"
        address = f" {', '.join(g.addresses)}" if g.addresses else ""
        shown.append(f"{g.namespace + '/' + g.name:<{width_name}}  {g.data_plane:<{width_plane}}  {state}{address}")
    return shown or ["none"]


def render_status(statuses: Sequence[ClusterStatus]) -> str:
    blocks = []
    for s in statuses:
        where = ", ".join(x for x in (f"context {s.context}" if s.context else "",
                                      f"Kubernetes {s.server_version}" if s.server_version else "") if x)
        coverage = "unknown" if s.nodes is None else f"{s.nodes_with_ztunnel}/{s.nodes} nodes"
        tags = ", ".join(f"{t} -> {r}" for t, r in s.revision_tags) or "none"
        follows = ", ".join(f"{c} -> {r or 'no istiod'}" for c, r in s.dataplane) or "none"
        rows = [
            ("control plane", _components(s)),
            ("data plane", follows),
            ("revision tags", tags),
            ("ztunnel", coverage),
            ("enrolled", _enrolled(s)),
            ("waypoints", _gateways(s, waypoints=True)),
            ("gateways", _gateways(s, waypoints=False)),
            ("remote clusters", ", ".join(s.remote_clusters) or "none"),
        ]
        lines = [f"cluster {s.cluster}" + (f" ({where})" if where else "")]
        for label, value in rows:  # a list of values takes a line each, under the first
            values = value if isinstance(value, list) else [value]
            lines += [f"  {label if i == 0 else '':<16}{v}" for i, v in enumerate(values)]
        if s.problems:
            lines.append(f"  problems ({len(s.problems)})")
            for p in s.problems:
                lines.append(f"    {MARKS[p.severity]} {p.what}")
                lines.append(f"      hint: {p.hint}")
        else:
            lines.append("  problems        \u2714 none found")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
