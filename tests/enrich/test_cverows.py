"""A chunk's stored inputs -> its CVE rows (enrich.cverows): the same rows as `aggregate`
gives CVE by CVE, computed once per distinct statement and sighting."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from techwatch.enrich.cverows import _codes, cve_rows, fact_bodies, facts_from_table
from techwatch.enrich.cves import CveRecord, Sightings, aggregate, display_from
from techwatch.storage import open_writer
from techwatch.storage.cves import CVES
from techwatch.types import Affected, CvssScore, KevEntry, VulnFacts
from tests.storage.factories import T0, item, outcome

T1 = datetime(2026, 11, 1, 8, 30)
T2 = datetime(2026, 11, 5, 12, 0, 0, 7)
T3 = datetime(2026, 11, 9)
NO_FACTS = pa.table(
    {n: pa.array([], CVES.field(n).type) for n in ("cve_id", "title")}
)  # a table of facts none of whose CVEs is asked for


def mentions(*rows: tuple[str, str, str, datetime]) -> pa.Table:
    """Mentions as storage.cves.cve_mentions reads them: first seen as naive UTC."""
    cve_ids, item_ids, source_ids, first_seen = zip(*rows, strict=True) if rows else ([],) * 4
    return pa.table(
        {
            "cve_id": pa.array(cve_ids, pa.string()),
            "item_id": pa.array(item_ids, pa.string()),
            "source_id": pa.array(source_ids, pa.string()),
            "first_seen": pa.array(first_seen, pa.timestamp("us")),
        }
    )


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def seen_of(table: pa.Table, cve_ids: list[str]) -> dict[str, Sightings]:
    """The sightings of a chunk's CVE rows."""
    rows = cve_rows(cve_ids, NO_FACTS, NO_FACTS, table, {}, T0, CVES).to_pylist()
    return {
        r["cve_id"]: Sightings(
            r["first_seen"], r["last_seen"], tuple(r["item_ids"]), tuple(r["sources"])
        )
        for r in rows
    }


def test_sightings_give_first_and_last_seen_and_the_items_newest_first() -> None:
    table = mentions(
        ("CVE-2024-2", "b", "press", T2),
        ("CVE-2024-1", "x", "kev", T1),
        ("CVE-2024-2", "a", "kev", T1),
        ("CVE-2024-2", "c", "press", T3),
        ("CVE-2024-2", "d", "csaf", T2),
        ("CVE-2024-2", "c", "press", T3),
    )
    assert seen_of(table, ["CVE-2024-1", "CVE-2024-2", "CVE-2024-3"]) == {
        "CVE-2024-1": Sightings(utc(T1), utc(T1), ("x",), ("kev",)),
        # b and d were seen at the same instant: the greater item id comes first
        "CVE-2024-2": Sightings(utc(T1), utc(T3), ("c", "d", "b", "a"), ("csaf", "kev", "press")),
    }  # CVE-2024-3: no item names it any more, so no row


def test_no_mentions_give_no_rows() -> None:
    assert seen_of(mentions(), ["CVE-2024-1"]) == {}
    assert cve_rows([], NO_FACTS, NO_FACTS, mentions(), {}, T0, CVES).schema == CVES


@pytest.mark.parametrize(
    "values",
    [
        pa.array(["a", None, "b", "a", ""]),
        pa.array([[], None, ["x"], [""], ["x", "y"], ["y", "x"], ["x"]], pa.list_(pa.string())),
        pa.array([["x"], [], None, ["x"]], pa.large_list(pa.string())),
        pa.chunked_array([["a", "b"], ["b", None]]),  # chunks encoded as one
        pa.array(
            [[{"v": "a", "s": 1.0}], [{"v": "a", "s": None}], [None], [], [{"v": "a", "s": 1.0}]],
            pa.list_(pa.struct([("v", pa.string()), ("s", pa.float64())])),
        ),
    ],
)
def test_codes_are_equal_exactly_for_equal_values(values: pa.Array | pa.ChunkedArray) -> None:
    codes = _codes(values).tolist()
    python = values.to_pylist()
    for i, a in enumerate(python):
        for j, b in enumerate(python):
            assert (codes[i] == codes[j]) == (a == b), (a, b)


