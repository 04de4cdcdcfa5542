"""``meshctl topology -o html``: one self-contained page (inline script and style, nothing fetched).

Python lays the graph out (a deterministic layout in O(n log n): nested cluster and namespace boxes,
inside each box one column per kind of node in the direction traffic flows, each column ordered by
the positions of its neighbours in the columns before it) and writes the graph and the positions as
JSON into the page; the page's script (``assets/topology.js``) draws it as SVG and adds pan, zoom,
search and details on click. The same topology always gives the same bytes.

The Content-Security-Policy allows the page's own script and style only (by hash) and no fetches.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from meshctl.render.topology import Group, layout, short_health, summary
from meshctl.render.topology_graph import DOT_SHAPES, STATUS_COLORS

if TYPE_CHECKING:
    from meshctl.mesh.topology import Node, Topology

# Health colours: the other writers' (which leave "ok" plain), and green for ok.
STATUS_COLOURS = {"ok": "#2ca02c", **STATUS_COLORS}
STATUSES = ("ok", "warning", "error", "missing", "unknown")

# Geometry, in SVG user units.
NODE_W, NODE_H = 184, 48
COLUMN_GAP, ROW_GAP = 48, 12
PAD, HEADING = 14, 26
BOX_GAP = 22
MIN_ROWS = 10  # a column wraps into several after max(MIN_ROWS, sqrt(members)) rows

# Columns inside a box, left to right in the direction traffic and references flow.
COLUMNS = {
    "network": 0, "cluster": 0, "namespace": 0, "control-plane": 1, "gateway": 1, "route": 2,
    "inference-pool": 3, "service": 4, "waypoint": 5, "endpoint-picker": 6, "model-server": 6, "workload": 6,
    "other": 6,
}


def render_html(topo: Topology, group_by: str = "cluster") -> str:
    positions, boxes, width, height = _lay_out(topo, group_by)
    notes = [[*positions[i], short_health(n), [w for w in summary(n, topo.edges) if w]]
             for i, n in enumerate(topo.nodes)]
    data = {"topology": topo.to_dict(), "groupBy": group_by,
            "layout": {"width": width, "height": height, "nodes": notes, "boxes": boxes}}
    script, style = _asset("topology.js"), _style()
    title = _title(topo)
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        f'<meta http-equiv="Content-Security-Policy" content="{_policy(script, style)}">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        '<meta name="generator" content="meshctl topology -o html">\n',
        f"<title>{html.escape(title)}</title>\n<style>{style}</style>\n</head>\n<body>\n",
        _body(title, topo),
        '<script type="application/json" id="topology-data">', _json_for_script(data), "</script>\n",
        f"<script>{script}</script>\n</body>\n</html>\n",
    ])


def _title(topo: Topology) -> str:
    words = f"meshctl topology: {', '.join(topo.clusters) or 'no clusters'} ({topo.scope}"
    if topo.focus:
        words += f"; focus {topo.focus}, depth {topo.depth}"
    return words + ")"


def _body(title: str, topo: Topology) -> str:
    counts = {s: 0 for s in STATUSES}
    for n in topo.nodes:
        counts[n.status] = counts.get(n.status, 0) + 1
    statuses = "".join(
        f'<li><span class="swatch s-{s}"></span>{s} <span class="count">{counts[s]}</span></li>' for s in STATUSES)
    present = sorted({n.type for n in topo.nodes}, key=list(DOT_SHAPES).index)
    types = "".join(f'<li><span class="swatch t-{t}"></span>{t.replace("-", " ")}</li>' for t in present)
    return (
        '<header>\n'
        f'<h1>{html.escape(title)}</h1>\n'
        '<input id="search" type="search" placeholder="Search name or kind\u2026" '
        'title="Highlights matching nodes; Enter goes to the first match" '
        'aria-label="Search nodes by name or kind" autocomplete="off" spellcheck="false">\n'
        '<span id="search-count" aria-live="polite"></span>\n'
        '<span class="buttons"><button id="zoom-in" type="button" title="Zoom in">+</button>'
        '<button id="zoom-out" type="button" title="Zoom out">\u2212</button>'
        '<button id="zoom-fit" type="button" title="Show everything">Fit</button></span>\n'
        '</header>\n<main>\n'
        '<svg id="graph" role="img" aria-label="Mesh topology">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z"/></marker>'
        '<marker id="arrow-bad" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z"/></marker></defs>'
        '<g id="viewport"><g id="boxes"></g><g id="edges"></g><g id="nodes"></g></g></svg>\n'
        '<aside id="details" hidden></aside>\n'
        '<aside id="legend"><details open><summary>Legend</summary><h2>Health</h2><ul>' + statuses + '</ul>'
        '<h2>Kinds</h2><ul>' + types + '</ul><p>Drag to pan, wheel or +/\u2212 to zoom, click a node for its '
        'details, / to search.</p></details></aside>\n'
        '</main>\n<pre id="errors" hidden></pre>\n'
    )


def _style() -> str:
    """The stylesheet, headed by the colours the other writers use (one source for both)."""
    lines = [":root{" + "".join(f"--{s}:{c};" for s, c in STATUS_COLOURS.items()) + "}"]
    lines += [f".t-{t}{{--fill:{fill}}}" for t, (_, fill) in DOT_SHAPES.items()]
    return "\n".join(lines) + "\n" + _asset("topology.css")


def _asset(name: str) -> str:
    return resources.files("meshctl.render").joinpath("assets", name).read_text(encoding="utf-8")


def _policy(script: str, style: str) -> str:
    """Only this script and this stylesheet run; nothing is fetched, nothing is posted."""
    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"

    return (f"default-src 'none'; script-src {digest(script)}; style-src {digest(style)}; img-src data:; "
            "base-uri 'none'; form-action 'none'")


def _json_for_script(data: Any) -> str:
    """JSON that cannot end its <script> element: every ``<`` is written ``\\u003c`` (which also
    covers ``</script`` and ``<!--``); ``<`` only ever occurs inside JSON strings, where that escape is valid."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


