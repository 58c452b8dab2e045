"""SQL of per-client decisions, briefings and triage; functions over an open connection.

The Writer and Reader expose these as methods; this module keeps the SQL of one concept
together (what a briefing reads about its told stories is in `told`). Decisions
(`client_stories`) are replaced per story: scoring a story again for all clients deletes its
old rows and inserts the new ones, with the story's facts, in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pyarrow as pa

from techwatch.briefing.memory import Triage
from techwatch.storage import evidence, told
from techwatch.storage.connection import Conn, registered, transaction
from techwatch.storage.rows import dicts
from techwatch.storage.told import literal, moment

DECISION_SCHEMA = pa.schema(
    [
        ("client_id", pa.string()),
        ("story_id", pa.string()),
        ("priority", pa.string()),
        ("urgency", pa.int8()),
        ("lane", pa.string()),
        ("reasons", pa.string()),
        ("marks", pa.list_(pa.string())),
        ("title", pa.string()),
        ("first_seen", pa.timestamp("us", tz="UTC")),
        ("last_seen", pa.timestamp("us", tz="UTC")),
        ("decided_at", pa.timestamp("us", tz="UTC")),
        ("rules_version", pa.string()),
    ]
)
URGENCY = {"act_now": 3, "act_soon": 2, "plan": 1, "watch": 0}


def replace_decisions(
    conn: Conn,
    story_ids: Sequence[str],
    rows: Sequence[dict[str, Any]],
    facts: Mapping[str, str] | None = None,
) -> None:
    """Replace every client's decision about `story_ids` by `rows` (caller's transaction),
    the portfolio's summary of the days they were and are on, and the decided stories' `facts`
    (story -> `briefing.facts` JSON, as scored).

    Rows go in by client: a client's decisions of one scoring sit together, so reading its
    week touches a few runs of rows (`told.client_decisions`)."""
    stories = pa.table({"story_id": pa.array(list(dict.fromkeys(story_ids)), pa.string())})
    table = _decisions_table(rows)
    decided = {r["story_id"] for r in rows}
    told.replace_told_facts(
        conn, story_ids, {s: f for s, f in (facts or {}).items() if s in decided}
    )
    with registered(conn, scored_stories=stories, decisions=table):
        days = conn.execute(
            f"SELECT DISTINCT {_DAY} FROM client_stories "
            "WHERE story_id IN (SELECT story_id FROM scored_stories) "
            f"UNION SELECT DISTINCT {_DAY} FROM decisions"
        ).fetchall()
        conn.execute(
            "DELETE FROM client_stories WHERE story_id IN (SELECT story_id FROM scored_stories)"
        )
        conn.execute(
            "INSERT INTO client_stories SELECT * FROM decisions "
            "ORDER BY client_id, last_seen, story_id"
        )
    refresh_days(conn, [d for (d,) in days])


def _decisions_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """The rows as an Arrow table of DECISION_SCHEMA (a missing value is null), built column
    by column: a night's ~70k rows in half the time of `Table.from_pylist`."""
    columns = {
        name: [URGENCY[r["priority"]] for r in rows]
        if name == "urgency"
        else [r.get(name) for r in rows]
        for name in DECISION_SCHEMA.names
    }
    return pa.table(columns, schema=DECISION_SCHEMA)


# The UTC day of a decision, the portfolio summary's key; the rank of its top story.
_DAY = "CAST(last_seen AT TIME ZONE 'UTC' AS DATE)"
_RANK = "urgency * 100000000000000000 + epoch_us(last_seen)"
_SUMMARY = f"""
    SELECT client_id, count(*) FILTER (WHERE urgency = 3) AS act_now,
           count(*) FILTER (WHERE urgency = 2) AS act_soon,
           count(*) FILTER (WHERE urgency = 1) AS plan,
           count(*) FILTER (WHERE urgency = 0) AS watch,
           max(urgency) AS urgency, max({_RANK}) AS top_rank,
           arg_max({{'story': story_id, 'title': title, 'priority': priority}}, {_RANK}) AS top
    FROM client_stories
"""


def refresh_days(conn: Conn, days: Sequence[date]) -> None:
    """Rebuild the portfolio summary (`client_days`) of these days from the decisions."""
    if not days:
        return
    wanted = sorted(set(days))
    conn.execute("DELETE FROM client_days WHERE day IN (SELECT unnest(?::DATE[]))", [wanted])
    conn.execute(
        f"""
        INSERT INTO client_days
        SELECT client_id, day, act_now, act_soon, plan, watch, urgency, top_rank, top.story,
               top.title, top.priority
        FROM ({_SUMMARY.replace("SELECT client_id,", f"SELECT client_id, {_DAY} AS day,")}
              WHERE {_DAY} IN (SELECT unnest(?::DATE[])) GROUP BY ALL)
        ORDER BY day, client_id
        """,
        [wanted],
    )


