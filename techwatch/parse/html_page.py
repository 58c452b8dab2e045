"""A web page without a feed (kind html) -> ParsedFeed, read with the source's CSS selectors.

beautifulsoup4 (lxml) builds the tree and soupsieve runs the selectors of `HtmlSelectors`: one
`entry` element per item, the other selectors relative to it (an entry that itself matches a
field's selector is that field, so `entry: h3` with `title: h3` works). Every string then goes
through `techwatch.clean` like a feed's, so a page is exactly as hostile as a feed and treated
the same (RELIABILITY 24). Dates are read, never guessed (RELIABILITY 23): ISO, d.m.Y and
month names in French, German and English, or the source's own `date_format`.

A page where the entry selector matches nothing is a failed source ("not_a_feed"): the site
changed its layout, and the operator must hear about it rather than read an empty watch.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
import warnings
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from bs4 import BeautifulSoup, Tag

from techwatch.clean import (
    canonical_url,
    detect_language,
    html_to_line,
    html_to_text,
    markup_to_text,
    normalize_language,
    normalize_line,
    resolve_http_url,
    sanitize_html,
    strip_controls,
    text_to_html,
    too_deeply_nested,
    truncate,
)
from techwatch.dedupe import content_hash, dedupe_within_feed, entry_identity
from techwatch.errors import ParseError
from techwatch.parse.feeds import (
    EARLIEST_PUBLISHED,
    FUTURE_TOLERANCE,
    MAX_HTML_INPUT_CHARS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    MAX_TITLE_INPUT_CHARS,
    find_cves,
)
from techwatch.types import HtmlSelectors, ParsedFeed, ParsedItem

# A listing page shows tens of entries; more means the entry selector is too broad.
MAX_ENTRIES: Final = 200
# Listing pages weigh 50 KB to 1 MB; building the tree of 4 MiB already takes seconds, so the
# rest of a larger page is dropped (lxml closes what the cut leaves open) rather than timing out.
MAX_PAGE_BYTES: Final = 4 * 1024 * 1024
MAX_DATE_CHARS: Final = 200

_CHARSET_RE: Final = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_ISO_RE: Final = re.compile(
    r"(?<!\d)(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?(?!\d)"
)
_DOTTED_RE: Final = re.compile(r"(?<![\d.])(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})(?!\d)")
_MONTHS: Final = {
    # French
    "janvier": 1, "janv": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4,
    "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9,
    "octobre": 10, "novembre": 11, "decembre": 12, "dec": 12,
    # German
    "januar": 1, "janner": 1, "februar": 2, "marz": 3, "mar": 3, "april": 4, "juni": 6,
    "juli": 7, "oktober": 10, "okt": 10, "dezember": 12, "dez": 12,
    # English
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12,
}  # fmt: skip
_MONTH: Final = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_MONTH_RE: Final = re.compile(rf"(?<!\d)(\d{{1,2}})(?:er|\.)?\s+({_MONTH})\.?,?\s+(\d{{4}})\b")
_MONTH_DAY_RE: Final = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b")


def parse_html_page(
    source_id: str,
    body: bytes,
    *,
    url: str,
    selectors: HtmlSelectors | None,
    content_type: str | None = None,
    declared_language: str | None = None,
    fetched_at: datetime,
) -> ParsedFeed:
    """Read the entries of one listing page; ParseError("not_a_feed") when there are none."""
    if selectors is None:  # config validation requires the block for kind html: a bug
        raise ValueError(f"source {source_id!r} of kind html has no selectors")
    if not body.strip():
        raise ParseError("empty body", kind="not_a_feed", source_id=source_id, url=url)
    truncated = len(body) > MAX_PAGE_BYTES
    soup = _soup(body[:MAX_PAGE_BYTES], content_type)
    entries = soup.select(selectors.entry, limit=MAX_ENTRIES + 1)
    if not entries:
        raise ParseError(
            f"selector {selectors.entry} matched nothing: the page layout may have changed",
            kind="not_a_feed",
            source_id=source_id,
            url=url,
        )
    now = fetched_at if fetched_at.tzinfo else fetched_at.replace(tzinfo=UTC)
    base = _base_url(soup, url)
    language = _page_language(soup) or normalize_language(declared_language)
    read = [_read_entry(e, selectors, base, now) for e in entries[:MAX_ENTRIES]]
    kept = [r for r in read if r is not None]
    shared = _shared_links(kept)
    items = [_item(source_id, r, shared, language) for r in kept]
    unique = dedupe_within_feed(items)
    warnings_ = _warnings(
        truncated=truncated,
        capped=len(entries) > MAX_ENTRIES,
        untitled=len(read) - len(kept),
        dropped=len(items) - len(unique),
        undated=[r.date_raw for r in kept if r.date_raw and r.published is None],
    )
    return ParsedFeed(
        source_id=source_id,
        items=unique,
        entries_total=len(read),
        title=_page_title(soup),
        language=language,
        warnings=warnings_,
    )


# --- the page ---------------------------------------------------------------------------------


def _soup(body: bytes, content_type: str | None) -> BeautifulSoup:
    """The tree of the page; the HTTP charset wins over <meta>, as in browsers."""
    encoding = _declared_charset(content_type)
    with warnings.catch_warnings():
        # bs4 warns about undecodable bytes and odd markup: neither is the operator's concern.
        warnings.simplefilter("ignore")
        return BeautifulSoup(body, "lxml", from_encoding=encoding)


def _declared_charset(content_type: str | None) -> str | None:
    found = _CHARSET_RE.search(content_type or "")
    if not found:
        return None
    try:
        return codecs.lookup(found.group(1)).name
    except LookupError:
        return None


def _base_url(soup: BeautifulSoup, url: str) -> str:
    """Where relative links point: the page's <base href> when usable, else its URL."""
    base = soup.find("base", href=True)
    href = base.get("href") if isinstance(base, Tag) else None
    resolved = resolve_http_url(href, url) if isinstance(href, str) else None
    return resolved or url


