"""A real HTTP(S) server on a loopback address, run in a thread, for the fetch tests.

Each path maps to a route: a function that receives the request handler and answers however the
test needs (drip, hang, lie about sizes...). The server records every accepted TCP connection and
every request, so tests can assert what reached it, or that nothing did.
"""

from __future__ import annotations

import socket
import socketserver
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

Route = Callable[["Handler"], None]


@dataclass(frozen=True)
class Seen:
    """One request as the server received it; header names lower-cased."""

    path: str
    headers: dict[str, str]


class Handler(BaseHTTPRequestHandler):
    """Dispatches GET requests to the routes of the owning LocalServer."""

    protocol_version = "HTTP/1.1"  # keep-alive and chunked bodies, like real feed servers
    timeout = 10  # an idle keep-alive connection ends its thread after this
    disable_nagle_algorithm = True  # else headers and body wait 40 ms for a delayed ACK
    server: _Server

    @property
    def local(self) -> LocalServer:
        return self.server.owner

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.local.requests.append(Seen(path, {k.lower(): v for k, v in self.headers.items()}))
        route = self.local.routes.get(path)
        if route is None:
            self.reply(404, b"no such route")
            return
        route(self)

    def reply(
        self, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> None:
        """A complete answer with a correct Content-Length unless the test sets its own."""
        self.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: aborted connections are the point of many tests."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: LocalServer, host: str, tls: ssl.SSLContext | None) -> None:
        self.owner = owner
        self.tls = tls
        super().__init__((host, 0), Handler)  # port 0: the system picks a free port

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call getfqdn(), a reverse lookup we do not need.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def get_request(self) -> tuple[socket.socket, object]:
        sock, address = self.socket.accept()
        self.owner.connections += 1  # counted before any TLS handshake
        if self.tls is None:
            return sock, address
        sock.settimeout(5)
        return self.tls.wrap_socket(sock, server_side=True), address

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that hang up mid-answer are expected; nothing to report."""


class LocalServer:
    """`with LocalServer({"/feed": route}) as server: server.url("/feed")`."""

    def __init__(
        self,
        routes: Mapping[str, Route],
        *,
        host: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.routes = dict(routes)
        self.connections = 0
        self.requests: list[Seen] = []
        self.stop = threading.Event()  # routes that wait or drip end when the test ends
        self._server = _Server(self, host, tls)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))
        self._scheme = "https" if tls else "http"

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/feed") -> str:
        return f"{self._scheme}://{self.host}:{self.port}{path}"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