def decisions(conn: Conn, client_id: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """A client's decisions about stories active in [start, end), most urgent first."""
    rows = dicts(
        conn.execute(
            "SELECT * FROM client_stories WHERE client_id = ? AND last_seen >= ? "
            "AND last_seen < ? ORDER BY urgency DESC, last_seen DESC, story_id",
            [client_id, start, end],
        )
    )
    for row in rows:
        row["reasons"] = json.loads(row["reasons"])
    return rows


def decision(conn: Conn, client_id: str, story_id: str) -> dict[str, Any] | None:
    rows = dicts(
        conn.execute(
            "SELECT * FROM client_stories WHERE client_id = ? AND story_id = ?",
            [client_id, story_id],
        )
    )
    return rows[0] if rows else None


def portfolio(conn: Conn, since: datetime) -> list[dict[str, Any]]:
    """One row per client with stories since `since`: counts per priority and the top story
    (the most urgent, then latest).

    Whole days come from the per-day summary that scoring keeps (`client_days`, ~200 rows a
    day), only the part of `since`'s own day from the decisions: a week of 200 clients sums
    ~1,400 rows instead of aggregating ~75k decisions with their titles.
    """
    since = since.astimezone(UTC) if since.tzinfo else since.replace(tzinfo=UTC)
    day = since.date()
    next_day = datetime.combine(day + timedelta(days=1), time(), UTC)
    # Literals, not parameters (see `told`): the held desk answers in a few milliseconds.
    return dicts(
        conn.execute(
            f"""
            WITH parts AS (
                SELECT client_id, act_now, act_soon, plan, watch, urgency, top_rank,
                       {{'story': top_story, 'title': top_title, 'priority': top_priority}}
                           AS top
                FROM client_days WHERE day > DATE '{day.isoformat()}'
                UNION ALL
                {_SUMMARY} WHERE last_seen >= {moment(since)} AND last_seen < {moment(next_day)}
                GROUP BY client_id
            ), summed AS (
                SELECT client_id, CAST(sum(act_now) AS BIGINT) AS act_now,
                       CAST(sum(act_soon) AS BIGINT) AS act_soon,
                       CAST(sum(plan) AS BIGINT) AS plan, CAST(sum(watch) AS BIGINT) AS watch,
                       arg_max(top, top_rank) AS top, max(urgency) AS urgency
                FROM parts GROUP BY client_id
            )
            SELECT client_id, act_now, act_soon, plan, watch, top.story AS top_story,
                   top.title AS top_title, top.priority AS top_priority, urgency
            FROM summed
            ORDER BY urgency DESC, act_now DESC, act_soon DESC, plan DESC, client_id
            """
        )
    )


def save_briefing(
    conn: Conn,
    row: dict[str, Any],
    entries: Sequence[dict[str, Any]],
) -> None:
    """Store one built briefing and what it told (caller's transaction)."""
    conn.execute(
        "INSERT INTO briefings (briefing_id, client_id, period, period_start, period_end, "
        "generated_at, language, model_version, rules_version, entries, top_priority, content) "
        "VALUES ($briefing_id, $client_id, $period, $period_start, $period_end, $generated_at, "
        "$language, $model_version, $rules_version, $entries, $top_priority, $content)",
        row,
    )
    for entry in entries:
        conn.execute(
            "INSERT INTO briefing_entries (briefing_id, client_id, story_id, priority, marks, "
            "told_at) VALUES (?, ?, ?, ?, ?, ?)",
            [
                row["briefing_id"],
                row["client_id"],
                entry["story_id"],
                entry["priority"],
                sorted(entry["marks"]),
                row["generated_at"],
            ],
        )


def latest_briefing(conn: Conn, client_id: str, period: str | None = None) -> dict[str, Any] | None:
    """The latest briefing of a client (of one period when given), content decoded."""
    where, params = "client_id = ?", [client_id]
    if period is not None:
        where, params = where + " AND period = ?", [*params, period]
    rows = dicts(
        conn.execute(
            f"SELECT * FROM briefings WHERE {where} ORDER BY generated_at DESC LIMIT 1", params
        )
    )
    if not rows:
        return None
    rows[0]["content"] = json.loads(rows[0]["content"])
    return rows[0]


def briefings(conn: Conn, client_id: str | None) -> list[dict[str, Any]]:
    where, params = ("WHERE client_id = ?", [client_id]) if client_id else ("", [])
    return dicts(
        conn.execute(
            "SELECT briefing_id, client_id, period, generated_at, language, entries, "
            f"top_priority, model_version, rules_version FROM briefings {where} "
            "ORDER BY generated_at DESC",
            params,
        )
    )


def told_marks(conn: Conn, client_id: str, period: str) -> dict[str, frozenset[str]]:
    """For each story told to the client in another period, the marks it had when last told.

    Briefings of the same period do not count: building a period again must give the same
    briefing, not an empty one.
    """
    rows = conn.execute(
        "SELECT e.story_id, arg_max(e.marks, e.told_at) FROM briefing_entries e "
        f"JOIN briefings b USING (briefing_id) WHERE e.client_id = {literal(client_id)} "
        f"AND b.period <> {literal(period)} GROUP BY e.story_id"
    ).fetchall()
    return {story: frozenset(marks) for story, marks in rows}


def add_triage(conn: Conn, triage: Triage) -> None:
    conn.execute(
        "INSERT INTO triage VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            triage.client_id,
            triage.story_id,
            triage.status,
            triage.note,
            triage.expires,
            sorted(triage.marks),
            triage.set_by,
            triage.set_at,
        ],
    )


