"""HTML -> safe HTML and plain text, canonical URLs, language codes; no business logic.

Everything here is pure and called once per feed entry inside a parse worker, so the expensive
objects (regexes, nh3 cleaners, the language model) are built once per process and reused.
"""

from __future__ import annotations

import html
import itertools
import lzma
import math
import os
import re
import shutil
import tempfile
import time
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from contextlib import suppress
from functools import lru_cache
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import nh3

# --- characters -------------------------------------------------------------------------------

# C0 controls except \t \n \r, DEL, C1 controls, soft hyphen, lone surrogates, BOM, zero-width
# space, the non-characters U+FFFE/U+FFFF and U+E000 (our block marker, see html_to_text): never
# visible text, and lxml or the database may reject some of them.
_CONTROL_RE: Final = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\ud800-\udfff\u200b\ue000\ufeff\ufffe\uffff]"
)
# The characters below U+0100 that _CONTROL_RE removes, as Latin-1 bytes.
_CONTROL_LATIN1: Final = bytes(c for c in range(256) if _CONTROL_RE.match(chr(c)))
# A bytes.translate table that changes those bytes only (without deletions, translate does not
# build a table at each call: a string without them is checked at a few instructions a byte).
_CONTROL_FLIPPED: Final = bytes(c ^ (c in _CONTROL_LATIN1) for c in range(256))


def latin1(text: str) -> bytes | None:
    """`text` as Latin-1 bytes when all its characters are below U+0100, else None.

    CPython keeps such a string one byte per character and encodes it with a copy; byte
    methods (translate, replace, in) then answer questions about its characters without the
    per-character lookups in the Unicode tables that str methods, regexes and
    unicodedata.normalize make. Other text pays for the failed encode (up to its first
    character past U+00FF, and the exception: ~6K instructions)."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return None


def strip_controls(value: str) -> str:
    """Remove control characters and other invisible code points that break storage or lxml.

    Text below U+0100 (ASCII or accented) is checked and cleaned as Latin-1 bytes with
    bytes.translate: 56K -> 23K instructions for a bench entry's 2 KB of HTML, against
    str.isprintable's lookup of each character. Other text: every one of them is unprintable
    for str.isprintable, which checks a string in half the time the regex takes to find
    nothing (most text, bar text with newlines or tabs)."""
    data = latin1(value)
    if data is not None:
        if data.translate(_CONTROL_FLIPPED) == data:
            return value
        return data.translate(None, _CONTROL_LATIN1).decode("latin-1")
    if value.isprintable():
        return value
    return _CONTROL_RE.sub("", value)


def normalize_text(value: str) -> str:
    """Plain text as a reader sees it: NFC, one space between words, one newline between blocks.

    str.split() does the whitespace work: three times faster than a regex on entry-sized text.
    """
    value = strip_controls(value.replace("\r\n", "\n").replace("\r", "\n"))
    value = unicodedata.normalize("NFC", value)
    lines = (" ".join(line.split()) for line in value.split("\n"))
    return "\n".join(line for line in lines if line)


def normalize_line(value: str) -> str:
    """A single line of plain text (titles, names): all whitespace runs become one space."""
    return " ".join(unicodedata.normalize("NFC", strip_controls(value)).split())


def truncate(value: str, limit: int) -> str:
    """Cap a string at `limit` characters, marking the cut with an ellipsis."""
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


# --- URLs -------------------------------------------------------------------------------------

# Query parameters that only identify a campaign, a click or a mailing, never the document.
# Compared case-insensitively; any parameter starting with one of TRACKING_PREFIXES goes too.
TRACKING_PARAMS: Final = frozenset(
    {
        "fbclid",  # Facebook
        "gclid",  # Google Ads
        "gclsrc",
        "dclid",  # Google Display
        "gbraid",
        "wbraid",
        "msclkid",  # Microsoft Ads
        "mc_cid",  # Mailchimp
        "mc_eid",
        "_hsenc",  # HubSpot
        "_hsmi",
        "__hstc",
        "__hssc",
        "__hsfp",
        "hsctatracking",
        "igshid",  # Instagram
        "yclid",  # Yandex
        "_openstat",
        "ref_src",  # Twitter/X
        "ref_url",
        "twclid",
        "ttclid",  # TikTok
        "li_fat_id",  # LinkedIn
        "cmpid",  # generic campaign id (Adobe and many publishers)
        "s_cid",  # Adobe Analytics
        "mkt_tok",  # Marketo
        "oly_anon_id",  # Omeda
        "oly_enc_id",
        "vero_id",  # Vero
        "vero_conv",
        "wickedid",
        "xtor",  # AT Internet, common on French-language media (xtor=RSS-...)
        "at_medium",
        "at_campaign",
        "ncid",  # Yahoo/Verizon media
        "_ga",  # Google Analytics cross-domain linker
        "_gl",
    }
)
TRACKING_PREFIXES: Final = ("utm_",)
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


_URL_SPACE_RE: Final = re.compile(r"\s")
# The usual shape of a link: a lower-case http(s) scheme, a host name alone (no user, port or
# brackets), a path without ";" (urlparse's parameters), a query and a fragment that are not
# empty when present, no whitespace. urlsplit splits such a URL into the groups below, with
# no port and the host name, lower-cased, as hostname; urlunsplit gives the URL back as it is.
# Links of that shape skip urlsplit, its port and hostname and urlunsplit: an entry's link,
# resolved and made canonical, took 50K instructions of a bench entry's 2.24M (callgrind).
_PLAIN_HTTP_URL: Final = re.compile(
    r"(https?)://([A-Za-z0-9._-]+)(/[^?#;\s]*)?(?:\?([^#\s]+))?(?:#\S+)?"
)


@lru_cache(maxsize=256)
def _url_text(url: str) -> str:
    """A URL as written, trimmed, with control characters gone and inner whitespace escaped
    (sloppy feeds publish unencoded spaces; escaped, the URL stays one safe token).

    Cached: an entry's link passes here three times (resolved, checked, made canonical) and
    the feed's URL once per entry."""
    if url.isascii() and url.isprintable() and " " not in url:
        return url  # no control character and no whitespace: nothing to strip or escape
    return _URL_SPACE_RE.sub(lambda m: quote(m.group()), strip_controls(url).strip())


