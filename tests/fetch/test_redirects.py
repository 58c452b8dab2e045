"""RELIABILITY 7 and 9: redirects are followed by hand, bounded, and every hop is checked."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.fetch.helpers import fetch, fetch_failure
from tests.fetch.server import Handler, LocalServer

pytestmark = pytest.mark.timeout(20)


def chain(h: Handler) -> None:
    """/hop?n redirects to /hop?n-1 until /hop?0, which is the feed."""
    left = int(h.path.partition("?")[2])
    if left == 0:
        h.reply(200, b"<rss/>")
    else:
        h.reply(301, headers={"Location": f"/hop?{left - 1}"})


def test_five_redirects_are_followed_to_the_final_url(now: datetime) -> None:
    with LocalServer({"/hop": chain}) as server:
        fetched = fetch(server.url("/hop?5"), now)
    assert fetched.status == 200
    assert fetched.body == b"<rss/>"
    assert fetched.url == server.url("/hop?5")
    assert fetched.final_url == server.url("/hop?0")


def test_six_redirects_are_too_many(now: datetime) -> None:
    with LocalServer({"/hop": chain}) as server:
        failure = fetch_failure(server.url("/hop?6"), now)
    assert failure.error.kind == "redirects"
    assert not failure.error.transient
    assert failure.error.args[0] == "more than 5 redirects"
    assert len(server.requests) == 6  # the sixth Location is never requested


def test_a_redirect_loop_is_detected(now: datetime) -> None:
    def a(h: Handler) -> None:
        h.reply(302, headers={"Location": "/b"})

    def b(h: Handler) -> None:
        h.reply(307, headers={"Location": "/a"})

    with LocalServer({"/a": a, "/b": b}) as server:
        failure = fetch_failure(server.url("/a"), now)
    assert failure.error.kind == "redirects"
    assert "loop" in failure.error.args[0]
    assert [seen.path for seen in server.requests] == ["/a", "/b"]


def test_a_redirect_without_location_is_an_error(now: datetime) -> None:
    def broken(h: Handler) -> None:
        h.reply(302)

    with LocalServer({"/feed": broken}) as server:
        failure = fetch_failure(server.url(), now)
    assert failure.error.kind == "redirects"


@pytest.mark.parametrize(
    "location",
    ["file:///etc/passwd", "ftp://127.0.0.1/feed.xml", "data:text/xml,<rss/>", "gopher://x/"],
)
def test_a_redirect_to_another_scheme_is_refused(now: datetime, location: str) -> None:
    def away(h: Handler) -> None:
        h.reply(302, headers={"Location": location})

    with LocalServer({"/feed": away}) as server:
        failure = fetch_failure(server.url(), now)
    assert failure.error.kind == "bad_url"
    assert not failure.error.transient
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/feed", "data:,x", "example.org/feed"]
)
def test_a_source_url_with_another_scheme_is_refused_without_io(now: datetime, url: str) -> None:
    # sources.yml validation rejects these first (config); the fetch layer refuses them again.
    failure = fetch_failure(url, now)
    assert failure.error.kind == "bad_url"