# -- layout ---------------------------------------------------------------------------------------------


@dataclass
class _Block:
    """Something laid out at (0, 0): node positions and boxes, relative to its top-left corner."""

    w: int = 0
    h: int = 0
    nodes: list[tuple[int, int, int]] = field(default_factory=list)  # (node index, x, y)
    boxes: list[list[Any]] = field(default_factory=list)  # [x, y, w, h, depth, heading, node index or -1]

    def place(self, into: _Block, dx: int, dy: int) -> None:
        into.nodes.extend((i, x + dx, y + dy) for i, x, y in self.nodes)
        into.boxes.extend([b[0] + dx, b[1] + dy, *b[2:]] for b in self.boxes)


class _Layout:
    def __init__(self, topo: Topology) -> None:
        self.index = {n.id: i for i, n in enumerate(topo.nodes)}
        # neighbours of each node, either direction (for ordering columns)
        self.near: dict[int, list[int]] = defaultdict(list)
        for e in topo.edges:
            s, t = self.index[e.source], self.index[e.target]
            self.near[s].append(t)
            self.near[t].append(s)

    def columns(self, members: list[Node]) -> _Block:
        """Members in one column per kind (empty ones dropped); each column ordered by the mean
        place of its neighbours in the columns before it (fewer crossings), and a column short enough
        not to wrap puts each node level with those neighbours where it can (a Service beside its workloads)."""
        block = _Block()
        if not members:
            return block
        by_column: dict[int, list[int]] = defaultdict(list)
        for n in members:
            by_column[COLUMNS.get(n.type, 6)].append(self.index[n.id])
        rows = max(MIN_ROWS, math.ceil(math.sqrt(len(members))))
        order: dict[int, int] = {}  # node index -> its place in the box so far
        row: dict[int, int] = {}  # node index -> its row
        x = 0
        for column in sorted(by_column):
            ids = by_column[column]

            def key(i: int) -> tuple[float, int]:
                seen = [order[j] for j in self.near.get(i, ()) if j in order]
                return (sum(seen) / len(seen) if seen else math.inf, i)

            ids.sort(key=key)
            if len(ids) <= rows:  # one column: each node level with its neighbours where there is room
                next_row = 0
                for i in ids:
                    seen = [row[j] for j in self.near.get(i, ()) if j in row]
                    r = max(next_row, round(sum(seen) / len(seen)) if seen else next_row)
                    order[i], row[i], next_row = len(order), r, r + 1
                    block.nodes.append((i, x, r * (NODE_H + ROW_GAP)))
                height, wraps = next_row, 1
            else:  # a grid, filled column by column in that order
                for k, i in enumerate(ids):
                    order[i], row[i] = len(order), k % rows
                    block.nodes.append((i, x + (k // rows) * (NODE_W + ROW_GAP), (k % rows) * (NODE_H + ROW_GAP)))
                height, wraps = rows, math.ceil(len(ids) / rows)
            x += wraps * NODE_W + (wraps - 1) * ROW_GAP + COLUMN_GAP
            block.h = max(block.h, height * (NODE_H + ROW_GAP) - ROW_GAP)
        block.w = x - COLUMN_GAP
        return block

    def box(self, group: Group, depth: int) -> _Block:
        """A group's box: heading, its own node and members, then its child boxes below."""
        members = ([group.node] if group.node is not None else []) + group.members
        inner = self.columns(members)
        children = shelves([self.box(child, depth + 1) for child in group.children])
        content = _Block()
        inner.place(content, 0, 0)
        below = inner.h + (BOX_GAP if inner.h and children.h else 0)
        children.place(content, 0, below)
        content.w = max(inner.w, children.w, NODE_W)
        content.h = below + children.h
        block = _Block(content.w + 2 * PAD, content.h + HEADING + PAD)
        node = self.index[group.node.id] if group.node is not None else -1
        block.boxes.append([0, 0, block.w, block.h, depth, group.heading, node])
        content.place(block, PAD, HEADING)
        return block


def shelves(blocks: list[_Block]) -> _Block:
    """Blocks left to right, wrapping into rows about as wide as the whole is tall (shelf packing)."""
    out = _Block()
    if not blocks:
        return out
    area = sum((b.w + BOX_GAP) * (b.h + BOX_GAP) for b in blocks)
    width = max(max(b.w for b in blocks), int(math.sqrt(area) * 1.6))
    x = y = shelf = 0
    for b in blocks:
        if x and x + b.w > width:
            x, y, shelf = 0, y + shelf + BOX_GAP, 0
        b.place(out, x, y)
        out.w = max(out.w, x + b.w)
        x += b.w + BOX_GAP
        shelf = max(shelf, b.h)
    out.h = y + shelf
    return out


def _lay_out(topo: Topology, group_by: str) -> tuple[list[tuple[int, int]], list[list[Any]], int, int]:
    """(x, y) per node in topology order, the boxes (outer ones first), and the drawing's size."""
    top, groups = layout(topo, group_by)
    lay = _Layout(topo)
    page = _Block()
    networks = _Block()
    for k, n in enumerate(top):
        networks.nodes.append((lay.index[n.id], k * (NODE_W + COLUMN_GAP), 0))
    networks.w, networks.h = (len(top) * (NODE_W + COLUMN_GAP) - COLUMN_GAP, NODE_H) if top else (0, 0)
    networks.place(page, 0, 0)
    body = shelves([lay.box(g, 0) for g in groups])
    body.place(page, 0, networks.h + (BOX_GAP if networks.h else 0))
    width = max(networks.w, body.w)
    height = networks.h + (BOX_GAP if networks.h else 0) + body.h
    positions: list[tuple[int, int]] = [(0, 0)] * len(topo.nodes)
    placed = [False] * len(topo.nodes)
    for i, x, y in page.nodes:
        positions[i], placed[i] = (x, y), True
    stray = [i for i, done in enumerate(placed) if not done]  # every node has a group; this keeps it so
    for k, i in enumerate(stray):
        positions[i] = (k * (NODE_W + COLUMN_GAP), height + BOX_GAP)
    if stray:
        height += BOX_GAP + NODE_H
    return positions, page.boxes, max(width, NODE_W), max(height, NODE_H)