@pytest.fixture
def chunk(tmp_path: Path) -> tuple[list[str], pa.Table, pa.Table, pa.Table]:
    """A chunk's inputs as the store reads them: two bulletins stating their CVEs alike,
    a CVE record, a KEV entry and a press item, with CVEs named by one, two or three."""
    score = CvssScore("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL")
    kev = KevEntry(date(2024, 4, 12), date(2024, 4, 19), "Patch.", True, "Fortinet", "FortiOS", "X")

    def bulletin(identity: str, cves: tuple[str, ...], vendor: str, product: str) -> Any:
        affected = (Affected(vendor=vendor, product=product, versions=("< 2.0",)),)
        facts = tuple(
            VulnFacts(vuln_id=c, description=f"{product} flaws.", cvss=(score,), affected=affected)
            for c in cves
        )
        return replace(item("certfr", identity, title=product), cves=cves, facts=facts)

    record = VulnFacts(vuln_id="CVE-2024-0002", description="The CNA's text.", cwes=("CWE-78",))
    items = [
        bulletin("a", ("CVE-2024-0001", "CVE-2024-0002", "CVE-2024-0003"), "Fortinet", "FortiOS"),
        bulletin("b", ("CVE-2024-0003", "CVE-2024-0004"), "Cisco", "IOS XE"),
        replace(item("cve", "r"), cves=("CVE-2024-0002",), facts=(record,)),
        replace(
            item("kev", "k"),
            cves=("CVE-2024-0001",),
            facts=(VulnFacts(vuln_id="CVE-2024-0001", kev=kev),),
        ),
        replace(item("press", "p"), cves=("CVE-2024-0005", "CVE-2024-0004")),
    ]
    db = tmp_path / "store.duckdb"
    with open_writer(db) as writer:
        writer.write_outcomes("run", [outcome(i.source_id, [i]) for i in items], [], T0)
        data = writer.enrichment()
        cve_ids = [*data.cves_of(None), "CVE-2024-0009"]  # the last: named by no item
        return (cve_ids, *data.cve_inputs(cve_ids))


def test_distinct_facts_are_built_once_and_each_cve_keeps_its_own_in_order(
    chunk: tuple[list[str], pa.Table, pa.Table, pa.Table],
) -> None:
    _, facts, lists, _ = chunk
    bodies, by_cve = fact_bodies(facts, lists)
    every = facts_from_table(facts, lists)
    assert len(bodies) < len(every)  # a bulletin's CVEs share their fact
    expected: dict[str, list[tuple[object, ...]]] = defaultdict(list)
    for fact in every:
        expected[fact.cve_id].append(fact[1:])
    assert {c: [bodies[i][1:] for i in found] for c, found in by_cve.items()} == expected


def test_cve_rows_are_each_cves_aggregate(
    chunk: tuple[list[str], pa.Table, pa.Table, pa.Table],
) -> None:
    cve_ids, facts, lists, seen = chunk
    names = {("fortinet", "fortios"): ("Fortinet", "FortiOS (FortiGate)")}
    table = cve_rows(cve_ids, facts, lists, seen, names, T0, CVES)
    assert table.schema == CVES
    by_cve: dict[str, list[Any]] = defaultdict(list)
    for fact in facts_from_table(facts, lists):
        by_cve[fact.cve_id].append(fact)
    sightings = seen_of(seen, cve_ids)
    expected = [aggregate(c, by_cve[c], sightings.get(c), display_from(names)) for c in cve_ids]
    records = [r for r in expected if r is not None]
    assert [r.cve_id for r in records] == cve_ids[:-1]
    assert table.to_pylist() == [row(r) for r in records]
    assert len({r.description for r in records}) > 2  # the CVEs do not all state the same


def row(record: CveRecord) -> dict[str, object]:
    """A record as the CVE table's row (storage.cves.CVES)."""
    cvss, kev = record.cvss, record.kev
    return {
        "cve_id": record.cve_id,
        "title": record.title,
        "description": record.description,
        "description_from": record.description_from,
        "published": record.published,
        "modified": record.modified,
        "cvss_version": cvss.version if cvss else None,
        "cvss_vector": cvss.vector if cvss else None,
        "cvss_score": cvss.base_score if cvss else None,
        "cvss_severity": cvss.severity if cvss else None,
        "cvss_source": cvss.source if cvss else None,
        "cwes": list(record.cwes),
        "kev": kev is not None,
        "kev_date_added": kev.date_added if kev else None,
        "kev_due_date": kev.due_date if kev else None,
        "kev_required_action": (kev.required_action or None) if kev else None,
        "kev_ransomware": kev.ransomware if kev else None,
        "exploitation": record.exploitation,
        "vendors": list(record.vendors),
        "products": [{"vendor": v, "product": p} for v, p in record.products],
        "first_seen": record.first_seen,
        "last_seen": record.last_seen,
        "item_ids": list(record.item_ids),
        "items": len(record.item_ids),
        "sources": list(record.sources),
        "refreshed_at": T0,
    }