def _is_tracking(pair: str) -> bool:
    """True for a raw `key=value` query pair whose key is a known tracking parameter."""
    key = pair.split("=", 1)[0].strip().lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def canonical_url(url: str | None, base: str | None = None) -> str | None:
    """A stable form of an http(s) link, or None when it is not one.

    Resolves `url` against `base`, lowercases scheme and host, drops user info, default ports,
    the fragment and tracking parameters; keeps the path and the other query pairs exactly as
    written and in their order, so that two spellings of one page compare equal while distinct
    pages never merge.
    """
    if not url:
        return None
    url = _url_text(url)
    plain = None if base else _PLAIN_HTTP_URL.fullmatch(url)
    if plain is not None:
        scheme, netloc, path, query = plain.group(1, 2, 3, 4)
        host = netloc.lower().rstrip(".")
        kept = _without_tracking(query or "")
        return f"{scheme}://{host}{path or '/'}{'?' if kept else ''}{kept}" if host else None
    try:
        if base:
            url = _join(_url_text(base), url)
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host or _URL_SPACE_RE.search(host):
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", _without_tracking(parts.query), ""))


def _without_tracking(query: str) -> str:
    """A query without its tracking pairs (and without empty ones)."""
    return "&".join([p for p in query.split("&") if p and not _is_tracking(p)])


def resolve_http_url(url: str | None, base: str | None) -> str | None:
    """`url` resolved against `base` when it is relative; None unless the result is http(s)."""
    if not url or not url.strip():
        return None
    url = _url_text(url)
    try:
        if _PLAIN_HTTP_URL.fullmatch(url):  # resolved and checked, it would be itself
            if base:
                urlsplit(_url_text(base))  # a base urlsplit refuses fails the join
            return url
        resolved = _join(_url_text(base), url) if base else url
    except ValueError:
        return None
    return absolute_http_url(resolved)


