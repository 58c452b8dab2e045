"""SQL behind the advisor's run report (techwatch.runreport): one read of everything it shows."""

from __future__ import annotations

import json
from typing import Any

from techwatch.storage.connection import Conn
from techwatch.storage.rows import dicts

# The quiet-source rule looks at a source's last N runs that brought new items.
HISTORY_RUNS = 30


def rows(conn: Conn, run_id: str | None) -> dict[str, Any] | None:
    """The run (latest ingestion when None) and the rows its report is built from."""
    found = dicts(
        conn.execute(
            "SELECT run_id, kind, flow_run_id, started_at, finished_at, status, summary "
            "FROM runs WHERE ($run_id IS NULL OR run_id = $run_id) "
            "ORDER BY started_at DESC, run_id LIMIT 1",
            {"run_id": run_id},
        )
    )
    if not found:
        return None
    run = found[0]
    if isinstance(run["summary"], str):
        run["summary"] = json.loads(run["summary"])
    window = {"start": run["started_at"], "end": run["finished_at"] or run["started_at"]}
    return {
        "run": run,
        "run_sources": dicts(
            conn.execute(
                "SELECT source_id, status, http_status, error_kind, error, new_items "
                "FROM run_sources WHERE run_id = ? ORDER BY source_id",
                [run["run_id"]],
            )
        ),
        "states": _states(conn, run["finished_at"], latest=_is_latest(conn, run)),
        "names": dict(conn.execute("SELECT id, name FROM sources").fetchall()),
        "new_item_runs": _new_item_runs(conn, run["finished_at"]),
        "decisions": dicts(
            conn.execute(
                "SELECT client_id, priority, count(*) AS n FROM client_stories "
                "WHERE decided_at BETWEEN $start AND $end GROUP BY ALL ORDER BY ALL",
                window,
            )
        ),
        "emails": dict(
            conn.execute(
                "SELECT status, count(*) FROM outbox WHERE kind = 'summary' "
                "AND created_at >= ? GROUP BY status",
                [run["started_at"]],
            ).fetchall()
        ),
    }


def _new_item_runs(conn: Conn, until: Any) -> dict[str, list[Any]]:
    """Per source, when its last HISTORY_RUNS runs with new items (up to `until`) started."""
    found = conn.execute(
        "SELECT source_id, list(started_at ORDER BY started_at) FROM ("
        "  SELECT source_id, started_at FROM run_sources"
        "  WHERE new_items > 0 AND ($until IS NULL OR started_at <= $until)"
        "  QUALIFY row_number() OVER (PARTITION BY source_id ORDER BY started_at DESC) <= $n"
        ") GROUP BY source_id",
        {"until": until, "n": HISTORY_RUNS},
    ).fetchall()
    return {str(source): list(times) for source, times in found}


def _is_latest(conn: Conn, run: dict[str, Any]) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM runs WHERE started_at > ?", [run["started_at"]]
    ).fetchone()
    return not row or row[0] == 0


def _states(conn: Conn, until: Any, *, latest: bool) -> dict[str, dict[str, Any]]:
    """Per source as of `until`: last success and failures since, from the runs' history;
    `degraded` is only known now, so it is given for the latest run only."""
    found = dicts(
        conn.execute(
            "WITH h AS (SELECT source_id, status, started_at FROM run_sources "
            "  WHERE status <> 'skipped' AND ($until IS NULL OR started_at <= $until)), "
            "ok AS (SELECT source_id, max(started_at) AS last_success FROM h "
            "  WHERE status IN ('ok', 'not_modified') GROUP BY source_id) "
            "SELECT h.source_id, any_value(ok.last_success) AS last_success, "
            "  count(*) FILTER (WHERE h.status = 'failed' AND (ok.last_success IS NULL "
            "    OR h.started_at > ok.last_success)) AS consecutive_failures, "
            "  coalesce(any_value(st.degraded), false) AND $latest AS degraded "
            "FROM h LEFT JOIN ok USING (source_id) "
            "LEFT JOIN source_state st ON st.source_id = h.source_id GROUP BY h.source_id",
            {"until": until, "latest": latest},
        )
    )
    return {row["source_id"]: row for row in found}
