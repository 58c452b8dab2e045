"""SQL that gathers, for a set of stories, the rows `techwatch.scoring.gather` turns into
Evidence: their items with source and effective labels, vulnerability facts, latest EPSS.

Labels per item and axis: the latest consultant label that says the axis, else the model's
(the rule of `techwatch.labelling.effective_labels`, done in SQL for thousands of items).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from techwatch.storage.rows import dicts

TEXT_CHARS = 2000  # per item: enough for the names that matter, bounded for 20k items


@contextmanager
def _wanted(conn: duckdb.DuckDBPyConnection, story_ids: Sequence[str]) -> Iterator[None]:
    table = pa.table({"story_id": pa.array(list(dict.fromkeys(story_ids)), pa.string())})
    conn.register("wanted_stories", table)
    try:
        yield
    finally:
        conn.unregister("wanted_stories")


def story_rows(conn: duckdb.DuckDBPyConnection, story_ids: Sequence[str]) -> dict[str, Any]:
    """Everything about `story_ids`: stories, items (+ labels), facts and EPSS, as rows."""
    with _wanted(conn, story_ids):
        stories = dicts(
            conn.execute(
                "SELECT story_id, title, first_seen, last_seen, cves FROM stories "
                "WHERE story_id IN (SELECT story_id FROM wanted_stories)"
            )
        )
        items = dicts(
            conn.execute(
                f"""
                WITH members AS (
                    SELECT story_id, item_id FROM story_items
                    WHERE story_id IN (SELECT story_id FROM wanted_stories)
                ), said AS (
                    SELECT item_id,
                           arg_max(topics, seq) FILTER (WHERE topics IS NOT NULL) AS topics,
                           arg_max(sectors, seq) FILTER (WHERE sectors IS NOT NULL) AS sectors,
                           arg_max(severity, seq) FILTER (WHERE severity IS NOT NULL)
                               AS severity
                    FROM item_labels WHERE item_id IN (SELECT item_id FROM members)
                    GROUP BY item_id
                )
                SELECT m.story_id, i.id AS item_id, i.source_id, s.name AS source_name,
                       s.category, i.title, left(i.text, {TEXT_CHARS}) AS text, i.url,
                       i.published, i.first_seen, i.language, i.cves,
                       coalesce(l.topics, c.topics) AS topics,
                       coalesce(l.sectors, c.sectors) AS sectors,
                       coalesce(l.severity, c.severity) AS severity
                FROM members m
                JOIN items i ON i.id = m.item_id
                JOIN sources s ON s.id = i.source_id
                LEFT JOIN item_classes c ON c.item_id = i.id
                LEFT JOIN said l ON l.item_id = i.id
                ORDER BY m.story_id, coalesce(i.published, i.first_seen), i.id
                """
            )
        )
        facts = dicts(
            conn.execute(
                "SELECT m.story_id, v.* FROM story_items m JOIN item_vulns v "
                "ON v.item_id = m.item_id "
                "WHERE m.story_id IN (SELECT story_id FROM wanted_stories) "
                "ORDER BY m.story_id, v.vuln_id, v.item_id"
            )
        )
        epss = dicts(
            conn.execute(
                "SELECT DISTINCT e.cve_id, e.date, e.score, e.percentile FROM epss_latest e "
                "JOIN (SELECT DISTINCT unnest(cves) AS cve_id FROM stories "
                "      WHERE story_id IN (SELECT story_id FROM wanted_stories)) c "
                "USING (cve_id)"
            )
        )
    return {"stories": stories, "items": items, "facts": facts, "epss": epss}


def stories_seen_since(conn: duckdb.DuckDBPyConnection, since: datetime) -> list[str]:
    """Stories with an item added, changed or merged since `since` (what scoring revisits)."""
    rows = conn.execute(
        "SELECT story_id FROM stories WHERE updated_at >= ? ORDER BY last_seen, story_id",
        [since],
    ).fetchall()
    return [r[0] for r in rows]


def stories_active_since(conn: duckdb.DuckDBPyConnection, since: datetime) -> list[str]:
    """Stories whose latest item is on or after `since` (rescoring after a client change)."""
    rows = conn.execute(
        "SELECT story_id FROM stories WHERE last_seen >= ? ORDER BY last_seen, story_id",
        [since],
    ).fetchall()
    return [r[0] for r in rows]


def stories_with_epss_jump(conn: duckdb.DuckDBPyConnection, since: datetime) -> list[str]:
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
