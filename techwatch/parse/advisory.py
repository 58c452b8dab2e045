"""What every structured-advisory parser shares: turning one advisory into a ParsedItem.

The item is what people read (title, plain text, link); its `facts` are what the advisory
states per vulnerability. The content hash covers both, so that a CVE record gaining a CVSS
score or a KEV entry changing its due date counts as an update of the stored item.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import fields
from datetime import UTC, date, datetime
from operator import attrgetter
from typing import Any, Final

from techwatch.clean import canonical_url, normalize_line, normalize_text, text_to_html, truncate
from techwatch.parse.feeds import find_cves
from techwatch.types import ParsedItem, VulnFacts

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
    facts: Iterable[VulnFacts] = (),
) -> ParsedItem:
    """A ParsedItem for one advisory: clean text, CVE ids from facts and text, hash of both."""
    facts = tuple(facts)
    clean_title = truncate(normalize_line(title), MAX_TITLE_CHARS)
    clean_text = truncate(normalize_text(text), MAX_TEXT_CHARS)
    stated = {f.vuln_id.upper() for f in facts if _CVE_ID.match(f.vuln_id.upper())}
    stated |= {a.upper() for f in facts for a in f.aliases if _CVE_ID.match(a.upper())}
    cves = tuple(sorted(stated | set(find_cves(f"{clean_title}\n{clean_text}")), key=_cve_key))
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


def facts_hash(title: str, text: str, facts: tuple[VulnFacts, ...]) -> str:
    """Stable digest of what a reader sees and what the advisory states.

    Advisories often repeat one long `affected` tuple for each of their CVEs (CERT-FR lists
    every system for every CVE): each distinct tuple is rendered once, not once per CVE.
    """
    digest = hashlib.sha256()
    rendered: dict[int, bytes] = {}
    reprs: dict[int, str] = {}
    tails: dict[tuple[str, ...], str] = {}
    for part in (title, text):
        digest.update(part.encode("utf-8", "replace"))
        digest.update(b"\x00")
    for fact in facts:
        texts = [reprs.get(id(v)) or reprs.setdefault(id(v), repr(v)) for v in _others(fact)]
        links = fact.references
        shown = reprs.get(id(links)) or reprs.setdefault(id(links), _links(links, tails))
        texts.insert(_REFERENCES, shown)
        key = id(fact.affected)
        if key not in rendered:
            affected = texts[_AFFECTED].encode("utf-8", "replace")
            rendered[key] = hashlib.sha256(affected).digest()
        texts[_AFFECTED] = "()"
        digest.update(_WITHOUT_AFFECTED.format(*texts).encode("utf-8", "replace"))
        digest.update(rendered[key])
    return digest.hexdigest()[:32]


def _links(links: tuple[str, ...], tails: dict[tuple[str, ...], str]) -> str:
    """`repr(links)`, its tail rendered once per document: a CERT-FR bulletin puts each CVE's
    own link before the vendor links all its CVEs share, 68 of the 84 MB the facts of the 1,338
    real avis render to; rendering each whole cost ~0.1 s of their 1.1 s of parsing."""
    if len(links) < 3:  # a one-element tail renders as "(x,)"
        return repr(links)
    rest = links[1:]
    tail = tails.get(rest)
    if tail is None:
        tail = tails[rest] = repr(rest)
    return f"({links[0]!r}, {tail[1:]}"


# What the digest has always covered per fact is `repr(replace(fact, affected=()))`: it is
# rebuilt from the fields' own reprs, each rendered once per document (a bulletin's facts share
# their dates, products and links; `reprs` is keyed by object id, valid while `facts` lives),
# without copying the fact: facts_hash costs a quarter of what it did on CERT-FR bulletins.
_FIELDS: Final = tuple(f.name for f in fields(VulnFacts) if f.repr)
_REFERENCES: Final = _FIELDS.index("references")
_others: Final = attrgetter(*(name for name in _FIELDS if name != "references"))
_AFFECTED: Final = _FIELDS.index("affected")
_WITHOUT_AFFECTED: Final = f"{VulnFacts.__qualname__}({', '.join(f'{n}={{}}' for n in _FIELDS)})"


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


def _cve_key(cve: str) -> tuple[int, int]:
    _, year, number = cve.split("-")
    return int(year), int(number)
