"""`meshctl topology -o html`: the golden page for the demo snapshot, self-containment, escaping,
the layout, and the page loaded in headless Chromium (rendered without errors, one element per node,
search finds a service; a screenshot is kept as testdata/golden/topology-demo.png).

Chromium is driven over the Chrome DevTools Protocol through a minimal WebSocket client written
here with the standard library (no test dependency added)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import queue
import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from meshctl.kube.snapshot import load_snapshot
from meshctl.mesh.topology import Edge, Node, Topology, describe_topology
from meshctl.render.topology_html import NODE_H, NODE_W, render_html
from tests.conftest import DEMO, GOLDEN

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
LAUNCH_TIMEOUT, CALL_TIMEOUT = 30.0, 20.0
HOSTILE = '</script><script>window.pwned=1</script><img src=x onerror="window.pwned=2"><!--'


def topology(cli, *args: str) -> str:
    r = cli("topology", "--snapshot", str(DEMO), *args)
    assert r.code == 0 and r.err == "", r.err
    return r.out


def page_data(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="topology-data">(.*?)</script>', page, re.S)
    assert match, "no graph data in the page"
    return json.loads(match.group(1))


# -- the page as text ---------------------------------------------------------------------------------------


def test_demo_page_matches_the_golden_file(cli, golden):
    golden("topology-demo.html", topology(cli, "-o", "html"))


def test_the_page_carries_the_same_graph_as_json_output(cli):
    data = page_data(topology(cli, "-o", "html"))
    assert data["topology"] == json.loads(topology(cli, "-o", "json"))
    assert len(data["layout"]["nodes"]) == len(data["topology"]["nodes"]) == 58


def test_the_page_is_self_contained(cli):
    page = topology(cli, "-o", "html")
    assert not re.search(r"""\b(src|href|action)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"<link\b", page, re.I) and "@import" not in page
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page, re.I)
    assert not re.search(r"\b(fetch|XMLHttpRequest|WebSocket|EventSource|importScripts)\s*\(", page)
    scripts = re.findall(r"<script\b([^>]*)>", page)
    assert scripts == [' type="application/json" id="topology-data"', ""]  # the data, then the inline code
    # the policy forbids fetching anything and lets only this script and this stylesheet run
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in policy
    code = re.search(r"<script>(.*)</script>", page, re.S).group(1)
    style = re.search(r"<style>(.*)</style>", page, re.S).group(1)
    for directive, text in (("script-src", code), ("style-src", style)):
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in policy


def test_the_page_is_deterministic_and_follows_the_options(cli):
    page = topology(cli, "-o", "html")
    assert page == topology(cli, "-o", "html")
    assert not re.search(r"20\d\d-\d\d-\d\dT", page)  # no timestamp
    by_namespace = page_data(topology(cli, "-o", "html", "--group-by", "namespace"))
    assert by_namespace["groupBy"] == "namespace"
    headings = [b[5] for b in by_namespace["layout"]["boxes"] if b[4] == 0]
    assert "namespace bookinfo" in headings and headings.count("cluster cluster1") == 1
    focused = topology(cli, "-o", "html", "--focus", "Service/bookinfo/reviews", "--depth", "2")
    data = page_data(focused)
    assert data["topology"] == json.loads(topology(cli, "-o", "json", "--focus", "Service/bookinfo/reviews",
                                                   "--depth", "2"))
    assert "focus Service/bookinfo/reviews, depth 2" in focused


def test_hostile_names_cannot_break_out_of_the_page():
    nodes = (Node("c1", "cluster", "Cluster", "c1", "", "c1", "ok"),
             Node(f"c1/Service/ns/{HOSTILE}", "service", "Service", "c1", "ns", HOSTILE, "warning",
                  findings=({"code": "X1", "level": "Warning", "origin": HOSTILE, "message": "a & b <c>"},)))
    topo = Topology(("c1",), nodes, (Edge("c1", nodes[1].id, "runs"),), focus=HOSTILE, depth=1)
    page = render_html(topo)
    assert page.count("</script>") == 2 and page.count("<script") == 2
    assert "<img" not in page and "<!--" not in page
    assert page_data(page)["topology"]["nodes"][1]["name"] == HOSTILE
    title = re.search(r"<title>(.*)</title>", page).group(1)
    assert "&lt;/script&gt;" in title and "<" not in title


