"""Feed bytes -> ParsedFeed: feedparser for the XML, nh3 for safe HTML, lxml for plain text.

Pure and CPU-bound; it runs inside a parse worker (see pool.py) because feedparser can spend
seconds on hostile input and a thread cannot be interrupted. feedparser only ever sees bytes
wrapped in a BytesIO: given a str it fetches URLs or opens files, and given bare bytes that look
like a path (b"/etc/passwd") it opens that file too.

feedparser's own sanitizer and relative-URI resolution are switched off: they cost two thirds of
its time per entry, and nh3 does both faster with a stricter allowlist (see techwatch.clean).
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import feedparser

from techwatch.clean import (
    canonical_url,
    detect_languages,
    html_to_line,
    html_to_text,
    markup_to_text,
    normalize_language,
    normalize_line,
    normalize_text,
    resolve_http_url,
    sanitize_html,
    strip_controls,
    text_to_html,
    too_deeply_nested,
    truncate,
)
from techwatch.dedupe import content_hash, dedupe_within_feed, entry_identity
from techwatch.errors import ParseError
from techwatch.parse import feedparser_tuning
from techwatch.parse.cve_ids import find_cves
from techwatch.parse.discovery import advertised_feeds
from techwatch.types import ParsedFeed, ParsedItem

feedparser_tuning.install()  # same output, less time: see the module

# Caps on what one entry may put in the store; the pool's time budget is the real guard.
MAX_ENTRIES: Final = 2000
MAX_TITLE_CHARS: Final = 1000
MAX_TITLE_INPUT_CHARS: Final = 16 * 1024
MAX_HTML_INPUT_CHARS: Final = 512 * 1024
MAX_TEXT_CHARS: Final = 50_000
MAX_AUTHORS: Final = 10
MAX_AUTHOR_CHARS: Final = 200
MAX_WARNING_CHARS: Final = 300

# Dates outside [1990, fetched_at + 2 days] are typos, epoch zeros or scheduled posts: not real.
EARLIEST_PUBLISHED: Final = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE: Final = timedelta(days=2)

_FIRST_ELEMENT_RE: Final = re.compile(rb"<[A-Za-z_]")
# A declaration up to its closing '>', quoted values may contain '>'; linear (disjoint branches).
_ENTITY_DECL_RE: Final = re.compile(rb"<!ENTITY\s(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")
_ALIAS_ENTITY_RE: Final = re.compile(rb"<!ENTITY\s+[\w.-]+\s+(?:\"&#\w{1,8};\"|'&#\w{1,8};')\s*>")
# Candidates only (surrogate-looking or long); _fix_char_ref decides on the value.
_CHAR_REF_RE: Final = re.compile(
    rb"&#(?:[xX]0*([dD][89a-fA-F][0-9a-fA-F]{2}|[0-9a-fA-F]{6,})|0*(\d{5,}));"
)
_HTML_TYPES: Final = ("html",)  # text/html and application/xhtml+xml
# bozo reasons that say nothing about the document: feedparser flags a missing or non-XML
# Content-Type even when the body is a perfectly good feed.
_BENIGN_BOZO: Final = (feedparser.NonXMLContentType,)


def parse_feed(
    source_id: str,
    body: bytes,
    *,
    url: str,
    content_type: str | None = None,
    declared_language: str | None = None,
    fetched_at: datetime,
) -> ParsedFeed:
    """Parse one fetched document into cleaned, de-duplicated items.

    Raises ParseError(kind="not_a_feed") for an empty body, an HTML page, JSON or anything else
    feedparser finds no feed in, and ParseError(kind="malformed") when a broken document yields
    no entry at all. A broken document that still yields entries is kept, with a warning.
    """
    if not body.strip():
        raise ParseError("empty body", kind="not_a_feed", source_id=source_id, url=url)
    body, removed = scrub_entity_declarations(body)
    body = replace_invalid_char_refs(body)
    parsed = _run_feedparser(source_id, body, url=url, content_type=content_type)
    _check_is_feed(parsed, body, source_id=source_id, url=url)
    now = fetched_at if fetched_at.tzinfo else fetched_at.replace(tzinfo=UTC)
    feed_language = _declared_feed_language(parsed.feed) or normalize_language(declared_language)
    entries = parsed.entries[:MAX_ENTRIES]
    shared = _shared_links(entries, url)
    items = [_parse_entry(source_id, e, url, feed_language, now, shared) for e in entries]
    unique = _detect_missing_languages(dedupe_within_feed(items))
    warnings = _warnings(
        parsed, total=len(parsed.entries), dropped=len(items) - len(unique), entities=removed
    )
    return ParsedFeed(
        source_id=source_id,
        items=unique,
        entries_total=len(parsed.entries),
        title=_title(parsed.feed) or None,
        language=feed_language,
        warnings=warnings,
    )


def scrub_entity_declarations(body: bytes) -> tuple[bytes, int]:
    """Remove DTD entity declarations from the prolog, except aliases of one character reference.

    feedparser keeps "safe" internal entities (any text without '&') and, when expat refuses a
    billion-laughs or quadratic-blowup document, its fallback loose parser expands them anyway:
    a 100 KB entity referenced 1000 times became a 100 MB string. External (SYSTEM/PUBLIC) and
    parameter entities have no business in a feed either. Declarations like
    <!ENTITY nbsp "&#160;"> stay, so old feeds that declare HTML entities keep parsing strictly.
    Works on ASCII-compatible encodings; UTF-16/32 documents rely on the worker memory cap.
    """
    match = _FIRST_ELEMENT_RE.search(body)
    end = match.start() if match else len(body)
    head = body[:end]
    if b"<!ENTITY" not in head:
        return body, 0
    removed = 0

    def drop(declaration: re.Match[bytes]) -> bytes:
        nonlocal removed
        if _ALIAS_ENTITY_RE.fullmatch(declaration.group()):
            return declaration.group()
        removed += 1
        return b""

    return _ENTITY_DECL_RE.sub(drop, head) + body[end:], removed


def replace_invalid_char_refs(body: bytes) -> bytes:
    """Turn character references to surrogates or beyond U+10FFFF into U+FFFD.

    feedparser 6.0.14 crashes on them (UnicodeEncodeError, ValueError, OverflowError) once expat
    has rejected the document, so one bad &#xD800; would cost every entry of the feed.
    """
    if b"&#" not in body:
        return body
    return _CHAR_REF_RE.sub(_fix_char_ref, body)


def _fix_char_ref(match: re.Match[bytes]) -> bytes:
    hex_digits, decimal = match.group(1), match.group(2)
    code = int(hex_digits, 16) if hex_digits else int(decimal)
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return b"&#xFFFD;"
    return match.group()


def _run_feedparser(
    source_id: str, body: bytes, *, url: str, content_type: str | None
) -> feedparser.FeedParserDict:
    """feedparser on bytes only, with its sanitizer and URI resolution off (nh3 does both).

    The document URL is deliberately not given to feedparser (as Content-Location): it would
    resolve relative ids against it, so an id would change when the feed moves. Links and HTML
    bases are resolved against `url` here instead, after in-document xml:base.
    """
    headers = {"content-type": content_type} if content_type else {}
    try:
        return feedparser.parse(
            io.BytesIO(body),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except (RecursionError, MemoryError):
        raise
    except Exception as e:  # feedparser has no exception tree; any crash means a bad document
        raise ParseError(
            f"feedparser failed: {type(e).__name__}: {e}"[:MAX_WARNING_CHARS],
            kind="malformed",
            source_id=source_id,
            url=url,
        ) from e


def _check_is_feed(
    parsed: feedparser.FeedParserDict, body: bytes, *, source_id: str, url: str
) -> None:
    """feedparser never says "this is not a feed": decide from version and entries."""
    if parsed.entries:
        return
    if not parsed.get("version"):
        raise ParseError(
            _not_a_feed_reason(body, url), kind="not_a_feed", source_id=source_id, url=url
        )
    error = _bozo_error(parsed)
    if error is not None:
        raise ParseError(
            f"no entry recovered from a broken document: {error}",
            kind="malformed",
            source_id=source_id,
            url=url,
        )


def _not_a_feed_reason(body: bytes, url: str) -> str:
    """A short human reason for the run report: what the document looks like instead."""
    head = body.lstrip()[:200].lower()
    if head.startswith((b"{", b"[")):
        return "JSON document, not an RSS/Atom feed (JSON Feed is not supported)"
    if b"<html" in head or head.startswith(b"<!doctype html"):
        feeds = advertised_feeds(body, url)
        if feeds:
            return f"HTML page, not a feed; the page advertises {', '.join(feeds)}"
        return "HTML page, not a feed"
    return "no RSS/Atom/RDF feed found in the document"


def _bozo_error(parsed: feedparser.FeedParserDict) -> str | None:
    """The reason feedparser flagged the document, unless it is a harmless one."""
    if not parsed.get("bozo"):
        return None
    error = parsed.get("bozo_exception")
    if isinstance(error, _BENIGN_BOZO):
        return None
    return truncate(normalize_line(f"{type(error).__name__}: {error}"), MAX_WARNING_CHARS)


def _warnings(
    parsed: feedparser.FeedParserDict, *, total: int, dropped: int, entities: int
) -> tuple[str, ...]:
    warnings = []
    if entities:
        warnings.append(f"{entities} entity declarations removed (only &#...; aliases are kept)")
    error = _bozo_error(parsed)
    if error is not None:
        warnings.append(f"ill-formed feed, entries recovered: {error}")
    if total > MAX_ENTRIES:
        warnings.append(f"{total} entries, only the first {MAX_ENTRIES} kept")
    if dropped:
        warnings.append(f"{dropped} duplicate entries dropped (same identity)")
    return tuple(warnings)


# --- entries ----------------------------------------------------------------------------------


def _parse_entry(
    source_id: str,
    entry: Mapping[str, Any],
    feed_url: str,
    feed_language: str | None,
    now: datetime,
    shared_links: frozenset[str],
) -> ParsedItem:
    """One feedparser entry -> ParsedItem; every string comes out clean and capped."""
    title = _title(entry)
    detail = _body_detail(entry)
    base = resolve_http_url(str(_plain_get(detail, "base") or ""), feed_url) or feed_url
    safe_html, text = _body(detail, base)
    link = _link(entry, feed_url)
    canonical = canonical_url(link)
    published_raw = strip_controls(str(_plain_get(entry, "published") or ""))
    identity = entry_identity(
        _entry_id(entry),
        None if canonical in shared_links else canonical,
        title=title,
        published=published_raw,
        text=text,
    )
    language = (
        normalize_language(_plain_get(detail, "language"))
        or normalize_language(_plain_get(_get(entry, "title_detail"), "language"))
        or feed_language
    )
    return ParsedItem(
        source_id=source_id,
        identity=identity,
        url=link,
        canonical_url=canonical,
        title=title,
        text=text,
        html=safe_html,
        published=_published(entry, now),
        language=language,
        authors=_authors(entry),
        cves=find_cves(f"{title}\n{text}"),
        content_hash=content_hash(title, text),
    )


def _detect_missing_languages(items: tuple[ParsedItem, ...]) -> tuple[ParsedItem, ...]:
    """Items whose entry and feed declare no language get the detected one (or stay None).

    Detection runs once for all of them, after de-duplication: together it costs a fraction
    of one call per entry (techwatch.clean.detect_languages), and dropped duplicates cost none.
    """
    pending = [n for n, item in enumerate(items) if item.language is None]
    if not pending:
        return items
    detected = detect_languages([f"{items[n].title}\n{items[n].text}" for n in pending])
    updated = list(items)
    for n, language in zip(pending, detected, strict=True):
        if language is not None:
            updated[n] = replace(items[n], language=language)
    return tuple(updated)


def _entry_id(entry: Mapping[str, Any]) -> str:
    return strip_controls(str(_plain_get(entry, "id") or "")).strip()


def _shared_links(entries: Iterable[Mapping[str, Any]], feed_url: str) -> frozenset[str]:
    """Canonical links that several id-less entries of this feed share (a podcast page, a
    home page): such a link names the feed, not the entry, so it cannot be the identity."""
    counts = Counter(canonical_url(_link(e, feed_url)) for e in entries if not _entry_id(e))
    return frozenset(link for link, n in counts.items() if link and n > 1)


def _plain_get(mapping: Mapping[str, Any], key: str) -> Any:
    """A key without FeedParserDict's aliases: its "updated_parsed" falls back to
    "published_parsed" with a DeprecationWarning, and its Python-level lookup of each key
    costs a few percent of the parse. No key read here has an alias (test_realdata compares
    with FeedParserDict.get on every real feed)."""
    return dict.get(mapping, key) if isinstance(mapping, dict) else mapping.get(key)


def _get(mapping: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """A nested feedparser dict, or an empty one: feedparser omits what the feed lacks."""
    value = _plain_get(mapping, key)
    return value if isinstance(value, Mapping) else {}


def _is_html(detail: Mapping[str, Any]) -> bool:
    return any(kind in str(_plain_get(detail, "type") or "") for kind in _HTML_TYPES)


def _title(node: Mapping[str, Any]) -> str:
    """Title of an entry or a feed as one line of plain text; HTML titles lose their markup."""
    raw = str(_plain_get(node, "title") or "")[:MAX_TITLE_INPUT_CHARS]
    detail = _get(node, "title_detail")
    if not _is_html(detail):
        line = normalize_line(raw)
    else:
        line = normalize_line(markup_to_text(raw)) if too_deeply_nested(raw) else html_to_line(raw)
    return truncate(line, MAX_TITLE_CHARS)


def _body_detail(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    """The fullest body an entry offers: the longest of its content blocks and its summary."""
    candidates = [c for c in _plain_get(entry, "content") or () if isinstance(c, Mapping)]
    summary = _get(entry, "summary_detail")
    if summary:
        candidates.append(summary)
    return max(candidates, key=lambda c: len(str(_plain_get(c, "value") or "")), default={})


def _body(detail: Mapping[str, Any], base: str) -> tuple[str, str]:
    """(safe HTML, plain text) of an entry body, from HTML or plain-text content."""
    raw = str(_plain_get(detail, "value") or "")[:MAX_HTML_INPUT_CHARS]
    if not raw.strip():
        return "", ""
    if not _is_html(detail) or too_deeply_nested(raw):
        plain = normalize_text(raw) if not _is_html(detail) else markup_to_text(raw)
        text = truncate(plain, MAX_TEXT_CHARS)
        return text_to_html(text), text
    safe = sanitize_html(raw, base)
    return safe, truncate(html_to_text(safe, sanitized=True), MAX_TEXT_CHARS)


def _link(entry: Mapping[str, Any], feed_url: str) -> str | None:
    """The entry's link as an absolute http(s) URL, as published (tracking included), or None."""
    link = _plain_get(entry, "link")
    return resolve_http_url(link, feed_url) if isinstance(link, str) else None