def _join(base: str, url: str) -> str:
    """urljoin(base, url) without its second parse of `url` and of `base`, for a URL with a
    scheme of its own (an entry's link, usually): urljoin returns it as it is under another
    scheme than the base's, and as urlsplit splits it under the same http(s) scheme when it
    has a host and no ";" (urlparse's parameters) in its path. Split with urlsplit's defaults,
    as absolute_http_url and canonical_url do next, which then find it in urlsplit's cache.
    Anything else goes to urljoin itself."""
    parts = urlsplit(url)
    if parts.scheme:
        if parts.scheme != urlsplit(base).scheme:
            return url
        if parts.netloc and parts.scheme in _DEFAULT_PORTS and ";" not in parts.path:
            return urlunsplit(parts)
    return urljoin(base, url)


def absolute_http_url(url: str | None) -> str | None:
    """`url` itself when it is an absolute http(s) URL usable as a base, else None."""
    if not url:
        return None
    url = _url_text(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return url


# --- HTML sanitizing --------------------------------------------------------------------------

# A strict allowlist: structure, emphasis, lists, tables, links and images. No script, style,
# iframe, svg, math, form, object, embed, media or any attribute that can run code or style.
ALLOWED_TAGS: Final = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup",
        "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
        "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary",
        "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul",
        "var", "wbr",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES: Final = {
    "a": {"href", "title", "hreflang"},
    "abbr": {"title"},
    "blockquote": {"cite"},
    "del": {"cite", "datetime"},
    "img": {"src", "alt", "title", "width", "height"},
    "ins": {"cite", "datetime"},
    "ol": {"start", "reversed"},
    "q": {"cite"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
}
# Elements removed together with their content: their text is code or fallback, not prose.
DROPPED_WITH_CONTENT: Final = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "noscript", "noembed", "noframes",
        "template", "svg", "math", "object", "embed", "applet", "form", "select", "textarea",
        "button", "head", "title",
    }
)  # fmt: skip
URL_SCHEMES: Final = frozenset({"http", "https", "mailto"})
LINK_REL: Final = "noopener noreferrer nofollow"


@lru_cache(maxsize=64)
def _cleaner(base: str | None) -> nh3.Cleaner:
    """One nh3 cleaner per base URL as given; a feed has one or a few, so the cache stays tiny
    and also spares the base's validation (a URL parse) at every entry."""
    absolute = absolute_http_url(base)
    relative: Any = ("rewrite_with_base", absolute) if absolute else "deny"
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
        url_relative=relative,
    )


_TEXT_ONLY: Final = nh3.Cleaner(tags=set(), clean_content_tags=set(DROPPED_WITH_CONTENT))


def sanitize_html(fragment: str, base: str | None = None) -> str:
    """Safe HTML for storage and rendering: the allowlist above, relative links made absolute
    against `base` (dropped when there is no usable base), rel="noopener noreferrer nofollow" on
    links. Idempotent: sanitizing the output again returns it unchanged.

    html5ever's output is not always a fixed point of html5ever: invalid nesting (an <a> inside
    an <a> around a <table>) is repaired once more on the next parse. So the cleaner runs until
    its output stops changing, unless the fragment only uses tags whose first output is
    stable by construction (see _STABLE_TAGS): most entries, which then skip the extra pass.
    """
    if not fragment:
        return ""
    cleaner = _cleaner(base)
    fragment = strip_controls(fragment)
    current = cleaner.clean(fragment).strip()
    if _only_stable_tags(fragment):
        return current
    return _clean_until_stable(cleaner, current)


def _clean_until_stable(cleaner: nh3.Cleaner, current: str) -> str:
    """Clean `current` again until the output stops changing (html5ever repairs some trees
    it produced itself once more when it reads them back)."""
    for _ in range(_MAX_SANITIZE_PASSES):
        again = cleaner.clean(current).strip()
        if again == current:
            return current
        current = again
    # Still moving: keep only the text, which is stable by construction.
    return text_to_html(html_to_text(current, sanitized=True))


_MAX_SANITIZE_PASSES: Final = 4

