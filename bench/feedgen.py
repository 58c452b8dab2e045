"""Synthetic feeds for benchmarks: realistic sizes and markup, deterministic from a seed."""

from __future__ import annotations

import argparse
import multiprocessing
import random
import socketserver
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formatdate
from typing import Any
from xml.sax.saxutils import escape

from techwatch.demo.server import LAST_MODIFIED, entity_tag

_VOCABULARY = """
security update vulnerability patch firewall exchange server ransomware attack cloud
microsoft fortinet synology wordpress plugin release version licence price support end
sécurité mise à jour vulnérabilité attaque correctif logiciel données protection
Sicherheit Schwachstelle Angriff Aktualisierung Daten Schutz Anbieter Dienst Ausfall
customers users administrators exploit remote code execution authentication bypass
"""
WORDS = _VOCABULARY.split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def entry_html(rng: random.Random, target_bytes: int) -> str:
    """Paragraphs, a list and links, until about `target_bytes` of HTML."""
    parts: list[str] = []
    size = 0
    while size < target_bytes:
        kind = rng.random()
        if kind < 0.6:
            href = f"https://example.org/{rng.randint(1, 10**6)}?utm_source=rss"
            words = _sentence(rng, rng.randint(12, 30))
            chunk = f'<p>{words} <a href="{href}">{rng.choice(WORDS)}</a></p>'
        elif kind < 0.8:
            items = "".join(f"<li>{_sentence(rng, 6)}</li>" for _ in range(3))
            chunk = f"<ul>{items}</ul>"
        else:
            chunk = f"<p><strong>{_sentence(rng, 5)}</strong> <em>{_sentence(rng, 8)}</em></p>"
        parts.append(chunk)
        size += len(chunk)
    return "".join(parts)


def rss_feed(index: int, entries: int, seed: int = 7) -> bytes:
    """An RSS 2.0 feed of `entries` items with 1-3 KB of HTML each."""
    rng = random.Random(seed * 100_003 + index)
    base = datetime(2026, 11, 27, tzinfo=UTC)
    items = []
    for n in range(entries):
        published = format_datetime(base - timedelta(hours=n * 3 + index % 7))
        html = entry_html(rng, rng.randint(1000, 3000))
        title = escape(_sentence(rng, rng.randint(5, 11)))
        items.append(
            f"<item><title>{title}</title>"
            f"<link>https://news{index}.example.org/articles/{n}?utm_medium=rss</link>"
            f'<guid isPermaLink="false">feed{index}-entry{n}</guid>'
            f"<pubDate>{published}</pubDate>"
            f"<description>{escape(html)}</description></item>"
        )
    body = "".join(items)
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Bench feed {index}</title><link>https://news{index}.example.org/</link>"
        f"<description>Synthetic feed {index}</description>{body}</channel></rss>"
    ).encode()


def sources_yaml(base_url: str, feeds: int, concurrency: int) -> str:
    """The sources.yml of the ingestion bench: one feed source per generated feed."""
    lines = [
        "settings:",
        "  allow_private_networks: true",
        f"  concurrency: {concurrency}",
        "sources:",
    ]
    for i in range(feeds):
        lines += [
            f"  - id: bench-{i}",
            f"    name: Bench feed {i}",
            "    kind: feed",
            f"    url: {base_url}/feed{i}.rss",
            "    category: press",
        ]
    return "\n".join(lines) + "\n"


def start_feed_server(
    feeds: int, entries: int, latency: tuple[float, float]
) -> tuple[multiprocessing.process.BaseProcess, str]:
    """A feed server process for a benchmark, and its base URL: `feeds` feeds of `entries`
    entries at /feed{i}.rss, each answer delayed by `latency` seconds (min, max). Its own
    process, so that its threads take nothing from the measured one; `terminate()` it."""
    ctx = multiprocessing.get_context("spawn")
    port_q = ctx.Queue()
    server = ctx.Process(target=_serve_forever, args=(feeds, entries, latency, port_q), daemon=True)
    server.start()
    return server, port_q.get(timeout=120)


