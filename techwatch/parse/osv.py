"""OSV records (osv.dev schema 1.x): open-source package vulnerabilities.

One record is one vulnerability in one database (GO-, GHSA-, DSA-, UBUNTU-...). Its facts take
the CVE id as vuln_id when the record names exactly one CVE (its own id, its aliases, or else its
`upstream` list, which is how Ubuntu links its records), so that enrichment joins them to the
CVE; otherwise the OSV id stays the vuln_id and every alias is kept. Identity is "osv:<id>".

Accepted documents: one record; a JSON list of records; or the osv.dev API's {"vulns": [...]}.
Withdrawn records yield no item, only a warning. Dates before 1990 (the Go vulndb's placeholder
0001-01-01T00:00:00Z) become None through parse_timestamp: nothing is guessed.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

from techwatch.clean import truncate
from techwatch.errors import ParseError
from techwatch.parse.advisory import advisory_item, as_dict, as_list, as_str, parse_timestamp
from techwatch.parse.cve_json5 import (
    CVE_ID,
    CWE_ID,
    MAX_AFFECTED,
    MAX_CVSS,
    MAX_CWES,
    MAX_REFERENCES,
    MAX_TEXT_CHARS,
    MAX_VERSIONS,
    cvss_score,
    first_of_each,
    short_summary,
    unique,
    vuln_text,
)
from techwatch.parse.jsondoc import load_json
from techwatch.types import Affected, CvssScore, ParsedFeed, ParsedItem, VulnFacts

_OSV_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{1,127}$")
_CVSS_TYPES: Final = {"CVSS_V2": "2.0", "CVSS_V3": "3.1", "CVSS_V4": "4.0"}
_V3_PREFIX: Final = re.compile(r"^CVSS:3\.([01])/")
_GIT_SHORT: Final = 12


# --- affected packages ------------------------------------------------------------------------


def _event_version(value: str, git: bool) -> str:
    return value[:_GIT_SHORT] if git else value


def range_texts(range_: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Readable ranges and fixed versions of one OSV range, from its ordered events.

    Each "introduced" opens a range that the next "fixed", "last_affected" or "limit" closes;
    introduced "0" means from the first release. GIT ranges show short commit hashes."""
    git = as_str(range_.get("type")).upper() == "GIT"
    prefix = "git " if git else ""
    ranges: list[str] = []
    fixed: list[str] = []
    start: str | None = None
    for event in as_list(range_.get("events")):
        event = as_dict(event)
        if "introduced" in event:
            if start is not None:
                ranges.append(_open_range(start, prefix))
            start = _event_version(as_str(event["introduced"]), git)
            continue
        for key, op in (("fixed", "<"), ("limit", "<"), ("last_affected", "<=")):
            end = _event_version(as_str(event.get(key)), git)
            if end:
                if key == "fixed":
                    fixed.append(prefix + end)
                low = "" if start in (None, "0", "") else f">= {start}, "
                ranges.append(f"{prefix}{low}{op} {end}")
                start = None
                break
    if start is not None:
        ranges.append(_open_range(start, prefix))
    return ranges, fixed


def _open_range(start: str, prefix: str) -> str:
    return "all versions" if start in ("0", "") else f"{prefix}>= {start}"


def osv_affected(entry: object) -> Affected | None:
    """One OSV `affected` entry: the ecosystem is the vendor, the package the product."""
    data = as_dict(entry)
    package = as_dict(data.get("package"))
    name = as_str(package.get("name"))
    if not name:
        return None
    ranges: list[str] = []
    fixed: list[str] = []
    for range_ in as_list(data.get("ranges")):
        found, fixes = range_texts(as_dict(range_))
        ranges.extend(found)
        fixed.extend(fixes)
    ranges.extend(as_str(v) for v in as_list(data.get("versions"))[:MAX_VERSIONS])
    return Affected(
        vendor=as_str(package.get("ecosystem")),
        product=name,
        versions=unique(ranges, MAX_VERSIONS),
        fixed=unique(fixed, MAX_VERSIONS),
        purl=as_str(package.get("purl")) or None,
    )


# --- severity ---------------------------------------------------------------------------------


def _cvss(record: dict[str, Any]) -> list[CvssScore]:
    """CVSS vectors of the record and of its affected entries (OSV states no base scores)."""
    severities = [*as_list(record.get("severity"))]
    for entry in as_list(record.get("affected")):
        severities.extend(as_list(as_dict(entry).get("severity")))
    scores = []
    for severity in severities:
        severity = as_dict(severity)
        version = _CVSS_TYPES.get(as_str(severity.get("type")).upper())
        if version is None:
            continue
        vector = as_str(severity.get("score"))
        minor = _V3_PREFIX.match(vector)
        if minor:
            version = f"3.{minor.group(1)}"
        scores.append(cvss_score(vector, version=version, source=None))
    return list(dict.fromkeys(scores))[:MAX_CVSS]


def _rating_notes(record: dict[str, Any]) -> list[str]:
    """Severities that are not CVSS (Ubuntu priority, GitHub's rating), for the reader only."""
    notes = [
        f"{as_str(s.get('type'))} severity: {as_str(s.get('score'))}"
        for s in (as_dict(s) for s in as_list(record.get("severity")))
        if as_str(s.get("type")).upper() not in _CVSS_TYPES and as_str(s.get("score"))
    ]
    rating = as_str(as_dict(record.get("database_specific")).get("severity"))
    if rating:
        notes.append(f"Database severity: {rating}")
    return notes


# --- one record -------------------------------------------------------------------------------


