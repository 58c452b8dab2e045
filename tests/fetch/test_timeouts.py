"""RELIABILITY 5-6: slow or silent servers are cut off by the deadlines, as transient timeouts."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime

import pytest

from tests.fetch.helpers import LOCAL, fetch_failure
from tests.fetch.server import Handler, LocalServer

pytestmark = pytest.mark.timeout(20)


def drip(h: Handler) -> None:
    """Headers at once, then one body byte every 0.5 s: each read is quick, the whole is not."""
    h.send_response(200)
    h.send_header("Content-Length", "1000")
    h.end_headers()
    h.wfile.flush()
    while not h.local.stop.wait(0.5):
        h.wfile.write(b"x")
        h.wfile.flush()


def silent(h: Handler) -> None:
    """Accepts the connection and the request, and never answers."""
    h.local.stop.wait(15)


def test_a_dripping_server_is_stopped_at_the_total_deadline(now: datetime) -> None:
    # The read timeout alone would never fire: a byte arrives every 0.5 s.
    settings = replace(LOCAL, total_timeout_s=2.0, read_timeout_s=5.0)
    with LocalServer({"/feed": drip}) as server:
        failure = fetch_failure(server.url(), now, settings=settings)
    assert failure.error.kind == "timeout"
    assert failure.error.transient
    assert 1.9 <= failure.elapsed_s < 4.0  # without the deadline: 500 s


def test_a_server_that_never_answers_is_stopped_within_budget(now: datetime) -> None:
    settings = replace(LOCAL, total_timeout_s=1.0, read_timeout_s=10.0)
    with LocalServer({"/feed": silent}) as server:
        failure = fetch_failure(server.url(), now, settings=settings)
    assert failure.error.kind == "timeout"
    assert failure.error.transient
    assert 0.9 <= failure.elapsed_s < 3.0
    assert len(server.requests) == 1  # it did get the request: the silence is the server's


def test_the_read_timeout_fires_before_a_longer_total_deadline(now: datetime) -> None:
    settings = replace(LOCAL, total_timeout_s=10.0, read_timeout_s=0.5)
    with LocalServer({"/feed": silent}) as server:
        failure = fetch_failure(server.url(), now, settings=settings)
    assert failure.error.kind == "timeout"
    assert failure.error.transient
    assert failure.error.args[0] == "read timed out"
    assert failure.elapsed_s < 3.0


def test_the_total_deadline_spans_all_redirect_hops(now: datetime) -> None:
    def slow_hop(h: Handler) -> None:
        hop = int(h.path.partition("?")[2] or 0)
        time.sleep(0.4)
        h.reply(302, headers={"Location": f"/slow?{hop + 1}"})  # a new URL each time: no loop

    settings = replace(LOCAL, total_timeout_s=1.0, max_redirects=50)
    with LocalServer({"/slow": slow_hop}) as server:
        # Each hop is well within the read timeout; the chain as a whole is not.
        failure = fetch_failure(server.url("/slow"), now, settings=settings)
    assert failure.error.kind == "timeout"
    assert failure.elapsed_s < 3.0  # without the deadline: 50 hops of 0.4 s
    assert 2 <= len(server.requests) <= 4
