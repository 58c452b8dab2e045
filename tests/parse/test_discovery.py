"""A web page where a feed was expected: the error names the feeds the page advertises."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from techwatch.errors import ParseError
from techwatch.parse.discovery import advertised_feeds
from techwatch.parse.feeds import parse_feed

PAGE = b"""<!DOCTYPE html><html><head><title>Blog</title>
<link rel="stylesheet" href="/site.css">
<link rel="alternate" type="application/rss+xml" title="RSS" href="/feed.xml">
<link rel="Alternate" type="application/atom+xml; charset=utf-8" href="https://cdn.example.org/atom">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
<link rel="alternate" hreflang="de" href="/de/">
</head><body><p>Hello</p></body></html>"""


def test_alternate_feed_links_are_found_and_resolved() -> None:
    assert advertised_feeds(PAGE, "https://blog.example.org/news/") == [
        "https://blog.example.org/feed.xml",
        "https://cdn.example.org/atom",
    ]


def test_a_page_without_feed_links_advertises_nothing() -> None:
    assert advertised_feeds(b"<html><head></head><body>x</body></html>", "https://a.org/") == []


def test_not_a_feed_error_names_the_advertised_feed() -> None:
    with pytest.raises(ParseError) as info:
        parse_feed("blog", PAGE, url="https://blog.example.org/", fetched_at=datetime.now(UTC))
    assert info.value.kind == "not_a_feed"
    assert "https://blog.example.org/feed.xml" in str(info.value)