class FeedAnswers:
    """The demo server's answers (techwatch.demo.server), byte for byte, built once per feed.

    The bench's server shares the 2 cores with the measured process: the demo server's header
    parsing (http.server), ETag hash per request and two writes per answer took ~0.55 ms of CPU
    per answer; with these, ~0.2 ms. A thread per connection is kept: an asyncio server of the
    same answers used as little CPU but answered late under load (fetch-only wall +30 %).
    """

    def __init__(self, documents: dict[str, bytes]) -> None:
        self._ok: dict[str, tuple[bytes, bytes]] = {}  # path -> (headers after Date, body)
        self._etags: dict[str, bytes] = {}
        for path, body in documents.items():
            etag = entity_tag(body).encode()
            self._etags[path] = etag
            self._ok[path] = (_validators(etag) + _length(len(body)), body)

    def answer(self, path: str, if_none_match: bytes | None, date: bytes) -> bytes:
        """The whole HTTP/1.1 response to a GET of `path`."""
        head = b"Server: " + _SERVER + b"\r\nDate: " + date + b"\r\n"
        etag = self._etags.get(path)
        if etag is None:
            return b"HTTP/1.1 404 Not Found\r\n" + head + _NOT_FOUND
        if if_none_match == etag:
            return b"HTTP/1.1 304 Not Modified\r\n" + head + _validators(etag) + _length(0)
        rest, body = self._ok[path]
        return b"HTTP/1.1 200 OK\r\n" + head + _RSS + rest + body


_SERVER = f"BaseHTTP/0.6 Python/{sys.version.split()[0]}".encode()
_RSS = b"Content-Type: application/rss+xml\r\n"
_NOT_FOUND = b"Content-Type: text/plain\r\nContent-Length: 9\r\n\r\nnot found"


def _validators(etag: bytes) -> bytes:
    return b"ETag: " + etag + b"\r\nLast-Modified: " + LAST_MODIFIED.encode() + b"\r\n"


def _length(n: int) -> bytes:
    return f"Content-Length: {n}\r\n\r\n".encode()


class _Connection(socketserver.BaseRequestHandler):
    """One keep-alive connection in a thread of its own, as in the demo server: each request
    answered after a random latency, one at a time."""

    answers: FeedAnswers
    latency: tuple[float, float]

    def handle(self) -> None:
        buffer = b""
        while True:
            while (end := buffer.find(b"\r\n\r\n")) < 0:
                data = self.request.recv(65536)
                if not data:
                    return
                buffer += data
            head, buffer = buffer[:end], buffer[end + 4 :]
            time.sleep(random.uniform(*self.latency))
            lines = head.split(b"\r\n")
            path = lines[0].split(b" ")[1].split(b"?", 1)[0].decode()
            fields = dict(_field(line) for line in lines[1:])
            self.request.sendall(self.answers.answer(path, fields.get(b"if-none-match"), _now()))
            if fields.get(b"connection", b"").lower() == b"close":
                return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    request_queue_size = 256


def _field(line: bytes) -> tuple[bytes, bytes]:
    name, _, value = line.partition(b":")
    return name.strip().lower(), value.strip()


def _now() -> bytes:
    return formatdate(time.time(), usegmt=True).encode()


def _serve_forever(feeds: int, entries: int, latency: tuple[float, float], port_q: Any) -> None:
    handler = type(
        "Handler",
        (_Connection,),
        {
            "answers": FeedAnswers({f"/feed{i}.rss": rss_feed(i, entries) for i in range(feeds)}),
            "latency": latency,
        },
    )
    with _Server(("127.0.0.1", 0), handler) as server:
        port_q.put(f"http://127.0.0.1:{server.server_address[1]}")
        server.serve_forever()


def add_workload_arguments(parser: argparse.ArgumentParser) -> None:
    """The served workload of issue 2's benchmark, the same options for every feed bench."""
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--entries", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, nargs=2, default=(20.0, 50.0))
    parser.add_argument(
        "--batch-size", type=int, help="sources per batch (default: techwatch.ingest.BATCH_SOURCES)"
    )
