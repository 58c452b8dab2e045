"""RELIABILITY 11: conditional GET with the validators of the same URL; 304 carries no body."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime

import pytest

from techwatch.fetch import FeedClient
from techwatch.types import SourceState
from tests.fetch.helpers import LOCAL, fetch, fetch_many, make_source
from tests.fetch.server import Handler, LocalServer

pytestmark = pytest.mark.timeout(20)

ETAG = '"v1"'
LAST_MODIFIED = "Wed, 21 Oct 2026 07:28:00 GMT"


def conditional(h: Handler) -> None:
    if h.headers.get("If-None-Match") == ETAG:
        h.reply(304, headers={"ETag": ETAG})
    else:
        h.reply(200, b"<rss/>", {"ETag": ETAG, "Last-Modified": LAST_MODIFIED})


def test_validators_are_sent_and_304_returns_no_body(now: datetime) -> None:
    with LocalServer({"/feed": conditional}) as server:
        state = SourceState(
            source_id="src", url=server.url(), etag=ETAG, last_modified=LAST_MODIFIED
        )
        fetched = fetch(server.url(), now, state=state)
    seen = server.requests[0].headers
    assert seen["if-none-match"] == ETAG
    assert seen["if-modified-since"] == LAST_MODIFIED
    assert fetched.status == 304
    assert fetched.not_modified
    assert fetched.body is None
    assert fetched.etag == ETAG


def test_validators_of_another_url_are_not_sent(now: datetime) -> None:
    with LocalServer({"/feed": conditional}) as server:
        state = SourceState(source_id="src", url=server.url("/old-feed"), etag=ETAG)
        fetched = fetch(server.url(), now, state=state)
    assert "if-none-match" not in server.requests[0].headers
    assert fetched.status == 200
    assert fetched.body == b"<rss/>"
    assert fetched.last_modified == LAST_MODIFIED


def test_the_configured_user_agent_and_encodings_are_sent(now: datetime) -> None:
    settings = replace(LOCAL, user_agent="techwatch-test/9 (+ops@x)")
    with LocalServer({"/feed": conditional}) as server:
        fetch(server.url(), now, settings=settings)
    seen = server.requests[0].headers
    assert seen["user-agent"] == "techwatch-test/9 (+ops@x)"
    assert seen["accept-encoding"] == "gzip, deflate"
    assert "cookie" not in seen


def test_cookies_set_by_one_source_are_not_sent_to_the_next(now: datetime) -> None:
    def sets_cookie(h: Handler) -> None:
        h.reply(200, b"<rss/>", {"Set-Cookie": "session=abc; Path=/"})

    def plain(h: Handler) -> None:
        h.reply(200, b"<rss/>")

    with LocalServer({"/a": sets_cookie, "/b": plain}) as server:
        fetch_many([server.url("/a"), server.url("/b")], now)
    assert [r.path for r in server.requests] == ["/a", "/b"]
    assert "cookie" not in server.requests[1].headers


def test_a_header_of_the_caller_replaces_the_default_of_that_name(now: datetime) -> None:
    user_agents: list[list[str]] = []

    def record(h: Handler) -> None:
        user_agents.append(h.headers.get_all("User-Agent") or [])
        h.reply(200, b"<rss/>")

    async def run(url: str) -> None:
        async with FeedClient(LOCAL) as client:
            await client.fetch(make_source(url), None, now, headers={"user-agent": "keyed/1"})

    with LocalServer({"/feed": record}) as server:
        asyncio.run(run(server.url()))
    assert user_agents == [["keyed/1"]]
