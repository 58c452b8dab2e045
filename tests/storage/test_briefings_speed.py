"""What scoring keeps for fast reads gives the answers of the plain queries: the portfolio from
the per-day summary, a briefing's stories from the facts kept in `told_facts`, a client's
decisions stored together."""

import json
import random
from datetime import timedelta
from pathlib import Path

import pytest

from techwatch import watch
from techwatch.briefing.period import last_days
from techwatch.clients.config import load_clients
from techwatch.storage import briefings as store
from techwatch.storage import migrate, told
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
        "INSERT INTO stories (story_id, title, first_seen, last_seen, items, sources, cves, "
        "created_at, updated_at) "
        "SELECT unnest(?), 't', ?, ?, 1, 1, [], ?, ?",
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
            migrate._apply(connection, [migration], NOW)
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


def test_a_briefing_from_the_kept_facts_is_the_one_from_the_stories_rows(scored):
    week = last_days(7, NOW)
    clients = load_clients(DEMO_CLIENTS)
    with watch.Desk(scored) as desk:
        kept = [desk.compose(c, week, NOW) for c in clients]
    conn = connect(scored, read_only=False, wait_s=5)
    assert conn.execute("SELECT count(*) FROM told_facts").fetchone()[0] >= 1
    conn.execute("DELETE FROM told_facts")  # as decided before told_facts existed
    conn.close()
    with watch.Desk(scored) as desk:
        derived = [desk.compose(c, week, NOW) for c in clients]
    assert kept == derived
    entries = [e for briefing, _ in kept for e in briefing.entries]
    assert any(e.links and e.actions and e.cves for e in entries)


def test_a_clients_decisions_read_narrow_are_the_full_ones(scored):
    conn = connect(scored, read_only=True, wait_s=5)
    start, end = NOW - timedelta(days=7), NOW + timedelta(days=1)
    full = store.decisions(conn, "dental-lausanne", start, end)
    narrow = told.client_decisions(conn, "dental-lausanne", start, end)
    keys = ("story_id", "priority", "lane", "marks", "last_seen", "rules_version")
    assert full and [{k: r[k] for k in keys} for r in full] == [
        {k: r[k] for k in keys} for r in narrow
    ]
    texts, reasons = told.told_stories(conn, narrow)  # read without them, then by row
    assert [r["reasons"] for r in full] == [json.loads(reasons[r["story_id"]]) for r in narrow]
    assert texts and texts == told.told_facts(conn, [r["story_id"] for r in narrow])
    last = narrow[-1]["story_id"]
    assert told.told_stories(conn, narrow[-1:])[1] == {last: reasons[last]}
    assert told.told_stories(conn, []) == ({}, {})
    assert told.client_decisions(conn, "nobody", start, end) == []
    conn.close()


def test_one_clients_decisions_of_one_scoring_sit_together(conn):
    stories = [f"s{n}" for n in range(40)]
    store.replace_decisions(conn, stories, decisions(random.Random(7), stories, 5))
    rows = conn.execute("SELECT client_id FROM client_stories ORDER BY rowid").fetchall()
    runs = [c for n, (c,) in enumerate(rows) if n == 0 or rows[n - 1][0] != c]
    assert len(rows) > 40 and sorted(runs) == sorted(set(runs))


def test_told_facts_follow_the_decisions(conn):
    rows = decisions(random.Random(3), ["x", "y"], 3)
    conn.execute(
        "INSERT INTO stories (story_id, title, first_seen, last_seen, items, sources, cves, "
        "created_at, updated_at) "
        "SELECT unnest(['x', 'y']), 't', ?, ?, 1, 1, [], ?, ?",
        [NOW, NOW, NOW, NOW],
    )
    decided = {r["story_id"] for r in rows}
    facts = {"x": '{"n": 1}', "y": '{"n": 2}', "z": '{"n": 3}'}  # z has no decision
    store.replace_decisions(conn, ["x", "y", "z"], rows, facts)
    assert told.told_facts(conn, ["x", "y", "z", "x"]) == {s: facts[s] for s in decided}
    store.replace_decisions(conn, ["x"], [], facts)
    assert "x" not in told.told_facts(conn, ["x"])  # scored again without a decision
    conn.execute("DELETE FROM stories WHERE story_id = 'y'")  # merged away
    store.drop_orphans(conn)
    assert told.told_facts(conn, ["y"]) == {} and told.told_facts(conn, []) == {}


def test_values_inlined_in_sql_stay_values(conn):
    store.replace_decisions(conn, ["o'k"], decisions(random.Random(4), ["o'k"], 2))
    client = conn.execute("SELECT any_value(client_id) FROM client_stories").fetchone()[0]
    rows = told.client_decisions(conn, client, NOW - timedelta(days=30), NOW + timedelta(days=1))
    assert [r["story_id"] for r in rows] == ["o'k"]
    assert told.client_decisions(conn, "x' OR '1'='1", NOW - timedelta(days=30), NOW) == []
    assert told.told_facts(conn, ["'); DROP TABLE told_facts; --"]) == {}
    assert store.told_marks(conn, "c0' OR '1'='1", "p") == {}


def test_decisions_stored_before_the_facts_are_kept_and_clustered(tmp_path):
    path = tmp_path / "old.duckdb"
    connection = connect(path, read_only=False, wait_s=5)
    connection.execute(migrate.BOOTSTRAP)
    for migration in migrate.available():
        if migration.version < 10:  # the store as techwatch left it before told_facts
            migrate._apply(connection, [migration], NOW)
    rows = decisions(random.Random(6), [f"s{n}" for n in range(30)], 4)
    random.Random(1).shuffle(rows)
    for r in rows:
        connection.execute(
            "INSERT INTO client_stories VALUES ($client_id, $story_id, $priority, $urgency, "
            "$lane, $reasons, $marks, $title, $first_seen, $last_seen, $decided_at, "
            "$rules_version)",
            {**r, "urgency": store.URGENCY[r["priority"]]},
        )
    before = connection.execute("SELECT * FROM client_stories ORDER BY ALL").fetchall()
    migrate.apply_pending(connection, NOW)
    assert connection.execute("SELECT * FROM client_stories ORDER BY ALL").fetchall() == before
    stored = connection.execute(
        "SELECT CAST(last_seen AT TIME ZONE 'UTC' AS DATE), client_id FROM client_stories "
        "ORDER BY rowid"
    ).fetchall()
    assert stored == sorted(stored)
    tables = {r[0] for r in connection.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "told_facts" in tables and "decided_items" not in tables
    connection.close()


def test_a_naive_since_is_taken_as_utc(conn):
    rows = decisions(random.Random(3), ["x"], 3)
    store.replace_decisions(conn, ["x"], rows)
    since = NOW - timedelta(days=20)
    assert store.portfolio(conn, since.replace(tzinfo=None)) == store.portfolio(conn, since)
