"""SQL that gathers, for a set of stories, the rows `techwatch.scoring.gather` turns into
Evidence: their items with source and effective labels, vulnerability facts, latest EPSS.

Labels per item and axis: the latest consultant label that says the axis, else the model's
(the rule of `techwatch.labelling.effective_labels`, done in SQL for thousands of items).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from techwatch.storage import vulns
from techwatch.storage.connection import Conn, registered
from techwatch.storage.rows import dicts

TEXT_CHARS = 2000  # per item: enough for the names that matter, bounded for 20k items


def _span(conn: Conn, table: str, key: str, wanted: str) -> str:
    """`rowid BETWEEN lo AND hi` around `table`'s rows whose `key` is in `wanted` (a subquery).

    Tables are written in sighting order, so the rows of recent stories sit together, and the
    range lets DuckDB skip the other row groups instead of reading every row's text and lists
    (a brief's story rows went from ~5 s to ~0.4 s at 1M items on a fresh connection, as the
    CLI opens them; lookups through the primary-key indexes were slower there, the index being
    read from disk at every connection). Found by reading the key column only."""
    row = conn.execute(f"SELECT min(rowid), max(rowid) FROM {table} WHERE {key} IN {wanted}")
    lo, hi = row.fetchone() or (None, None)
    return "rowid BETWEEN 0 AND -1" if lo is None else f"rowid BETWEEN {int(lo)} AND {int(hi)}"


def story_rows(conn: Conn, story_ids: Sequence[str]) -> dict[str, Any]:
    """Everything about `story_ids`: stories, items (+ labels), facts and EPSS, as rows."""
    wanted = pa.table({"story_id": pa.array(list(dict.fromkeys(story_ids)), pa.string())})
    with registered(conn, wanted_stories=wanted):
        where = "story_id IN (SELECT story_id FROM wanted_stories)"
        stories = dicts(
            conn.execute(
                f"SELECT story_id, title, first_seen, last_seen, cves FROM stories WHERE {where}"
            )
        )
        members = conn.execute(
            f"SELECT story_id, item_id FROM story_items WHERE {where}"
        ).to_arrow_table()
    with registered(conn, members=members):
        items = dicts(conn.execute(_items_sql(conn)))
        stated = vulns.facts_sql(
            _span(conn, "item_vulns", "item_id", _MEMBERS),
            _span(conn, "item_affected", "item_id", _MEMBERS),
            _span(conn, "item_refs", "item_id", _MEMBERS),
        )
        facts = dicts(
            conn.execute(
                f"SELECT m.story_id, v.* FROM members m JOIN {stated} v "
                "ON v.item_id = m.item_id ORDER BY m.story_id, v.vuln_id, v.item_id"
            )
        )
    return {"stories": stories, "items": items, "facts": facts, "epss": _epss(conn, stories)}


_MEMBERS = "(SELECT item_id FROM members)"


def _items_sql(conn: Conn) -> str:
    """The members' items with source and effective labels (see the module docstring)."""
    return f"""
        WITH said AS (
            SELECT item_id,
                   arg_max(topics, seq) FILTER (WHERE topics IS NOT NULL) AS topics,
                   arg_max(sectors, seq) FILTER (WHERE sectors IS NOT NULL) AS sectors,
                   arg_max(severity, seq) FILTER (WHERE severity IS NOT NULL) AS severity
            FROM item_labels WHERE item_id IN {_MEMBERS}
            GROUP BY item_id
        )
        SELECT m.story_id, i.id AS item_id, i.source_id, s.name AS source_name,
               s.category, i.title, left(i.text, {TEXT_CHARS}) AS text, i.url,
               i.published, i.first_seen, i.language, i.cves,
               coalesce(l.topics, c.topics) AS topics,
               coalesce(l.sectors, c.sectors) AS sectors,
               coalesce(l.severity, c.severity) AS severity
        FROM members m
        JOIN (SELECT * FROM items WHERE {_span(conn, "items", "id", _MEMBERS)}) i
          ON i.id = m.item_id
        JOIN sources s ON s.id = i.source_id
        LEFT JOIN (SELECT item_id, topics, sectors, severity FROM item_classes
                   WHERE {_span(conn, "item_classes", "item_id", _MEMBERS)}) c
          ON c.item_id = i.id
        LEFT JOIN said l ON l.item_id = i.id
        ORDER BY m.story_id, coalesce(i.published, i.first_seen), i.id
    """


def _epss(conn: Conn, stories: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Latest EPSS of the stories' CVEs (taken from the story rows already read)."""
    cves = list(dict.fromkeys(c for story in stories for c in story["cves"] or ()))
    if not cves:
        return []
    with registered(conn, wanted_cves=pa.table({"cve_id": pa.array(cves, pa.string())})):
        return dicts(
            conn.execute(
                "SELECT DISTINCT cve_id, date, score, percentile FROM epss_latest "
                "WHERE cve_id IN (SELECT cve_id FROM wanted_cves)"
            )
        )


def stories_seen_since(conn: Conn, since: datetime) -> list[str]:
    """Stories with an item added, changed or merged since `since` (what scoring revisits)."""
    rows = conn.execute(
        "SELECT story_id FROM stories WHERE updated_at >= ? ORDER BY last_seen, story_id",
        [since],
    ).fetchall()
    return [r[0] for r in rows]


def stories_active_since(conn: Conn, since: datetime) -> list[str]:
    """Stories whose latest item is on or after `since` (rescoring after a client change)."""
    rows = conn.execute(
        "SELECT story_id FROM stories WHERE last_seen >= ? ORDER BY last_seen, story_id",
        [since],
    ).fetchall()
    return [r[0] for r in rows]


def stories_with_epss_jump(conn: Conn, since: datetime) -> list[str]:
    """Recent stories whose CVE's EPSS crossed a band (0.1, 0.5, 0.9) in a score dated since
    `since`: a jump is new evidence, although no item changed."""
    rows = conn.execute(
        """
        WITH jumped AS (
            SELECT cve_id FROM epss_latest
            WHERE date >= CAST(? AS DATE) AND prev_score IS NOT NULL
              AND ((score >= 0.1 AND prev_score < 0.1) OR (score >= 0.5 AND prev_score < 0.5)
                   OR (score >= 0.9 AND prev_score < 0.9))
        )
        SELECT DISTINCT s.story_id FROM stories s, unnest(s.cves) AS u(cve_id)
        WHERE u.cve_id IN (SELECT cve_id FROM jumped) AND s.last_seen >= ? - INTERVAL 90 DAY
        ORDER BY s.story_id
        """,
        [since, since],
    ).fetchall()
    return [r[0] for r in rows]
