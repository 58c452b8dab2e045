"""What scoring keeps for fast reads gives the answers of the plain queries: the portfolio from
the per-day summary, a briefing's story rows read by key from `decided_items`."""

import json
import random
from datetime import timedelta
from pathlib import Path

import pytest

from techwatch import watch
from techwatch.clients.config import load_clients
from techwatch.storage import briefings as store
from techwatch.storage import evidence, migrate
from techwatch.storage.connection import connect
from techwatch.storage.rows import dicts
from tests.watch_store import DEMO_CLIENTS, NOW, fortios_store

PRIORITIES = ("act_now", "act_soon", "plan", "watch")
# The portfolio as it was computed before the summary: every decision since `since`.
PLAIN_PORTFOLIO = """
    WITH counted AS (
        SELECT client_id,
               count(*) FILTER (WHERE priority = 'act_now')  AS act_now,
               count(*) FILTER (WHERE priority = 'act_soon') AS act_soon,
               count(*) FILTER (WHERE priority = 'plan')     AS plan,
               count(*) FILTER (WHERE priority = 'watch')    AS watch,
               arg_max({'story': story_id, 'title': title, 'priority': priority},
                       urgency * 100000000000000000 + epoch_us(last_seen)) AS top,
               max(urgency) AS urgency
        FROM client_stories WHERE last_seen >= ? GROUP BY client_id
    )
    SELECT client_id, act_now, act_soon, plan, watch, top.story AS top_story,
           top.title AS top_title, top.priority AS top_priority, urgency
    FROM counted ORDER BY urgency DESC, act_now DESC, act_soon DESC, plan DESC, client_id
"""


@pytest.fixture
def conn(tmp_path):
    connection = connect(tmp_path / "t.duckdb", read_only=False, wait_s=5)
    migrate.apply_pending(connection, NOW)
    yield connection
    connection.close()


def decisions(rng: random.Random, stories: list[str], clients: int) -> list[dict]:
    rows = []
    for story in stories:
        seen = NOW - timedelta(minutes=rng.randrange(12 * 24 * 60))
        for client in rng.sample(range(clients), rng.randrange(clients)):
            rows.append(
                {
                    "client_id": f"c{client}",
                    "story_id": story,
                    "priority": rng.choice(PRIORITIES),
                    "lane": "confirmed",
                    "reasons": json.dumps({"match": [], "priority": []}),
                    "marks": [],
                    "title": f"title of {story}",
                    "first_seen": seen,
                    "last_seen": seen + timedelta(microseconds=client),  # no ties
                    "decided_at": NOW,
                    "rules_version": "r1",
                }
            )
    return rows


def test_the_portfolio_from_the_day_summary_is_the_plain_one_through_rescoring(conn):
    rng = random.Random(5)
    stories = [f"s{n}" for n in range(120)]
    conn.execute(
        "INSERT INTO stories SELECT unnest(?), 't', ?, ?, 1, 1, [], ?, ?",
        [stories, NOW, NOW, NOW, NOW],
    )
    store.replace_decisions(conn, stories, decisions(rng, stories, 6))
    for _ in range(3):  # nights: some stories scored again, on other days and priorities
        again = rng.sample(stories, 30)
        store.replace_decisions(conn, again, decisions(rng, again, 6))
    conn.execute("DELETE FROM stories WHERE story_id IN ('s1', 's2', 's3')")  # merged away
    assert store.drop_orphans(conn) > 0
    for days, hours in [(7, 0), (7, 5), (3, 13), (30, 0), (0, 2)]:
        since = NOW - timedelta(days=days, hours=hours)
        expected = dicts(conn.execute(PLAIN_PORTFOLIO, [since]))
        assert expected and store.portfolio(conn, since) == expected


def test_the_day_summary_is_built_for_decisions_stored_before_it(tmp_path):
    path = tmp_path / "old.duckdb"
    connection = connect(path, read_only=False, wait_s=5)
    connection.execute(migrate.BOOTSTRAP)
    for migration in migrate.available():
        if migration.version < 9:  # the store as techwatch left it before the summary
            migrate._apply(connection, migration, NOW)
    rows = decisions(random.Random(2), ["a", "b", "c"], 4)
    table = [{**r, "urgency": store.URGENCY[r["priority"]]} for r in rows]
    for r in table:
        connection.execute(
            "INSERT INTO client_stories VALUES ($client_id, $story_id, $priority, $urgency, "
            "$lane, $reasons, $marks, $title, $first_seen, $last_seen, $decided_at, "
            "$rules_version)",
            r,
        )
    migrate.apply_pending(connection, NOW)
    since = NOW - timedelta(days=30)
    assert store.portfolio(connection, since) == dicts(connection.execute(PLAIN_PORTFOLIO, [since]))
    connection.close()


@pytest.fixture
def scored(tmp_path: Path) -> Path:
    path = fortios_store(tmp_path / "w.duckdb")
    watch.score(path, load_clients(DEMO_CLIENTS), NOW, since=NOW - timedelta(hours=1))
    return path


@pytest.mark.parametrize("kept", [True, False])
def test_story_rows_read_by_key_are_the_scanned_ones(scored, kept):
    conn = connect(scored, read_only=False, wait_s=5)
    ids = [r[0] for r in conn.execute("SELECT story_id FROM stories ORDER BY 1").fetchall()]
    assert conn.execute("SELECT count(*) FROM decided_items").fetchone()[0] >= 1
    if not kept:  # decided before decided_items existed: read through story_items
        conn.execute("DELETE FROM decided_items")
    keyed = store.told_story_rows(conn, ids)
    scanned = evidence.story_rows(conn, ids)
    for part in ("stories", "items", "facts", "epss"):
        key = "story_id" if part != "epss" else "cve_id"
        assert sorted(keyed[part], key=lambda r: r[key]) == sorted(
            scanned[part], key=lambda r: r[key]
        ), part
    assert keyed["items"] and keyed["facts"]
    assert store.told_story_rows(conn, []) == {"stories": [], "items": [], "facts": [], "epss": []}
    conn.close()


def test_reasons_are_read_at_the_rows_the_narrow_query_names(scored):
    conn = connect(scored, read_only=True, wait_s=5)
    start, end = NOW - timedelta(days=7), NOW + timedelta(days=1)
    rows = store.decisions(conn, "dental-lausanne", start, end)
    full = {r["story_id"]: r["reasons"] for r in rows}
    narrow = store.decision_keys(conn, "dental-lausanne", start, end)
    reasons = store.reasons_at(conn, [r["rowid"] for r in narrow])
    assert full and {r["story_id"]: json.loads(reasons[r["rowid"]]) for r in narrow} == full
    conn.close()


def test_a_naive_since_is_taken_as_utc(conn):
    rows = decisions(random.Random(3), ["x"], 3)
    store.replace_decisions(conn, ["x"], rows)
    since = NOW - timedelta(days=20)
    assert store.portfolio(conn, since.replace(tzinfo=None)) == store.portfolio(conn, since)
