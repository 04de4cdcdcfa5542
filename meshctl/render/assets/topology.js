/* meshctl topology -o html: draws the graph meshctl laid out, with pan, zoom, search and details.
   Everything it needs is in the page (the JSON in #topology-data); it fetches nothing. */
(function () {
  "use strict";

  var errors = document.getElementById("errors");
  function report(text) {
    errors.hidden = false;
    errors.textContent += text + "\n";
    document.body.setAttribute("data-state", "error");
  }
  window.addEventListener("error", function (e) { report("error: " + e.message); });
  window.addEventListener("unhandledrejection", function (e) { report("error: " + e.reason); });

  var SVG = "http://www.w3.org/2000/svg";
  var NODE_W = 184, NODE_H = 48, NAME_CHARS = 25, MIN_SCALE = 0.01, MAX_SCALE = 4, FAR_SCALE = 0.35;

  var data = JSON.parse(document.getElementById("topology-data").textContent);
  var topo = data.topology, lay = data.layout;
  var nodes = topo.nodes, links = topo.links;
  var svg = document.getElementById("graph");
  var viewport = document.getElementById("viewport");
  var search = document.getElementById("search");
  var searchCount = document.getElementById("search-count");
  var details = document.getElementById("details");

  var index = {};  // node id -> position in nodes
  var elements = [];  // node index -> its <g>
  var outgoing = [], incoming = [], edgeElements = [];
  var view = { x: 0, y: 0, k: 1 };
  var selected = -1, matches = [];

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    for (var key in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, key)) e.setAttribute(key, attrs[key]); }
    if (parent) parent.appendChild(e);
    return e;
  }

  function html(name, text, parent, className) {
    var e = document.createElement(name);
    if (text !== undefined && text !== null) e.textContent = text;
    if (className) e.className = className;
    if (parent) parent.appendChild(e);
    return e;
  }

  function clip(text, n) { return text.length > n ? text.slice(0, n - 1) + "\u2026" : text; }

  function heading(n) {  // first line of a node: its type for the grouping kinds, else its Kubernetes kind
    return n.type === "network" || n.type === "cluster" || n.type === "namespace" ? n.type : n.kind;
  }

  function title(n) { return heading(n) + " " + n.name; }

  // -- drawing --------------------------------------------------------------------------------------

  function draw() {
    var boxLayer = document.getElementById("boxes");
    var edgeLayer = document.getElementById("edges");
    var nodeLayer = document.getElementById("nodes");
    lay.boxes.forEach(function (b) {
      var g = el("g", { "class": "box d" + b[4], transform: "translate(" + b[0] + "," + b[1] + ")" }, boxLayer);
      el("rect", { width: b[2], height: b[3], rx: 8 }, g);
      el("text", { x: 10, y: 17 }, g).textContent = b[5];
    });
    nodes.forEach(function (n, i) {
      index[n.id] = i;
      outgoing.push([]);
      incoming.push([]);
      var p = lay.nodes[i];
      var g = el("g", { "class": "node t-" + n.type + " s-" + n.status, "data-id": n.id,
                        transform: "translate(" + p[0] + "," + p[1] + ")" }, nodeLayer);
      el("rect", { width: NODE_W, height: NODE_H, rx: 6 }, g);
      el("circle", { "class": "dot", cx: NODE_W - 10, cy: 10, r: 4.5 }, g);
      el("text", { "class": "kind", x: 8, y: 13 }, g).textContent = clip(heading(n), NAME_CHARS + 3);
      el("text", { "class": "name", x: 8, y: 28 }, g).textContent = clip(n.name, NAME_CHARS);
      if (p[2]) el("text", { "class": "note", x: 8, y: 42 }, g).textContent = clip(p[2], NAME_CHARS + 3);
      el("title", {}, g).textContent = n.id + (p[3].length ? "\n" + p[3].join(" \u00b7 ") : "");
      elements.push(g);
    });
    links.forEach(function (e, k) {
      var s = index[e.source], t = index[e.target];
      outgoing[s].push(k);
      incoming[t].push(k);
      var cls = "edge r-" + e.relation;
      if (nodes[t].status === "missing" || (e.relation === "remote-secret" && e.twoWay === false)) cls += " bad";
      var path = el("path", { "class": cls, d: route(lay.nodes[s], lay.nodes[t]) }, edgeLayer);
      el("title", {}, path).textContent = title(nodes[s]) + " \u2192 " + e.relation + " \u2192 " + title(nodes[t]);
      edgeElements.push(path);
    });
  }

  function route(a, b) {
    // from the side of the source facing the target to the facing side of the target, as a soft curve
    var ax, bx, ay = a[1] + NODE_H / 2, by = b[1] + NODE_H / 2, bend;
    if (b[0] >= a[0] + NODE_W) { ax = a[0] + NODE_W; bx = b[0]; }
    else if (b[0] + NODE_W <= a[0]) { ax = a[0]; bx = b[0] + NODE_W; }
    else { ax = a[0] + NODE_W; bx = b[0] + NODE_W; }  // one above the other: loop out on the right
    bend = Math.max(30, Math.abs(bx - ax) / 2);
    var c1 = ax + (ax === a[0] ? -bend : bend), c2 = bx + (bx === b[0] ? -bend : bend);
    return "M" + ax + "," + ay + "C" + c1 + "," + ay + " " + c2 + "," + by + " " + bx + "," + by;
  }

  // -- pan and zoom ---------------------------------------------------------------------------------

  function apply() {
    viewport.setAttribute("transform", "translate(" + view.x + "," + view.y + ") scale(" + view.k + ")");
    svg.classList.toggle("far", view.k < FAR_SCALE);
  }

  function zoomAt(factor, px, py) {
    var k = Math.min(MAX_SCALE, Math.max(MIN_SCALE, view.k * factor));
    view.x = px - (px - view.x) * (k / view.k);
    view.y = py - (py - view.y) * (k / view.k);
    view.k = k;
    apply();
  }

  function fit() {
    var w = svg.clientWidth || 800, h = svg.clientHeight || 600, margin = 20;
    var k = Math.min((w - 2 * margin) / lay.width, (h - 2 * margin) / lay.height, 1.5);
    view.k = Math.max(MIN_SCALE, k);
    view.x = (w - lay.width * view.k) / 2;
    view.y = (h - lay.height * view.k) / 2;
    apply();
  }

  function centreOn(i) {
    var p = lay.nodes[i], w = svg.clientWidth || 800, h = svg.clientHeight || 600;
    view.k = Math.max(view.k, 0.8);
    view.x = w / 2 - (p[0] + NODE_W / 2) * view.k;
    view.y = h / 2 - (p[1] + NODE_H / 2) * view.k;
    apply();
  }

  var drag = null;
  svg.addEventListener("pointerdown", function (e) {
    if (e.button !== 0) return;
    drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y, moved: false };
    svg.setPointerCapture(e.pointerId);
  });
  svg.addEventListener("pointermove", function (e) {
    if (!drag) return;
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    drag.moved = true;
    svg.classList.add("panning");
    view.x = drag.vx + dx;
    view.y = drag.vy + dy;
    apply();
  });
  function endDrag(e) {
    if (!drag) return;
    var wasClick = !drag.moved;
    drag = null;
    svg.classList.remove("panning");
    if (svg.hasPointerCapture(e.pointerId)) svg.releasePointerCapture(e.pointerId);
    if (wasClick && e.type === "pointerup") {
      var hit = document.elementFromPoint(e.clientX, e.clientY);
      var g = hit && hit.closest ? hit.closest(".node") : null;
      if (g) select(index[g.getAttribute("data-id")]); else select(-1);
    }
  }
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", endDrag);
  svg.addEventListener("wheel", function (e) {
    e.preventDefault();
    var r = svg.getBoundingClientRect();
    zoomAt(Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015)), e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  function zoomCentre(factor) { zoomAt(factor, (svg.clientWidth || 800) / 2, (svg.clientHeight || 600) / 2); }
  document.getElementById("zoom-in").addEventListener("click", function () { zoomCentre(1.25); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoomCentre(0.8); });
  document.getElementById("zoom-fit").addEventListener("click", fit);

  // -- selection and details ------------------------------------------------------------------------

  function select(i) {
    if (selected >= 0) {
      elements[selected].classList.remove("selected");
      document.querySelectorAll(".near, .hot").forEach(function (e) { e.classList.remove("near", "hot"); });
    }
    selected = i;
    svg.classList.toggle("focused", i >= 0);
    if (i < 0) { details.hidden = true; return; }
    elements[i].classList.add("selected", "near");
    outgoing[i].concat(incoming[i]).forEach(function (k) {
      edgeElements[k].classList.add("hot");
      elements[index[links[k].source]].classList.add("near");
      elements[index[links[k].target]].classList.add("near");
    });
    showDetails(i);
  }

  function row(table, name, value) {
    if (value === undefined || value === null || value === "") return;
    var tr = html("tr", null, table);
    html("th", name, tr);
    html("td", typeof value === "object" ? JSON.stringify(value) : String(value), tr);
  }

  function goTo(i) {
    return function () { centreOn(i); select(i); };
  }

  function edgeList(parent, ks, towards) {
    if (!ks.length) return;
    html("h3", towards ? "Edges out" : "Edges in", parent);
    var ul = html("ul", null, parent);
    ks.forEach(function (k) {
      var e = links[k], other = index[towards ? e.target : e.source];
      var li = html("li", (towards ? "\u2192 " : "\u2190 ") + e.relation + " ", ul);
      var b = html("button", title(nodes[other]) + (nodes[other].cluster !== nodes[index[towards ? e.source : e.target]].cluster
        ? " (" + nodes[other].cluster + ")" : ""), li, "link");
      b.type = "button";
      b.addEventListener("click", goTo(other));
      var extra = Object.keys(e).filter(function (key) {
        return ["source", "target", "relation"].indexOf(key) < 0 && e[key] !== null;
      });
      if (extra.length) html("span", " (" + extra.map(function (key) { return key + " " + e[key]; }).join(", ") + ")", li);
    });
  }

  function showDetails(i) {
    var n = nodes[i], p = lay.nodes[i], h = n.health || {};
    details.textContent = "";
    var close = html("button", "\u00d7", details, "close");
    close.type = "button";
    close.title = "Close";
    close.addEventListener("click", function () { select(-1); });
    html("h2", title(n), details);
    html("span", n.status, details, "status s-" + n.status);
    var table = html("table", null, details);
    row(table, "kind", n.kind);
    row(table, "type", n.type);
    row(table, "name", n.name);
    row(table, "namespace", n.type === "namespace" ? "" : n.namespace);
    row(table, "cluster", n.cluster);
    row(table, "id", n.id);
    row(table, "data plane", (n.details || {}).dataPlane);  // a Gateway's: Envoy, agentgateway, another controller
    if (p[3].length) {
      html("h3", "Summary", details);
      html("p", p[3].join(" \u00b7 "), details);
    }
    var health = Object.keys(h).filter(function (key) { return key !== "conditions"; });
    if (health.length || (h.conditions || []).length) {
      html("h3", "Health", details);
      var ht = html("table", null, details);
      if ("desired" in h) row(ht, "ready", (h.ready || 0) + "/" + h.desired);
      health.forEach(function (key) { if (key !== "ready" && key !== "desired") row(ht, key, h[key]); });
      (h.conditions || []).forEach(function (c) {
        row(ht, c.type, c.status + (c.reason ? " (" + c.reason + ")" : ""));
      });
    }
    var keys = Object.keys(n.details || {}).filter(function (key) { return key !== "dataPlane"; });
    if (keys.length) {
      html("h3", "Details", details);
      var dt = html("table", null, details);
      keys.forEach(function (key) { row(dt, key, n.details[key]); });
    }
    if ((n.findings || []).length) {
      html("h3", "Findings", details);
      var fl = html("ul", null, details);
      n.findings.forEach(function (f) {
        html("li", f.level + " " + f.code + " " + f.origin + ": " + f.message, fl);
      });
    }
    edgeList(details, outgoing[i], true);
    edgeList(details, incoming[i], false);
    details.hidden = false;
  }

  // -- search ---------------------------------------------------------------------------------------

  function runSearch(text) {
    var q = text.trim().toLowerCase();
    matches.forEach(function (i) { elements[i].classList.remove("match"); });
    matches = [];
    if (q) {
      nodes.forEach(function (n, i) {
        var hay = (n.name + "\n" + n.kind + "\n" + n.type + "\n" + n.namespace + "/" + n.name + "\n" + n.id).toLowerCase();
        if (hay.indexOf(q) >= 0) { matches.push(i); elements[i].classList.add("match"); }
      });
    }
    svg.classList.toggle("searching", q.length > 0);
    searchCount.textContent = q ? matches.length + (matches.length === 1 ? " match" : " matches") : "";
    return matches;
  }

  function focusFirst() {
    if (!matches.length) return;
    // a name that equals the query beats one that merely contains it
    var q = search.value.trim().toLowerCase();
    var exact = matches.filter(function (i) { return nodes[i].name.toLowerCase() === q; });
    var i = (exact.length ? exact : matches)[0];
    centreOn(i);
    select(i);
  }

  search.addEventListener("input", function () { runSearch(search.value); });
  search.addEventListener("keydown", function (e) {
    if (e.key === "Enter") { runSearch(search.value); focusFirst(); e.preventDefault(); }
    if (e.key === "Escape") { search.value = ""; runSearch(""); select(-1); }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "/" && document.activeElement !== search) { e.preventDefault(); search.focus(); }
  });

  function fromFragment() {
    // #search=TEXT searches on load and goes to the first match (links into the page)
    var m = /^#search=(.*)$/.exec(window.location.hash);
    if (!m) return;
    var q;
    try { q = decodeURIComponent(m[1].replace(/\+/g, " ")); } catch (err) { q = m[1]; }
    search.value = q;
    runSearch(q);
    focusFirst();
  }

  fit();  // before drawing: the size is then read without laying out every node, and far away a
  draw();  // big graph's labels stay hidden, so the first paint does not lay out their text
  window.addEventListener("hashchange", fromFragment);
  fromFragment();
  document.body.setAttribute("data-nodes", String(elements.length));
  if (document.body.getAttribute("data-state") !== "error") document.body.setAttribute("data-state", "ready");
}());
