"""What every structured-advisory parser shares: turning one advisory into a ParsedItem.

The item is what people read (title, plain text, link); its `facts` are what the advisory
states per vulnerability. The content hash covers both, so that a CVE record gaining a CVSS
score or a KEV entry changing its due date counts as an update of the stored item.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import fields
from datetime import UTC, date, datetime
from operator import attrgetter, itemgetter
from typing import Any, Final

from techwatch.clean import canonical_url, normalize_line, normalize_text, text_to_html, truncate
from techwatch.parse.cve_ids import all_cve_ids, find_cves
from techwatch.types import ParsedItem, SharedFacts, VulnFacts

MAX_TITLE_CHARS: Final = 500
MAX_TEXT_CHARS: Final = 50_000
_CVE_ID: Final = re.compile(r"^CVE-\d{4}-\d{4,}$")


def advisory_item(
    source_id: str,
    *,
    identity: str,
    title: str,
    text: str,
    url: str | None,
    published: datetime | None,
    language: str | None,
    facts: Iterable[VulnFacts] | SharedFacts = (),
) -> ParsedItem:
    """A ParsedItem for one advisory: clean text, CVE ids from facts and text, hash of both.

    SharedFacts stay in their form (see types.SharedFacts), other facts become a tuple."""
    facts = facts if isinstance(facts, SharedFacts) else tuple(facts)
    clean_title = truncate(normalize_line(title), MAX_TITLE_CHARS)
    clean_text = truncate(normalize_text(text), MAX_TEXT_CHARS)
    stated = _stated_cves(facts) | set(find_cves(f"{clean_title}\n{clean_text}"))
    cves = _sorted_cves(stated)
    return ParsedItem(
        source_id=source_id,
        identity=identity,
        url=url,
        canonical_url=canonical_url(url),
        title=clean_title,
        text=clean_text,
        html=text_to_html(clean_text),
        published=published,
        language=language,
        cves=cves,
        content_hash=facts_hash(clean_title, clean_text, facts),
        facts=facts,
    )


def _stated_cves(facts: tuple[VulnFacts, ...] | SharedFacts) -> set[str]:
    """The CVE ids, upper-cased, among the vulnerability ids and aliases the facts state. A
    bulletin's ids, stored as CVE ids already (a CERT-FR avis'), are taken as they are."""
    if isinstance(facts, SharedFacts) and all_cve_ids(facts.vuln_ids):
        aliases = facts.template.aliases
        return {*facts.vuln_ids, *(v.upper() for v in aliases if _CVE_ID.match(v.upper()))}
    return {v.upper() for v in _stated_ids(facts) if _CVE_ID.match(v.upper())}


def _stated_ids(facts: tuple[VulnFacts, ...] | SharedFacts) -> Iterator[str]:
    """The vulnerability ids and aliases the facts state (of SharedFacts, without building
    their facts)."""
    if isinstance(facts, SharedFacts):
        yield from facts.vuln_ids
        yield from facts.template.aliases if facts.vuln_ids else ()
        return
    for fact in facts:
        yield fact.vuln_id
        yield from fact.aliases


def facts_hash(title: str, text: str, facts: tuple[VulnFacts, ...] | SharedFacts) -> str:
    """Stable digest of what a reader sees and what the advisory states.

    Per fact it covers `repr(replace(fact, affected=()))` and the SHA-256 of `repr(affected)`
    (as first defined). Advisories state much alike for all their CVEs (CERT-FR repeats its
    dates, its systems and its vendor links for each of them): the fields between the CVE id
    and the links are rendered once per distinct set of objects, and each CVE adds its id and
    links only (the links' shared tail rendered once too: 68 of the 84 MB the facts of the
    1,338 real CERT-FR avis render to). Rendering every field of every fact cost ~0.4 s of
    CPU over the 2,481 real advisories, this ~0.25 s.
    """
    digest = hashlib.sha256()
    update = digest.update
    for part in (title, text):
        update(part.encode("utf-8", "replace"))
        update(b"\x00")
    if isinstance(facts, SharedFacts):
        update(_shared_bytes(facts))
        return digest.hexdigest()[:32]
    reprs: dict[int, str] = {}  # by object id: valid while `facts` lives
    middles: dict[tuple[int, ...], tuple[str, bytes]] = {}
    tails: dict[tuple[str, ...], bytes] = {}
    for fact in facts:
        values = _middle(fact)
        key = tuple(map(id, values))
        middle = middles.get(key)
        if middle is None:
            middle = middles[key] = _render_middle(values, reprs)
        head, tail = _links_parts(fact.references, tails)
        update(_utf8(f"{_OPEN}{fact.vuln_id!r}{middle[0]}"))
        update(head)
        update(tail)
        update(middle[1])
    return digest.hexdigest()[:32]


def _shared_bytes(facts: SharedFacts) -> bytes:
    """What facts_hash renders for these facts, the same bytes as for their tuple, with the
    shared fields and links rendered once per bulletin instead of once per CVE.

    A CVE's own link leads its links (SharedFacts.references_of): what comes before the
    shared ones is rendered as one text with its id, what follows them is the bulletin's
    (its 55k CVEs rendered in ~0.2 s of the workers' CPU as six parts each, ~0.1 s so)."""
    rendered, after = _render_middle(_middle(facts.template), {})
    shared = facts.template.references
    among = set(shared)
    plain = b"".join(_links_parts(shared, {})) + after  # the shared links only, and the rest
    own_tail = _utf8(repr(shared)[1:]) + after if len(shared) > 1 else b""
    parts: list[bytes] = []
    for vuln_id, link in zip(facts.vuln_ids, facts.links, strict=True):
        if not link or link in among:
            parts += (_utf8(f"{_OPEN}{vuln_id!r}{rendered}"), plain)
        elif own_tail:
            parts += (_utf8(f"{_OPEN}{vuln_id!r}{rendered}({link!r}, "), own_tail)
        else:  # one shared link or none: the tuple's repr differs ("(a, b)", "(a,)")
            parts += (_utf8(f"{_OPEN}{vuln_id!r}{rendered}{(link, *shared)!r}"), after)
    return b"".join(parts)


def _links_parts(
    links: tuple[str, ...], tails: dict[tuple[str, ...], bytes]
) -> tuple[bytes, bytes]:
    """A fact's links as its repr shows them, in two parts: the head, then the links after
    the first (the ones a bulletin's CVEs share, after each CVE's own), rendered once per
    distinct tuple (`tails`)."""
    if len(links) < 3:  # a one-element tail would render as "(x,)"
        return _utf8(repr(links)), b""
    rest = links[1:]
    tail = tails.get(rest) or tails.setdefault(rest, _utf8(repr(rest)[1:]))
    return _utf8(f"({links[0]!r}, "), tail


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "replace")


