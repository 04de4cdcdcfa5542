"""HTTP plumbing: a threaded HTTP/1.1 server that hands requests to an ApiServer.

Besides parsing and framing, this layer owns what happens before the API sees a request:
the request log, injected faults and bearer-token authentication.
"""

from __future__ import annotations

import json
import os
import select
import selectors
import socket
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from .api import ApiServer, Request, Response, WatchStream
from .errors import ApiError, REASONS, unauthorized
from .faults import Access, Faults


class RequestRecord(NamedTuple):
    """One received request, as kept in ``FakeKube.requests``."""

    method: str
    path: str
    query: dict[str, str]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], frontend: "Frontend") -> None:
        self.frontend = frontend
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        self._stopping = False
        # A pipe to wake the accept loop at once on stop, instead of polling for the flag
        # (serve_forever's poll would add its interval to every test's teardown).
        self._wake_r, self._wake_w = os.pipe()
        super().__init__(address, _Handler)

    def serve_until_stopped(self) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(self, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping:
                for key, _ in sel.select():
                    if key.fileobj is self and not self._stopping:
                        self._handle_request_noblock()

    def wake_and_stop(self) -> None:
        self._stopping = True
        os.write(self._wake_w, b"x")

    def server_close(self) -> None:
        super().server_close()
        if self._wake_r >= 0:  # once only: a closed descriptor number may be reused elsewhere
            os.close(self._wake_r)
            os.close(self._wake_w)
            self._wake_r = self._wake_w = -1

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        # Without TCP_NODELAY, Nagle's algorithm and delayed ACKs hold small responses back
        # ~40 ms each: the Python client then manages ~23 requests/s instead of ~750.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._conn_lock:
            self._connections.add(sock)
        return sock, addr

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut every open connection, so idle keep-alive threads end with the server."""
        with self._conn_lock:
            conns = list(self._connections)
        for sock in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Frontend:
    """Everything the handler needs from the cluster, plus the listening server itself."""

    def __init__(self, api: ApiServer, access: Access, faults: Faults, *, host: str = "127.0.0.1",
                 port: int = 0, verbose: bool = False, name: str = "fakekube", log_size: int = 100_000) -> None:
        self.api = api
        self.access = access
        self.faults = faults
        self.verbose = verbose
        self.name = name
        self.requests: deque[RequestRecord] = deque(maxlen=log_size)
        self._server = _Server((host, port), self)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_until_stopped, name=f"fakekube-{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.wake_and_stop()
            self._thread.join(timeout=5)
            self._thread = None
        self.api.store.close_watches()
        self._server.close_connections()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and chunked responses for watches
    server: _Server

    def version_string(self) -> str:
        return "fakekube"

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        # The request line never holds credentials (tokens travel in a header), so it is safe.
        if self.server.frontend.verbose:
            sys.stderr.write(f"[{self.server.frontend.name}] {self.address_string()} {format % args}\n")

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        frontend = self.server.frontend
        # Read the whole body first, whatever happens next, so a keep-alive connection stays in sync.
        body = self._read_body()
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        frontend.requests.append(RequestRecord(self.command, url.path, query))

        fault = frontend.faults.take(self.command, url.path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if fault.status is not None:
                code = fault.status
                reason = REASONS.get(code, "InternalError")
                retry = fault.retry_after if code == 429 or code == 503 else None
                msg = fault.message or {429: "Too many requests, please try again later.",
                                        409: "Operation cannot be fulfilled: injected conflict"}.get(
                    code, f"fakekube injected fault ({code})")
                err = ApiError(code, msg, reason, retry_after=retry)
                self._send(Response(code, err.status(), err.headers))
                return

        if not frontend.access.authenticated(self.headers.get("Authorization")):
            err = unauthorized()
            self._send(Response(401, err.status(), err.headers))
            return

        result = frontend.api.handle(Request(self.command, url.path, query, self.headers, body))
        if isinstance(result, WatchStream):
            self._stream(result)
        else:
            self._send(result)

    def _send(self, resp: Response) -> None:
        if isinstance(resp.body, bytes):
            data, ctype = resp.body, "text/plain; charset=utf-8"
        else:
            data, ctype = json.dumps(resp.body, separators=(",", ":")).encode(), "application/json"
        headers = {"Content-Type": ctype, **resp.headers, "Content-Length": str(len(data))}
        self.send_response(resp.code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _stream(self, stream: WatchStream) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for line in stream.events(alive=self._client_alive):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client went away mid-stream
            self.close_connection = True
        finally:
            stream.close()

    def _client_alive(self) -> bool:
        """False once the peer has closed its end (readable with nothing to read)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if readable:
                return self.connection.recv(1, socket.MSG_PEEK) != b""
        except OSError:
            return False
        return True