def _published(entry: Mapping[str, Any], now: datetime) -> datetime | None:
    """Publication time in UTC from feedparser's parsed date (published, else updated).

    None when absent or impossible (before 1990, or more than two days after the fetch): the
    store then orders by first-seen time. Nothing is guessed from other fields.
    """
    parsed = _plain_get(entry, "published_parsed") or _plain_get(entry, "updated_parsed")
    if not parsed:
        return None
    try:
        when = datetime(*parsed[:6], tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None
    if when < EARLIEST_PUBLISHED or when > now + FUTURE_TOLERANCE:
        return None
    return when


def _authors(entry: Mapping[str, Any]) -> tuple[str, ...]:
    """Author names (not e-mail addresses), cleaned, unique, capped in number and length."""
    names: list[str] = []
    for author in _plain_get(entry, "authors") or ():
        if isinstance(author, Mapping) and _plain_get(author, "name"):
            names.append(str(author["name"]))
    fallback = _plain_get(entry, "author")
    if not names and isinstance(fallback, str) and "@" not in fallback:
        names.append(fallback)
    return _unique(truncate(normalize_line(n), MAX_AUTHOR_CHARS) for n in names)[:MAX_AUTHORS]


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _declared_feed_language(feed: Mapping[str, Any]) -> str | None:
    """The feed's own <language> / xml:lang, as a 2-letter code."""
    return normalize_language(feed.get("language")) or normalize_language(
        _get(feed, "title_detail").get("language")
    )
