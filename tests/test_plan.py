"""Which sources a run fetches: due ones, or every healthy one with --force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from techwatch.ingest import batches, plan_run
from techwatch.types import ParsedItem, Source, SourceOutcome, SourceState


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
