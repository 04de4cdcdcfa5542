"""``multicluster status``: the cluster × cluster link matrix, what is wrong with each pair not linked,
and one row per cluster; or the same as data for ``-o json|yaml``."""

from __future__ import annotations

from typing import Any

from meshctl.mesh.multicluster import LINKED, OK_LINK, ClusterIdentity, MeshView, short_fingerprint
from meshctl.render.tables import render_table


def _east_west(cluster: ClusterIdentity) -> tuple[str, str]:
    """(addresses, Programmed) of the cluster's east-west gateways ('-' when it has none)."""
    if not cluster.east_west:
        return "-", "-"
    addresses = ",".join(a for g in cluster.east_west for a in g.addresses) or "<none>"
    return addresses, ",".join(g.programmed for g in cluster.east_west)


def render_status(view: MeshView) -> str:
    names = [c.name for c in view.clusters]
    pairs = view.pairs()
    state = {}
    for pair in pairs:
        a, b = pair.clusters
        state[(a, b)] = state[(b, a)] = pair.state
    parts = []
    if len(names) > 1:
        matrix = [[a] + ["-" if a == b else state.get((a, b), "") for b in names] for a in names]
        parts.append(render_table(["LINKS", *names], matrix))
        notes = []
        for pair in pairs:
            if pair.state != LINKED:
                notes.append(f"{pair.clusters[0]} <-> {pair.clusters[1]}: {pair.state}")
                notes += [f"    {d.source} reads {d.peer}: {d.state}: {d.reason}"
                          for d in pair.directions if d.state != OK_LINK]
        if notes:
            parts.append("\n".join(notes))
    elif view.clusters:
        parts.append(f"only {names[0]} was read: name every cluster with --context to see the links")
    others = [d for d in view.links if not d.peer_read]
    if others:
        parts.append("\n".join(f"{d.source} reads {d.peer} (not read here): {d.state}: {d.reason}" for d in others))
    rows = []
    for c in view.clusters:
        address, programmed = _east_west(c)
        rows.append([c.name, c.context, c.network or "-", c.effective_mesh_id, address, programmed,
                     ",".join(c.istiod_versions) or "-", short_fingerprint(c.trusted_root) or "unknown"])
    if rows:
        parts.append(render_table(["CLUSTER", "CONTEXT", "NETWORK", "MESH ID", "EAST-WEST ADDRESS", "PROGRAMMED",
                                   "ISTIOD", "ROOT"], rows))
    return "\n\n".join(parts)


def status_data(view: MeshView) -> dict[str, Any]:
    return {
        "clusters": [{
            "name": c.name,
            "context": c.context,
            "network": c.network,
            "meshID": c.effective_mesh_id,
            "eastWest": [{"namespace": g.namespace, "name": g.name, "addresses": list(g.addresses),
                          "programmed": g.programmed} for g in c.east_west],
            "istiod": list(c.istiod_versions),
            "root": c.trusted_root,
            "trust": c.trust.source,
        } for c in view.clusters],
        "links": [pair.to_dict() for pair in view.pairs()],
        "otherSecrets": [d.to_dict() for d in view.links if not d.peer_read],
        "unreadable": [{"context": u.context, "message": u.message} for u in view.unreadable],
    }
