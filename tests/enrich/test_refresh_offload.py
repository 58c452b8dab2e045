"""An import computes CVE rows and product mentions in its parse workers (refresh_with's
offload): the rows, mentions and dictionary must be those of a refresh done in one process."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from techwatch.enrich import refresh as refresh_module
from techwatch.enrich.refresh import refresh, refresh_with
from techwatch.parse.pool import ParsePool
from techwatch.storage import open_writer
from techwatch.storage.cves import Enrichment
from techwatch.types import Affected, CvssScore, KevEntry, ParsedItem, VulnFacts
from tests.storage.factories import T0, item, outcome

TABLES = (
    "SELECT * EXCLUDE (refreshed_at) FROM cves ORDER BY cve_id",
    "SELECT * FROM item_products ORDER BY ALL",
    "SELECT * EXCLUDE (first_seen) FROM products ORDER BY ALL",
)


def bulletin(identity: str, *cves: str, vendor: str, product: str) -> ParsedItem:
    """An advisory stating its CVEs alike (one shared product list), as CERT-FR does."""
    affected = (Affected(vendor=vendor, product=product, versions=("< 2.0",)),)
    score = CvssScore("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL")
    facts = tuple(
        VulnFacts(
            vuln_id=cve, description=f"{product} flaw {cve}.", cvss=(score,), affected=affected
        )
        for cve in cves
    )
    base = item(
        "certfr", identity, title=f"Vulnérabilité dans {product}", text=f"{vendor} {product}"
    )
    return replace(base, cves=cves, facts=facts)


def rows(db: Path) -> list[list[tuple[object, ...]]]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return [conn.execute(sql).fetchall() for sql in TABLES]


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    db = tmp_path / "store.duckdb"
    kev = KevEntry(date(2024, 4, 12), date(2024, 4, 19), "Patch.", True, "Fortinet", "FortiOS", "X")
    items = [
        bulletin("a", "CVE-2024-0001", "CVE-2024-0002", vendor="Fortinet", product="FortiOS"),
        bulletin("b", "CVE-2024-0003", "CVE-2024-0001", vendor="Cisco", product="IOS XE"),
        bulletin("c", "CVE-2024-0004", vendor="Microsoft", product="Exchange Server"),
        replace(
            item("kev", "k", title="Fortinet FortiOS flaw", text="Exploited."),
            cves=("CVE-2024-0001",),
            facts=(VulnFacts(vuln_id="CVE-2024-0001", kev=kev),),
        ),
        replace(
            item("press", "p", text="FortiOS and IOS XE, CVE-2024-0005"), cves=("CVE-2024-0005",)
        ),
    ]
    with open_writer(db) as writer:
        writer.write_outcomes("run", [outcome(i.source_id, [i]) for i in items], [], T0)
    return db


@pytest.mark.parametrize(("chunk", "items"), [(2, 1), (20_000, 2_000)])
def test_cve_rows_computed_in_the_workers_equal_those_of_one_process(
    stored: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, items: int
) -> None:
    # Small chunks queue behind IN_FLIGHT, and the mentions of later item chunks are
    # recognised by a worker's dictionary built for an earlier chunk.
    monkeypatch.setattr(refresh_module, "CVE_CHUNK", chunk)
    monkeypatch.setattr(refresh_module, "ITEM_CHUNK", items)
    offloaded = tmp_path / "offloaded.duckdb"
    shutil.copy(stored, offloaded)
    alone = refresh(stored, since=None, now=T0)
    with open_writer(offloaded) as writer, ParsePool(2, 30, language_model=False) as pool:
        report = refresh_with(writer, since=None, now=T0, offload=pool)
    assert report.cves == alone.cves == 5
    assert (report.mentions, report.products_learnt) == (alone.mentions, alone.products_learnt)
    assert report.dictionary_terms == alone.dictionary_terms > 0
    assert rows(offloaded) == rows(stored)
    assert len(rows(stored)[1]) > 0  # mentions were found, so the comparison says something


@pytest.mark.parametrize(
    ("total", "limit", "parts", "sizes"),
    [
        # the real advisories' CVEs: two even halves, not 20,000 and 1,221
        (21_221, 20_000, 2, [10_611, 10_610]),
        (50_000, 20_000, 2, [16_667, 16_667, 16_666]),  # never over the limit
        (5, 20_000, 2, [3, 2]),  # a small import still keeps both workers busy
        (1, 20_000, 2, [1]),
        (0, 20_000, 2, []),
        (21_221, 20_000, 1, [10_611, 10_610]),  # in one process: as many chunks as before
        (7, 2, 2, [2, 2, 2, 1]),
    ],
)
def test_chunks_are_even_and_at_least_one_per_worker(
    total: int, limit: int, parts: int, sizes: list[int]
) -> None:
    ids = [f"CVE-2024-{n:05d}" for n in range(total)]
    chunks = refresh_module._split(ids, limit, parts)
    assert [len(c) for c in chunks] == sizes
    assert [i for chunk in chunks for i in chunk] == ids


class _Lazy(Future[Any]):
    """A call of LazyOffload: computed when its result is first asked for, which it notes."""

    def __init__(self, function: Callable[..., Any], args: tuple[Any, ...], events: list[str]):
        super().__init__()
        self._function, self._args, self._events = function, args, events

    def result(self, timeout: float | None = None) -> Any:
        if not self.done():
            self._events.append(f"awaited {self._function.__name__}")
            self.set_result(self._function(*self._args))
        return super().result(timeout)


class LazyOffload:
    """An offload whose work is done only when awaited: the order of events shows when the
    parent waits for it."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def call(self, function: Callable[..., Any], *args: Any) -> Future[Any]:
        return _Lazy(function, args, self.events)


def test_the_first_chunks_are_read_before_the_learnt_dictionary_is_awaited(
    stored: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The parent reads while the offload learns, instead of waiting for it idle.
    monkeypatch.setattr(refresh_module, "CVE_CHUNK", 2)
    offload = LazyOffload()
    for name in ("cve_inputs", "texts"):
        read = getattr(Enrichment, name)
        monkeypatch.setattr(
            Enrichment,
            name,
            lambda self, *a, _read=read, _name=name: (
                offload.events.append(f"read {_name}") or _read(self, *a)
            ),
        )
    offloaded = tmp_path / "offloaded.duckdb"
    shutil.copy(stored, offloaded)
    with open_writer(offloaded) as writer:
        refresh_module.begin_refresh(writer, since=None, now=T0, offload=offload)
    reads = ["read cve_inputs"] * 2 + ["read texts"] * 2
    assert offload.events[:5] == [*reads, "awaited offloaded_relearn"]
    with open_writer(offloaded) as writer:
        report = refresh_with(writer, since=None, now=T0, offload=LazyOffload())
    assert report.cves == refresh(stored, since=None, now=T0).cves == 5
    assert rows(offloaded) == rows(stored)
