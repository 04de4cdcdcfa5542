"""``meshctl topology``: the words every topology format shares, JSON, and the choice of writer.

The writers (``topology_tree``, ``topology_graph``) take the plain, already sorted ``Topology``
from ``meshctl.mesh.topology``; they never see networkx, and they add no ordering of their own
beyond grouping, so the same state always gives the same bytes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from meshctl.errors import UsageError

if TYPE_CHECKING:
    from meshctl.mesh.topology import Edge, Node, Topology

OUTPUTS = ("tree", "dot", "mermaid", "json", "svg", "html")
GROUP_BY = ("cluster", "namespace")

MARKS = {"error": "\u2718", "missing": "\u2718", "warning": "\u203c", "unknown": "?"}
LEVEL_MARKS = {"Error": "\u2718", "Warning": "\u203c", "Info": "i"}
CLUSTER_LEVEL = ("network", "cluster", "control-plane")
# How an edge reads from its source, in tree leaves and graph labels.
RELATION_WORDS = {
    "member": "member", "runs": "runs", "remote-secret": "reads", "east-west": "crosses networks via",
    "global": "global with", "selects": "selects", "use-waypoint": "uses waypoint", "routes": "routes",
    "backend": "backend", "endpoint-picker": "endpoint picker",
}
MODE_WORDS = {"none": "not enrolled", "sidecar": "sidecar injection",
              "conflict": "conflict: ambient and sidecar injection"}


def render_topology(topo: Topology, output: str = "tree", group_by: str = "cluster") -> str:
    if group_by not in GROUP_BY:
        raise UsageError(f"--group-by {group_by!r} is not one of: {', '.join(GROUP_BY)}", hint="use --group-by cluster")
    if output == "json":
        from meshctl.render.formats import to_json

        return to_json(topo.to_dict())
    if output == "tree":
        from meshctl.render.topology_tree import render_tree

        return render_tree(topo, group_by)
    from meshctl.render import topology_graph as graph

    if output == "dot":
        return graph.render_dot(topo, group_by)
    if output == "mermaid":
        return graph.render_mermaid(topo, group_by)
    if output == "svg":
        return graph.render_svg(topo, group_by)
    if output == "html":
        from meshctl.render.topology_html import render_html

        return render_html(topo, group_by)
    raise UsageError(f"--output {output!r} is not one of: {', '.join(OUTPUTS)}", hint="use --output tree")


# -- words --------------------------------------------------------------------------------------------


def title(node: Node) -> str:
    """``Service reviews``, ``cluster cluster1``, ``namespace bookinfo``."""
    if node.type in ("network", "cluster", "namespace"):
        return f"{node.type} {node.name}"
    return f"{node.kind} {node.name}"


def reference(target: Node, source: Node | None) -> str:
    """How a leaf names another node: as short as the source's cluster and namespace allow."""
    if target.type in ("network", "cluster"):
        return title(target)
    if target.type == "namespace":
        same = source is not None and target.cluster == source.cluster
        return title(target) if same else f"namespace {target.cluster}/{target.name}"
    parts = []
    if source is None or target.cluster != source.cluster:
        parts.append(target.cluster)
    if parts or source is None or target.namespace != source.namespace:
        parts.append(target.namespace)
    parts.append(target.name)
    return f"{target.kind} {'/'.join(p for p in parts if p)}"


def _conditions(health: Mapping[str, Any]) -> list[str]:
    out = []
    for c in health.get("conditions") or []:
        if c["status"] == "True":
            out.append(c["type"])
        else:
            out.append(f"{c['type']}={c['status']}" + (f" ({c['reason']})" if c.get("reason") else ""))
    return out


def _pods(node: Node) -> list[str]:
    h = node.health
    if "desired" not in h:
        return []
    if node.status == "unknown" and not h.get("pods"):
        return [f"{h['desired']} desired"]
    out = [f"{h.get('ready', 0)}/{h['desired']} ready"]
    if "enrolled" in h:
        out.append(f"{h['captured']}/{h['enrolled']} captured")
    if h.get("sidecars"):
        out.append(f"{h['sidecars']} with sidecars")
    return out


def summary(node: Node, topo_edges: Sequence[Edge] = ()) -> list[str]:
    """What a node is and how it stands, as short phrases (tree lines, tooltips)."""
    d, h = node.details, node.health
    if node.status == "missing":
        return ["missing"]
    if node.type == "network":
        return [", ".join(e.target for e in topo_edges if e.source == node.id and e.relation == "member")]
    if node.type == "cluster":
        if d.get("read") is False:
            return ["not read"]
        out = [f"network {d['network']}"] if d.get("network") else []
        out += [f"context {d['context']}"] if d.get("context") else []
        out += [f"Kubernetes {d['serverVersion']}"] if d.get("serverVersion") else []
        return out
    if node.type == "namespace":
        out = [MODE_WORDS.get(d.get("mode", ""), d.get("mode", ""))]
        if d.get("useWaypoint"):
            out.append(f"use-waypoint {d['useWaypoint']}")
        if "enrolled" in h:
            out.append(f"{h['captured']}/{h['enrolled']} pods captured")
        if h.get("sidecars"):
            out.append(f"{h['sidecars']} pods with sidecars")
        return out
    if node.type == "control-plane":
        version = f" {d['version']}" if d.get("version") else ""
        revision = f" ({d['revision']})" if d.get("revision") and d["revision"] != "default" else ""
        return [f"{d.get('component')}{version}{revision}", *_pods(node)]
    if node.type in ("gateway", "waypoint"):
        # the data plane's words carry the role ("Envoy (ingress)"); a waypoint adds the traffic it takes
        lead = [f"waypoint for {d.get('for')}"] if node.type == "waypoint" else [f"class {d.get('class')}"]
        lead += [f"data plane {d['dataPlane']}"] if d.get("dataPlane") else []
        return [*lead, *_conditions(h), *d.get("addresses", []), *_pods(node)]
    if node.type == "route":
        return _conditions(h) or ["no status"]
    if node.type == "inference-pool":
        ports = d.get("targetPorts") or []
        out = [f"port{'s' if len(ports) != 1 else ''} {', '.join(str(p) for p in ports)}"] if ports else []
        out += [d["failureMode"]] if d.get("failureMode") else []
        return out + _conditions(h) + ([] if h.get("workloads") else ["selects no pods"])
    if node.type == "service":
        out = [d.get("type", "ClusterIP")]
        if d.get("global"):
            out.append("global")
        if d.get("useWaypoint"):
            out.append(f"use-waypoint {d['useWaypoint']}")
        out += d.get("ports", [])
        if "workloads" in h and not h["workloads"]:
            out.append("selects no workloads")
        return out
    if node.type in ("endpoint-picker", "model-server"):
        return [node.type.replace("-", " "), *_pods(node)]
    return _pods(node)