# Tags whose parse, once sanitized, always reads back as the same tree. A tree stops being a
# fixed point when the parse depended on an element the cleaner removed while keeping its
# content (a <marquee> or <td> scope let an <a> nest in an <a> or a <p> hold a <div>; an
# <article> let an <li> nest in an <li>), on tables (foster parenting, implied <tbody>) or on
# <pre>'s dropped first newline. None of these arise from the allowed tags below, which are
# all kept, so the parse of the output makes the same decisions as the parse of the input.
# Anything else, unknown names included, takes the checked path.
_STABLE_TAGS: Final = ALLOWED_TAGS - {
    "caption", "col", "colgroup", "pre", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
}  # fmt: skip
# Every start or end tag as html5ever's tokenizer reads its name: up to HTML whitespace, "/"
# or ">". Attribute values and comments may add names: harmless, they only cost the check.
_TAG_NAME: Final = re.compile(r"</?([A-Za-z][^\t\n\f\r />]*)")
# One exception among the stable tags: a heading's start tag closes an open heading only when
# that heading is the current node. In `<h1><a><h1>` the second heading opens inside the
# first; the output, `<h1><a></a><h1>...`, then reads back with the first heading closed
# (hypothesis found it). A fragment with a single heading start tag nests no heading in
# another, so only fragments with two or more take the checked path.
_HEADINGS: Final = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_HEADING_START: Final = re.compile(r"<[hH][1-6](?=[\t\n\f\r />])")


def _only_stable_tags(fragment: str) -> bool:
    """True when every tag name in `fragment` is one of _STABLE_TAGS (ASCII case-insensitive)
    and it starts at most one heading (see _HEADINGS)."""
    names = set(_TAG_NAME.findall(fragment))
    if not names <= _STABLE_TAGS:  # all written in lower case: the common case, without a loop
        if not all(name.isascii() for name in names):
            return False
        names = {name.lower() for name in names}
        if not names <= _STABLE_TAGS:
            return False
    return names.isdisjoint(_HEADINGS) or len(_HEADING_START.findall(fragment)) < 2


# html5ever (inside nh3) is quadratic in the nesting depth of some elements: 100,000 nested
# <div> took 23 s. Real entries nest a few dozen levels; past MAX_NESTING the body is kept as
# escaped plain text instead. Elements the HTML parser closes by itself do not count.
MAX_NESTING: Final = 500
_SCAN_ABOVE_TAGS: Final = 2 * MAX_NESTING
_TAG_RE: Final = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)[^>]*>")
_SELF_CLOSING: Final = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "tbody", "thead",
        "tfoot", "colgroup",
    }
)  # fmt: skip


def too_deeply_nested(fragment: str) -> bool:
    """True when `fragment` nests elements deeper than MAX_NESTING (cheap for normal entries:
    only fragments with many tags are scanned)."""
    if fragment.count("<") <= _SCAN_ABOVE_TAGS:
        return False
    depth = 0
    for match in _TAG_RE.finditer(fragment):
        name = match.group(2).lower()
        if name in _SELF_CLOSING or match.group().endswith("/>"):
            continue
        if match.group(1):
            depth = max(0, depth - 1)
            continue
        depth += 1
        if depth > MAX_NESTING:
            return True
    return False


def markup_to_text(fragment: str) -> str:
    """Plain text of any markup without an HTML parser: tags become spaces, entities decoded.
    Only for fragments too hostile to parse; the result is text and gets escaped on output."""
    return normalize_text(html.unescape(_TAG_RE.sub(" ", fragment)))


def text_to_html(text: str) -> str:
    """Plain text as an HTML fragment: escaped, one paragraph per line."""
    return "".join(f"<p>{html.escape(line, quote=False)}</p>" for line in text.split("\n") if line)


# --- HTML -> text -----------------------------------------------------------------------------

# Elements that start a new line in the extracted text; everything else is inline.
BLOCK_TAGS: Final = (
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div", "dl",
    "dt", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
    "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul",
)  # fmt: skip