def test_layout_puts_every_node_in_its_boxes_without_overlap(cli):
    data = page_data(topology(cli, "-o", "html", "-A"))
    nodes, lay = data["topology"]["nodes"], data["layout"]
    spots = [(x, y) for x, y, *_ in lay["nodes"]]
    assert len(spots) == len(nodes)
    assert not [(a, b) for i, a in enumerate(spots) for b in spots[i + 1:]
                if abs(a[0] - b[0]) < NODE_W and abs(a[1] - b[1]) < NODE_H]  # no two nodes overlap
    for node, (x, y, *_rest) in zip(nodes, lay["nodes"]):
        assert 0 <= x <= lay["width"] - NODE_W and 0 <= y <= lay["height"] - NODE_H
        if node["type"] == "network":
            continue
        inside = [b for b in lay["boxes"] if b[0] <= x and x + NODE_W <= b[0] + b[2] and b[1] <= y
                  and y + NODE_H <= b[1] + b[3]]
        assert any(b[5] == f"cluster {node['cluster']}" for b in inside), node["id"]
        if node["type"] not in ("cluster", "control-plane", "namespace"):
            assert any(b[5] == f"namespace {node['namespace']}" for b in inside), node["id"]
    # a Service sits level with the workload it alone selects
    place = {n["id"]: lay["nodes"][i] for i, n in enumerate(nodes)}
    assert place["cluster1/Service/bookinfo/ratings"][1] == place["cluster1/Deployment/bookinfo/ratings-v1"][1]
    assert place["cluster1/Service/bookinfo/ratings"][0] < place["cluster1/Deployment/bookinfo/ratings-v1"][0]


def test_the_page_carries_analysis_findings(cli):
    data = page_data(topology(cli, "-o", "html", "--analyze", "-n", "payments"))
    ledger = next(n for n in data["topology"]["nodes"] if n["id"] == "cluster1/Service/payments/ledger")
    assert [f["code"] for f in ledger["findings"]] == ["IST0118"]


