"""RELIABILITY 1-4: bodies are capped and decoded with bounded memory; odd encodings refused."""

from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib
from datetime import datetime

import pytest

from tests.fetch.helpers import MiB, fetch, fetch_failure
from tests.fetch.server import Handler, LocalServer

pytestmark = pytest.mark.timeout(20)

FEED = b"<rss><channel><title>ok</title></channel></rss>"


def test_a_plain_body_is_returned_with_its_metadata(now: datetime) -> None:
    def feed(h: Handler) -> None:
        h.reply(200, FEED, {"Content-Type": "application/rss+xml", "ETag": '"v1"'})

    with LocalServer({"/feed": feed}) as server:
        fetched = fetch(server.url(), now)
    assert fetched.status == 200
    assert fetched.body == FEED
    assert fetched.content_type == "application/rss+xml"
    assert fetched.etag == '"v1"'
    assert fetched.final_url == fetched.url == server.url()
    assert fetched.fetched_at == now


def test_content_length_over_the_cap_is_refused_before_reading(now: datetime) -> None:
    def huge(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(50 * MiB))
        h.end_headers()
        h.wfile.flush()
        h.local.stop.wait(10)  # the body never comes: only the header can trigger the refusal

    with LocalServer({"/feed": huge}) as server:
        failure = fetch_failure(server.url(), now)
    assert failure.error.kind == "too_large"
    assert not failure.error.transient
    assert str(failure.error.args[0]) == "body exceeds 1.0 MiB cap"
    assert failure.elapsed_s < 2


def test_a_chunked_body_growing_past_the_cap_is_stopped(now: datetime) -> None:
    sent = []

    def endless(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        chunk = b"x" * 65536
        for _ in range(1600):  # 100 MiB at most, should the client never stop
            if h.local.stop.is_set():
                return
            h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent.append(len(chunk))

    with LocalServer({"/feed": endless}) as server:
        failure = fetch_failure(server.url(), now)
    assert failure.error.kind == "too_large"
    assert sum(sent) < 20 * MiB  # stopped near the cap, not at the end of the stream


def test_a_gzip_bomb_is_stopped_quickly_with_bounded_memory(
    now: datetime, gzip_bomb: bytes
) -> None:
    assert len(gzip_bomb) < 300 * 1024

    def bomb(h: Handler) -> None:
        h.reply(200, gzip_bomb, {"Content-Encoding": "gzip"})

    with LocalServer({"/feed": bomb}) as server:
        tracemalloc.start()
        try:
            started = time.monotonic()
            failure = fetch_failure(server.url(), now)
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert failure.error.kind == "too_large"
    assert elapsed < 3
    assert peak < 8 * MiB  # cap 1 MiB; 200 MiB would be there without the cap


@pytest.mark.parametrize(
    "encoding_headers",
    [
        pytest.param([("Content-Encoding", "gzip, gzip, gzip, gzip")], id="one-header"),
        pytest.param(
            [("Content-Encoding", "gzip"), ("Content-Encoding", "gzip")], id="two-headers"
        ),
        pytest.param([("Content-Encoding", "deflate, gzip")], id="mixed"),
    ],
)
def test_stacked_content_encodings_are_rejected(
    now: datetime, encoding_headers: list[tuple[str, str]]
) -> None:
    body = FEED
    for _ in encoding_headers[0][1].split(","):
        body = gzip.compress(body)

    def stacked(h: Handler) -> None:
        h.send_response(200)
        for name, value in encoding_headers:
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    with LocalServer({"/feed": stacked}) as server:
        failure = fetch_failure(server.url(), now)
    assert failure.error.kind == "bad_encoding"
    assert "stacked" in failure.error.args[0]


def test_an_encoding_we_did_not_advertise_is_rejected(now: datetime) -> None:
    def brotli(h: Handler) -> None:
        h.reply(200, b"\x8b\x02\x80hello\x03", {"Content-Encoding": "br"})

    with LocalServer({"/feed": brotli}) as server:
        failure = fetch_failure(server.url(), now)
    assert failure.error.kind == "bad_encoding"
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize(
    ("coding", "body"),
    [
        pytest.param("gzip", gzip.compress(FEED), id="gzip"),
        pytest.param("x-gzip", gzip.compress(FEED), id="x-gzip"),
        pytest.param("deflate", zlib.compress(FEED), id="deflate-zlib"),
        pytest.param("deflate", zlib.compress(FEED, wbits=-15), id="deflate-raw"),
        pytest.param("identity", FEED, id="identity"),
    ],
)
def test_supported_encodings_are_decoded(now: datetime, coding: str, body: bytes) -> None:
    def encoded(h: Handler) -> None:
        h.reply(200, body, {"Content-Encoding": coding})

    with LocalServer({"/feed": encoded}) as server:
        fetched = fetch(server.url(), now)
    assert fetched.body == FEED


def test_a_corrupt_gzip_body_is_a_bad_encoding(now: datetime) -> None:
    def corrupt(h: Handler) -> None:
        h.reply(200, b"\x1f\x8b\x08\x00garbage-garbage-garbage", {"Content-Encoding": "gzip"})

    with LocalServer({"/feed": corrupt}) as server:
        failure = fetch_failure(server.url(), now)
    assert failure.error.kind == "bad_encoding"
