"""The enrichment tables in a real DuckDB file: EPSS history, latest scores, CVE rows, mentions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from techwatch.enrich.refresh import refresh
from techwatch.storage import open_reader, open_writer
from techwatch.types import Affected, EpssScore, KevEntry, ParsedItem, VulnFacts
from tests.storage.factories import T0, item, outcome

D1, D2, D3 = date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)


def scores(day: date, **by_cve: float) -> list[EpssScore]:
    return [EpssScore(cve, value, value / 2, day) for cve, value in by_cve.items()]


def load(db: Path, *rows: EpssScore) -> None:
    with open_writer(db) as writer:
        writer.write_outcomes("run", [outcome("epss", epss=tuple(rows))], [], T0)


def table(db: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def latest(db: Path) -> dict[str, tuple[object, ...]]:
    rows = table(db, "SELECT cve_id, date, score, prev_date, prev_score FROM epss_latest")
    return {str(r[0]): r[1:] for r in rows}


def test_a_day_of_scores_is_stored_without_items(db: Path) -> None:
    load(db, *scores(D1, **{"CVE-2024-0001": 0.5, "CVE-2024-0002": 0.01}))
    assert table(db, "SELECT count(*) FROM epss_scores") == [(2,)]
    assert table(db, "SELECT count(*) FROM items") == [(0,)]
    assert latest(db)["CVE-2024-0001"] == (D1, 0.5, None, None)


def test_loading_a_day_again_replaces_it(db: Path) -> None:
    load(db, *scores(D1, **{"CVE-2024-0001": 0.5}))
    load(db, *scores(D1, **{"CVE-2024-0001": 0.6}))
    assert table(db, "SELECT date, score FROM epss_scores") == [(D1, 0.6)]
    assert latest(db) == {"CVE-2024-0001": (D1, 0.6, None, None)}


def test_the_latest_two_days_are_kept_whatever_the_order_of_loads(db: Path) -> None:
    load(db, *scores(D2, **{"CVE-2024-0001": 0.2}))
    load(db, *scores(D3, **{"CVE-2024-0001": 0.3, "CVE-2024-0002": 0.9}))
    assert latest(db)["CVE-2024-0001"] == (D3, 0.3, D2, 0.2)
    load(db, *scores(D1, **{"CVE-2024-0001": 0.1, "CVE-2024-0002": 0.8}))  # a backfill
    assert latest(db) == {
        "CVE-2024-0001": (D3, 0.3, D2, 0.2),  # D1 is older than both kept days
        "CVE-2024-0002": (D3, 0.9, D1, 0.8),  # D1 becomes its previous day
    }
    assert table(db, "SELECT count(*) FROM epss_scores") == [(5,)]


def test_a_load_of_several_days_ranks_them(db: Path) -> None:
    load(db, *scores(D1, **{"CVE-2024-0001": 0.1}))
    load(
        db,
        *scores(D3, **{"CVE-2024-0001": 0.3}),
        *scores(D2, **{"CVE-2024-0001": 0.2}),
        *scores(D2, **{"CVE-2024-0001": 0.25}),  # repeated (CVE, date): the first wins
    )
    assert latest(db) == {"CVE-2024-0001": (D3, 0.3, D2, 0.2)}
    assert table(db, "SELECT count(*) FROM epss_scores") == [(3,)]


def advisory(identity: str, cve: str, text: str, **facts: object) -> ParsedItem:
    base = item("kev", identity, title=f"Flaw {cve}", text=text)
    return replace(base, cves=(cve,), facts=(VulnFacts(vuln_id=cve, **facts),))  # type: ignore[arg-type]


def mentioning(identity: str, text: str, *cves: str) -> ParsedItem:
    """A press item naming `cves` (and nothing else)."""
    return replace(item("press", identity, text=text), cves=cves)


def write(db: Path, *items: ParsedItem, when: datetime = T0) -> None:
    with open_writer(db) as writer:
        writer.write_outcomes("run", [outcome(i.source_id, [i]) for i in items], [], when)


def test_a_refresh_builds_rows_for_the_cves_its_items_name(db: Path) -> None:
    kev = KevEntry(date(2024, 4, 12), date(2024, 4, 19), "Patch.", True, "Fortinet", "FortiOS", "X")
    write(db, advisory("a", "CVE-2024-0001", "FortiGate devices", kev=kev, description="Bad."))
    write(db, mentioning("p1", "FortiOS and CVE-2024-0001", "CVE-2024-0001"))
    load(db, *scores(D1, **{"CVE-2024-0001": 0.4}), *scores(D2, **{"CVE-2024-0001": 0.7}))
    report = refresh(db, since=None)
    assert report.cves == 1
    with open_reader(db) as reader:
        row = reader.cve("CVE-2024-0001")
    assert row is not None
    assert (row["kev_date_added"], row["kev_ransomware"], row["description"]) == (
        date(2024, 4, 12),
        True,
        "Bad.",
    )
    assert (row["epss"], row["epss_previous"], row["epss_date"]) == (0.7, 0.4, D2)
    assert [h["date"] for h in row["epss_history"]] == [D2, D1]
    assert row["vendors"] == ["Fortinet"] and row["items"] == 2
    mentions = table(db, "SELECT field, vendor, product, term FROM item_products ORDER BY ALL")
    assert ("affected", "Fortinet", "FortiOS", "FortiOS") in mentions
    assert ("text", "Fortinet", "FortiOS", "fortigate") in mentions
    assert table(db, "SELECT vendor, product FROM products") == [("Fortinet", "FortiOS")]


def test_a_changed_item_leaves_the_cves_it_no_longer_names(db: Path) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    write(db, advisory("a", "CVE-2024-0001", "first", description="One."), when=datetime.now(UTC))
    write(db, mentioning("p1", "also CVE-2024-0001", "CVE-2024-0001"), when=datetime.now(UTC))
    refresh(db, since=before)
    assert table(db, "SELECT cve_id, items FROM cves") == [("CVE-2024-0001", 2)]

    changed = datetime.now(UTC)
    write(db, advisory("a", "CVE-2024-0002", "second", description="Two."), when=changed)
    refresh(db, since=changed)
    assert table(db, "SELECT cve_id, items, description FROM cves ORDER BY 1") == [
        ("CVE-2024-0001", 1, None),
        ("CVE-2024-0002", 1, "Two."),
    ]
    press = mentioning("p1", "no CVE any more")
    changed = datetime.now(UTC)
    write(db, press, when=changed)
    refresh(db, since=changed)
    assert table(db, "SELECT cve_id FROM cves") == [("CVE-2024-0002",)]


def test_an_incremental_refresh_gives_the_rows_of_a_full_one(db: Path) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    affected = (Affected("Microsoft", "Windows 11 version 22H2"),)
    for n in range(5):
        stated = advisory(f"a{n}", f"CVE-2024-000{n}", "Microsoft Windows", affected=affected)
        write(db, stated, when=datetime.now(UTC))
        refresh(db, since=start)
        start = datetime.now(UTC)
    columns = "cve_id, vendors, products, item_ids, kev, description"
    incremental = table(db, f"SELECT {columns} FROM cves ORDER BY 1")
    refresh(db, since=None)
    assert table(db, f"SELECT {columns} FROM cves ORDER BY 1") == incremental
    assert len(incremental) == 5


def test_the_dictionary_keeps_the_first_sighting_and_the_nicer_spelling(db: Path) -> None:
    write(db, advisory("a", "CVE-2024-0001", "x", affected=(Affected("fortinet", "fortios"),)))
    refresh(db, since=None)
    first = table(db, "SELECT vendor, product, first_seen FROM products")
    later = T0 + timedelta(days=1)
    write(db, advisory("b", "CVE-2024-0002", "y", affected=(Affected("Fortinet", "FortiOS 7.2"),)))
    refresh(db, since=None, now=later)
    [(vendor, product, first_seen)] = table(db, "SELECT vendor, product, first_seen FROM products")
    assert (vendor, product) == ("Fortinet", "FortiOS")
    assert first_seen == first[0][2]


@pytest.mark.parametrize("since", [None, T0])
def test_a_refresh_of_an_empty_store_does_nothing(db: Path, since: datetime | None) -> None:
    report = refresh(db, since=since)
    assert (report.items, report.cves, report.mentions) == (0, 0, 0)


def test_a_cve_is_first_and_last_seen_when_its_items_were(db: Path) -> None:
    """The sightings cross from the store as naive UTC (storage.cves.cve_mentions) and come
    back as the same instants, whatever the session's time zone."""
    first, last = T0 + timedelta(hours=1, microseconds=7), T0 + timedelta(days=2)
    write(db, advisory("a", "CVE-2024-0001", "FortiGate devices"), when=first)
    write(db, mentioning("p1", "CVE-2024-0001 exploited", "CVE-2024-0001"), when=last)
    refresh(db, since=None)
    with open_reader(db) as reader:
        row = reader.cve("CVE-2024-0001")
    assert row is not None
    assert (row["first_seen"], row["last_seen"]) == (first, last)
    assert row["first_seen"].utcoffset() == timedelta(0)
