"""RELIABILITY 10: an invalid certificate fails closed, once, with no insecure retry."""

from __future__ import annotations

import ssl
from datetime import datetime

import pytest

from tests.fetch.helpers import fetch_failure
from tests.fetch.server import Handler, LocalServer

pytestmark = pytest.mark.timeout(20)


def test_a_self_signed_certificate_is_refused_without_retry(
    now: datetime, self_signed_tls: ssl.SSLContext
) -> None:
    def feed(h: Handler) -> None:
        h.reply(200, b"<rss/>")

    with LocalServer({"/feed": feed}, tls=self_signed_tls) as server:
        failure = fetch_failure(server.url(), now)
    assert server.url().startswith("https://")
    assert failure.error.kind == "tls"
    assert not failure.error.transient
    assert "certificate" in failure.error.args[0]
    assert server.connections == 1  # one handshake attempt, no second try of any kind
    assert server.requests == []  # no request was sent over an unverified channel