def current_triage(conn: Conn, client_id: str) -> dict[str, Triage]:
    """The latest triage per story of one client."""
    rows = dicts(
        conn.execute(
            f"SELECT * FROM triage WHERE client_id = {literal(client_id)} "
            "QUALIFY row_number() OVER (PARTITION BY story_id ORDER BY set_at DESC) = 1"
        )
    )
    return {row["story_id"]: _triage(row) for row in rows}


def triage_history(conn: Conn, client_id: str, story_id: str | None = None) -> list[Triage]:
    where, params = "client_id = ?", [client_id]
    if story_id is not None:
        where, params = where + " AND story_id = ?", [*params, story_id]
    rows = dicts(conn.execute(f"SELECT * FROM triage WHERE {where} ORDER BY set_at", params))
    return [_triage(row) for row in rows]


def _triage(row: dict[str, Any]) -> Triage:
    return Triage(
        client_id=row["client_id"],
        story_id=row["story_id"],
        status=row["status"],
        set_by=row["set_by"],
        set_at=row["set_at"],
        note=row["note"],
        expires=row["expires"],
        marks=frozenset(row["marks"]),
    )


def drop_orphans(conn: Conn) -> int:
    """Decisions about stories that no longer exist (merged into another) go away."""
    days = conn.execute(
        "DELETE FROM client_stories WHERE story_id NOT IN (SELECT story_id FROM stories) "
        f"RETURNING {_DAY}"
    ).fetchall()
    refresh_days(conn, [d for (d,) in days])
    told.drop_untold(conn)
    return len(days)


def items_between(conn: Conn, start: datetime, end: datetime) -> int:
    """Items first seen in [start, end): what the watch read during a period."""
    row = conn.execute(
        "SELECT count(*) FROM items WHERE first_seen >= ? AND first_seen < ?", [start, end]
    ).fetchone()
    return int(row[0]) if row else 0


def source_health(conn: Conn) -> tuple[int, int, int]:
    """(checked, failing, degraded) over enabled sources that were attempted at least once."""
    row = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE st.consecutive_failures > 0), "
        "count(*) FILTER (WHERE st.degraded) FROM source_state st "
        "JOIN sources s ON s.id = st.source_id "
        "WHERE s.enabled AND NOT s.removed AND st.last_attempt IS NOT NULL"
    ).fetchone()
    return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)


def exposure_by_cve(conn: Conn, cve_id: str) -> list[dict[str, Any]]:
    """Every client decision about stories that name `cve_id`, most urgent first."""
    rows = dicts(
        conn.execute(
            "SELECT cs.* FROM client_stories cs JOIN stories s USING (story_id) "
            "WHERE list_contains(s.cves, ?) ORDER BY cs.urgency DESC, cs.client_id, cs.story_id",
            [cve_id],
        )
    )
    for row in rows:
        row["reasons"] = json.loads(row["reasons"])
    return rows


