"""CISA Known Exploited Vulnerabilities catalog (JSON) -> one item per catalog entry.

An entry means "attackers use this now": it is news on the day CISA adds it, even for a CVE
published years ago, so an item is dated by `dateAdded` (midnight UTC), not by the CVE. The
catalog is one document of ~1,500 entries that grows by a few a week; identities are
"kev:<CVE id>", so the nightly re-read only stores what is new or changed (a due date, notes).

Schema: https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities_schema.json
An entry without a readable CVE id or dateAdded is skipped with a warning; any other missing or
mistyped field is read as empty (the entry still proves exploitation) and reported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Final

from techwatch.clean import normalize_line, normalize_text, truncate
from techwatch.errors import ParseError
from techwatch.parse.advisory import advisory_item, parse_date
from techwatch.parse.jsondoc import load_json
from techwatch.types import Affected, KevEntry, ParsedFeed, ParsedItem, VulnFacts, product_label

# The catalog held 1,404 entries in 2025 and grows by ~200 a year: 20k is a broken document.
MAX_ENTRIES: Final = 20_000
MAX_FIELD_CHARS: Final = 10_000  # per text field kept in facts (notes are ~500 characters)
MAX_CWES: Final = 20
MAX_REFERENCES: Final = 50
MAX_WARNINGS: Final = 50
LANGUAGE: Final = "en"
# Entries have no page of their own; the catalog's search shows exactly one.
ENTRY_URL: Final = (
    "https://www.cisa.gov/known-exploited-vulnerabilities-catalog?search_api_fulltext={}"
)

_CVE_ID: Final = re.compile(r"^CVE-\d{4}-\d{4,19}$")
_CWE_ID: Final = re.compile(r"^CWE-\d{1,6}$")
_URL: Final = re.compile(r"https?://[^\s;,<>\"']+")
# Text fields and whether the schema requires them (a missing optional one is no problem).
_TEXT_FIELDS: Final = {
    "vendorProject": True,
    "product": True,
    "vulnerabilityName": True,
    "shortDescription": True,
    "requiredAction": True,
    "notes": False,
}


def parse_kev(
    source_id: str,
    body: bytes,
    *,
    url: str,
    fetched_at: datetime,
    declared_language: str | None = None,
) -> ParsedFeed:
    """Parse the whole catalog; ParseError(malformed_advisory) only when it is not one at all.

    `fetched_at` and `declared_language` are part of the parser contract: the catalog is
    always English and dates every entry itself.
    """
    document = load_json(body, source_id=source_id, url=url)
    entries = _entries(document, source_id, url)
    items: list[ParsedItem] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries[:MAX_ENTRIES]):
        item, problems = _entry_item(source_id, index, entry)
        if item is not None and item.identity in seen:
            problems, item = ["duplicate of an earlier entry, skipped"], None
        if item is not None:
            seen.add(item.identity)
            items.append(item)
        if problems:
            warnings.append(f"entry {index} ({_cve_label(entry)}): {'; '.join(problems)}")
    if len(entries) > MAX_ENTRIES:
        warnings.append(f"{len(entries) - MAX_ENTRIES} entries beyond {MAX_ENTRIES} ignored")
    count = document.get("count")
    if count != len(entries):
        stated = truncate(repr(count), 40)
        warnings.append(f"catalog states count={stated} but lists {len(entries)} entries")
    title = document.get("title")
    return ParsedFeed(
        source_id=source_id,
        items=tuple(items),
        entries_total=len(entries),
        title=truncate(normalize_line(title), 200) if isinstance(title, str) else None,
        language=LANGUAGE,
        warnings=_capped(warnings),
    )


def _entries(document: Any, source_id: str, url: str) -> list[Any]:
    """The catalog's entry list; its absence means the document is not a KEV catalog."""
    if not isinstance(document, dict):
        message = f"not a KEV catalog: top level is a {type(document).__name__}, not an object"
        raise ParseError(message, kind="malformed_advisory", source_id=source_id, url=url)
    entries = document.get("vulnerabilities")
    if not isinstance(entries, list):
        message = "not a KEV catalog: no 'vulnerabilities' list"
        raise ParseError(message, kind="malformed_advisory", source_id=source_id, url=url)
    return entries


