"""Storing a plan: every loser's final story in one pass over the merges, and the statements a
first grouping skips (items grouped before are still updated and their keys replaced)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from techwatch.dedupe import item_id
from techwatch.storage import open_writer
from techwatch.storage.stories import founded_alone, merge_winners
from techwatch.stories.grouping import Join, Merge, Plan
from techwatch.stories.run import group_pending
from techwatch.types import ParsedItem
from tests.storage.factories import T0, item, outcome, source

HOUR = timedelta(hours=1)
SOURCES = [source(f"s{n}", category="press") for n in range(4)]


def merges_like_the_planner(seed: int, stories: int, count: int) -> Plan:
    """Merges as the planner makes them: each folds one living story into another, so a winner
    may lose later (chains) and a loser never comes back."""
    rng = random.Random(seed)
    living = [f"st{n}" for n in range(stories)]
    merges = []
    for _ in range(min(count, stories - 1)):
        loser, winner = rng.sample(living, 2)
        living.remove(loser)
        merges.append(Merge(loser, winner, f"i{len(merges)}", "cve", 1.0))
    return Plan((), tuple(merges), tuple(living), ())


def followed(plan: Plan, story_id: str) -> str:
    """The reference: where a merged story lives, following the plan's merges in order."""
    for merge in plan.merges:
        if merge.loser == story_id:
            story_id = merge.winner
    return story_id


@pytest.mark.parametrize(("seed", "stories", "count"), [(0, 2, 1), (1, 5, 4), (2, 50, 30)])
def test_merge_winners_follow_each_loser_through_the_merges_in_order(
    seed: int, stories: int, count: int
) -> None:
    plan = merges_like_the_planner(seed, stories, count)
    expected = {m.loser: followed(plan, m.loser) for m in plan.merges}
    assert merge_winners(plan) == expected
    assert set(expected.values()) <= set(plan.touched)  # every loser ends in a living story


def test_only_a_story_founded_by_its_item_and_touched_by_nothing_else_is_alone() -> None:
    joins = (
        Join("a", "a", "first", None),  # alone
        Join("b", "b", "first", None),
        Join("c", "b", "text", 0.8, "b"),  # joins b
        Join("d", "e", "first", None),  # founded d, then merged into stored story e
        Join("f", "f", "first", None),  # founded f, which won a merge of stored story g
        Join("h", "stored", "cve", 1.0, "x"),  # joins a stored story
    )
    merges = (Merge("d", "e", "d", "cve", 1.0), Merge("g", "f", "f", "url", 1.0))
    plan = Plan(joins, merges, ("a", "b", "e", "f", "stored"), ("a", "b", "d", "f"))
    assert founded_alone(plan) == {"a"}


def test_merge_winners_of_a_chain_end_in_its_last_winner() -> None:
    chain = [Merge("a", "b", "i1", "cve", 1.0), Merge("b", "c", "i2", "url", 1.0)]
    assert merge_winners(Plan((), tuple(chain), ("c",), ())) == {"a": "c", "b": "c"}


def store(db: Path, *items: ParsedItem, at: int = 0) -> None:
    with open_writer(db) as writer:
        writer.sync_sources(SOURCES, T0)
        writer.begin_run(f"run-{at}", started_at=T0, kind="test", flow_run_id=None)
        outcomes = [outcome(i.source_id, [i]) for i in items]
        writer.write_outcomes(f"run-{at}", outcomes, [], T0 + at * HOUR)


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_an_item_grouped_again_beside_new_items_gets_its_keys_replaced_once(
    tmp_path: Path,
) -> None:
    db = tmp_path / "store.duckdb"
    text = "Fortinet patches a critical flaw in FortiOS SSL-VPN exploited in the wild"
    first = item("s0", "e0", title="FortiOS flaw", text=text, published=T0)
    store(db, first)
    group_pending(db, now=T0)
    first_id = item_id("s0", "e0")
    bands = rows(db, f"SELECT count(*) FROM story_bands WHERE item_id = '{first_id}'")[0][0]
    assert bands > 0
    edited = replace(first, title="FortiOS flaw (updated)", content_hash="edited")
    copy = item("s1", "e1", title="FortiOS flaw", text=text, published=T0 + HOUR)
    store(db, edited, copy, at=1)
    report = group_pending(db, now=T0 + 2 * HOUR)
    assert report.items == 2 and report.joined == 1  # the copy joins, the edited one stays
    keys = rows(db, f"SELECT key FROM story_bands WHERE item_id = '{first_id}'")
    assert len(keys) == len(set(keys)) == bands  # replaced, not added to the old keys
    assert rows(db, "SELECT DISTINCT story_id FROM story_items") == [(first_id,)]
    assert group_pending(db, now=T0 + 3 * HOUR).items == 0  # grouped_at moved past the edit


def test_a_first_grouping_in_chunks_leaves_nothing_in_the_log(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    store(db, *(item(f"s{n % 4}", f"e{n}", published=T0) for n in range(12)))
    assert group_pending(db, now=T0, chunk=5).items == 12
    assert not db.with_name(db.name + ".wal").exists()  # checkpointed when the writer closed
    assert rows(db, "SELECT count(*) FROM story_items") == [(12,)]
