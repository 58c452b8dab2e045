"""Weak labels: training examples that the store's advisories label by themselves (pure).

What each kind of advisory teaches, on the axes it knows and no other:

    CVE record with a CVSS score  severity by the taxonomy's CVSS bands; topics vulnerability,
                                  plus exploited when the record is in CISA's KEV catalog
    KEV entry                     topics vulnerability and exploited (ransomware too when CISA
                                  knows of its use in ransomware campaigns)
    CERT-FR avis (French)         topics vulnerability, plus exploited when the avis says the
                                  flaw is exploited ("activement exploitée"...)
    CSAF advisory stating its     sectors mapped from CISA's critical-infrastructure sectors;
    critical-infrastructure       topics vulnerability. An advisory naming a sector we cannot
    sectors (CISA ICS)            map ("Multiple") teaches nothing: its sector list is unknown.

A known topics axis is a full answer (every other topic is a negative), which is why exploited
is added where the advisory itself says so rather than left as a false negative.

Cap: at most WEAK_CAP examples per kind. The seed corpus has about 2,100 hand-written examples
and 115 to 390 per label; 250 per kind weighs like one more well-populated label, and the four
kinds together (at most 1,000) stay under half the seed corpus, so its variety of wording, of
languages and of sources still dominates every axis while the store adds real advisory prose.
Within a kind the draw alternates between strata (severity bands, sector sets, exploited or
not) so that rare ones are not crowded out by the common ones; KEV entries keep their natural
share of ransomware use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from techwatch.classify.corpus import Example
from techwatch.classify.documents import example_id, item_document
from techwatch.parse.csaf import item_sectors
from techwatch.parse.cvss import best_cvss
from techwatch.types import CvssScore, ParsedItem

WEAK_CAP: Final = 250
# Candidates read per kind for each example kept: room to balance the strata.
READ_FACTOR: Final = 4
# What the store reads of each text: enough to find CSAF's sector line after its summary.
READ_CHARS: Final = 20_000

CVE_KINDS: Final = ("cve-json5", "osv")
_CERTFR_AVIS: Final = re.compile(r"CERTFR-\d{4}-AVI-\d+")
_EXPLOITED: Final = re.compile(
    r"activement\s+exploité|exploitée?s?\s+activement|exploitée?s?\s+dans\s+le\s+cadre\s+d.attaques"
    r"|connaissance\s+d.(?:une\s+)?exploitations?|exploited\s+in\s+the\s+wild|actively\s+exploited"
    r"|active\s+exploitation|known\s+to\s+(?:be|have\s+been)\s+exploited",
    re.IGNORECASE,
)
# CISA's critical-infrastructure sectors are free text ("and Water and Wastewater Systems.",
# "Healthcare and Public Health Sector"): keywords map each part to our sectors.
_SECTOR_KEYWORDS: Final = (
    ("health", "health"),
    ("life science", "health"),
    ("financ", "finance"),
    ("government", "public_admin"),
    ("emergency", "public_admin"),
    ("commercial", "retail_hospitality"),
    ("information technology", "it_services"),
    ("communication", "it_services"),
    *(
        (word, "industry")
        for word in (
            "manufactur", "energy", "water", "food", "agricultur", "chemical", "transport",
            "dams", "nuclear", "defense", "oil", "gas", "materials", "waste",
        )
    ),
)  # fmt: skip
_SECTOR_SPLIT: Final = re.compile(r"[,;]")
_SECTOR_NOISE: Final = re.compile(r"^(?:and\s*)|(?:\s*sectors?)?\.?$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class WeakExample:
    """A training example and the kind of advisory that labelled it (counted per origin)."""

    origin: str  # weak:cve, weak:kev, weak:certfr, weak:csaf
    example: Example
    stratum: str


def harvest(rows: Iterable[Mapping[str, Any]], *, cap: int = WEAK_CAP) -> list[WeakExample]:
    """Weak examples from store rows (storage.classes.weak_candidates), at most `cap` per kind."""
    found: dict[str, list[WeakExample]] = {}
    for row in rows:
        weak = weak_example(row)
        if weak is not None:
            found.setdefault(weak.origin, []).append(weak)
    return [w for origin in sorted(found) for w in balanced(found[origin], cap)]


def weak_example(row: Mapping[str, Any]) -> WeakExample | None:
    """What one advisory item teaches, or None when it teaches nothing we trust."""
    labeller = _LABELLERS.get(str(row.get("kind")))
    return None if labeller is None else labeller(row)


def balanced(examples: Sequence[WeakExample], cap: int) -> list[WeakExample]:
    """At most `cap`, taken in turn from each stratum, in the given order within a stratum."""
    strata: dict[str, list[WeakExample]] = {}
    for weak in examples:
        strata.setdefault(weak.stratum, []).append(weak)
    queues = [list(reversed(strata[key])) for key in sorted(strata)]
    chosen: list[WeakExample] = []
    while len(chosen) < cap and any(queues):
        for queue in queues:
            if queue and len(chosen) < cap:
                chosen.append(queue.pop())
    return chosen


def severity_band(score: float | None) -> str | None:
    """The taxonomy's CVSS bands; None for a missing or zero score (no severity stated)."""
    if score is None or score <= 0.0:
        return None
    if score < 4.0:
        return "low"
    if score < 7.0:
        return "medium"
    if score < 9.0:
        return "high"
    return "critical"


