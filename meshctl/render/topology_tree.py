"""``meshctl topology -o tree``: the graph as a rich Tree, grouped by cluster or by namespace.

Each object is a branch; its findings and the edges leaving it are its leaves (``→ selects
Deployment reviews-v1``), so every edge of the graph appears once, under its source. A one-way link
between clusters also shows under the cluster that is not read back.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from meshctl.render.topology import (LEVEL_MARKS, Group, edge_note, edge_words, layout, link_state, mark,
                                     reference, summary, title)

if TYPE_CHECKING:
    from meshctl.mesh.topology import Edge, Node, Topology

STYLES = {"error": "red", "missing": "red", "warning": "yellow", "unknown": "dim"}
LEVEL_STYLES = {"Error": "red", "Warning": "yellow", "Info": "dim"}
# Edges the tree shows by nesting instead of as leaves.
NESTED = ("runs", "member")


class _Writer:
    def __init__(self, topo: Topology) -> None:
        self.topo = topo
        self.nodes = topo.by_id()
        self.outgoing: dict[str, list[Edge]] = defaultdict(list)
        self.one_way_in: dict[str, list[Edge]] = defaultdict(list)
        for e in topo.edges:
            self.outgoing[e.source].append(e)
            if e.relation == "remote-secret" and e.data.get("twoWay") is False:
                self.one_way_in[e.target].append(e)

    def label(self, node: Node | None, heading: str = ""):
        """Status mark, heading (the node's title unless given), and the node's summary."""
        from rich.text import Text

        text = Text()
        status = node.status if node is not None else "ok"
        if mark(status):
            text.append(mark(status) + " ", style=STYLES.get(status))
        text.append(heading or title(node), style="bold")
        words = [w for w in summary(node, self.topo.edges) if w] if node is not None else []
        if words:
            text.append("  " + " \u00b7 ".join(words))
        return text

    def branch(self, parent, node: Node | None, heading: str = ""):
        tree = parent.add(self.label(node, heading))
        if node is not None:
            self.leaves(tree, node)
        return tree

    def leaves(self, tree, node: Node) -> None:
        from rich.text import Text

        for f in node.findings:
            level = f["level"]
            tree.add(Text(f"{LEVEL_MARKS.get(level, '')} {f['code']} {f['origin']}: {f['message']}",
                          style=LEVEL_STYLES.get(level)))
        for e in self.outgoing.get(node.id, ()):
            if e.relation in NESTED:
                continue
            target = self.nodes[e.target]
            note = edge_note(e, self.nodes)
            text = Text(f"\u2192 {edge_words(e)} {reference(target, node)}")
            if target.status == "missing":
                text.append(" (missing)", style="red")
            if note:
                text.append(f" ({note})", style="red" if e.data.get("twoWay") is False else None)
            tree.add(text)
        for e in self.one_way_in.get(node.id, ()):
            source = self.nodes[e.source]
            tree.add(Text(f"\u2190 read by {reference(source, node)} ({link_state(e, self.nodes)})", style="red"))


def _header(topo: Topology) -> str:
    clusters = len({n.cluster for n in topo.nodes if n.cluster})
    networks = sum(1 for n in topo.nodes if n.type == "network")
    head = f"focus {topo.focus} (depth {topo.depth})" if topo.focus else "mesh"
    counts = [f"{clusters} cluster{'s' if clusters != 1 else ''}"]
    if networks:
        counts.append(f"{networks} network{'s' if networks != 1 else ''}")
    counts += [f"{len(topo.nodes)} nodes", f"{len(topo.edges)} edges"]
    problems = sum(1 for n in topo.nodes if n.status in ("error", "missing", "warning"))
    if problems:
        counts.append(f"{problems} with problems")
    return f"{head}  " + " \u00b7 ".join(counts)


def render_tree(topo: Topology, group_by: str = "cluster") -> str:
    from rich.tree import Tree

    from meshctl.render.console import out

    w = _Writer(topo)
    root = Tree(_header(topo))
    top, groups = layout(topo, group_by)
    for n in top:
        w.branch(root, n)

    def add(parent, group: Group) -> None:
        # a group headed by its own node reads as that node; under a namespace group, by its cluster
        heading = "" if group.node is not None and group.heading == title(group.node) else group.heading
        branch = w.branch(parent, group.node, heading)
        for n in group.members:
            w.branch(branch, n)
        for child in group.children:
            add(branch, child)

    for group in groups:
        add(root, group)
    console = out()
    with console.capture() as capture:
        console.print(root)
    return "\n".join(line.rstrip() for line in capture.get().splitlines())
