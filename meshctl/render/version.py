"""``meshctl version`` output."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from meshctl.render.tables import render_table

if TYPE_CHECKING:  # start-up: `version --no-remote` must not load the cluster model
    from meshctl.mesh.controlplane import ClusterVersions, ComponentInfo


def version_data(client: str, clusters: Sequence[ClusterVersions]) -> dict:
    data: dict = {"clientVersion": {"version": client}}
    if clusters:
        data["clusters"] = [
            {
                "cluster": c.cluster,
                "context": c.context,
                "source": c.source,
                "serverVersion": c.server_version,
                "components": [asdict(comp) for comp in c.components],
            }
            for c in clusters
        ]
    return data


def _versions(components: Sequence[ComponentInfo]) -> str:
    found = sorted({c.version or "unknown" for c in components})
    return ", ".join(found) if found else "not installed"


def render_version(client: str, clusters: Sequence[ClusterVersions], short: bool) -> str:
    if short:
        lines = [client]
        lines += [f"{c.cluster}: {_versions(c.components)}" for c in clusters]
        return "\n".join(lines)
    lines = [f"client version: {client}"]
    for c in clusters:
        where = {"live": f"context {c.context}", "snapshot": f"snapshot of context {c.context}"}.get(c.source, c.source)
        if c.source == "snapshot" and not c.context:
            where = "snapshot"
        server = f", Kubernetes {c.server_version}" if c.server_version else ""
        lines.append("")
        lines.append(f"cluster {c.cluster} ({where}{server})")
        if not c.components:
            lines.append("  no Istio control plane found")
            continue
        rows = [
            # istio-cni's and ztunnel's REVISION is the one they follow (every revision shares them)
            (comp.component, comp.revision, comp.version or "unknown",
             f"{comp.ready}/{comp.desired}", f"{comp.namespace}/{comp.name}", comp.image)
            for comp in c.components
        ]
        lines.append(render_table(("COMPONENT", "REVISION", "VERSION", "READY", "WORKLOAD", "IMAGE"), rows, "  "))
    return "\n".join(lines)
