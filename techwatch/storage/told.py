"""SQL of what one client's briefing reads: its decisions in a period, and the reasons and
facts of the few stories it tells (`told_facts`, written by scoring beside the decisions).

A held connection (`watch.Desk`) answers a briefing in a few statements, each a few
milliseconds at 1M items: decisions are stored clustered by client within each scoring write
(`briefings.replace_decisions`), so a client's week is a few contiguous runs of rows, read
without their reasons (decompressing ~600 of them cost more than the rest of the row); the
stories told get their facts (a primary-key lookup) and reasons (by row id) in one statement.
Values are inlined as SQL literals, not bound: the Python client tries to import pandas for
every parameter it binds (~0.5 ms each when it is not installed); `quoted` and `moment` make
those literals safe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from techwatch.storage.connection import Conn, registered

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
    conn: Conn, client_id: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """A client's decisions about stories active in [start, end), most urgent first (then
    latest, then by story), without their reasons: `row` says where each is stored, for
    `told_stories`, which reads them for the few stories told. Sorted here rather than in SQL
    (a sort there moves every column through it); `last_seen` is read as epoch microseconds:
    DuckDB's own conversion of TIMESTAMPTZ costs ~3 us a value."""
    cursor = conn.execute(
        "SELECT urgency, epoch_us(last_seen), story_id, rowid, priority, lane, marks, "
        f"rules_version FROM client_stories WHERE client_id = {literal(client_id)} "
        f"AND last_seen >= {moment(start)} AND last_seen < {moment(end)}"
    )
    rows = cursor.fetchall()
    rows.sort(key=lambda r: (-r[0], -r[1], r[2]))
    return [
        {
            "story_id": story,
            "priority": priority,
            "lane": lane,
            "marks": marks,
            "last_seen": _EPOCH + timedelta(microseconds=seen),
            "rules_version": rules,
            "row": row,
        }
        for _, seen, story, row, priority, lane, marks, rules in rows
    ]


def told_stories(
    conn: Conn, decisions: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, str], dict[str, str]]:
    """The facts (`told_facts`) and the decision's reasons of the stories of `decisions`, as
    JSON text by story id, in one statement: rows `client_decisions` read on this connection,
    with nothing written since (a held read-only connection: DuckDB's lock keeps writers out).
    Row ids make the reasons a read of the few rows told; filtering on the stories would
    decompress the reasons of every decision of the client first (the story filter after
    them only guards against a row id reused by a write: reasons missing, never wrong)."""
    if not decisions:
        return {}, {}
    stories = quoted(list(dict.fromkeys(d["story_id"] for d in decisions)))
    rows = ", ".join(str(int(d["row"])) for d in decisions)
    found: tuple[dict[str, str], dict[str, str]] = ({}, {})
    for kind, story, text in conn.execute(
        f"SELECT 0, story_id, facts FROM told_facts WHERE story_id IN {stories} UNION ALL "
        "SELECT 1, story_id, reasons FROM client_stories "
        f"WHERE rowid IN (SELECT unnest([{rows}]::BIGINT[])) AND story_id IN {stories}"
    ).fetchall():
        found[kind][story] = text
    return found


def told_facts(conn: Conn, story_ids: Sequence[str]) -> dict[str, str]:
    """story id -> its facts as JSON text (`briefing.facts.to_json`), for those that have
    them: a story decided before migration 0010 has none (its rows are read then)."""
    wanted = list(dict.fromkeys(story_ids))
    if not wanted:
        return {}
    sql = f"SELECT story_id, facts FROM told_facts WHERE story_id IN {quoted(wanted)}"
    return dict(conn.execute(sql).fetchall())


def replace_told_facts(conn: Conn, story_ids: Sequence[str], facts: Mapping[str, str]) -> None:
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


def drop_untold(conn: Conn) -> None:
    """Facts of stories no client has a decision about any more go away."""
    conn.execute(
        "DELETE FROM told_facts WHERE story_id NOT IN (SELECT story_id FROM client_stories)"
    )
