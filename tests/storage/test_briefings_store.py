"""Decisions, briefings and triage in a real DuckDB file."""

import json
from datetime import UTC, date, datetime, timedelta

from techwatch.briefing.memory import Triage
from techwatch.storage import briefings as store

NOW = datetime(2026, 11, 28, 6, 30, tzinfo=UTC)


def decision(client, story, priority, *, days_ago=1, title=None) -> dict:
    seen = NOW - timedelta(days=days_ago)
    return {
        "client_id": client,
        "story_id": story,
        "priority": priority,
        "lane": "confirmed",
        "reasons": json.dumps([{"code": "alias_in_title", "params": {"alias": "Outlook"}}]),
        "marks": ["kev"],
        "title": title or f"story {story}",
        "first_seen": seen,
        "last_seen": seen,
        "decided_at": NOW,
        "rules_version": "r1",
    }


def test_scoring_a_story_again_replaces_every_client_decision_about_it(conn):
    store.replace_decisions(
        conn, ["s1", "s2"], [decision("a", "s1", "plan"), decision("b", "s1", "watch"),
                             decision("a", "s2", "watch")]
    )  # fmt: skip
    store.replace_decisions(conn, ["s1"], [decision("a", "s1", "act_now")])
    rows = store.decisions(conn, "a", NOW - timedelta(days=7), NOW)
    assert [(r["story_id"], r["priority"]) for r in rows] == [("s1", "act_now"), ("s2", "watch")]
    assert rows[0]["reasons"] == [{"code": "alias_in_title", "params": {"alias": "Outlook"}}]
    assert store.decisions(conn, "b", NOW - timedelta(days=7), NOW) == []


def test_decisions_are_limited_to_the_period(conn):
    store.replace_decisions(
        conn, ["old", "new"], [decision("a", "old", "act_now", days_ago=10),
                               decision("a", "new", "plan", days_ago=2)]
    )  # fmt: skip
    rows = store.decisions(conn, "a", NOW - timedelta(days=7), NOW)
    assert [r["story_id"] for r in rows] == ["new"]


def test_portfolio_puts_the_most_urgent_client_first_with_its_top_story(conn):
    store.replace_decisions(
        conn,
        ["s1", "s2", "s3", "s4"],
        [
            decision("calm", "s1", "watch"),
            decision("busy", "s2", "act_soon", title="second"),
            decision("busy", "s3", "act_now", days_ago=3, title="the urgent one"),
            decision("busy", "s4", "act_now", days_ago=30),
            decision("mid", "s2", "act_soon"),
        ],
    )
    rows = store.portfolio(conn, NOW - timedelta(days=7))
    assert [r["client_id"] for r in rows] == ["busy", "mid", "calm"]
    busy = rows[0]
    assert (busy["act_now"], busy["act_soon"], busy["plan"], busy["watch"]) == (1, 1, 0, 0)
    assert (busy["top_story"], busy["top_title"], busy["top_priority"]) == (
        "s3",
        "the urgent one",
        "act_now",
    )


def briefing_row(bid, period, generated_at, client="a") -> dict:
    return {
        "briefing_id": bid,
        "client_id": client,
        "period": period,
        "period_start": generated_at - timedelta(days=7),
        "period_end": generated_at,
        "generated_at": generated_at,
        "language": "fr",
        "model_version": "m1",
        "rules_version": "r1",
        "entries": 1,
        "top_priority": "plan",
        "content": json.dumps({"period": period}),
    }


def test_latest_briefing_and_what_other_periods_told(conn):
    first = NOW - timedelta(days=7)
    told_w47 = [{"story_id": "s1", "priority": "plan", "marks": {"epss>=0.1"}}]
    store.save_briefing(conn, briefing_row("b1", "2026-W47", first), told_w47)
    told_w48 = [{"story_id": "s2", "priority": "watch", "marks": set()}]
    store.save_briefing(conn, briefing_row("b2", "2026-W48", NOW), told_w48)
    latest = store.latest_briefing(conn, "a")
    assert latest["briefing_id"] == "b2" and latest["content"] == {"period": "2026-W48"}
    assert store.latest_briefing(conn, "a", "2026-W47")["briefing_id"] == "b1"
    assert store.latest_briefing(conn, "nobody") is None
    # building W48 again: only what W47 told counts as already told
    assert store.told_marks(conn, "a", "2026-W48") == {"s1": frozenset({"epss>=0.1"})}
    assert set(store.told_marks(conn, "a", "2026-W49")) == {"s1", "s2"}
    assert [b["briefing_id"] for b in store.briefings(conn, None)] == ["b2", "b1"]


def test_triage_keeps_history_and_the_latest_counts(conn):
    first = Triage("a", "s1", "accepted", "anne", NOW - timedelta(days=2), "ok for now",
                   date(2027, 1, 1), frozenset({"epss>=0.1"}))  # fmt: skip
    second = Triage("a", "s1", "done", "marc", NOW, "patched")
    store.add_triage(conn, first)
    store.add_triage(conn, second)
    store.add_triage(conn, Triage("b", "s1", "not_applicable", "anne", NOW))
    assert store.current_triage(conn, "a") == {"s1": second}
    assert store.triage_history(conn, "a", "s1") == [first, second]