def label_lines(node: Node) -> list[str]:
    """A graph node's label: what it is, its name, the data plane serving a Gateway, and its health."""
    first = node.type if node.type in ("network", "cluster", "namespace") else node.kind
    plane = node.details.get("dataPlane")
    health = short_health(node)
    return [first, node.name] + ([plane] if plane else []) + ([health] if health else [])


def short_health(node: Node) -> str:
    """One phrase for a graph label: ready counts, the worst condition, or the mode."""
    if node.status == "missing":
        return "missing"
    h, d = node.health, node.details
    if node.type == "cluster":
        return "not read" if d.get("read") is False else (d.get("network") or "")
    if node.type == "namespace":
        mode = d.get("mode", "")
        return "conflict" if mode == "conflict" else MODE_WORDS.get(mode, mode)
    bad = [c for c in _conditions(h) if "=" in c]
    if bad:
        return bad[0]
    pods = _pods(node)
    return pods[0] if pods else ""


def edge_words(edge: Edge) -> str:
    """The relation as it reads from the edge's source."""
    return RELATION_WORDS.get(edge.relation, edge.relation)


def edge_note(edge: Edge, nodes: Mapping[str, Node]) -> str:
    """What else an edge says: a backend's weight, the picker's port, what a cluster link rests on."""
    if edge.relation == "backend" and "weight" in edge.data:
        return f"weight {edge.data['weight']}"
    if edge.relation == "endpoint-picker" and "port" in edge.data:
        return f"port {edge.data['port']}"
    if edge.relation == "remote-secret":
        return f"remote secret {edge.data.get('secret')}; {link_state(edge, nodes)}"
    return ""


def link_state(edge: Edge, nodes: Mapping[str, Node]) -> str:
    source = nodes[edge.source].name if edge.source in nodes else edge.source
    target = nodes[edge.target].name if edge.target in nodes else edge.target
    two_way = edge.data.get("twoWay")
    if two_way is None:
        return f"{target} not read"
    if two_way:
        return "two-way"
    return f"one-way: {target} has no remote secret for {source}"


def mark(status: str) -> str:
    return MARKS.get(status, "")


# -- grouping -------------------------------------------------------------------------------------------


@dataclass
class Group:
    """A box of the drawing: headed by a node (a cluster, a namespace) or by words alone."""

    heading: str
    node: Node | None = None
    members: list[Node] = field(default_factory=list)
    children: list[Group] = field(default_factory=list)


def layout(topo: Topology, group_by: str = "cluster") -> tuple[list[Node], list[Group]]:
    """(nodes outside every group: the networks, groups). Clusters hold what is cluster-wide; by
    cluster they also hold their namespaces, by namespace each namespace holds one group per cluster."""
    top: list[Node] = []
    clusters: dict[str, Group] = {}
    namespaces: dict[tuple[str, str], Group] = {}
    for n in topo.nodes:  # already sorted: networks, then per cluster its cluster-wide nodes, then namespaces
        if n.type == "network":
            top.append(n)
            continue
        cluster = clusters.setdefault(n.cluster, Group(f"cluster {n.cluster}"))
        if n.type == "cluster":
            cluster.node = n
        elif n.type in CLUSTER_LEVEL:
            cluster.members.append(n)
        else:
            key = (n.cluster, n.namespace)
            if key not in namespaces:
                heading = f"namespace {n.namespace}" if group_by == "cluster" else f"cluster {n.cluster}"
                namespaces[key] = Group(heading)
                if group_by == "cluster":
                    cluster.children.append(namespaces[key])
            if n.type == "namespace":
                namespaces[key].node = n
            else:
                namespaces[key].members.append(n)
    groups = list(clusters.values())
    if group_by == "namespace":
        order = {c: i for i, c in enumerate(clusters)}
        by_name: dict[str, Group] = defaultdict(lambda: Group(""))
        for (cluster, namespace) in sorted(namespaces, key=lambda k: (k[1], order[k[0]])):
            group = by_name[namespace]
            group.heading = f"namespace {namespace}"
            group.children.append(namespaces[(cluster, namespace)])
        groups += list(by_name.values())
    return top, groups
