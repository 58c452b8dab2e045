"""Which sources a run fetches: due ones, or every healthy one with --force."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from techwatch.ingest import batches, groups_and_enriches, plan_run, prepare_run, store_batch
from techwatch.storage import open_reader
from techwatch.types import (
    FetchSettings,
    ParsedItem,
    Source,
    SourceOutcome,
    SourceState,
    WriteStats,
)

FRESH_URL = "https://fresh.example/f"


def _source(sid: str, enabled: bool = True) -> Source:
    return Source(
        id=sid,
        name=sid,
        kind="feed",
        url=f"https://{sid}.example/f",
        category="press",
        enabled=enabled,
    )


def test_due_sources_are_fetched_and_others_skipped_with_a_reason(now: datetime) -> None:
    sources = [_source("new"), _source("fresh"), _source("late"), _source("off", enabled=False)]
    states = {
        "fresh": SourceState("fresh", next_attempt=now + timedelta(hours=1)),
        "late": SourceState("late", next_attempt=now - timedelta(minutes=1)),
    }
    plan = plan_run("r", sources, states, now=now)
    assert [s.id for s in plan.due] == ["new", "late"]
    assert [o.source_id for o in plan.skipped] == ["fresh"]
    assert plan.skipped[0].status == "skipped"
    assert "not due" in (plan.skipped[0].error or "")


def test_force_fetches_healthy_sources_but_respects_back_off(now: datetime) -> None:
    sources = [_source("fresh"), _source("failing")]
    later = now + timedelta(hours=3)
    states = {
        "fresh": SourceState("fresh", next_attempt=later),
        "failing": SourceState("failing", next_attempt=later, consecutive_failures=2),
    }
    plan = plan_run("r", sources, states, now=now, force=True)
    assert [s.id for s in plan.due] == ["fresh"]
    assert "backing off after 2 failure(s)" in (plan.skipped[0].error or "")


def test_batches_cover_every_source_once() -> None:
    sources = [_source(f"s{i}") for i in range(7)]
    parts = batches(sources, 3)
    assert [len(p) for p in parts] == [3, 3, 1]
    assert [s for part in parts for s in part] == sources


def test_collected_outcomes_are_stored_once_they_hold_enough_items() -> None:
    from techwatch.ingest import store_due

    outcome = _with_items
    assert not store_due([], 3), "nothing collected"
    assert not store_due([outcome(0)] * 500, 3), "not-modified sources wait for the last write"
    assert not store_due([outcome(1), outcome(1)], 3)
    assert store_due([outcome(1), outcome(2)], 3)


def _with_items(items: int) -> SourceOutcome:
    item = ParsedItem("s", "i", None, None, "title", "text", "", None, None)
    return SourceOutcome(
        source_id="s",
        status="ok",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        duration_s=0.0,
        items=(item,) * items,
    )


@pytest.mark.parametrize(
    ("items", "ahead"),
    [
        ([], 2),  # an empty batch: nothing held in memory
        ([0] * 100, 2),  # an unchanged night: not-modified sources
        ([1, 2], 2),
        ([2, 2], 1),  # as many items as the limit: a heavy batch
        ([30] * 100, 1),  # a first run
    ],
)
def test_the_next_two_batches_are_collected_at_once_after_a_light_one(
    items: list[int], ahead: int
) -> None:
    from techwatch.ingest import batches_ahead

    assert batches_ahead([_with_items(n) for n in items], light=4) == ahead


def test_preparing_a_run_records_the_skipped_sources_and_keeps_their_state(
    tmp_path: Path, now: datetime
) -> None:
    db = tmp_path / "t.duckdb"
    sources = [_source("fresh"), _source("new")]
    first = prepare_run(db, sources[:1], now=now, kind="test")
    fetched = SourceOutcome(
        source_id="fresh", status="not_modified", started_at=now, duration_s=0.1, url=FRESH_URL
    )
    _, states = store_batch(db, first.run_id, sources, [fetched], {}, FetchSettings(), now=now)

    later = now + timedelta(minutes=1)
    plan = prepare_run(db, sources, now=later, kind="test")

    assert [s.id for s in plan.due] == ["new"]
    with open_reader(db) as reader:
        rows = reader.run_sources(plan.run_id)
        kept = {s["id"]: s for s in reader.sources()}["fresh"]
    assert [(r["source_id"], r["status"], r["error"]) for r in rows] == [
        ("fresh", "skipped", "not due yet")
    ]
    assert kept["next_attempt"] == states["fresh"].next_attempt


@pytest.mark.parametrize(
    ("new", "updated", "backlog", "busy"),
    [(0, 0, False, False), (1, 0, False, True), (0, 1, False, True), (0, 0, True, True)],
)
def test_stories_index_and_enrichment_run_unless_nothing_changed_or_was_left_over(
    now: datetime, new: int, updated: int, backlog: bool, busy: bool
) -> None:
    plan = plan_run("r", [_source("a")], {}, now=now)
    stats = WriteStats(new={"a": new}, updated={"a": updated}, unchanged={"a": 0})
    assert groups_and_enriches(replace(plan, backlog=backlog), stats) is busy


def test_a_plan_knows_whether_earlier_work_was_left_over(tmp_path: Path, now: datetime) -> None:
    db = tmp_path / "t.duckdb"
    assert plan_run("r", [], {}, now=now).backlog, "unknown counts as left over"
    assert not prepare_run(db, [_source("a")], now=now, kind="test").backlog
    item = ParsedItem("a", "one", "https://a.example/1", None, "One", "body", "", None, None)
    fetched = SourceOutcome(
        source_id="a", status="ok", started_at=now, duration_s=0.1, items=(item,)
    )
    store_batch(db, "r", [_source("a")], [fetched], {}, FetchSettings(), now=now)
    later = now + timedelta(minutes=1)
    assert prepare_run(db, [_source("a")], now=later, kind="test").backlog
