"""A chunk's stored inputs -> what its CVE rows are built from (enrich.cverows)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from techwatch.enrich.cverows import sightings_from_table
from techwatch.enrich.cves import Sightings

T1 = datetime(2026, 11, 1, 8, 30)
T2 = datetime(2026, 11, 5, 12, 0, 0, 7)
T3 = datetime(2026, 11, 9)


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


def test_sightings_give_first_and_last_seen_and_the_items_newest_first() -> None:
    table = mentions(
        ("CVE-2024-2", "b", "press", T2),
        ("CVE-2024-1", "x", "kev", T1),
        ("CVE-2024-2", "a", "kev", T1),
        ("CVE-2024-2", "c", "press", T3),
        ("CVE-2024-2", "d", "csaf", T2),
        ("CVE-2024-2", "c", "press", T3),
    )
    assert sightings_from_table(table) == {
        "CVE-2024-1": Sightings(utc(T1), utc(T1), ("x",), ("kev",)),
        # b and d were seen at the same instant: the greater item id comes first
        "CVE-2024-2": Sightings(utc(T1), utc(T3), ("c", "d", "b", "a"), ("csaf", "kev", "press")),
    }


def test_no_mentions_give_no_sightings() -> None:
    assert sightings_from_table(mentions()) == {}
