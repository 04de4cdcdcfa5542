"""``meshctl snapshot show`` and ``snapshot save`` output."""

from __future__ import annotations

from collections.abc import Sequence

from meshctl.kube.kinds import Kind
from meshctl.kube.snapshot import ClusterContents, SavedCluster, Snapshot
from meshctl.kube.state import Resource
from meshctl.render.tables import render_table, render_wrapped


def contents_data(snap: Snapshot, clusters: Sequence[ClusterContents]) -> dict:
    return {
        "path": snap.path,
        "meshctlVersion": snap.meshctl_version,
        "created": snap.created,
        "clusters": [
            {
                "cluster": c.meta.cluster,
                "context": c.meta.context,
                "server": c.meta.server,
                "serverVersion": c.meta.server_version,
                "captured": c.meta.captured,
                "objects": {kind.resource: n for kind, n in c.counts},
                "missing": list(c.meta.missing),
            }
            for c in clusters
        ],
    }


def render_contents(snap: Snapshot, clusters: Sequence[ClusterContents]) -> str:
    lines = [f"snapshot {snap.path} (meshctl {snap.meshctl_version or 'unknown'}, created {snap.created or 'unknown'})"]
    for c in clusters:
        m = c.meta
        facts = [f"context {m.context}" if m.context else "", f"Kubernetes {m.server_version}" if m.server_version else "",
                 f"captured {m.captured}" if m.captured else ""]
        total = sum(n for _, n in c.counts)
        lines += ["", f"cluster {m.cluster} ({', '.join(f for f in facts if f)}): {total} objects in {len(c.counts)} kinds"]
        rows = [(kind.kind, kind.group or "core", n) for kind, n in c.counts if n]
        if rows:
            lines.append(render_table(("KIND", "GROUP", "OBJECTS"), rows, "  "))
        empty = [kind.resource for kind, n in c.counts if not n]
        if empty:
            lines.append(render_wrapped("captured, no objects", empty, "  "))
        if m.missing:
            lines.append(render_wrapped("not served by the cluster", m.missing, "  "))
    return "\n".join(lines)


def render_objects(kind: Kind, by_cluster: Sequence[tuple[str, Sequence[Resource]]]) -> str:
    multi = len(by_cluster) > 1
    headers = (("CLUSTER",) if multi else ()) + (("NAMESPACE", "NAME") if kind.namespaced else ("NAME",))
    rows = []
    for cluster, items in by_cluster:
        for r in items:
            row = ((cluster,) if multi else ()) + ((r.namespace, r.name) if kind.namespaced else (r.name,))
            rows.append(row)
    if not rows:
        return ""
    return render_table(headers, rows)


def render_saved(out: str, saved: Sequence[SavedCluster]) -> str:
    lines = []
    for s in saved:
        total = sum(s.counts.values())
        missing = f"; not served: {len(s.meta.missing)} kinds" if s.meta.missing else ""
        lines.append(f"captured {s.meta.cluster}: {total} objects in {len(s.counts)} kinds{missing}")
    lines.append(f"snapshot written to {out}")
    return "\n".join(lines)
