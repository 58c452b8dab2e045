"""The benchmarks' feed server answers as the demo server does, byte for byte (Date aside)."""

from __future__ import annotations

import asyncio
import re
import socket
from datetime import UTC, datetime

import pytest

from techwatch.demo.server import Site, serve
from techwatch.fetch import FeedClient
from techwatch.types import Fetched, FetchSettings, Source, SourceState
from tests.benches import BENCH, load_bench

DOCUMENTS = {"/feed0.rss": b"<rss>zero</rss>", "/feed1.rss": b"<rss>one</rss>" * 50}


def _demo_answer(base_url: str, path: str, if_none_match: str | None) -> bytes:
    """One GET to the demo server; the whole answer as it came over the socket."""
    port = int(base_url.rsplit(":", 1)[1])
    extra = f"If-None-Match: {if_none_match}\r\n" if if_none_match else ""
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n"
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request.encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_answers_are_the_demo_servers_bytes_for_200_304_and_404() -> None:
    feedgen = load_bench("feedgen")
    answers = feedgen.FeedAnswers(DOCUMENTS)
    with serve(Site(documents=dict(DOCUMENTS))) as base_url:
        first = _demo_answer(base_url, "/feed1.rss?x=1", None)
        etag = re.search(rb"ETag: (\S+)", first)
        assert etag is not None
        cases = [
            ("/feed1.rss?x=1", None, first),
            (
                "/feed1.rss",
                etag.group(1),
                _demo_answer(base_url, "/feed1.rss", etag.group(1).decode()),
            ),
            (
                "/feed0.rss",
                etag.group(1),
                _demo_answer(base_url, "/feed0.rss", etag.group(1).decode()),
            ),
            ("/missing.rss", None, _demo_answer(base_url, "/missing.rss", None)),
        ]
    statuses = []
    for path, if_none_match, demo in cases:
        date = re.search(rb"Date: ([^\r]+)", demo)
        assert date is not None
        assert answers.answer(path.split("?")[0], if_none_match, date.group(1)) == demo
        statuses.append(demo.split(b" ", 2)[1])
    assert statuses == [b"200", b"304", b"200", b"404"]


def test_the_server_process_answers_techwatch_with_200_then_304_on_kept_alive_connections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(BENCH))  # the spawned server process imports feedgen
    import feedgen

    server, base_url = feedgen.start_feed_server(3, 2, (0.0, 0.01))
    try:
        first, second = asyncio.run(_fetch_twice(base_url, 3))
    finally:
        server.terminate()
    assert [f.status for f in first] == [200, 200, 200]
    assert [f.body for f in first] == [feedgen.rss_feed(i, 2) for i in range(3)]
    assert [f.status for f in second] == [304, 304, 304]


async def _fetch_twice(base_url: str, feeds: int) -> tuple[list[Fetched], list[Fetched]]:
    settings = FetchSettings(allow_private_networks=True, concurrency=2)
    now = datetime.now(UTC)
    sources = [
        Source(id=f"f{i}", name="f", kind="feed", url=f"{base_url}/feed{i}.rss", category="press")
        for i in range(feeds)
    ]
    async with FeedClient(settings) as client:
        first = [await client.fetch(s, None, now) for s in sources]
        states = [
            SourceState(source_id=s.id, url=s.url, etag=f.etag, last_modified=f.last_modified)
            for s, f in zip(sources, first, strict=True)
        ]
        second = [await client.fetch(s, st, now) for s, st in zip(sources, states, strict=True)]
    return first, second
