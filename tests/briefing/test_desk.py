"""watch.Desk: one read-only connection held across calls, let go of on close() or when idle,
so that the nightly writer gets the file; the same answers as a connection per call."""

import time
from datetime import timedelta
from pathlib import Path

import pytest

from techwatch import watch
from techwatch.briefing.memory import Triage
from techwatch.briefing.period import last_days
from techwatch.clients.config import load_clients
from techwatch.errors import DatabaseBusyError
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