def map_sectors(stated: Sequence[str]) -> tuple[str, ...] | None:
    """CISA sectors -> ours, in taxonomy order; None when any part cannot be mapped."""
    mapped: set[str] = set()
    for part in (p for s in stated for p in _SECTOR_SPLIT.split(s)):
        words = _SECTOR_NOISE.sub("", part.strip()).strip().lower()
        found = {sector for keyword, sector in _SECTOR_KEYWORDS if keyword in words}
        if not words or not found:
            return None
        mapped |= found
    order = ("health", "finance", "public_admin", "retail_hospitality", "industry", "it_services")
    return tuple(s for s in order if s in mapped) or None


def reports_exploitation(text: str) -> bool:
    """Whether an advisory says its flaw is exploited in the wild (French or English)."""
    return _EXPLOITED.search(text) is not None


def _cve_record(row: Mapping[str, Any]) -> WeakExample | None:
    if row.get("vulns") != 1:
        return None
    best = best_cvss(CvssScore(**score) for score in row.get("cvss") or [])
    severity = severity_band(best.base_score if best else None)
    if severity is None:
        return None
    topics = ("vulnerability", "exploited") if row.get("kev") else ("vulnerability",)
    return _weak("weak:cve", row, severity, topics=topics, severity=severity)


def _kev_entry(row: Mapping[str, Any]) -> WeakExample | None:
    topics = ("vulnerability", "exploited", *(("ransomware",) if row.get("kev_ransomware") else ()))
    return _weak("weak:kev", row, "kev", topics=topics)


def _certfr_avis(row: Mapping[str, Any]) -> WeakExample | None:
    if not _CERTFR_AVIS.search(f"{row.get('title')} {row.get('id')}"):
        return None
    exploited = reports_exploitation(row.get("text") or "")
    topics = ("vulnerability", "exploited") if exploited else ("vulnerability",)
    return _weak("weak:certfr", row, "+".join(topics), topics=topics)


def _csaf_advisory(row: Mapping[str, Any]) -> WeakExample | None:
    sectors = map_sectors(item_sectors(_parsed(row)))
    if sectors is None:
        return None
    exploited = reports_exploitation(row.get("text") or "")
    topics = ("vulnerability", "exploited") if exploited else ("vulnerability",)
    return _weak("weak:csaf", row, "+".join(sectors), topics=topics, sectors=sectors)


def _weak(
    origin: str,
    row: Mapping[str, Any],
    stratum: str,
    *,
    topics: tuple[str, ...] | None = None,
    sectors: tuple[str, ...] | None = None,
    severity: str | None = None,
) -> WeakExample:
    document = item_document(row, example_id(row["id"]))
    return WeakExample(origin, Example(document, topics, sectors, severity), stratum)


def _parsed(row: Mapping[str, Any]) -> ParsedItem:
    """Enough of a ParsedItem for the CSAF parser's own reading of its sector line."""
    return ParsedItem(
        source_id=row.get("source_id") or "",
        identity=row["id"],
        url=None,
        canonical_url=None,
        title=row.get("title") or "",
        text=row.get("text") or "",
        html="",
        published=None,
        language=row.get("language"),
    )


_LABELLERS: Final[dict[str, Callable[[Mapping[str, Any]], WeakExample | None]]] = {
    **dict.fromkeys(CVE_KINDS, _cve_record),
    "cisa-kev": _kev_entry,
    "certfr-json": _certfr_avis,
    "csaf": _csaf_advisory,
}