def vuln_ids(record: dict[str, Any], osv_id: str) -> tuple[str, tuple[str, ...]]:
    """(vuln_id, aliases): the single CVE the record is about, else the OSV id."""
    aliases = [
        as_str(a).upper() if as_str(a).upper().startswith("CVE-") else as_str(a)
        for a in as_list(record.get("aliases"))
    ]
    upstream = [as_str(a) for a in as_list(record.get("upstream"))]
    cves = unique((a for a in [osv_id, *aliases] if CVE_ID.match(a)), 10)
    if not cves:
        cves = unique((a.upper() for a in upstream if CVE_ID.match(a.upper())), 10)
    vuln_id = cves[0] if len(cves) == 1 else osv_id
    others = unique((a for a in [osv_id, *aliases, *upstream] if a != vuln_id), MAX_REFERENCES)
    return vuln_id, others


def _references(record: dict[str, Any]) -> tuple[str, ...]:
    urls = (as_str(as_dict(ref).get("url")) for ref in as_list(record.get("references")))
    return unique((u for u in urls if u.startswith(("https://", "http://"))), MAX_REFERENCES)


def record_facts(record: dict[str, Any], osv_id: str) -> VulnFacts:
    vuln_id, aliases = vuln_ids(record, osv_id)
    found = (osv_affected(e) for e in as_list(record.get("affected"))[: MAX_AFFECTED * 2])
    affected = [a for a in found if a is not None][:MAX_AFFECTED]
    cwes = (as_str(c) for c in as_list(as_dict(record.get("database_specific")).get("cwe_ids")))
    return VulnFacts(
        vuln_id=vuln_id,
        aliases=aliases,
        title=as_str(record.get("summary")) or None,
        description=truncate(as_str(record.get("details")), MAX_TEXT_CHARS) or None,
        published=parse_timestamp(record.get("published")),
        modified=parse_timestamp(record.get("modified")),
        cvss=tuple(_cvss(record)),
        cwes=unique((m for c in cwes for m in CWE_ID.findall(c.upper())), MAX_CWES),
        affected=tuple(affected),
        references=_references(record),
    )


def _action(facts: VulnFacts) -> str:
    """'upgrade to a fixed version: example-lib 1.2.3.' when release fixes are stated."""
    fixes = []
    for affected in facts.affected:
        releases = [v for v in affected.fixed if not v.startswith("git ")]
        if releases:
            fixes.append(f"{affected.product} {', '.join(releases[:3])}")
    unique_fixes = list(dict.fromkeys(fixes))[:5]
    return f"upgrade to a fixed version: {'; '.join(unique_fixes)}." if unique_fixes else ""


def _title(facts: VulnFacts, osv_id: str) -> str:
    """'Resource exhaustion via GZIP bomb in github.com/cloudflare/cfrpki (GO-2022-0253,
    CVE-2021-3912)'."""
    summary = facts.title or short_summary(facts.description or "")
    if not summary and facts.affected:
        summary = f"{facts.affected[0].product} vulnerability"
    ids = osv_id if facts.vuln_id == osv_id else f"{osv_id}, {facts.vuln_id}"
    return f"{summary} ({ids})" if summary else ids


def _item(source_id: str, record: dict[str, Any], osv_id: str, language: str | None) -> ParsedItem:
    facts = record_facts(record, osv_id)
    link = as_str(as_dict(record.get("database_specific")).get("url"))
    if not link.startswith("https://"):
        link = f"https://osv.dev/vulnerability/{osv_id}"
    return advisory_item(
        source_id,
        identity=f"osv:{osv_id}",
        title=_title(facts, osv_id),
        text=vuln_text(facts, action=_action(facts), notes=_rating_notes(record)),
        url=link,
        published=facts.published or facts.modified,
        language=language or "en",
        facts=(facts,),
    )


def _problem(record: object, index: int) -> tuple[str | None, str | None]:
    """(OSV id, None) for a usable record, (None, warning) for one to skip."""
    if not isinstance(record, dict):
        return None, f"record {index}: not a JSON object, skipped"
    osv_id = as_str(record.get("id"))
    if not _OSV_ID.match(osv_id):
        return None, f"record {index}: no valid id, skipped"
    if record.get("withdrawn"):
        return None, f"{osv_id}: withdrawn, skipped"
    return osv_id, None


def _records(document: object, *, source_id: str, url: str) -> list[Any]:
    if isinstance(document, dict) and "id" in document:
        return [document]
    if isinstance(document, dict) and isinstance(document.get("vulns"), list):
        document = document["vulns"]
    if isinstance(document, list) and (
        not document or any(isinstance(r, dict) and "id" in r for r in document)
    ):
        return document
    raise ParseError(
        "not an OSV record: no id (nor a list of records)",
        kind="malformed_advisory",
        source_id=source_id,
        url=url,
    )


def parse_osv(
    source_id: str,
    body: bytes,
    *,
    url: str,
    fetched_at: datetime,
    declared_language: str | None = None,
) -> ParsedFeed:
    """One ParsedItem per OSV record (identity "osv:<id>"); withdrawn or broken ones warned.

    `fetched_at` is unused: a record carries its own dates (or placeholders, dropped)."""
    del fetched_at
    records = _records(load_json(body, source_id=source_id, url=url), source_id=source_id, url=url)
    items, warnings = first_of_each(
        records,
        _problem,
        lambda record, osv_id: _item(source_id, record, osv_id, declared_language),
    )
    return ParsedFeed(
        source_id=source_id,
        items=items,
        entries_total=len(records),
        title="OSV records",
        language="en",
        warnings=warnings,
    )
