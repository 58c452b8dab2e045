"""parse_feed on the real-data corpus: no entry lost, no markup, only ParseError on bad input."""

from __future__ import annotations

import io
import unicodedata
import warnings
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning

from techwatch.errors import ParseError
from techwatch.parse.feeds import MAX_TEXT_CHARS, parse_feed
from techwatch.types import ParsedFeed

pytestmark = pytest.mark.realdata
FETCHED = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _parse(path: Path) -> ParsedFeed:
    url = f"https://feeds.example.org/{path.name}"
    return parse_feed(path.stem, path.read_bytes(), url=url, fetched_at=FETCHED)


def _raw_key(entry: feedparser.FeedParserDict) -> object:
    """What identifies an entry, computed from feedparser's output independently of dedupe.py."""
    return (entry.get("id") or "").strip() or (
        entry.get("link") or "",
        entry.get("title") or "",
        entry.get("published") or "",
    )


def _words(text: str) -> str:
    return "".join(text.split())


def _visible_text(fragment: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        return BeautifulSoup(fragment, "lxml").get_text() if fragment else ""


def _tags(text: str) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(text, "lxml")
    return [t.name for t in soup.find_all(True) if t.name not in ("html", "body", "p")]


def test_every_real_feed_parses_without_losing_entries_or_leaking_markup(realdata: Path) -> None:
    feeds = _files(realdata / "feeds")
    assert len(feeds) >= 50
    for path in feeds:
        parsed = _parse(path)
        raw = feedparser.parse(
            io.BytesIO(path.read_bytes()), sanitize_html=False, resolve_relative_uris=False
        )
        distinct = {_raw_key(e) for e in raw.entries}
        dropped = sum(
            int(w.split()[0]) for w in parsed.warnings if "duplicate entries dropped" in w
        )
        assert parsed.entries_total == len(raw.entries), path.name
        assert len(parsed.items) + dropped == parsed.entries_total, path.name
        assert len(parsed.items) >= len(distinct), path.name
        for item in parsed.items:
            where = f"{path.name}: {item.identity}"
            assert item.identity, where
            assert _tags(item.title) == [], where
            visible = _words(_visible_text(item.html))
            if len(item.text) < MAX_TEXT_CHARS:
                assert _words(item.text) == visible, where
            # a '<' in the text is an escaped &lt; of the HTML, never a surviving tag
            assert item.text.count("<") <= item.html.count("&lt;"), where
            for value in (item.title, item.text, item.html, *item.authors):
                value.encode("utf-8")
                assert not [c for c in value if unicodedata.category(c) == "Cc" and c not in "\n\t"]
            assert item.url is None or item.url.startswith(("http://", "https://")), where
            assert item.published is None or item.published.tzinfo is UTC, where


def test_real_bozo_feeds_are_kept_with_a_warning(realdata: Path) -> None:
    names = ["tech-news/techcrunch.rss", "vendor/aws-blog_atom.xml", "vendor/pypy-blog.rss"]
    for name in names:
        path = realdata / "feeds" / name
        if not path.exists():
            continue
        parsed = _parse(path)
        assert parsed.items and any("ill-formed" in w for w in parsed.warnings), name


def test_real_non_utf8_feeds_give_readable_text(realdata: Path) -> None:
    expectations = {
        "lang-fr/le-cercle-psy_no-xml-decl_iso-8859-1.rss": "é",
        "lang-other/ibash-org-ru_windows-1251.rss": "а",
        "lang-de/golem-de_rss1_iso-8859-1.rdf": "ö",
    }
    for name, letter in expectations.items():
        path = realdata / "feeds" / name
        if path.exists():
            text = " ".join(i.title + i.text for i in _parse(path).items)
            assert letter in text and "\ufffd" not in text, name


def _fixture_sample(root: Path) -> list[Path]:
    """All ill-formed, entity, encoding and JSON fixtures, and every 4th well-formed one."""
    sample: list[Path] = []
    for folder in ("illformed", "entities", "encoding", "json"):
        sample += _files(root / folder)
    sample += _files(root / "wellformed")[::4]
    return sample


def test_feedparser_fixtures_raise_nothing_but_parse_error(realdata: Path) -> None:
    sample = _fixture_sample(realdata / "feeds-feedparser-fixtures")
    assert len(sample) > 500
    outcomes = {"ok": 0, "not_a_feed": 0, "malformed": 0}
    for path in sample:
        try:
            _parse(path)
        except ParseError as error:
            outcomes[error.kind] += 1
        else:
            outcomes["ok"] += 1
    assert outcomes["ok"] > len(sample) // 2