def _render_middle(values: tuple[object, ...], reprs: dict[int, str]) -> tuple[str, bytes]:
    """The fields between the CVE id and the links as the fact's repr shows them (`affected`
    as "()"), and what follows the links: ")" then the SHA-256 of `repr(affected)`."""
    texts = [reprs.get(id(v)) or reprs.setdefault(id(v), repr(v)) for v in values]
    affected = texts[_AFFECTED]
    texts[_AFFECTED] = "()"
    rendered = "".join(f", {name}={shown}" for name, shown in zip(_MIDDLE, texts, strict=True))
    return f"{rendered}, references=", b")" + hashlib.sha256(_utf8(affected)).digest()


# The fields of VulnFacts in their repr's order: the CVE id first, the links last (each fact
# has its own), the others between them (shared by a bulletin's facts).
_FIELDS: Final = tuple(f.name for f in fields(VulnFacts) if f.repr)
if (_FIELDS[0], _FIELDS[-1]) != ("vuln_id", "references"):  # facts_hash renders in this order
    raise RuntimeError(f"VulnFacts fields moved: {_FIELDS}")
_MIDDLE: Final = _FIELDS[1:-1]
_middle: Final = attrgetter(*_MIDDLE)
_AFFECTED: Final = _MIDDLE.index("affected")
_OPEN: Final = f"{VulnFacts.__qualname__}(vuln_id="


# --- field readers: every value of a hostile document may have any JSON type (RELIABILITY 25) --


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_text(value: object) -> str:
    """A string field, stripped; anything else is empty."""
    return value.strip() if isinstance(value, str) else ""


def as_str(value: object) -> str:
    """A string field, stripped; numbers become text (versions are sometimes numbers)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return as_text(value)


def parse_date(value: object) -> date | None:
    """'2026-11-28' (or a longer ISO timestamp) -> date; None when absent or unreadable."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_timestamp(value: object) -> datetime | None:
    """ISO 8601 timestamp -> aware UTC datetime (naive ones are taken as UTC); None otherwise."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        day = parse_date(text)
        return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None
    if parsed.year < 1990:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _sorted_cves(ids: set[str]) -> tuple[str, ...]:
    """`ids` by year, then number (`_cve_key`). Ids whose text says both plainly are ordered
    by three sorts without a Python key (text, length, year): the 55k ids of the real CERT-FR
    avis took ~0.045 s of CPU with one `_cve_key` call each, ~0.023 s so."""
    ordered = sorted(ids)
    lines = "\n".join(ordered)
    if not _ORDERED_CVES.fullmatch(lines) or lines.count("\n") != len(ordered) - 1:
        return tuple(sorted(ids, key=_cve_key))
    ordered.sort(key=len)
    ordered.sort(key=_YEAR)
    return tuple(ordered)


#: CVE ids ordered as `_cve_key` orders them when sorted by year, length, then text: a year
#: of four ASCII digits, a number of four or of more without a leading zero.
_ORDERED_ID: Final = "CVE-[0-9]{4}-(?:[0-9]{4}|[1-9][0-9]{4,})"
_ORDERED_CVES: Final = re.compile(rf"(?:{_ORDERED_ID}\n)*{_ORDERED_ID}")
_YEAR: Final = itemgetter(slice(4, 8))


def _cve_key(cve: str) -> tuple[int, int]:
    year, _, number = cve[4:].partition("-")
    return int(year), int(number)
