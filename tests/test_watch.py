"""Scoring and briefings end to end on a real DuckDB file: items -> stories -> decisions ->
a client's briefing, with triage and told-once across periods."""

from datetime import timedelta
from pathlib import Path

import pytest

from techwatch import watch
from techwatch.briefing.memory import Triage
from techwatch.briefing.period import last_days, parse_period
from techwatch.clients.config import load_clients
from techwatch.storage.writer import open_writer
from tests.watch_store import CVE, DEMO_CLIENTS, NOW, fortios_store


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return fortios_store(tmp_path / "w.duckdb")


def test_an_exploited_fortios_flaw_reaches_the_dental_practice_first(db):
    clients = load_clients(DEMO_CLIENTS)
    stats = watch.score(db, clients, NOW, since=NOW - timedelta(hours=1))
    assert stats.stories >= 2 and stats.decisions >= 1
    rows = watch.portfolio(db, NOW - timedelta(days=7))
    top = rows[0]
    assert top["client_id"] == "dental-lausanne"
    assert top["top_priority"] == "act_now"

    dental = next(c for c in clients if c.id == "dental-lausanne")
    briefing = watch.brief(db, dental, last_days(7, NOW), NOW)
    (entry,) = [e for e in briefing.entries if CVE in e.cves]
    assert entry.priority == "act_now" and entry.lane == "confirmed"
    assert any("Pare-feu" in why for why in entry.why)  # the asset, as the client names it
    assert entry.actions[0].startswith(f"Mesure exigée par la CISA pour {CVE}")
    assert "7.2.5" in entry.actions[1]
    assert {link.source for link in entry.links} == {"KEV", "NEWS"}
    assert len(entry.item_ids) == 2 and "kev" in entry.marks  # what produced it, kept with it
    assert briefing.model_version == "m-test"
    assert all("cookie" not in e.title for e in briefing.entries)


def test_told_once_and_triage_across_periods(db):
    clients = load_clients(DEMO_CLIENTS)
    dental = next(c for c in clients if c.id == "dental-lausanne")
    watch.score(db, clients, NOW, since=NOW - timedelta(hours=1))
    w48 = parse_period("2026-W48")
    first = watch.brief(db, dental, w48, NOW, keep=True)
    assert first.entries
    again = watch.brief(db, dental, w48, NOW + timedelta(minutes=5), keep=True)
    assert [e.story_id for e in again.entries] == [e.story_id for e in first.entries]
    assert watch.stored(db, dental.id, "2026-W48") == again

    # a fortnight later, the same stories were told in W48 and nothing new came: not again
    fortnight = last_days(14, NOW + timedelta(days=7))
    assert watch.brief(db, dental, fortnight, NOW + timedelta(days=7)).entries == ()

    story = first.entries[0].story_id
    with open_writer(db) as w:
        marks = {
            r["story_id"]: r["marks"]
            for r in w.briefings().decisions(dental.id, w48.start, w48.end)
        }
        w.briefings().add_triage(
            Triage(dental.id, story, "done", "anne", NOW, marks=frozenset(marks[story]))
        )
    assert story not in [e.story_id for e in watch.brief(db, dental, w48, NOW).entries]
    # a triage taken before the KEV listing does not hide it
    with open_writer(db) as w:
        w.briefings().add_triage(
            Triage(dental.id, story, "done", "anne", NOW + timedelta(seconds=1))
        )
    assert story in [e.story_id for e in watch.brief(db, dental, w48, NOW).entries]


def test_a_client_without_the_product_is_not_told(db):
    clients = load_clients(DEMO_CLIENTS)
    watch.score(db, clients, NOW, since=NOW - timedelta(hours=1))
    verein = next(c for c in clients if c.id == "verein-biel")
    briefing = watch.brief(db, verein, last_days(7, NOW), NOW)
    assert all(CVE not in e.cves for e in briefing.entries)