def _entry_item(source_id: str, index: int, entry: object) -> tuple[ParsedItem | None, list[str]]:
    """The item of one entry (None when it cannot be identified or dated) and what was wrong."""
    if not isinstance(entry, Mapping):
        return None, [f"a {type(entry).__name__}, not an object, skipped"]
    cve = entry.get("cveID")
    cve = cve.strip().upper() if isinstance(cve, str) else None
    if cve is None or not _CVE_ID.match(cve):
        return None, ["no valid cveID, skipped"]
    added = parse_date(entry.get("dateAdded"))
    if added is None:
        return None, ["no valid dateAdded, skipped"]
    problems: list[str] = []
    fields = {key: _text(entry, key, required, problems) for key, required in _TEXT_FIELDS.items()}
    due = parse_date(entry.get("dueDate"))
    if due is None and entry.get("dueDate") is not None:
        problems.append("dueDate unreadable")
    kev = KevEntry(
        date_added=added,
        due_date=due,
        required_action=fields["requiredAction"],
        ransomware=_ransomware(entry.get("knownRansomwareCampaignUse")),
        vendor=fields["vendorProject"],
        product=fields["product"],
        name=fields["vulnerabilityName"],
        notes=fields["notes"],
    )
    facts = VulnFacts(
        vuln_id=cve,
        title=kev.name or None,
        description=fields["shortDescription"] or None,
        cwes=_cwes(entry.get("cwes"), problems),
        affected=(Affected(vendor=kev.vendor, product=kev.product),)
        if kev.vendor or kev.product
        else (),
        kev=kev,
        references=_references(kev.notes),
    )
    item = advisory_item(
        source_id,
        identity=f"kev:{cve}",
        title=_title(kev, cve),
        text=_text_of(kev, facts),
        url=ENTRY_URL.format(cve),
        published=_midnight(added),
        language=LANGUAGE,
        facts=(facts,),
    )
    return item, problems


def _text(entry: Mapping[str, Any], key: str, required: bool, problems: list[str]) -> str:
    """A text field, normalised and capped; '' when missing or not a string (reported)."""
    value = entry.get(key)
    if isinstance(value, str):
        return truncate(normalize_text(value), MAX_FIELD_CHARS)
    if value is not None:
        problems.append(f"{key} is not text")
    elif required:
        problems.append(f"{key} missing")
    return ""


def _ransomware(value: object) -> bool | None:
    """'Known' -> True; CISA's only other value, 'Unknown', means no confirmation: None."""
    return True if isinstance(value, str) and value.strip().lower() == "known" else None


def _cwes(value: object, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append("cwes is not a list")
        return ()
    cwes = [c.strip().upper() for c in value if isinstance(c, str)]
    valid = tuple(dict.fromkeys(c for c in cwes if _CWE_ID.match(c)))
    if len(valid) < len(value):
        problems.append(f"{len(value) - len(valid)} cwes unreadable or repeated")
    return valid[:MAX_CWES]


def _references(notes: str) -> tuple[str, ...]:
    """The links CISA lists in `notes` (vendor advisories, NVD), in order, without repeats."""
    urls = (u.rstrip(".)") for u in _URL.findall(notes))
    return tuple(dict.fromkeys(urls))[:MAX_REFERENCES]


def _title(kev: KevEntry, cve: str) -> str:
    name = kev.name or product_label(kev.vendor, kev.product) or "vulnerability"
    return f"CISA KEV: {name} ({cve})"


def _text_of(kev: KevEntry, facts: VulnFacts) -> str:
    """What a consultant reads: what it is, where, since when, what to do, and the sources."""
    ransomware = "known" if kev.ransomware else "not confirmed"
    lines = [
        facts.description or "",
        "",
        f"Product: {product_label(kev.vendor, kev.product) or 'not stated'}",
        f"Exploited in the wild: added to the CISA KEV catalog on {kev.date_added.isoformat()}",
        f"Remediation due (US federal agencies): {_day(kev.due_date)}",
        f"Use in ransomware campaigns: {ransomware}",
    ]
    if facts.cwes:
        lines.append(f"Weaknesses: {', '.join(facts.cwes)}")
    if kev.required_action:
        lines.append(f"Required action: {kev.required_action}")
    if kev.notes:
        lines.append(f"Notes: {kev.notes}")
    return "\n".join(lines).strip()


def _day(value: date | None) -> str:
    return value.isoformat() if value else "not stated"


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _cve_label(entry: object) -> str:
    cve = entry.get("cveID") if isinstance(entry, Mapping) else None
    return truncate(normalize_line(cve), 40) if isinstance(cve, str) else "no cveID"


def _capped(warnings: list[str]) -> tuple[str, ...]:
    if len(warnings) <= MAX_WARNINGS:
        return tuple(warnings)
    extra = len(warnings) - MAX_WARNINGS
    return (*warnings[:MAX_WARNINGS], f"and {extra} more warnings")