def stories_of_items(
    conn: Conn, item_ids: Sequence[str], client_id: str | None
) -> dict[str, dict[str, Any]]:
    """item id -> its story (and the client's decision when `client_id` is given; items of
    stories that do not concern that client are left out)."""
    table = pa.table({"item_id": pa.array(list(item_ids), pa.string())})
    join = "JOIN" if client_id else "LEFT JOIN"
    with registered(conn, searched_items=table):
        rows = dicts(
            conn.execute(
                "SELECT si.item_id, s.story_id, s.title AS story_title, s.sources, "
                "cs.priority, cs.lane FROM searched_items q "
                "JOIN story_items si USING (item_id) JOIN stories s USING (story_id) "
                f"{join} client_stories cs ON cs.story_id = s.story_id AND cs.client_id = ?",
                [client_id],
            )
        )
    return {row.pop("item_id"): row for row in rows}


class Briefings:
    """Decisions, briefings and triage bound to one connection (from `Writer.briefings()` or
    `Reader.briefings()`; over a read-only connection only the reading methods work)."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    def one_thread(self) -> None:
        """Answer on one thread: a consultant's query reads a few hundred rows, and a second
        thread costs more to wake and wait for than it saves (a portfolio takes a quarter less
        CPU), above all on a busy machine. DuckDB sets it for the whole database instance: every
        connection of this process to the file, while this one is open."""
        self._conn.execute("SET threads = 1")

    def replace_decisions(
        self,
        story_ids: Sequence[str],
        rows: Sequence[dict[str, Any]],
        facts: Mapping[str, str] | None = None,
    ) -> int:
        with transaction(self._conn, "replace_decisions"):
            replace_decisions(self._conn, story_ids, rows, facts)
            return drop_orphans(self._conn)

    def save(self, row: dict[str, Any], entries: Sequence[dict[str, Any]]) -> None:
        with transaction(self._conn, f"save briefing {row['briefing_id']}"):
            save_briefing(self._conn, row, entries)

    def add_triage(self, triage: Triage) -> None:
        add_triage(self._conn, triage)

    def decisions(self, client_id: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        return decisions(self._conn, client_id, start, end)

    def client_decisions(
        self, client_id: str, start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        return told.client_decisions(self._conn, client_id, start, end)

    def told_stories(
        self, decisions: Sequence[Mapping[str, Any]]
    ) -> tuple[dict[str, str], dict[str, str]]:
        return told.told_stories(self._conn, decisions)

    def told_facts(self, story_ids: Sequence[str]) -> dict[str, str]:
        return told.told_facts(self._conn, story_ids)

    def decision(self, client_id: str, story_id: str) -> dict[str, Any] | None:
        return decision(self._conn, client_id, story_id)

    def portfolio(self, since: datetime) -> list[dict[str, Any]]:
        return portfolio(self._conn, since)

    def latest(self, client_id: str, period: str | None = None) -> dict[str, Any] | None:
        return latest_briefing(self._conn, client_id, period)

    def listing(self, client_id: str | None = None) -> list[dict[str, Any]]:
        return briefings(self._conn, client_id)

    def told(self, client_id: str, period: str) -> dict[str, frozenset[str]]:
        return told_marks(self._conn, client_id, period)

    def triage(self, client_id: str) -> dict[str, Triage]:
        return current_triage(self._conn, client_id)

    def triage_history(self, client_id: str, story_id: str | None = None) -> list[Triage]:
        return triage_history(self._conn, client_id, story_id)

    def items_between(self, start: datetime, end: datetime) -> int:
        return items_between(self._conn, start, end)

    def source_health(self) -> tuple[int, int, int]:
        return source_health(self._conn)

    def story_rows(self, story_ids: Sequence[str]) -> dict[str, Any]:
        return evidence.story_rows(self._conn, story_ids)

    def stories_to_score(self, since: datetime) -> list[str]:
        touched = evidence.stories_seen_since(self._conn, since)
        jumped = evidence.stories_with_epss_jump(self._conn, since)
        return list(dict.fromkeys([*touched, *jumped]))

    def stories_active_since(self, since: datetime) -> list[str]:
        return evidence.stories_active_since(self._conn, since)

    def model_version(self) -> str | None:
        return model_version(self._conn)

    def exposure_by_cve(self, cve_id: str) -> list[dict[str, Any]]:
        return exposure_by_cve(self._conn, cve_id)

    def stories_of_items(
        self, item_ids: Sequence[str], client_id: str | None
    ) -> dict[str, dict[str, Any]]:
        return stories_of_items(self._conn, item_ids, client_id)


def model_version(conn: Conn) -> str | None:
    """The model that classified the latest items."""
    row = conn.execute(
        "SELECT model_version FROM item_classes ORDER BY classified_at DESC LIMIT 1"
    ).fetchone()
    return None if row is None else str(row[0])
