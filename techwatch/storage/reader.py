"""Read-only access for the CLI and other consumers; never blocks the writer for long.

A reader opens the file read-only, answers, and closes. While it is open the nightly writer
waits (DuckDB's file lock), so callers should keep the `with open_reader(...)` block short.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from techwatch.errors import StorageError
from techwatch.storage import classes, cves, fts, migrate, runreport, stories, vulns
from techwatch.storage.briefings import Briefings
from techwatch.storage.connection import Conn, connect
from techwatch.storage.outbox import Outbox
from techwatch.storage.rows import as_dicts, dicts

log = logging.getLogger(__name__)

TABLES = ("sources", "source_state", "items", "item_links", "runs", "run_sources")
LIST_COLUMNS = (
    "id, source_id, identity, url, canonical_url, title, text, published, first_seen, "
    "updated_at, language, authors, cves, content_hash"
)


@contextmanager
def open_reader(path: Path, *, wait_s: float = 60.0) -> Iterator[Reader]:
    """Open an existing, migrated database read-only; close it on exit."""
    path = Path(path)
    if not path.is_file():
        raise StorageError(
            f"no database at {path}: run `techwatch db migrate` or an ingestion first"
        )
    conn = connect(path, read_only=True, wait_s=wait_s)
    try:
        yield Reader(conn, path)
    finally:
        conn.close()


class Reader:
    """Queries over a read-only connection; obtained from `open_reader`."""

    def __init__(self, conn: Conn, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._version = _check_schema(conn, path)
        self._fts: bool | None = None

    def items(
        self,
        *,
        since: datetime | None = None,
        source_id: str | None = None,
        language: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """Newest first by publication date, or first sighting when undated.

        `since` filters on that same date, so the list and its cut-off agree.
        """
        sql = f"""
            SELECT {LIST_COLUMNS} FROM items
            WHERE ($since IS NULL OR coalesce(published, first_seen) >= $since)
              AND ($source_id IS NULL OR source_id = $source_id)
              AND ($language IS NULL OR language = $language)
            ORDER BY coalesce(published, first_seen) DESC, id
            LIMIT $limit
        """
        params = {"since": since, "source_id": source_id, "language": language, "limit": limit}
        return dicts(self._conn.execute(sql, params))

    def item(self, item_id: str) -> dict[str, Any] | None:
        """One item with its HTML, the items of other sources telling the same story, and what
        it states per vulnerability (advisories)."""
        rows = dicts(
            self._conn.execute(f"SELECT {LIST_COLUMNS}, html FROM items WHERE id = ?", [item_id])
        )
        if not rows:
            return None
        links = self._conn.execute(
            "SELECT i.id, i.source_id, i.title, i.url, l.reason FROM item_links l "
            "JOIN items i ON i.id = l.linked_id WHERE l.item_id = ? ORDER BY i.source_id, i.id",
            [item_id],
        )
        linked = dicts(links)
        facts = vulns.facts_sql("item_id = $id", "item_id = $id")
        stated = dicts(
            self._conn.execute(
                f"SELECT * EXCLUDE (item_id) FROM {facts} ORDER BY vuln_id", {"id": item_id}
            )
        )
        return {**rows[0], "linked": linked, "vulns": stated}

    def search(self, query: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """Full-text search ranked by BM25 (`score`); substring match when the index is missing.

        Items written after the last index build come after the ranked hits, with score None.
        """
        query = query.strip()
        if not query or limit <= 0:
            return []
        if not self._index_usable():
            rows = fts.unindexed(self._conn, query, limit, only_new=False)
            return self._search_rows(rows)
        rows = fts.ranked(self._conn, query, limit)
        if len(rows) < limit:
            rows += fts.unindexed(self._conn, query, limit - len(rows), only_new=True)
        return self._search_rows(rows)

    def new_items_by_language(self, since: datetime) -> dict[str, int]:
        """Items first seen since `since`, counted per language ('?' when unknown)."""
        rows = self._conn.execute(
            "SELECT coalesce(language, '?'), count(*) FROM items WHERE first_seen >= ? "
            "GROUP BY ALL ORDER BY 2 DESC, 1",
            [since],
        ).fetchall()
        return {str(lang): int(n) for lang, n in rows}

    def sources(self) -> list[dict[str, Any]]:
        """Health view: config mirror, remembered state and how many items each source gave."""
        sql = """
            SELECT s.id, s.name, s.kind, s.url, s.category, s.language, s.vendors, s.products,
                   s.enabled, s.poll_interval_s, s.confirmed, s.removed, s.first_seen,
                   s.last_seen, s.removed_at,
                   st.last_attempt, st.last_success, st.last_status, st.last_error_kind,
                   st.last_error, coalesce(st.consecutive_failures, 0) AS consecutive_failures,
                   st.next_attempt, coalesce(st.degraded, false) AS degraded,
                   coalesce(st.items_seen, 0) AS items_seen, st.cursor,
                   coalesce(n.items_stored, 0) AS items_stored
            FROM sources s
            LEFT JOIN source_state st ON st.source_id = s.id
            LEFT JOIN (SELECT source_id, count(*) AS items_stored FROM items GROUP BY source_id) n
                   ON n.source_id = s.id
            ORDER BY s.removed, s.id
        """
        return dicts(self._conn.execute(sql))

    def runs(self, *, limit: int = 10) -> list[dict[str, Any]]:
        """Latest runs first, with their summary decoded."""
        cursor = self._conn.execute(
            "SELECT run_id, kind, flow_run_id, started_at, finished_at, status, summary "
            "FROM runs ORDER BY started_at DESC, run_id LIMIT ?",
            [limit],
        )
        return [_decode_summary(row) for row in dicts(cursor)]

    def run_sources(self, run_id: str) -> list[dict[str, Any]]:
        """What happened to each source in one run."""
        cursor = self._conn.execute(
            "SELECT * FROM run_sources WHERE run_id = ? ORDER BY source_id, started_at", [run_id]
        )
        return dicts(cursor)

    def info(self) -> dict[str, Any]:
        """Path, size, schema version, row counts, last run and search index state."""
        counts = {
            table: _scalar(self._conn.execute(f"SELECT count(*) FROM {table}")) for table in TABLES
        }
        last = self.runs(limit=1)
        index = dicts(self._conn.execute("SELECT built_at, items FROM search_index"))
        built = index[0] if index else {"built_at": None, "items": 0}
        pending = _scalar(self._conn.execute("SELECT count(*) FROM search_pending"))
        return {
            "path": str(self.path),
            "size_bytes": _size(self.path),
            "schema_version": self._version,
            "counts": counts,
            "last_run": last[0] if last else None,
            "search_index": {**built, "pending": pending},
        }

    def stories(
        self, *, since: datetime | None = None, min_sources: int = 1, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Stories whose latest item is since `since`, latest first (see storage.stories)."""
        return stories.list_stories(self._conn, since=since, min_sources=min_sources, limit=limit)

    def story(self, story_id: str) -> dict[str, Any] | None:
        """One story with its items and why each joined; a merged-away id finds its heir."""
        return stories.show_story(self._conn, story_id)

    def items_labelled(self, **filters: Any) -> list[dict[str, Any]]:
        """`items` with effective labels, filterable on topic, sector and severity (classes)."""
        return classes.listing(self._conn, LIST_COLUMNS, **filters)

    def predictions(self, item_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The model's current labels of these items, by item id."""
        return classes.predictions(self._conn, item_ids)

    def label_history(
        self, item_ids: Sequence[str] | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """Consultants' labels of these items (all when None), oldest first, by item id."""
        return classes.label_history(self._conn, item_ids)

    def to_classify(self, **query: Any) -> list[dict[str, Any]]:
        """The next items a model version has not classified as they are (classes.to_classify)."""
        return classes.to_classify(self._conn, **query)

    def labelled_documents(self, text_chars: int) -> list[dict[str, Any]]:
        """Title and text of the items consultants labelled."""
        return classes.labelled_documents(self._conn, text_chars)

    def weak_candidates(self, *, per_kind: int, text_chars: int) -> list[dict[str, Any]]:
        """Advisory items with their CVSS and KEV facts, a stable sample per source kind."""
        return classes.weak_candidates(self._conn, per_kind=per_kind, text_chars=text_chars)

    def class_counts(self) -> dict[str, Any]:
        """Items classified per model version, unclassified items, consultant labels."""
        return classes.class_counts(self._conn)

    def cves(self, **filters: Any) -> list[dict[str, Any]]:
        """CVE table rows with their latest EPSS (filters: see storage.cves.list_cves)."""
        return cves.list_cves(self._conn, **filters)

    def cve(self, cve_id: str) -> dict[str, Any] | None:
        """One CVE with EPSS history and the items naming it (storage.cves.get_cve)."""
        return cves.get_cve(self._conn, cve_id)

    def _index_usable(self) -> bool:
        if self._fts is None:
            self._fts = fts.load(self._conn)
        if not self._fts:
            log.warning("searching without the full-text index: results are not ranked")
            return False
        if not fts.index_exists(self._conn):
            log.warning("no full-text index built yet: results are not ranked")
            return False
        return True

    @staticmethod
    def _search_rows(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        return as_dicts([*fts.RESULT_COLUMNS.split(", "), "score"], rows)

    def outbox(self) -> Outbox:
        """The mail outbox, read-only: listing, counts, latest briefings (storage.outbox)."""
        return Outbox(self._conn)

    def briefings(self) -> Briefings:
        """Per-client decisions, briefings and triage, read-only (storage.briefings)."""
        return Briefings(self._conn)

    def run_report_rows(self, run_id: str | None = None) -> dict[str, Any] | None:
        """What the advisor's report of a run (latest when None) is built from."""
        return runreport.rows(self._conn, run_id)


def _check_schema(conn: Conn, path: Path) -> int:
    """The database must be migrated to what this code expects; a reader cannot migrate."""
    version = max(migrate.applied_versions(conn), default=0)
    expected = migrate.latest_version()
    if version == 0:
        raise StorageError(f"database {path} has no schema: run `techwatch db migrate` first")
    if version < expected:
        raise StorageError(
            f"database {path} is at schema version {version}, this techwatch needs {expected}: "
            "run `techwatch db migrate`"
        )
    return version


def _decode_summary(row: dict[str, Any]) -> dict[str, Any]:
    summary = row.get("summary")
    if isinstance(summary, str):
        row["summary"] = json.loads(summary)
    return row


def _scalar(cursor: Conn) -> int:
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def _size(path: Path) -> int:
    """Bytes on disk, counting a write-ahead log not yet checkpointed."""
    wal = path.with_name(path.name + ".wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