# Keeps every ordinary tag, so the block structure survives, but removes non-prose elements with
# their content; attributes are irrelevant to text and dropped.
_BLOCK_KEEPER: Final = nh3.Cleaner(
    tags=set(ALLOWED_TAGS) | set(BLOCK_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes={},
    link_rel=None,
)


_BLOCK_MARK: Final = "\ue000"
# What str.split() splits on below U+0100, but the space and the newline, as Latin-1 bytes.
_SPACES_BUT_SPACE_AND_NEWLINE: Final = bytes(
    c for c in range(256) if chr(c).isspace() and chr(c) not in " \n"
)
# nh3 (html5ever) already parsed the fragment, and its output is normalised: lower-case names,
# attribute values in double quotes, `<` and `>` escaped in text and in attribute values (the
# tag pattern still skips quoted values, should that ever change), no comments. So block
# boundaries can be marked in the markup itself, and the text is that markup without its tags,
# entities decoded: parsing it a second time (beautifulsoup4 did; the tests still compare with
# it) cost four times as much as nh3 itself.
# A tag after its `<`, up to its first `>` outside double quotes, written as runs of plain
# characters between quoted values: the same matches as `(?:[^>"]|"[^"]*")*>`, without a
# loop iteration per character.
_TAG_REST: Final = r'[^>"]*(?:"[^"]*"[^>"]*)*>'
_NORMALISED_TAG: Final = re.compile("<" + _TAG_REST)


def trie_pattern(words: Iterable[str]) -> str:
    """A regex alternation of exactly `words`, factored by their common prefixes.

    sre tries the alternatives of a group one after the other: at each `<`, _BLOCK_TAG read
    the 35 block names in turn; as a trie, a few first letters (its sub over a bench entry's
    HTML: 108K -> 88K instructions). Followed by a delimiter no name starts with, as there,
    it matches where the flat alternation matches, whatever the order of the alternatives."""
    tails_by_head: dict[str, list[str]] = {}
    for word in sorted(set(words)):
        if word:
            tails_by_head.setdefault(word[0], []).append(word[1:])
    branches = []
    for head, tails in tails_by_head.items():
        rest = trie_pattern(tails)
        if len(tails) > 1:
            rest = f"(?:{rest})?" if "" in tails else f"(?:{rest})"
        branches.append(re.escape(head) + rest)
    return "|".join(branches)


# A block start or end tag, whole, which the mark replaces (the replacement is a constant:
# no Python call per match). Since nh3 escapes `<` everywhere but at tag starts, the tags
# this finds are the ones _NORMALISED_TAG would remove; replaced here, they leave the second
# pass, which strips the other tags, fewer to match: 31 -> 21 us for both per bench entry,
# against a mark put before each block tag's `<` and every tag stripped after.
_BLOCK_TRIE: Final = trie_pattern(BLOCK_TAGS)
_BLOCK_TAG: Final = re.compile(rf"<(?:(?:{_BLOCK_TRIE})(?=[\s/>]){_TAG_REST}|/(?:{_BLOCK_TRIE})>)")


def html_to_text(fragment: str, *, sanitized: bool = False) -> str:
    """Plain text of an HTML fragment: entities decoded, one line per block, no markup.

    Non-prose elements (script, style, svg...) are removed with their content first, unless the
    caller says the fragment already went through `sanitize_html` (nh3 either way: the tag
    stripping below relies on its normalised output).
    """
    if not fragment or not fragment.strip():
        return ""
    safe = fragment if sanitized else _BLOCK_KEEPER.clean(strip_controls(fragment))
    marked = _BLOCK_TAG.sub(_BLOCK_MARK, safe)
    # Newlines in HTML source are mere spaces; only block boundaries break lines: split on the
    # marks (a private-use character removed from all input), then collapse whitespace per block.
    raw = html.unescape(_NORMALISED_TAG.sub("", marked))
    blocks = raw.split(_BLOCK_MARK)
    text = "\n".join(filter(None, blocks))
    data = latin1(text)
    if data is not None and "\n" not in raw and _single_spaced(data):
        return text  # folded already, and text below U+0100 is NFC
    # Mapped, not a generator: no Python frame per block (26 -> 23 us per bench entry).
    folded = "\n".join(filter(None, map(" ".join, map(str.split, blocks))))
    return folded if data is not None else unicodedata.normalize("NFC", folded)


def _single_spaced(data: bytes) -> bool:
    """True when the Latin-1 lines `data` have no whitespace but single spaces between words.

    Then splitting each line into words and joining them again would give them back as they
    are: skipped, with NFC, html_to_text takes 220K instructions instead of 346K per bench
    entry (the split and join took 146K)."""
    if any(map(data.__contains__, _SPACES_BUT_SPACE_AND_NEWLINE)):  # a memchr each
        return False
    spaced = data.replace(b"\n", b" ")
    return b"  " not in spaced and not spaced.startswith(b" ") and not spaced.endswith(b" ")


def html_to_line(fragment: str) -> str:
    """A title or name given as HTML, as one line of plain text."""
    if not fragment:
        return ""
    return normalize_line(html.unescape(_TEXT_ONLY.clean(strip_controls(fragment))))


# --- language ---------------------------------------------------------------------------------

_LANG_RE: Final = re.compile(r"^\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*\s*$")
# ISO 639-2 codes some feeds use instead of the 2-letter ISO 639-1 code.
_ISO639_2: Final = {
    "fra": "fr", "fre": "fr", "deu": "de", "ger": "de", "eng": "en", "ita": "it", "spa": "es",
    "por": "pt", "nld": "nl", "dut": "nl", "roh": "rm",
}  # fmt: skip


def normalize_language(code: str | None) -> str | None:
    """'fr-CH', 'fr_ch', 'FR', 'fra' -> 'fr'; anything that is not a language tag -> None."""
    if not code:
        return None
    match = _LANG_RE.match(code)
    if not match:
        return None
    primary = match.group(1).lower()
    if len(primary) == 2:
        return primary
    return _ISO639_2.get(primary)


# Below these, py3langid's guesses on feed snippets were wrong too often to be worth storing.
MIN_DETECT_CHARS: Final = 40
MIN_DETECT_CONFIDENCE: Final = 0.9
# py3langid's cost grows with the text; its answer on feed prose is settled well before this.
_DETECT_MAX_CHARS: Final = 300
# Matches when a text has MIN_DETECT_CHARS letters, without listing them (findall did: 10x
# slower). The two classes are disjoint, so the match is linear.
_ENOUGH_LETTERS: Final = re.compile(rf"(?:[\W\d_]*[^\W\d_]){{{MIN_DETECT_CHARS}}}")


@lru_cache(maxsize=1)
def _identifier() -> Any:
    """The py3langid model with normalised probabilities, loaded once per process (~0.3 s
    from the decompressed copy, see _model_arrays)."""
    import numpy as np
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    class Float32Identifier(LanguageIdentifier):  # type: ignore[misc]
        """The model's float16 feature table widened once to float32: numpy multiplies a
        float32 vector by float16 rows ten times slower (it converts them at every call), and
        the widened table gives bit-identical scores (float16 -> float32 is exact)."""

        __slots__ = ()

        def __init__(self, nb_ptc: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(np.asarray(nb_ptc, dtype=np.float32), *args, **kwargs)

    # LanguageIdentifier.from_model_file's construction, from _model_arrays' arrays.
    ptc, pc, classes, nextmove, row, output = _model_arrays(MODEL_DIR / MODEL_FILE)
    return Float32Identifier(
        np.asarray(ptc), np.asarray(pc), classes, nextmove, output, norm_probs=True, tk_row=row
    )


def model_cache_dir() -> Path:
    """Where the decompressed language model is kept: $TECHWATCH_CACHE_DIR, else
    $XDG_CACHE_HOME/techwatch, else ~/.cache/techwatch."""
    configured = os.environ.get("TECHWATCH_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "techwatch"


# A copy that cannot be read (_DAMAGED_COPY), a cache that cannot be written, no home
# directory to put it in (RuntimeError) or a model file that cannot be decompressed (py3langid
# then reports it).
_DAMAGED_COPY: Final = (ValueError, KeyError, EOFError, zipfile.BadZipFile)
_NO_USABLE_COPY: Final = (*_DAMAGED_COPY, OSError, RuntimeError, lzma.LZMAError)


#: Age past which a `.part` file in the model cache is taken as abandoned (decompressing
#: the model takes about a second).
ABANDONED_PART_S: Final = 3600


def _model_arrays(model_file: Path) -> tuple[Any, ...]:
    """py3langid's load_model, read from a decompressed copy of its model file.

    The file is an npz inside LZMA (4.5 MB): decompressing it is 0.6 s of the ~0.9 s of CPU
    that loading the model costs each process that detects languages (the parse workers'
    forkserver in every run). Its 68 MB npz is kept in model_cache_dir(), named after the
    model file's size and time, and read there in 0.1-0.2 s; without a usable cache, the
    model loads as py3langid loads it."""
    from py3langid import modelio

    try:
        return _read_model(_decompressed_model(model_file, model_cache_dir()))
    except _NO_USABLE_COPY:
        return modelio.load_model(model_file)  # type: ignore[no-any-return]


def _decompressed_model(model_file: Path, cache: Path) -> Path:
    """The model file's npz in `cache`, decompressed there first if need be. Written aside
    and renamed: a process reads a whole file or none; older copies are removed, and so are
    the 68 MB parts that a process killed while writing left (past ABANDONED_PART_S: a part
    younger than that may be another process's, still being written)."""
    stat = model_file.stat()
    target = cache / f"langid-{stat.st_size}-{stat.st_mtime_ns}.npz"
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=cache, suffix=".part", delete=False) as part:
        try:
            with lzma.open(model_file) as source:
                shutil.copyfileobj(source, part, length=1 << 20)
        except BaseException:
            Path(part.name).unlink()
            raise
    os.replace(part.name, target)
    for stale in cache.glob("langid-*.npz"):
        if stale != target:
            stale.unlink(missing_ok=True)
    for left in cache.glob("*.part"):
        with suppress(FileNotFoundError):  # another process removed it first
            if time.time() - left.stat().st_mtime > ABANDONED_PART_S:
                left.unlink(missing_ok=True)
    return target


def _read_model(npz: Path) -> tuple[Any, ...]:
    """The arrays of py3langid 0.4's modelio.load_model, from its decompressed npz; a copy
    that cannot be read is removed (and the caller falls back to py3langid's loader)."""
    import numpy as np
    from py3langid.modelio import _to_array

    try:
        with np.load(npz, allow_pickle=False) as data:
            return (
                data["ptc"],
                data["pc"],
                data["classes"].tolist(),
                _to_array(data["nextmove"]),
                _to_array(data["nextmove_row"]),
                data["out_feat"].tolist(),
            )
    except _DAMAGED_COPY:
        npz.unlink(missing_ok=True)  # damaged (a crash before it reached the disk): rewritten
        raise


def detect_language(text: str) -> str | None:
    """The language of `text` as a 2-letter code, or None when too short or not confident.

    All of py3langid's languages stay possible: restricting to fr/de/en/it would force a wrong
    label on the Portuguese, Slovak or Russian feeds; the confidence floor handles doubt instead.
    """
    sample = text[:_DETECT_MAX_CHARS]
    if not _enough_letters(sample):
        return None
    return _decision(*_identifier().classify(sample))


def detect_languages(texts: Sequence[str]) -> list[str | None]:
    """`detect_language` of each text, computed together: the same answers at a fraction of
    the CPU for a feed's entries (see _batch_scores)."""
    samples = [text[:_DETECT_MAX_CHARS] for text in texts]
    wanted = [i for i, sample in enumerate(samples) if _enough_letters(sample)]
    languages: list[str | None] = [None] * len(texts)
    scored = _batch_scores(_identifier(), [samples[i] for i in wanted])
    for i, (lang, confidence) in zip(wanted, scored, strict=True):
        languages[i] = _decision(lang, confidence)
    return languages


def _enough_letters(sample: str) -> bool:
    return _ENOUGH_LETTERS.match(sample, 0, 4 * MIN_DETECT_CHARS) is not None


def _decision(lang: str, confidence: float) -> str | None:
    return normalize_language(lang) if confidence >= MIN_DETECT_CONFIDENCE else None


# py3langid finds its features with a DFA over the UTF-8 bytes (an Aho-Corasick automaton: a
# state stands for the longest suffix read so far that begins a feature, at most 6 bytes
# long). Walked byte by byte in Python, with two tables of 39 and 57 MB that the rest of the
# parse evicts from the CPU caches between entries, it cost 0.25-0.4 ms per entry. Since a
# state only depends on the last _STATE_BYTES bytes, the state at every byte of every text is
# the DFA run from the start state over that byte's window: _STATE_BYTES numpy steps over all
# bytes at once. The features then go through py3langid's own arithmetic, text by text and in
# the same order, so the scores are bit-identical (tests compare them with `classify`).
_STATE_BYTES: Final = 6
# A byte that UTF-8 never writes and that takes the DFA from every state back to the start
# (tests check both): put before each text, it ends any window that reaches into the text
# before, so the texts are walked as one array without tracking where each begins.
_RESET: Final = b"\xff"


@lru_cache(maxsize=1)
def _scanner_tables() -> tuple[Any, Any, Any]:
    """The identifier's DFA as numpy arrays: transitions (a view, no copy), row offsets and
    the feature each state emits (-1 for none)."""
    import numpy as np

    identifier = _identifier()
    transitions = np.frombuffer(identifier.tk_nextmove, dtype=np.uint32)
    rows = np.asarray(identifier.tk_row, dtype=np.int64) << 8
    outputs = np.asarray(identifier.tk_output, dtype=np.int64)
    return transitions, rows, outputs


def _batch_features(encoded: Sequence[bytes]) -> tuple[Any, Any]:
    """(bytes of each text with the _RESET before it, feature emitted at each of those bytes
    (-1 for none, as at every _RESET)).

    The reset byte replaced a mask of the windows that reach before their text's start and a
    selection by it at every step: 18 -> 12 us of CPU per bench entry."""
    import numpy as np

    transitions, rows, outputs = _scanner_tables()
    lengths = np.fromiter((len(text) + 1 for text in encoded), dtype=np.int64, count=len(encoded))
    data = np.frombuffer(b"".join([_RESET + text for text in encoded]), dtype=np.uint8)
    # A window reaching before the first byte starts at the start state, as _RESET would.
    state = np.zeros(data.size, dtype=np.int64)
    for back in range(min(_STATE_BYTES, data.size) - 1, -1, -1):
        state[back:] = transitions[rows[state[back:]] + data[: data.size - back]]
    return lengths, outputs[state]


def _first_occurrences(keys: Any) -> tuple[Any, Any]:
    """The distinct values of `keys` in the order they first occur, and how often each occurs.

    One stable sort: the first index of each run of equal keys marks, in `keys` itself, where
    each value first occurs (np.unique, then an argsort of those first indexes, sorted twice).
    """
    import numpy as np

    if not keys.size:
        return keys, keys
    perm = np.argsort(keys, kind="stable")
    ordered = keys[perm]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    counts_at_first = np.zeros(keys.size, dtype=np.int64)
    counts_at_first[perm[starts]] = np.diff(starts, append=ordered.size)
    first = counts_at_first > 0
    return keys[first], counts_at_first[first]


def _batch_scores(identifier: Any, samples: Sequence[str]) -> list[tuple[str, float]]:
    """`identifier.classify(sample)` for each sample (norm_probs, no confidence floor): the
    arithmetic of py3langid 0.4's _sparse_score, _decide and classify, one row per sample."""
    import numpy as np

    if not samples:
        return []
    encoded = [identifier._encode(sample) for sample in samples]
    lengths, features = _batch_features(encoded)
    owners = np.repeat(np.arange(len(encoded)), lengths)
    emitted = features >= 0
    width = identifier.nb_ptc.shape[0]
    keys = owners[emitted] * width + features[emitted]
    # Counter's order (first occurrence) keeps the dot product's summation order.
    unique, counts = _first_occurrences(keys)
    weights = np.log1p(counts.astype(np.float32))
    # np.take gathers the same rows a third faster than indexing: the 57 MB table's rows
    # are a quarter of detection's time.
    table = np.take(identifier.nb_ptc, (unique % width).astype(np.intp), axis=0)
    bounds = np.searchsorted(unique // width, np.arange(len(encoded) + 1))
    # A text without features scores 0.0 everywhere (uniform: abstain), as in py3langid.
    scores = np.zeros((len(encoded), len(identifier.nb_classes)), dtype=np.float32)
    for n, (start, end) in enumerate(itertools.pairwise(bounds.tolist())):
        if start < end:  # one dot product per text: batched, BLAS would sum in another order
            scores[n] = weights[start:end] @ table[start:end] + identifier.nb_pc
    scale = [1.0 / math.sqrt(len(text) or 1) for text in encoded]
    scores *= np.asarray(scale, dtype=np.float32)[:, None]
    np.exp(scores - scores.max(axis=1, keepdims=True), out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    for i, j in identifier._alias_pairs:
        scores[:, i] += scores[:, j]
        scores[:, j] = 0.0
    best = scores.argmax(axis=1)
    confidence = scores[np.arange(len(encoded)), best].tolist()
    return [(identifier.nb_classes[b], c) for b, c in zip(best.tolist(), confidence, strict=True)]


def warm_up() -> None:
    """Load what the first entry would otherwise pay for (the language model, ~0.25 s)."""
    _identifier()
    _scanner_tables()
