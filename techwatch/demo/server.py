"""A small HTTP server on 127.0.0.1 that serves feed documents like a well-behaved publisher.

It answers conditional requests (ETag / Last-Modified -> 304), can add latency, and can play
a few failure roles (404, 503 with Retry-After). The demo, the flow tests and the benchmark
use it, so ingestion is always exercised over real HTTP.
"""

from __future__ import annotations

import hashlib
import mimetypes
import random
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

LAST_MODIFIED = formatdate(1_795_000_000, usegmt=True)


@dataclass
class Site:
    """What the server serves: documents by path, and paths that fail on purpose."""

    documents: dict[str, bytes] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    unavailable: dict[str, int] = field(default_factory=dict)  # path -> Retry-After seconds
    fail_first: dict[str, int] = field(default_factory=dict)  # path -> 503s before it works
    latency_s: tuple[float, float] = (0.0, 0.0)
    hits: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_folder(cls, folder: Path) -> Site:
        docs = {f"/{p.name}": p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
        return cls(documents=docs)

    def count(self, path: str) -> int:
        """Record a request; returns how many requests this path has had, this one included."""
        with self.lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            return self.hits[path]


def entity_tag(body: bytes) -> str:
    """The ETag the demo serves for `body` (the benches' feed server answers with the same)."""
    return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


def _content_type(path: str) -> str:
    if path.endswith((".rss", ".xml")):
        return "application/rss+xml"
    if path.endswith(".atom"):
        return "application/atom+xml"
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            hit = site.count(path)
            low, high = site.latency_s
            if high > 0:
                time.sleep(random.uniform(low, high))
            if path in site.gone or (path not in site.documents and path not in site.unavailable):
                self._send(404, b"not found", "text/plain")
                return
            if hit <= site.fail_first.get(path, 0):
                self._send(503, b"warming up", "text/plain")
                return
            if path in site.unavailable:
                self._send(
                    503, b"try later", "text/plain", {"Retry-After": str(site.unavailable[path])}
                )
                return
            body = site.documents[path]
            etag = entity_tag(body)
            headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
            if self.headers.get("If-None-Match") == etag:
                self._send(304, b"", None, headers)
                return
            self._send(200, body, _content_type(path), headers)

        def _send(
            self,
            status: int,
            body: bytes,
            ctype: str | None,
            headers: Mapping[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Silent: the demo prints its own summary."""

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


@contextmanager
def serve(site: Site, port: int = 0, *, any_port_if_busy: bool = True) -> Iterator[str]:
    """Serve `site` on 127.0.0.1 in a background thread; yields the base URL."""
    try:
        server = _Server(("127.0.0.1", port), _handler(site))
    except OSError:
        if not any_port_if_busy or port == 0:
            raise
        server = _Server(("127.0.0.1", 0), _handler(site))
    thread = threading.Thread(target=server.serve_forever, name="feed-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
