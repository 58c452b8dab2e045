from datetime import UTC, date, datetime, timedelta

import pytest

from techwatch.briefing.compose import Candidate, select, shorten
from techwatch.briefing.memory import Triage
from techwatch.briefing.model import Entry

NOW = datetime(2026, 11, 28, tzinfo=UTC)
TODAY = date(2026, 11, 28)


def candidate(story, priority="plan", lane="confirmed", marks=(), hours_ago=1) -> Candidate:
    seen = NOW - timedelta(hours=hours_ago)
    entry = Entry(story, priority, lane, f"title {story}", "summary", ("why",), ("do",), (), seen)
    return Candidate(entry, frozenset(marks), seen)


def ids(selection):
    return [e.story_id for e in selection.entries]


def test_order_is_priority_then_confirmed_then_recent():
    chosen = select(
        [
            candidate("watch", "watch"),
            candidate("plan-old", "plan", hours_ago=30),
            candidate("plan-unconfirmed", "plan", lane="unconfirmed", hours_ago=0),
            candidate("plan-new", "plan", hours_ago=2),
            candidate("now", "act_now", hours_ago=50),
        ],
        triage={},
        told={},
        today=TODAY,
    )
    assert ids(chosen) == ["now", "plan-new", "plan-old", "plan-unconfirmed", "watch"]


def test_told_stories_come_back_only_with_new_evidence_and_say_so():
    chosen = select(
        [candidate("same", marks={"epss>=0.1"}), candidate("kev", marks={"kev"}),
         candidate("fresh")],
        triage={},
        told={"same": frozenset({"epss>=0.1"}), "kev": frozenset()},
        today=TODAY,
    )  # fmt: skip
    assert ids(chosen) == ["fresh", "kev"]
    assert [e.renewed for e in chosen.entries] == [False, True]
    assert [(s.story_id, s.why) for s in chosen.skipped] == [("same", "already_told")]
    assert chosen.marks == {"kev": frozenset({"kev"}), "fresh": frozenset()}


def test_triaged_stories_stay_out_unless_new_evidence():
    done = Triage("c", "a", "done", "anne", NOW)
    accepted = Triage("c", "b", "accepted", "anne", NOW, expires=TODAY)
    chosen = select(
        [candidate("a"), candidate("b"), candidate("c", marks={"kev"})],
        triage={"a": done, "b": accepted, "c": Triage("c", "c", "mitigated", "anne", NOW)},
        told={},
        today=TODAY,
    )
    assert ids(chosen) == ["b", "c"]  # b expired today; c has evidence the triage did not see
    assert [(s.story_id, s.why) for s in chosen.skipped] == [("a", "triage:done")]


def test_cap_counts_the_rest():
    chosen = select(
        [candidate(f"s{i}", hours_ago=i) for i in range(14)],
        triage={},
        told={},
        today=TODAY,
        cap=10,
    )
    assert ids(chosen) == [f"s{i}" for i in range(10)]
    assert chosen.omitted == 4
    assert set(chosen.marks) == set(ids(chosen))  # only what was told is remembered


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Short  text.", 50, "Short text."),
        ("First sentence here. Second one is long and goes on.", 40, "First sentence here."),
        ("one two three four five six seven", 20, "one two three four …"),
        ("x" * 30, 10, "x" * 10 + "…"),
    ],
)
def test_shorten(text, limit, expected):
    assert shorten(text, limit) == expected
