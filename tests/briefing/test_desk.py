"""watch.Desk: one read-only connection held across calls, let go of on close() or when idle,
so that the nightly writer gets the file; the same answers as a connection per call."""

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest

from techwatch import watch
from techwatch.briefing import facts
from techwatch.briefing.build import Inputs, build
from techwatch.briefing.facts import StoryFacts
from techwatch.briefing.memory import Triage
from techwatch.briefing.model import Health
from techwatch.briefing.period import last_days
from techwatch.clients.config import load_clients
from techwatch.errors import DatabaseBusyError
from techwatch.render.briefing import FORMATS, render
from techwatch.storage import briefings as store
from techwatch.storage import evidence, told
from techwatch.storage.connection import connect
from techwatch.storage.writer import open_writer
from tests.watch_store import DEMO_CLIENTS, NOW, fortios_store


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = fortios_store(tmp_path / "w.duckdb")
    watch.score(path, load_clients(DEMO_CLIENTS), NOW, since=NOW - timedelta(hours=1))
    return path


def dental():
    return next(c for c in load_clients(DEMO_CLIENTS) if c.id == "dental-lausanne")


def test_a_held_desk_answers_like_a_connection_per_call_and_opens_once(db):
    week = last_days(7, NOW)
    with watch.Desk(db) as desk:
        for _ in range(3):
            assert desk.portfolio(NOW - timedelta(days=7)) == watch.portfolio(
                db, NOW - timedelta(days=7)
            )
            briefing, _ = desk.compose(dental(), week, NOW)
            assert briefing == watch.brief(db, dental(), week, NOW)
        assert briefing.entries and desk.opened == 1 and desk.held
    assert not desk.held


def test_the_writer_waits_while_the_desk_holds_the_file_and_gets_it_after_close(db):
    week = last_days(7, NOW)
    desk = watch.Desk(db)
    first, _ = desk.compose(dental(), week, NOW)
    with pytest.raises(DatabaseBusyError), open_writer(db, wait_s=0.2):
        pass
    desk.close()
    story = first.entries[0].story_id
    with open_writer(db, wait_s=1) as writer:
        marks = frozenset(first.entries[0].marks)
        writer.briefings().add_triage(Triage(dental().id, story, "done", "anne", NOW, marks=marks))
    again, _ = desk.compose(dental(), week, NOW)  # reopened: sees the triage
    assert story not in [e.story_id for e in again.entries]
    assert desk.opened == 2
    desk.close()


def test_an_idle_desk_lets_go_of_the_file_by_itself(db):
    desk = watch.Desk(db, idle_s=0.05)
    desk.portfolio(NOW - timedelta(days=7))
    assert desk.held
    deadline = time.monotonic() + 5
    while desk.held and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not desk.held
    with open_writer(db, wait_s=1):
        pass
    assert desk.portfolio(NOW - timedelta(days=7))  # opens again at the next call
    assert desk.opened == 2
    desk.close()


def busy_store(db: Path, client: str) -> None:
    """Sixty more decisions for `client` in the week with their facts, a triage, and two
    stories told in an earlier week (one with a new mark since)."""
    rows, texts = [], {}
    for n in range(60):
        story = f"busy{n:02}"
        seen = NOW - timedelta(hours=n * 2 + 1, microseconds=n)
        reasons = {
            "match": [{"code": "version_missing", "params": {"asset": f"Pare-feu {n}"}}],
            "priority": [
                {
                    "code": "epss",
                    "params": {"vuln": f"CVE-2026-{n}", "epss_score": 0.2, "epss_percentile": 0.9},
                }
            ]
            if n % 4 == 0
            else [],
        }
        rows.append(
            {
                "client_id": client,
                "story_id": story,
                "priority": ("act_now", "act_soon", "plan", "watch")[n % 4],
                "lane": "confirmed" if n % 3 else "unconfirmed",
                "reasons": json.dumps(reasons, ensure_ascii=False),
                "marks": ["kev"] if n % 5 == 0 else [],
                "title": f"Story {n}",
                "first_seen": seen,
                "last_seen": seen,
                "decided_at": NOW,
                "rules_version": "r1" if n % 2 else "r2",
            }
        )
        found = StoryFacts(story, f"Story {n}", f"Text {n}.", seen, topics=("breach",))
        texts[story] = json.dumps(facts.to_json(found))
    conn = connect(db, read_only=False, wait_s=5)
    store.replace_decisions(conn, [r["story_id"] for r in rows], rows, texts)
    store.add_triage(conn, Triage(client, "busy01", "done", "anne", NOW - timedelta(days=1)))
    earlier = {
        "briefing_id": "b-earlier",
        "client_id": client,
        "period": "earlier",
        "period_start": NOW - timedelta(days=30),
        "period_end": NOW - timedelta(days=23),
        "generated_at": NOW - timedelta(days=23),
        "language": "fr",
        "model_version": None,
        "rules_version": "r1",
        "entries": 2,
        "top_priority": "act_now",
        "content": "{}",
    }
    told = [{"story_id": s, "priority": "act_now", "marks": set()} for s in ("busy02", "busy05")]
    store.save_briefing(conn, earlier, told)
    conn.close()


@pytest.mark.parametrize("cap", [1, 3, 10, 100])
def test_a_busy_clients_briefing_reading_only_what_it_tells_is_the_full_one(db, cap):
    client, week = dental(), last_days(7, NOW)
    busy_store(db, client.id)
    conn = connect(db, read_only=True, wait_s=5)
    every = store.decisions(conn, client.id, week.start, week.end)
    texts = told.told_facts(conn, [r["story_id"] for r in every])
    every_facts = {s: facts.from_json(json.loads(t)) for s, t in texts.items()}
    inputs = Inputs(
        decisions=every,
        facts={
            **facts.from_rows(evidence.story_rows(conn, [r["story_id"] for r in every])),
            **every_facts,
        },
        triage=store.current_triage(conn, client.id),
        told=store.told_marks(conn, client.id, week.label),
        health=Health(*store.source_health(conn)),
        items_watched=store.items_between(conn, week.start, week.end),
        model_version=store.model_version(conn),
    )
    conn.close()
    full, full_selection = build(client, week, inputs, NOW, cap)
    assert len(every) > 60 and full.entries
    renewed = [e.story_id for e in full.entries if e.renewed]
    assert renewed == ["busy05"] or cap < 100  # told before, kev since; busy02 is not told
    with watch.Desk(db) as desk:
        lazy, lazy_selection = desk.compose(client, week, NOW, cap=cap)
    assert lazy == full and lazy_selection == full_selection
    assert lazy.omitted == full.omitted > 0 or cap == 100
    for fmt in FORMATS:
        assert render(lazy, fmt) == render(full, fmt)