# -- in headless Chromium -------------------------------------------------------------------------------------


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class WebSocket:
    """Just enough of RFC 6455 for the DevTools protocol: the handshake, masked text frames out,
    (possibly fragmented) frames in, ping answered, close noticed."""

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            head += chunk
        head, self.buffer = head.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        assert lines[0].split()[1] == "101", lines[0]
        accept = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
        assert headers.get("sec-websocket-accept") == accept

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buffer)))
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _frame(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def send(self, text: str) -> None:
        self._frame(0x1, text.encode())

    def receive(self) -> str:
        message = b""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if second & 0x80 else b""
            payload = self._read(length)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = first & 0x0F
            if opcode == 0x9:
                self._frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if first & 0x80:
                    return message.decode()

    def close(self) -> None:
        try:
            self._frame(0x8, b"")
        except OSError:
            pass
        self.sock.close()


class Browser:
    """Headless Chromium with one page attached over the DevTools protocol; always killed on exit."""

    def __init__(self, binary: str, profile: Path) -> None:
        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
             "--hide-scrollbars", f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        self.ws: WebSocket | None = None
        self.next_id = 0
        self.events: list[dict] = []
        try:
            self.ws = WebSocket(self._devtools_url(), CALL_TIMEOUT)
            page = next(t for t in self.call("Target.getTargets")["targetInfos"] if t["type"] == "page")
            self.session = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]
            for domain in ("Runtime", "Log", "Page", "Network"):
                self.call(f"{domain}.enable", session=True)
            self.call("Emulation.setDeviceMetricsOverride", width=1400, height=900, deviceScaleFactor=1,
                      mobile=False, session=True)
        except BaseException:
            self.close()
            raise

    def _devtools_url(self) -> str:
        """Chromium prints its DevTools address on stderr; a thread keeps reading so the pipe never fills."""
        lines: queue.Queue[str] = queue.Queue()

        def pump() -> None:
            for raw in iter(self.proc.stderr.readline, b""):
                lines.put(raw.decode(errors="replace"))

        threading.Thread(target=pump, daemon=True).start()
        deadline, seen = time.monotonic() + LAUNCH_TIMEOUT, []
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            seen.append(line)
            match = re.search(r"DevTools listening on (ws://\S+)", line)
            if match:
                return match.group(1)
        raise RuntimeError("Chromium did not start its DevTools endpoint:\n" + "".join(seen[-20:]))

    def call(self, method: str, session: bool = False, **params) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + CALL_TIMEOUT
        while time.monotonic() < deadline:
            reply = json.loads(self.ws.receive())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)
        raise TimeoutError(f"{method}: no answer in {CALL_TIMEOUT} s")

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def load(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        deadline = time.monotonic() + CALL_TIMEOUT
        while time.monotonic() < deadline:
            state = self.evaluate("document.readyState === 'complete' && document.body "
                                  "&& document.body.getAttribute('data-state')")
            if state in ("ready", "error"):
                return
            time.sleep(0.1)
        raise TimeoutError(f"{url} did not finish drawing in {CALL_TIMEOUT} s")

    def problems(self) -> list[str]:
        """Uncaught exceptions, console errors, logged errors (CSP violations among them) and any
        request for something other than the page itself."""
        out = []
        for e in self.events:
            method, params = e["method"], e.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(f"exception: {params['exceptionDetails']}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
                out.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
                out.append(f"log: {params['entry'].get('text')}")
            elif method == "Network.requestWillBeSent" and not params["request"]["url"].startswith("file:"):
                out.append(f"request: {params['request']['url']}")
        return out

    def close(self) -> None:
        if self.ws is not None:
            try:
                self.call("Browser.close")
            except (OSError, RuntimeError, TimeoutError, ConnectionError):
                pass
            self.ws.close()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)  # its own process group: the browser and its helpers
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                continue
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    binary = find_chromium()
    if binary is None:
        pytest.skip(f"no Chromium found (looked for {', '.join(CHROMIUM_NAMES)}; Debian: apt-get install chromium)")
    b = Browser(binary, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory) -> tuple[Path, dict]:
    topo = describe_topology(load_snapshot(str(DEMO)).select([]))
    page = tmp_path_factory.mktemp("page") / "topology.html"
    page.write_text(render_html(topo))
    return page, page_data(page.read_text())


def test_chromium_renders_every_node_without_errors(browser, demo_page, request):
    path, data = demo_page
    browser.load(path.as_uri())
    assert browser.problems() == []
    assert browser.evaluate("document.body.getAttribute('data-state')") == "ready"
    assert browser.evaluate("document.getElementById('errors').textContent") == ""
    drawn = browser.evaluate("Array.from(document.querySelectorAll('#nodes .node'), g => g.dataset.id)")
    assert drawn == [n["id"] for n in data["topology"]["nodes"]]
    assert browser.evaluate("document.querySelectorAll('#edges .edge').length") == len(data["topology"]["links"])
    assert browser.evaluate("document.querySelectorAll('#boxes .box').length") == len(data["layout"]["boxes"])
    # health colours: the missing waypoint's border is the error red, dashed
    stroke = browser.evaluate("(() => { const r = document.querySelector("
                              "'[data-id=\"cluster1/Gateway/payments/missing-waypoint\"] rect'); "
                              "const s = getComputedStyle(r); return [s.stroke, s.strokeDasharray]; })()")
    assert stroke[0] == "rgb(214, 39, 40)" and stroke[1] != "none"
    png = base64.b64decode(browser.call("Page.captureScreenshot", session=True, format="png")["data"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (1400, 900) and len(png) > 20_000
    if request.config.getoption("--update-golden"):
        (GOLDEN / "topology-demo.png").write_bytes(png)


def test_chromium_search_finds_a_service(browser, demo_page):
    path, _ = demo_page
    browser.load(path.as_uri())
    browser.evaluate("document.getElementById('search').focus()")
    browser.call("Input.insertText", session=True, text="ratings")
    for kind in ("keyDown", "keyUp"):
        browser.call("Input.dispatchKeyEvent", session=True, type=kind, key="Enter", code="Enter",
                     windowsVirtualKeyCode=13)
    matched = browser.evaluate("Array.from(document.querySelectorAll('.node.match'), g => g.dataset.id)")
    assert matched == ["cluster1/Service/bookinfo/ratings", "cluster1/Deployment/bookinfo/ratings-v1",
                       "cluster2/Service/bookinfo/ratings", "cluster2/Deployment/bookinfo/ratings-v1"]
    assert browser.evaluate("document.getElementById('search-count').textContent") == "4 matches"
    # Enter went to the first match and opened its details
    assert browser.evaluate("document.querySelector('.node.selected').dataset.id") == \
        "cluster1/Service/bookinfo/ratings"
    assert browser.evaluate("document.querySelector('#details h2').textContent") == "Service ratings"
    text = browser.evaluate("document.getElementById('details').textContent")
    assert "bookinfo" in text and "selects" in text and "Deployment ratings-v1" in text
    assert browser.problems() == []


def test_chromium_opens_on_a_search_from_the_fragment_and_shows_details_on_click(browser, demo_page):
    path, _ = demo_page
    browser.load(path.as_uri() + "#search=reviews")
    matched = browser.evaluate("Array.from(document.querySelectorAll('.node.match'), g => g.dataset.id)")
    assert "cluster1/Service/bookinfo/reviews" in matched and "cluster2/Service/bookinfo/reviews" in matched
    assert all("reviews" in m for m in matched)
    assert browser.evaluate("document.getElementById('search').value") == "reviews"
    # a click (pointer down and up on the node) opens that node's details
    browser.evaluate("document.getElementById('zoom-fit').click()")
    box = browser.evaluate("(() => { const r = document.querySelector("
                           "'[data-id=\"cluster1/Deployment/bookinfo/curl\"] rect').getBoundingClientRect(); "
                           "return [r.x + r.width / 2, r.y + r.height / 2]; })()")
    for kind in ("mousePressed", "mouseReleased"):
        browser.call("Input.dispatchMouseEvent", session=True, type=kind, x=box[0], y=box[1], button="left",
                     clickCount=1)
    assert browser.evaluate("document.querySelector('#details h2').textContent") == "Deployment curl"
    text = browser.evaluate("document.getElementById('details').textContent")
    assert "warning" in text and "1/1" in text and "captured" in text
    assert browser.problems() == []


def test_chromium_details_name_the_data_plane_of_a_gateway(browser, demo_page):
    path, _ = demo_page
    browser.load(path.as_uri())
    browser.evaluate("document.getElementById('zoom-fit').click()")
    box = browser.evaluate("(() => { const r = document.querySelector("
                           "'[data-id=\"cluster1/Gateway/istio-system/istio-eastwestgateway\"] rect')"
                           ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
    for kind in ("mousePressed", "mouseReleased"):
        browser.call("Input.dispatchMouseEvent", session=True, type=kind, x=box[0], y=box[1], button="left",
                     clickCount=1)
    assert browser.evaluate("document.querySelector('#details h2').textContent") == "Gateway istio-eastwestgateway"
    rows = browser.evaluate("Array.from(document.querySelectorAll('#details table tr'), "
                            "tr => [tr.querySelector('th').textContent, tr.querySelector('td').textContent])")
    assert ["data plane", "east-west (Envoy)"] in rows
    assert not any(name == "dataPlane" for name, _ in rows)  # shown once, in the object's own table
    assert ["class", "istio-east-west"] in rows
    assert browser.problems() == []


def test_chromium_shows_a_hostile_name_as_text(browser, tmp_path):
    nodes = (Node("c1", "cluster", "Cluster", "c1", "", "c1", "ok"),
             Node(f"c1/Service/ns/{HOSTILE}", "service", "Service", "c1", "ns", HOSTILE, "warning"))
    path = tmp_path / "hostile.html"
    path.write_text(render_html(Topology(("c1",), nodes, (Edge("c1", nodes[1].id, "runs"),), focus=HOSTILE)))
    browser.load(path.as_uri())
    assert browser.problems() == []
    assert browser.evaluate("window.pwned === undefined && document.querySelectorAll('img').length === 0")
    assert browser.evaluate("document.querySelectorAll('#nodes .node').length") == 2
    assert browser.evaluate("document.querySelector('#nodes .t-service title').textContent").startswith(
        "c1/Service/ns/</script>")


def test_chromium_harness_sees_errors_and_blocked_fetches(browser, demo_page, tmp_path):
    """The checks above mean something: a fetch the policy blocks and an uncaught exception are seen."""
    path, _ = demo_page
    bad = tmp_path / "bad.html"
    bad.write_text(path.read_text().replace("</body>", '<img src="https://example.invalid/x.png"></body>'))
    browser.load(bad.as_uri())
    browser.evaluate("new Promise(r => setTimeout(() => { setTimeout(r, 50); throw new Error('boom'); }, 0))")
    problems = "\n".join(browser.problems())
    assert "https://example.invalid/x.png" in problems and "Content Security Policy" in problems
    assert "exception" in problems and "boom" in problems
