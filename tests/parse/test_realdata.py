"""parse_feed on the real-data corpus: no entry lost, no markup, only ParseError on bad input."""

from __future__ import annotations

import html
import io
import unicodedata
import warnings
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from techwatch import clean
from techwatch.errors import ParseError
from techwatch.parse import feeds
from techwatch.parse.feeds import MAX_TEXT_CHARS, parse_feed
from techwatch.types import ParsedFeed
from tests.html_reference import fold_blocks, mark_blocks

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


def _reference_html_to_text(fragment: str, *, sanitized: bool = False) -> str:
    """html_to_text as it was before its block marks became one zero-width substitution."""
    if not fragment or not fragment.strip():
        return ""
    safe = fragment if sanitized else clean._BLOCK_KEEPER.clean(clean.strip_controls(fragment))
    return fold_blocks(html.unescape(clean._NORMALISED_TAG.sub("", mark_blocks(safe))))


def _reference_sanitize_html(fragment: str, base: str | None = None) -> str:
    """sanitize_html as it was before stable fragments skipped the second clean."""
    if not fragment:
        return ""
    cleaner = clean._cleaner(base)
    return clean._clean_until_stable(cleaner, cleaner.clean(clean.strip_controls(fragment)).strip())


def _parse_all(paths: list[Path]) -> list[ParsedFeed | str]:
    results: list[ParsedFeed | str] = []
    for path in paths:
        try:
            results.append(_parse(path))
        except ParseError as error:
            results.append(f"{error.kind}: {error}")
    return results


def test_speed_ups_store_exactly_what_the_stock_components_stored(
    realdata: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same items, field for field, with feedparser's own cp1252 dict, translate on every
    text, deepcopy and URL join (feedparser_tuning), FeedParserDict.get, py3langid's float16
    model called once per entry, every fragment cleaned until stable, and the two-pass block
    marking as with the faster versions that replaced them."""
    paths = _files(realdata / "feeds") + _fixture_sample(realdata / "feeds-feedparser-fixtures")
    faster = _parse_all(paths)
    stock_model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    assert stock_model.nb_ptc.dtype != clean._identifier().nb_ptc.dtype
    monkeypatch.setattr(feedparser.mixin, "_cp1252", feedparser.html._cp1252)
    stock_pop = feedparser.mixin._FeedParserMixin.pop.__wrapped__
    monkeypatch.setattr(feedparser.mixin._FeedParserMixin, "pop", stock_pop)
    monkeypatch.setattr(feedparser.mixin, "_urljoin", feedparser.mixin._urljoin.__wrapped__)
    plain_get = feeds._plain_get
    monkeypatch.setattr(
        feeds, "_plain_get", lambda m, k: plain_get(m, k) if k.endswith("_parsed") else m.get(k)
    )
    monkeypatch.setattr(clean, "_identifier", lambda: stock_model)
    monkeypatch.setattr(
        feeds, "detect_languages", lambda texts: [clean.detect_language(t) for t in texts]
    )
    monkeypatch.setattr(feeds, "html_to_text", _reference_html_to_text)
    monkeypatch.setattr(feeds, "sanitize_html", _reference_sanitize_html)
    stock = _parse_all(paths)
    assert sum(len(r.items) for r in stock if isinstance(r, ParsedFeed)) > 1500
    assert sum(bool(i.language) for r in stock if isinstance(r, ParsedFeed) for i in r.items) > 500
    for path, before, after in zip(paths, stock, faster, strict=True):
        assert after == before, path.name


def test_batched_language_detection_scores_every_real_entry_as_py3langid_does(
    realdata: Path,
) -> None:
    """Language and confidence, bit for bit, for every entry of every real feed, scored a
    feed at a time as parse_feed does."""
    identifier = clean._identifier()
    entries = 0
    for path in _files(realdata / "feeds"):
        samples = [f"{i.title}\n{i.text}"[:300] for i in _parse(path).items]
        entries += len(samples)
        expected = [identifier.classify(sample) for sample in samples]
        assert clean._batch_scores(identifier, samples) == expected, path.name
    assert entries > 1500