def _page_language(soup: BeautifulSoup) -> str | None:
    root = soup.find("html")
    if not isinstance(root, Tag):
        return None
    lang = root.get("lang") or root.get("xml:lang")
    return normalize_language(lang) if isinstance(lang, str) else None


def _page_title(soup: BeautifulSoup) -> str | None:
    title = soup.find("title")
    if not isinstance(title, Tag):
        return None
    return truncate(normalize_line(title.get_text(" ")), MAX_TITLE_CHARS) or None


# --- entries ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    """What one entry element says, cleaned; identity and language come once all are read."""

    title: str
    link: str | None
    date_raw: str
    published: datetime | None
    html: str
    text: str


def _read_entry(entry: Tag, selectors: HtmlSelectors, base: str, now: datetime) -> _Entry | None:
    """One entry element -> its fields; None when it has no title (an ad, a separator...)."""
    title_el = _first(entry, selectors.title)
    title = _title(title_el) if title_el is not None else ""
    if not title:
        return None
    link_el = _first(entry, selectors.link) if selectors.link else _title_anchor(title_el, entry)
    href = link_el.get("href") if link_el is not None else None
    link = resolve_http_url(href, base) if isinstance(href, str) else None
    date_raw = _date_text(_first(entry, selectors.date)) if selectors.date else ""
    published = parse_page_date(date_raw, selectors.date_format, now) if date_raw else None
    summary_el = _first(entry, selectors.summary) if selectors.summary else None
    safe, text = _summary(summary_el, base) if summary_el is not None else ("", "")
    return _Entry(title, link, date_raw, published, safe, text)


def _first(entry: Tag, selector: str) -> Tag | None:
    """The first element matching `selector` inside the entry, or the entry itself."""
    found = entry.select_one(selector)
    if found is not None:
        return found
    return entry if entry.css.match(selector) else None


def _title_anchor(title: Tag | None, entry: Tag) -> Tag | None:
    """The title's link: the title is an <a>, holds one, or the whole entry is an <a>."""
    if title is not None:
        if title.name == "a" and title.get("href"):
            return title
        inner = title.select_one("a[href]")
        if inner is not None:
            return inner
    return entry if entry.name == "a" and entry.get("href") else None


def _title(element: Tag) -> str:
    raw = element.decode_contents()[:MAX_TITLE_INPUT_CHARS]
    line = normalize_line(markup_to_text(raw)) if too_deeply_nested(raw) else html_to_line(raw)
    return truncate(line, MAX_TITLE_CHARS)


def _summary(element: Tag, base: str) -> tuple[str, str]:
    """(safe HTML, plain text) of the summary element's content."""
    raw = element.decode_contents()[:MAX_HTML_INPUT_CHARS]
    if not raw.strip():
        return "", ""
    if too_deeply_nested(raw):
        text = truncate(markup_to_text(raw), MAX_TEXT_CHARS)
        return text_to_html(text), text
    safe = sanitize_html(raw, base)
    return safe, truncate(html_to_text(safe, sanitized=True), MAX_TEXT_CHARS)


