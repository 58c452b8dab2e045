"""RELIABILITY 12 and the status table: transient or terminal answers, Retry-After forms."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.fetch.helpers import LOCAL, fetch_failure
from tests.fetch.server import Handler, LocalServer

pytestmark = pytest.mark.timeout(20)


def answering(status: int, headers: dict[str, str] | None = None) -> LocalServer:
    def route(h: Handler) -> None:
        h.reply(status, b"nope", headers)

    return LocalServer({"/feed": route})


@pytest.mark.parametrize(
    ("status", "retry_after", "kind", "delay"),
    [
        (429, "120", "rate_limited", timedelta(seconds=120)),
        (503, "120", "http_5xx", timedelta(seconds=120)),
        (429, "date+300", "rate_limited", timedelta(seconds=300)),
        (503, "date+300", "http_5xx", timedelta(seconds=300)),
        (429, "999999999", "rate_limited", timedelta(hours=2)),  # capped
        (503, "date+30d", "http_5xx", timedelta(hours=2)),  # capped
        (429, "soon", "rate_limited", None),  # unreadable: ignored
        (503, None, "http_5xx", None),
    ],
)
def test_retry_after_is_read_in_both_forms_and_capped(
    now: datetime, status: int, retry_after: str | None, kind: str, delay: timedelta | None
) -> None:
    headers = {}
    if retry_after == "date+300":
        headers["Retry-After"] = format_datetime(now + timedelta(seconds=300), usegmt=True)
    elif retry_after == "date+30d":
        headers["Retry-After"] = format_datetime(now + timedelta(days=30), usegmt=True)
    elif retry_after is not None:
        headers["Retry-After"] = retry_after
    settings = replace(LOCAL, retry_after_max_s=2 * 3600)
    with answering(status, headers) as server:
        failure = fetch_failure(server.url(), now, settings=settings)
    assert failure.error.kind == kind
    assert failure.error.transient
    assert failure.error.status == status
    assert failure.error.retry_after == (now + delay if delay is not None else None)


@pytest.mark.parametrize(
    ("status", "kind", "transient"),
    [
        (500, "http_5xx", True),
        (502, "http_5xx", True),
        (504, "http_5xx", True),
        (408, "timeout", True),
        (400, "http_4xx", False),
        (403, "http_4xx", False),
        (404, "http_4xx", False),
        (410, "http_4xx", False),
        (300, "redirects", False),
    ],
)
def test_status_codes_are_transient_or_terminal(
    now: datetime, status: int, kind: str, transient: bool
) -> None:
    with answering(status) as server:
        failure = fetch_failure(server.url(), now)
    assert failure.error.kind == kind
    assert failure.error.transient is transient
    assert failure.error.status == status
    assert failure.error.args[0].startswith(f"HTTP {status}")


def test_a_refused_connection_is_transient(now: datetime) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    failure = fetch_failure(f"http://127.0.0.1:{port}/feed", now)
    assert failure.error.kind == "connection"
    assert failure.error.transient
    assert failure.error.args[0] == "connection refused"


def test_a_connection_closed_without_answer_is_transient(now: datetime) -> None:
    def hang_up(h: Handler) -> None:
        h.close_connection = True  # the handler closes the socket without writing anything

    with LocalServer({"/feed": hang_up}) as server:
        failure = fetch_failure(server.url(), now)
    assert failure.error.kind == "connection"
    assert failure.error.transient
