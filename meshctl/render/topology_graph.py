"""``meshctl topology -o dot|mermaid|svg``: the graph for Graphviz and for Mermaid (GitHub renders it).

Groups (clusters, namespaces) become Graphviz clusters and Mermaid subgraphs; a node's border says
its health (red: broken or missing, dashed when missing; orange: warning). A link between two
clusters that read each other is drawn once with two heads; a one-way link is drawn red.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from meshctl.errors import MeshctlError
from meshctl.render.topology import Group, edge_note, edge_words, label_lines, layout, summary, title

if TYPE_CHECKING:
    from meshctl.mesh.topology import Edge, Node, Topology

# Graphviz shape and fill per node type.
DOT_SHAPES = {
    "network": ("ellipse", "#eeeeee"), "cluster": ("box3d", "#dde7f3"), "control-plane": ("component", "#e3ecf7"),
    "namespace": ("tab", "#f2f2f2"), "gateway": ("invhouse", "#fde8cf"), "waypoint": ("hexagon", "#fbe3f1"),
    "route": ("cds", "#fff5c2"), "inference-pool": ("cylinder", "#e5dcf5"), "service": ("ellipse", "#dff2df"),
    "endpoint-picker": ("diamond", "#e5dcf5"), "model-server": ("box3d", "#e5dcf5"), "workload": ("box", "#ffffff"),
    "other": ("note", "#ffffff"),
}
STATUS_COLORS = {"error": "#d62728", "missing": "#d62728", "warning": "#e07b00", "unknown": "#888888"}
DOT_EDGE_STYLES = {
    "member": 'style=dotted, arrowhead=none', "runs": 'style=dotted, color="#888888"',
    "global": 'style=dashed, dir=none, color="#1f77b4"', "use-waypoint": 'style=dashed, color="#9467bd"',
    "east-west": 'style=dashed, color="#1f77b4"', "endpoint-picker": 'style=dotted',
    "selects": 'color="#555555"',
}
GRAPHVIZ_PACKAGE = "graphviz"
# Shorter words than the tree's, for edge labels.
LABEL_WORDS = {"global": "global", "east-west": "east-west"}


def _pairs(topo: Topology) -> Iterator[tuple[Edge, bool]]:
    """Each edge with whether to draw it with two heads; the second half of a two-way pair is skipped."""
    seen = {(e.source, e.target) for e in topo.edges if e.relation == "remote-secret"}
    for e in topo.edges:
        if e.relation == "remote-secret" and e.data.get("twoWay") and (e.target, e.source) in seen:
            if e.source > e.target:
                continue
            yield e, True
        else:
            yield e, False


def _edge_label(e: Edge, both: bool, nodes) -> str:
    if e.relation == "remote-secret":
        if both:
            return "remote secrets (two-way)"
        return "remote secret (one-way)" if e.data.get("twoWay") is False else "remote secret"
    if e.relation in ("selects", "member", "runs"):
        return ""
    note = edge_note(e, nodes)
    return LABEL_WORDS.get(e.relation, edge_words(e)) + (f" ({note})" if note else "")


# -- Graphviz ---------------------------------------------------------------------------------------------


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dot_node(n: Node, topo_edges) -> str:
    shape, fill = DOT_SHAPES.get(n.type, ("box", "#ffffff"))
    lines = label_lines(n)
    tooltip = [title(n), *[w for w in summary(n, topo_edges) if w], *[f"{f['code']} {f['origin']}" for f in n.findings]]
    attrs = [f"label={_dot_quote(chr(10).join(lines))}", f"shape={shape}", f'fillcolor="{fill}"',
             f"tooltip={_dot_quote(' · '.join(tooltip))}"]
    styles = ["filled"] + (["rounded"] if shape == "box" else []) + (["dashed"] if n.status == "missing" else [])
    attrs.append(f'style="{",".join(styles)}"')
    if n.status in STATUS_COLORS:
        attrs += [f'color="{STATUS_COLORS[n.status]}"', "penwidth=2"]
    return f"{_dot_quote(n.id)} [{', '.join(attrs)}];"


def render_dot(topo: Topology, group_by: str = "cluster") -> str:
    lines = [
        "digraph mesh {",
        '  graph [rankdir=LR, compound=true, fontname="Helvetica", fontsize=11, nodesep=0.25, ranksep=0.5];',
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9, color="#555555"];',
    ]
    top, groups = layout(topo, group_by)
    lines += [f"  {_dot_node(n, topo.edges)}" for n in top]
    _emit_groups(lines, groups,
                 lambda i, g: [f"subgraph cluster_{i} {{",
                               f'  label={_dot_quote(g.heading)}; style="rounded"; color="#999999";'],
                 "}", lambda n: _dot_node(n, topo.edges))
    nodes = topo.by_id()
    for e, both in _pairs(topo):
        attrs = []
        label = _edge_label(e, both, nodes)
        if label:
            attrs.append(f"label={_dot_quote(label)}")
        if e.relation == "remote-secret":
            attrs.append("dir=both, penwidth=2" if both else 'color="#d62728", penwidth=2, style=bold'
                         if e.data.get("twoWay") is False else "penwidth=2")
        elif e.relation in DOT_EDGE_STYLES:
            attrs.append(DOT_EDGE_STYLES[e.relation])
        if nodes[e.target].status == "missing":
            attrs.append('color="#d62728"')
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"  {_dot_quote(e.source)} -> {_dot_quote(e.target)}{suffix};")
    lines.append("}")
    return "\n".join(lines)


def render_svg(topo: Topology, group_by: str = "cluster") -> str:
    """The DOT drawing laid out by Graphviz's ``dot`` (it must be installed)."""
    dot = shutil.which("dot")
    if dot is None:
        raise MeshctlError("-o svg needs Graphviz's 'dot' program, which is not on PATH",
                           hint=f"install Graphviz (Debian/Ubuntu: apt-get install {GRAPHVIZ_PACKAGE}; "
                                f"macOS: brew install {GRAPHVIZ_PACKAGE}), or use -o dot and lay it out elsewhere")
    source = render_dot(topo, group_by)
    try:
        done = subprocess.run([dot, "-Tsvg"], input=source, capture_output=True, text=True, timeout=300,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise MeshctlError(f"Graphviz 'dot' failed: {err}", hint="check the Graphviz install, or use -o dot") from None
    if done.returncode != 0:
        detail = (done.stderr or "").strip().splitlines()
        raise MeshctlError(f"Graphviz 'dot' failed (exit {done.returncode})" + (f": {detail[-1]}" if detail else ""),
                           hint="use -o dot to see the input it was given")
    return done.stdout


# -- Mermaid ----------------------------------------------------------------------------------------------

MERMAID_SHAPES = {
    "network": ('(("', '"))'), "cluster": ('[["', '"]]'), "control-plane": ('[["', '"]]'),
    "namespace": ('>"', '"]'), "gateway": ('[/"', '"\\]'), "waypoint": ('{{"', '"}}'), "route": ('[\\"', '"\\]'),
    "inference-pool": ('[("', '")]'), "service": ('(["', '"])'), "endpoint-picker": ('{"', '"}'),
    "model-server": ('["', '"]'), "workload": ('["', '"]'), "other": ('["', '"]'),
}
MERMAID_CLASSES = (
    ("error", "stroke:#d62728,stroke-width:2px"),
    ("missing", "stroke:#d62728,stroke-width:2px,stroke-dasharray:5 5"),
    ("warning", "stroke:#e07b00,stroke-width:2px"),
    ("unknown", "stroke:#888888,stroke-dasharray:3 3"),
)


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def render_mermaid(topo: Topology, group_by: str = "cluster") -> str:
    ids = {n.id: f"n{i}" for i, n in enumerate(topo.nodes, 1)}
    lines = ["flowchart LR"]
    top, groups = layout(topo, group_by)

    def node(n: Node) -> str:
        parts = label_lines(n)
        left, right = MERMAID_SHAPES.get(n.type, ('["', '"]'))
        return f"{ids[n.id]}{left}{'<br/>'.join(_mermaid_text(p) for p in parts)}{right}"

    lines += [f"  {node(n)}" for n in top]
    _emit_groups(lines, groups, lambda i, g: [f'subgraph g{i}["{_mermaid_text(g.heading)}"]'], "end", node)
    nodes = topo.by_id()
    for e, both in _pairs(topo):
        label = _edge_label(e, both, nodes)
        if both:
            arrow = "<-->"
        elif e.relation in ("member", "global"):
            arrow = "-.-"
        elif e.relation in ("runs", "use-waypoint", "east-west", "endpoint-picker"):
            arrow = "-.->"
        elif e.relation == "remote-secret":
            arrow = "==>"
        else:
            arrow = "-->"
        text = f'|"{_mermaid_text(label)}"|' if label else ""
        lines.append(f"  {ids[e.source]} {arrow}{text} {ids[e.target]}")
    for name, style in MERMAID_CLASSES:
        members = [ids[n.id] for n in topo.nodes if n.status == name]
        if members:
            lines.append(f"  classDef {name} {style}")
            lines.append(f"  class {','.join(members)} {name}")
    one_way = [i for i, (e, both) in enumerate(_pairs(topo))
               if e.relation == "remote-secret" and e.data.get("twoWay") is False]
    if one_way:
        lines.append(f"  linkStyle {','.join(map(str, one_way))} stroke:#d62728,stroke-width:2px")
    return "\n".join(lines)


def _emit_groups(lines: list[str], groups: list[Group], opening: Callable[[int, Group], list[str]], closing: str,
                 node_line: Callable[[Any], str]) -> None:
    """Nested boxes (DOT subgraphs, Mermaid subgraphs): a group's own node and members, then its children."""
    counter = iter(range(1, 1 << 30))

    def group(g: Group, indent: str) -> None:
        lines.extend(f"{indent}{line}" for line in opening(next(counter), g))
        for n in ([g.node] if g.node is not None else []) + g.members:
            lines.append(f"{indent}  {node_line(n)}")
        for child in g.children:
            group(child, indent + "  ")
        lines.append(f"{indent}{closing}")

    for g in groups:
        group(g, "  ")