def _date_text(element: Tag | None) -> str:
    """A <time datetime> attribute, else the element's text; controls removed, capped."""
    if element is None:
        return ""
    value = element.get("datetime")
    raw = value if isinstance(value, str) and value.strip() else element.get_text(" ")
    return " ".join(strip_controls(raw).split())[:MAX_DATE_CHARS]


def _shared_links(entries: list[_Entry]) -> frozenset[str]:
    """Links several entries share (a "read more" to the listing itself): not identities."""
    counts = Counter(canonical_url(e.link) for e in entries)
    return frozenset(link for link, n in counts.items() if link and n > 1)


def _item(
    source_id: str, entry: _Entry, shared: frozenset[str], language: str | None
) -> ParsedItem:
    canonical = canonical_url(entry.link)
    identity = entry_identity(
        None,
        None if canonical in shared else canonical,
        title=entry.title,
        published=entry.date_raw,
        text=entry.text,
    )
    return ParsedItem(
        source_id=source_id,
        identity=identity,
        url=entry.link,
        canonical_url=canonical,
        title=entry.title,
        text=entry.text,
        html=entry.html,
        published=entry.published,
        language=language or detect_language(f"{entry.title}\n{entry.text}"),
        cves=find_cves(f"{entry.title}\n{entry.text}"),
        content_hash=content_hash(entry.title, entry.text),
    )


def _warnings(
    *, truncated: bool, capped: bool, untitled: int, dropped: int, undated: list[str]
) -> tuple[str, ...]:
    found: list[str] = []
    if truncated:
        found.append(f"page larger than {MAX_PAGE_BYTES} bytes: only its beginning was read")
    if capped:
        found.append(f"more than {MAX_ENTRIES} entries matched, only the first {MAX_ENTRIES} kept")
    if untitled:
        found.append(f"{untitled} entries without a title skipped")
    if dropped:
        found.append(f"{dropped} duplicate entries dropped (same identity)")
    if undated:
        found.append(
            f"{len(undated)} dates not understood (such as {undated[0][:60]!r}); "
            "set date_format for this source"
        )
    return tuple(found)


# --- dates ------------------------------------------------------------------------------------


def parse_page_date(raw: str, date_format: str | None, now: datetime) -> datetime | None:
    """A date as written on a page -> UTC datetime, or None when absent, unreadable or
    impossible (before 1990, more than two days ahead of `now`, or 31 February).

    With `date_format` only that format is tried, on the whole text. Otherwise: ISO 8601
    anywhere in the text, then d.m.Y, then a day and a month name (fr, de, en) with the year.
    Slashed forms (03/04/2024) are ambiguous between Europe and the US, so they need a format.
    A date without a time is taken at 00:00 UTC; a time without a zone is taken as UTC.
    """
    text = " ".join(raw.split())
    if not text:
        return None
    try:
        when = _strict(text, date_format) if date_format else _any_form(text)
    except (ValueError, OverflowError):
        return None
    if when is None:
        return None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if when < EARLIEST_PUBLISHED or when > now + FUTURE_TOLERANCE:
        return None
    return when


def _strict(text: str, date_format: str) -> datetime:
    return datetime.strptime(text, date_format)


def _any_form(text: str) -> datetime | None:
    iso = _ISO_RE.search(text)
    if iso:
        year, month, day, hour, minute, second, zone = iso.groups()
        stamp = f"{year}-{month}-{day}T{hour or '00'}:{minute or '00'}:{second or '00'}"
        return datetime.fromisoformat(stamp + _zone(zone))
    dotted = _DOTTED_RE.search(text)
    if dotted:
        day, month, year = (int(g) for g in dotted.groups())
        return datetime(year, month, day)
    folded = _fold(text)
    named = _DAY_MONTH_RE.search(folded)
    if named:
        return datetime(int(named.group(3)), _MONTHS[named.group(2)], int(named.group(1)))
    named = _MONTH_DAY_RE.search(folded)
    if named:
        return datetime(int(named.group(3)), _MONTHS[named.group(1)], int(named.group(2)))
    return None


def _zone(zone: str | None) -> str:
    if not zone:
        return ""
    if zone == "Z":
        return "+00:00"
    return zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"


def _fold(text: str) -> str:
    """Lower case without accents: "Décembre", "décembre" and "decembre" read alike."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
