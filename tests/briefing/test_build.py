"""build(): the briefing chosen from decision rows alone, with facts read only for the
stories within the cap, is the briefing built from every story's facts."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from techwatch.briefing.build import Inputs, build, kept
from techwatch.briefing.facts import StoryFacts
from techwatch.briefing.memory import Triage
from techwatch.briefing.model import Health
from techwatch.briefing.period import span
from techwatch.clients.profile import Client

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
PERIOD = span(date(2026, 11, 21), date(2026, 11, 28))
CLIENT = Client(id="c", name="Cabinet", sectors=("health",), language="fr")
PRIORITIES = ("act_now", "act_soon", "plan", "watch")
REASONS = {"match": [{"code": "version_missing", "params": {"asset": "Pare-feu"}}], "priority": []}


def decision(n: int) -> dict:
    return {
        "story_id": f"s{n:03}",
        "priority": PRIORITIES[n % 4],
        "lane": "confirmed" if n % 3 else "unconfirmed",
        "marks": ["kev"] if n % 7 == 0 else [],
        "last_seen": NOW - timedelta(hours=n % 50),
        "rules_version": "r1",
        "reasons": json.dumps(REASONS),
    }


def facts(story: str) -> StoryFacts:
    return StoryFacts(story, f"Title {story}", "text", NOW - timedelta(days=1), topics=("breach",))


def inputs(decisions, found, read=None, triage=None, told=None) -> Inputs:
    return Inputs(
        decisions=decisions,
        facts=found,
        triage=triage or {},
        told=told or {},
        health=Health(3, 0),
        items_watched=100,
        read=read,
    )


@pytest.mark.parametrize("count", [0, 3, 10, 11, 60])
@pytest.mark.parametrize("gone", [(), (4,), (0, 1, 2), (9, 10)])
def test_reading_only_the_stories_within_the_cap_gives_the_same_briefing(count, gone):
    rows = [decision(n) for n in range(count)]
    triage = {"s005": Triage("c", "s005", "done", "anne", NOW)}
    told = {"s006": frozenset(), "s014": frozenset()}  # s014 comes back: kev is new
    order = [k.row["story_id"] for k in kept(rows, triage, told, NOW)[0]]
    everything = {r["story_id"]: facts(r["story_id"]) for r in rows}
    for n in gone:  # the n-th story to tell was merged away since the decision: no facts
        everything.pop(order[n] if n < len(order) else "", None)
    full, full_sel = build(CLIENT, PERIOD, inputs(rows, everything, None, triage, told), NOW, 10)

    found: dict[str, StoryFacts] = {}
    read = 0
    while read < len(order) and len(found) < 10:  # what watch.Desk reads
        batch = order[read : read + 10 - len(found)]
        read += len(batch)
        found.update({s: everything[s] for s in batch if s in everything})
    lazy, lazy_sel = build(
        CLIENT, PERIOD, inputs(rows, found, frozenset(order[:read]), triage, told), NOW, 10
    )
    assert lazy == full
    assert lazy_sel == full_sel
    assert len(found) <= 10


def test_kept_orders_like_the_briefing_and_says_what_it_left_out():
    rows = [decision(n) for n in range(8)]
    triage = {"s001": Triage("c", "s001", "not_applicable", "anne", NOW)}
    keep, skipped = kept(rows, triage, {"s002": frozenset()}, NOW)
    assert [(s.story_id, s.why) for s in skipped] == [
        ("s001", "triage:not_applicable"),
        ("s002", "already_told"),
    ]
    priorities = [k.row["priority"] for k in keep]
    assert priorities == ["act_now", "act_now", "act_soon", "plan", "watch", "watch"]
    assert [k.renewed for k in keep] == [False] * 6


def test_reasons_are_decoded_only_for_the_told_stories_and_worded_in_french():
    rows = [decision(0), {**decision(1), "reasons": "not json: never decoded"}]
    read = frozenset({"s000", "s001"})
    briefing, _ = build(CLIENT, PERIOD, inputs(rows, {"s000": facts("s000")}, read), NOW, 1)
    assert [e.story_id for e in briefing.entries] == ["s000"]
    assert briefing.omitted == 0  # s001 was read and is gone
    assert briefing.entries[0].why == ("version de Pare-feu non renseignée : à vérifier",)
