"""SQL of what one client's briefing reads: its decisions in a period, and the facts of the few
stories it tells (`told_facts`, written by scoring beside the decisions).

A held connection (`watch.Desk`) answers a briefing in a few statements, each a few
milliseconds at 1M items: decisions are stored clustered by client within each scoring write
(`briefings.replace_decisions`), so a client's week is a few contiguous runs of rows, and
a told story's facts are one primary-key lookup. Values are inlined as SQL literals, not bound:
the Python client tries to import pandas for every parameter it binds (~0.5 ms each when it is
not installed); `quoted` and `moment` make those literals safe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from techwatch.storage.connection import registered

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def quoted(values: Sequence[str]) -> str:
    """`('a', 'b')`: an IN list of SQL string literals (quotes doubled), which DuckDB answers
    with a primary-key index scan."""
    return "(" + ", ".join(literal(v) for v in values) + ")"


def literal(value: str) -> str:
    """One SQL string literal: the text between single quotes, its quotes doubled."""
    return "'" + str(value).replace("'", "''") + "'"


def moment(value: datetime) -> str:
    """A TIMESTAMPTZ literal of an aware datetime (naive ones are taken as UTC)."""
    if not isinstance(value, datetime):
        raise TypeError(f"not a datetime: {value!r}")
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return f"TIMESTAMPTZ '{aware.astimezone(UTC).isoformat()}'"


def client_decisions(
    conn: duckdb.DuckDBPyConnection, client_id: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """A client's decisions about stories active in [start, end), most urgent first, with
    their reasons as JSON text (decoded only for the stories told). `last_seen` is read as
    epoch microseconds: DuckDB's own conversion of TIMESTAMPTZ costs ~3 us a value."""
    cursor = conn.execute(
        "SELECT story_id, priority, lane, marks, epoch_us(last_seen), rules_version, reasons "
        f"FROM client_stories WHERE client_id = {literal(client_id)} "
        f"AND last_seen >= {moment(start)} AND last_seen < {moment(end)} "
        "ORDER BY urgency DESC, last_seen DESC, story_id"
    )
    return [
        {
            "story_id": story,
            "priority": priority,
            "lane": lane,
            "marks": marks,
            "last_seen": _EPOCH + timedelta(microseconds=seen),
            "rules_version": rules,
            "reasons": reasons,
        }
        for story, priority, lane, marks, seen, rules, reasons in cursor.fetchall()
    ]


def told_facts(conn: duckdb.DuckDBPyConnection, story_ids: Sequence[str]) -> dict[str, str]:
    """story id -> its facts as JSON text (`briefing.facts.to_json`), for those that have
    them: a story decided before migration 0010 has none (its rows are read then)."""
    wanted = list(dict.fromkeys(story_ids))
    if not wanted:
        return {}
    sql = f"SELECT story_id, facts FROM told_facts WHERE story_id IN {quoted(wanted)}"
    return dict(conn.execute(sql).fetchall())


def replace_told_facts(
    conn: duckdb.DuckDBPyConnection, story_ids: Sequence[str], facts: Mapping[str, str]
) -> None:
    """Replace the facts of `story_ids` by `facts` (story id -> JSON text; caller's
    transaction): a story scored again without a decision keeps none."""
    scored = pa.table({"story_id": pa.array(list(dict.fromkeys(story_ids)), pa.string())})
    told = pa.table(
        {
            "story_id": pa.array(list(facts), pa.string()),
            "facts": pa.array(list(facts.values()), pa.string()),
        }
    )
    with registered(conn, facts_scored=scored, facts_told=told):
        conn.execute("DELETE FROM told_facts WHERE story_id IN (SELECT story_id FROM facts_scored)")
        conn.execute("INSERT INTO told_facts SELECT story_id, facts FROM facts_told")


def drop_untold(conn: duckdb.DuckDBPyConnection) -> None:
    """Facts of stories no client has a decision about any more go away."""
    conn.execute(
        "DELETE FROM told_facts WHERE story_id NOT IN (SELECT story_id FROM client_stories)"
    )
