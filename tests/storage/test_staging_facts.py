"""stage_facts builds its table column by column, sharing repeated product lists: the table
must be the one a row-by-row conversion gives (reference below), on real and edge cases."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from techwatch.parse.registry import parse_document
from techwatch.storage.staging import FACTS, stage_facts, unique_items
from techwatch.types import Affected, CvssScore, KevEntry, ParsedItem, SourceOutcome, VulnFacts

WHEN = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def reference(rows: dict[str, ParsedItem]) -> pa.Table:
    """Row dicts, one per (item, vulnerability), first of a repeated id kept."""
    records = []
    for key, item in rows.items():
        seen: set[str] = set()
        for fact in item.facts:
            if fact.vuln_id in seen:
                continue
            seen.add(fact.vuln_id)
            kev = fact.kev
            records.append(
                {
                    "item_id": key,
                    "vuln_id": fact.vuln_id,
                    "aliases": list(fact.aliases),
                    "title": fact.title,
                    "description": fact.description,
                    "published": fact.published,
                    "modified": fact.modified,
                    "cvss": [asdict(score) for score in fact.cvss],
                    "cwes": list(fact.cwes),
                    "affected": [asdict(p) for p in fact.affected],
                    "kev_date_added": kev.date_added if kev else None,
                    "kev_due_date": kev.due_date if kev else None,
                    "kev_required_action": kev.required_action if kev else None,
                    "kev_ransomware": kev.ransomware if kev else None,
                    "kev_vendor": kev.vendor if kev else None,
                    "kev_product": kev.product if kev else None,
                    "kev_name": kev.name if kev else None,
                    "kev_notes": kev.notes if kev else None,
                    "ssvc": [{"point": p, "value": v} for p, v in fact.ssvc],
                    "refs": list(fact.references),
                }
            )
    return pa.Table.from_pylist(records, schema=FACTS)


def _item(identity: str, facts: tuple[VulnFacts, ...]) -> ParsedItem:
    return ParsedItem(
        source_id="s",
        identity=identity,
        url=None,
        canonical_url=None,
        title=identity,
        text="",
        html="",
        published=None,
        language=None,
        facts=facts,
    )


SHARED = (
    Affected("Fortinet", "FortiOS", ("7.2.0 - 7.2.8",), ("7.2.9",), ("cpe:2.3:o:f:*",)),
    Affected("Ivanti", "Connect Secure", purl="pkg:generic/ivanti"),
)
FULL = VulnFacts(
    "CVE-2026-0001",
    aliases=("GHSA-1",),
    title="t",
    description="d",
    published=WHEN,
    modified=WHEN,
    cvss=(CvssScore("3.1", "CVSS:3.1/AV:N", 9.8, "CRITICAL", "NVD", None),),
    cwes=("CWE-79",),
    affected=SHARED,
    kev=KevEntry(date(2026, 1, 1), None, "Patch", None, "Fortinet", "FortiOS", "n"),
    ssvc=(("Exploitation", "active"),),
    references=("https://a.example/",),
)
CASES = {
    "none": {},
    "no facts": {"a": _item("a", ())},
    "bare fact": {"a": _item("a", (VulnFacts("CVE-2026-0002"),))},
    "shared and repeated": {
        "a": _item(
            "a",
            (
                FULL,
                replace(FULL, vuln_id="CVE-2026-0003", kev=None),
                replace(FULL, vuln_id="CVE-2026-0001", title="repeated id: dropped"),
                replace(FULL, vuln_id="CVE-2026-0004", affected=()),
            ),
        ),
        "b": _item("b", (replace(FULL, affected=SHARED[1:]), replace(FULL, vuln_id="X-1"))),
    },
}


@pytest.mark.parametrize("rows", CASES.values(), ids=CASES.keys())
def test_the_table_is_the_row_by_row_one(rows: dict[str, ParsedItem]) -> None:
    assert stage_facts(rows).equals(reference(rows))


def test_real_advisories_stage_the_row_by_row_table(realdata: Path) -> None:
    kinds = (
        ("cert-fr-avis/*/*.json", "certfr-json", 40),
        ("csaf-cisa/*-2024/*.json", "csaf", 15),
        ("cve-json5-vulnrichment/*/*.json", "cve-json5", 15),
        ("osv-golang-vulndb/*.json", "osv", 15),
        ("cisa-kev/known_exploited_vulnerabilities.json", "cisa-kev", 1),
    )
    outcomes = [
        SourceOutcome(
            kind,
            "ok",
            WHEN,
            0.0,
            items=parse_document(
                kind, kind, path.read_bytes(), url=path.as_uri(), fetched_at=WHEN
            ).items,
        )
        for pattern, kind, count in kinds
        for path in sorted((realdata / "advisories").glob(pattern))[:count]
    ]
    rows = unique_items(outcomes)
    table = stage_facts(rows)
    assert table.num_rows > 2000
    assert table.equals(reference(rows))
