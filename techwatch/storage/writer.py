"""The single writer: migrations, config mirror, run records and item batches.

One writer at a time holds the file (DuckDB's lock makes that so); it opens, writes one unit of
work and closes, so readers wait seconds rather than a whole night. Each batch is one
transaction: a crash leaves the previous committed state, never half a batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence, Set
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from techwatch.errors import StorageError
from techwatch.storage import classes, cves, fts, migrate, staging, stories, vulns
from techwatch.storage.briefings import Briefings
from techwatch.storage.connection import Conn, connect, registered, transaction
from techwatch.storage.imports import ImportedFiles
from techwatch.storage.outbox import Outbox
from techwatch.storage.rows import dicts
from techwatch.stories.grouping import Plan, StoredStory, StoryItem
from techwatch.types import Source, SourceOutcome, SourceState, WriteStats

ITEM_CONTENT = (
    "url, canonical_url, title, text, html, published, language, authors, cves, content_hash"
)


@contextmanager
def open_writer(
    path: Path, *, wait_s: float = 60.0, threads: int | None = None, bulk: bool = False
) -> Iterator[Writer]:
    """Open (creating it if needed) and migrate the database; close it on exit.

    `threads` caps DuckDB's worker threads for this unit of work (default: one per core), for
    callers whose cores are already busy elsewhere (see ingest.STORE_THREADS). `bulk` leaves
    the checkpoint to the close instead of each commit past 16 MiB of log (a bulk import's
    batches: ~0.4 s of CPU less over the real advisories).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path, read_only=False, wait_s=wait_s)
    try:
        if threads is not None:
            conn.execute(f"SET threads = {int(threads)}")
        if bulk:
            conn.execute("SET checkpoint_threshold = '1GB'")
        writer = Writer(conn, path)
        writer.migrate()
        yield writer
    finally:
        conn.close()


class Writer:
    """Read-write access for one unit of work; obtained from `open_writer`."""

    def __init__(self, conn: Conn, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._fts: bool | None = None

    def migrate(self) -> list[int]:
        """Apply pending numbered migrations; returns the versions applied (empty when current)."""
        return migrate.apply_pending(self._conn, datetime.now(UTC))

    def schema_version(self) -> int:
        """Highest migration recorded in the database."""
        return max(migrate.applied_versions(self._conn), default=0)

    def sync_sources(self, sources: Sequence[Source], now: datetime) -> None:
        """Mirror the config; sources gone from it are flagged removed, their items kept."""
        table = staging.stage_sources(sources)
        with transaction(self._conn, "sync_sources"), registered(self._conn, staged=table):
            _upsert_sources(self._conn, now)

    def load_states(self) -> dict[str, SourceState]:
        """Every remembered source state, by source id."""
        rows = dicts(self._conn.execute(f"SELECT {_STATE_COLUMNS} FROM source_state"))
        return {row["source_id"]: SourceState(**row) for row in rows}

    def begin_run(
        self, run_id: str, *, started_at: datetime, kind: str, flow_run_id: str | None
    ) -> None:
        """Record a run as `running`; finish_run closes it.

        Runs still `running` belong to a process that died (the caller holds the run lock, so no
        other run is alive): they are marked `interrupted`. Their committed batches stay.
        """
        with transaction(self._conn, f"begin_run {run_id}"):
            self._conn.execute(
                "UPDATE runs SET status = 'interrupted', finished_at = ? WHERE status = 'running'",
                [started_at],
            )
            self._conn.execute(
                "INSERT INTO runs (run_id, kind, flow_run_id, started_at, status) "
                "VALUES (?, ?, ?, ?, 'running')",
                [run_id, kind, flow_run_id, started_at],
            )

    def write_outcomes(
        self,
        run_id: str,
        outcomes: Sequence[SourceOutcome],
        states: Sequence[SourceState],
        now: datetime,
        *,
        index_search: bool = True,
    ) -> WriteStats:
        """Store one batch atomically: items, links, run rows, states and their search entries.

        The search index takes the batch's new and changed items in the same transaction (see
        fts.update), so a write is searchable, ranked, once committed. Without the fts
        extension they wait in `search_pending` and search finds them unranked. A bulk import
        and ingestion's store stage pass `index_search=False` and call `update_search_index`
        once at the end, beside other work: each index update costs a fixed ~0.1 s, whatever
        the number of items, and ~45 % of a write's CPU on the run's serial path.
        """
        unique = staging.unique_items(outcomes)
        staged = staging.stage_items(unique)
        facts, lists, refs = vulns.stage_facts(unique)
        state_table = staging.stage_states(states)
        source_ids = [o.source_id for o in outcomes]
        with (
            transaction(self._conn, f"write_outcomes for run {run_id}"),
            registered(self._conn, staged_items=staged),
            registered(self._conn, staged_facts=facts, staged_affected=lists, staged_refs=refs),
            registered(self._conn, staged_states=state_table),
        ):
            changes = _classify(self._conn)
            kinds = {change for _, change, _ in changes}
            _upsert_items(self._conn, now, kinds)
            vulns.replace_facts(self._conn, kinds)
            _link_items(self._conn, now, kinds)
            counts = staging.counts_by_source(changes, source_ids)
            runs = staging.stage_run_sources(outcomes, counts)
            _insert_run_sources(self._conn, run_id, runs)
            _upsert_states(self._conn, now)
            _mark_for_search(self._conn, kinds)
            if index_search:
                self._index_pending(now)
            cves.write_epss(self._conn, cves.stage_epss(s for o in outcomes for s in o.epss))
            self._conn.execute("DROP TABLE batch")
        return WriteStats(
            new=counts["new"], updated=counts["updated"], unchanged=counts["unchanged"]
        )

    def finish_run(
        self, run_id: str, *, finished_at: datetime, status: str, summary: dict[str, Any]
    ) -> None:
        """Close a run with its status and a JSON summary."""
        text = json.dumps(summary, default=str, ensure_ascii=False)
        with transaction(self._conn, f"finish_run {run_id}"):
            row = self._conn.execute(
                "UPDATE runs SET finished_at = ?, status = ?, summary = ?::JSON WHERE run_id = ?",
                [finished_at, status, text, run_id],
            ).fetchone()
            if not row or not row[0]:
                raise StorageError(f"finish_run: no run {run_id!r} (begin_run was not called)")

    def search_index_status(self) -> tuple[datetime | None, int, int]:
        """(when the index was built or None, items it covers, items written since)."""
        built = self._conn.execute("SELECT built_at, items FROM search_index").fetchone()
        pending = self._conn.execute("SELECT count(*) FROM search_pending").fetchone()
        built_at, indexed = (built[0], int(built[1])) if built else (None, 0)
        return built_at, indexed, int(pending[0]) if pending else 0

    def rebuild_search_index(self) -> None:
        """Rebuild the full-text index over all items (batches keep it current: see
        write_outcomes; a rebuild is for an index lost or built by an older version).

        Skipped with a warning when the fts extension cannot be loaded (search still works).
        """
        if not self._fts_loaded():
            return
        with transaction(self._conn, "rebuild_search_index"):
            fts.rebuild(self._conn, now=datetime.now(UTC))

    def update_search_index(self, *, chunk: int | None = None) -> None:
        """Index the items waiting in `search_pending` (all items when there is no index): in
        one transaction, or in one per `chunk` items.

        Why chunks: a transaction holds its index rows in memory until it commits, ~15 MiB per
        1,000 items (a night's 15,000 bench items in one: +224 MiB). Each commit leaves a consistent
        index; the items still pending are found unranked meanwhile. Each chunk also costs a
        fixed ~0.05 s, which a bulk import of 100k items would feel.
        """
        if chunk is None:
            with transaction(self._conn, "update_search_index"):
                self._index_pending(datetime.now(UTC))
            return
        if not self._pending_count() or not self._fts_loaded():
            return
        if not fts.index_exists(self._conn):
            with transaction(self._conn, "create_search_index"):
                fts.create_empty(self._conn)
        while self._pending_count():
            with transaction(self._conn, "update_search_index"):
                fts.update(self._conn, now=datetime.now(UTC), limit=chunk)

    def backlog(self) -> bool:
        """Whether earlier work left items to group into stories or to index for search (a run
        that failed before those stages): a night that stores nothing still runs them then."""
        return self._pending_count() > 0 or stories.any_pending(self._conn)

    def _pending_count(self) -> int:
        row = self._conn.execute("SELECT count(*) FROM search_pending").fetchone()
        return int(row[0]) if row else 0

    def _index_pending(self, now: datetime) -> None:
        """Index what `search_pending` holds, inside the caller's transaction."""
        if not self._pending_count() or not self._fts_loaded():
            return
        if fts.index_exists(self._conn):
            fts.update(self._conn, now=now)
        else:
            fts.rebuild(self._conn, now=now)

    def _fts_loaded(self) -> bool:
        if self._fts is None:
            self._fts = fts.load(self._conn)
        return self._fts

    def story_pending(self, limit: int) -> list[tuple[StoryItem, str | None]]:
        """Items no story holds yet, or updated since grouped, with their story (see stories)."""
        return stories.pending(self._conn, limit)

    def story_candidates(
        self, items: Sequence[StoryItem]
    ) -> tuple[list[tuple[StoryItem, str]], list[StoredStory]]:
        """Grouped items sharing a CVE, URL or band key with `items`, and their stories."""
        return stories.candidates(self._conn, items)

    def store_story_plan(self, plan: Plan, items: Sequence[StoryItem], now: datetime) -> None:
        """Store one grouping plan atomically (joins, merges, band keys, story rows)."""
        with transaction(self._conn, "store_story_plan"):
            stories.apply(self._conn, plan, items, now)

    def defer_checkpoints(self) -> None:
        """From now on leave the checkpoint to the close, as `open_writer(bulk=True)` does, for
        a long series of commits found out after opening (a first grouping of many chunks).
        The setting is DuckDB's, for every connection to this file in the process."""
        self._conn.execute("SET checkpoint_threshold = '1GB'")

    def write_predictions(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Store the model's labels of items, replacing their previous ones (storage.classes)."""
        with transaction(self._conn, "write_predictions"):
            return classes.write_predictions(self._conn, rows)

    def add_label(self, label: Mapping[str, Any]) -> int:
        """Append a consultant's label to its item's history; the item must exist."""
        with transaction(self._conn, f"add_label {label['item_id']}"):
            if not classes.item_exists(self._conn, label["item_id"]):
                raise StorageError(f"no item with id {label['item_id']!r}")
            return classes.add_label(self._conn, label)

    def imported_files(self) -> ImportedFiles:
        """Files `techwatch import` stored, so that importing them again skips them."""
        return ImportedFiles(self._conn)

    def enrichment(self) -> cves.Enrichment:
        """Inputs and results of the enrichment refresh (storage.cves, enrich.refresh)."""
        return cves.Enrichment(self._conn)

    def outbox(self) -> Outbox:
        """The mail outbox: queueing, claiming and recording deliveries (storage.outbox)."""
        return Outbox(self._conn)

    def briefings(self) -> Briefings:
        """Per-client decisions, briefings and triage (storage.briefings)."""
        return Briefings(self._conn)


_STATE_COLUMNS = ", ".join(staging.STATES.names)


def _upsert_sources(conn: Conn, now: datetime) -> None:
    if _sources_unchanged(conn):
        # Rewriting every column of every source made the checkpoint on close rewrite them
        # all too: 500 sources, prepare's sync 0.058 -> 0.019 s, its close 0.13 -> 0.11 s.
        conn.execute(
            "UPDATE sources SET last_seen = $now WHERE id IN (SELECT id FROM staged)",
            {"now": now},
        )
        return
    recategorised = conn.execute(
        "SELECT s.id FROM staged s JOIN sources o ON o.id = s.id "
        "WHERE o.category IS DISTINCT FROM s.category"
    ).fetchall()
    stories.forget_titles(conn, [str(row[0]) for row in recategorised])
    columns = ", ".join(staging.SOURCES.names)
    updates = ", ".join(f"{c} = excluded.{c}" for c in staging.SOURCES.names if c != "id")
    conn.execute(
        f"INSERT INTO sources ({columns}, removed, first_seen, last_seen) "
        f"SELECT {columns}, false, $now, $now FROM staged "
        f"ON CONFLICT (id) DO UPDATE SET {updates}, removed = false, removed_at = NULL, "
        f"last_seen = excluded.last_seen",
        {"now": now},
    )
    conn.execute(
        "UPDATE sources SET removed = true, removed_at = $now "
        "WHERE NOT removed AND id NOT IN (SELECT id FROM staged)",
        {"now": now},
    )


_SAME_SOURCE = " AND ".join(
    f"o.{c} IS NOT DISTINCT FROM s.{c}" for c in staging.SOURCES.names if c != "id"
)


def _sources_unchanged(conn: Conn) -> bool:
    """Whether the staged config is what `sources` holds (every staged source present, not
    removed, with the same values; no other source left unremoved): the upsert would then
    only move `last_seen`, which an unchanged night's sync does alone."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM staged s JOIN sources o ON o.id = s.id "
        f"        WHERE NOT o.removed AND o.removed_at IS NULL AND {_SAME_SOURCE}) "
        "     = (SELECT count(*) FROM staged) "
        "   AND (SELECT count(*) FROM sources WHERE NOT removed) = (SELECT count(*) FROM staged)"
    ).fetchone()
    return bool(row and row[0])


def _classify(conn: Conn) -> list[tuple[str, str, int]]:
    """Tag each staged item new, updated (content hash changed) or unchanged.

    `batch` holds the keys the later statements join on, not the content: a copy of the
    staged texts and HTML (~10 KiB an item) cost CPU and memory for nothing."""
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE batch AS "
        "SELECT s.id, s.source_id, s.canonical_url, "
        "       CASE WHEN i.id IS NULL THEN 'new' "
        "                 WHEN i.content_hash IS DISTINCT FROM s.content_hash THEN 'updated' "
        "                 ELSE 'unchanged' END AS change "
        "FROM staged_items s LEFT JOIN items i ON i.id = s.id"
    )
    rows = conn.execute("SELECT source_id, change, count(*) FROM batch GROUP BY ALL").fetchall()
    return [(str(s), str(c), int(n)) for s, c, n in rows]


def _upsert_items(conn: Conn, now: datetime, kinds: Set[str]) -> None:
    """Insert new items; rewrite changed ones, keeping their first_seen.

    `kinds` are the changes the batch holds (see _classify): a statement with nothing to do
    is not run, and a batch of new items only is inserted without a join."""
    if "new" in kinds:
        new = "" if kinds == {"new"} else "WHERE id IN (SELECT id FROM batch WHERE change = 'new')"
        conn.execute(
            f"INSERT INTO items (id, source_id, identity, {ITEM_CONTENT}, first_seen, updated_at) "
            f"SELECT id, source_id, identity, {ITEM_CONTENT}, $now, $now FROM staged_items {new}",
            {"now": now},
        )
    if "updated" not in kinds:
        return
    assignments = ", ".join(f"{c} = s.{c}" for c in ITEM_CONTENT.split(", "))
    conn.execute(
        f"UPDATE items SET {assignments}, updated_at = $now "
        f"FROM staged_items s WHERE items.id = s.id "
        f"AND s.id IN (SELECT id FROM batch WHERE change = 'updated')",
        {"now": now},
    )


def _link_items(conn: Conn, now: datetime, kinds: Set[str]) -> None:
    """Link items of different sources sharing a canonical URL, both ways, idempotently."""
    if "updated" in kinds:
        conn.execute(
            "DELETE FROM item_links WHERE reason = 'canonical_url' "
            "AND (item_id IN (SELECT id FROM batch WHERE change = 'updated') "
            "  OR linked_id IN (SELECT id FROM batch WHERE change = 'updated')) "
            "AND NOT EXISTS (SELECT 1 FROM items a JOIN items b "
            "                ON a.canonical_url = b.canonical_url "
            "                WHERE a.id = item_links.item_id AND b.id = item_links.linked_id)"
        )
    if not kinds & staging.WRITTEN:
        return
    conn.execute(
        "INSERT INTO item_links (item_id, linked_id, reason, created_at) "
        "SELECT x, y, 'canonical_url', $now FROM ("
        "  WITH pairs AS ("
        "    SELECT b.id AS a, i.id AS b FROM batch b JOIN items i "
        "      ON i.canonical_url = b.canonical_url AND i.source_id <> b.source_id "
        "    WHERE b.change IN ('new', 'updated') AND b.canonical_url IS NOT NULL"
        "  ) SELECT a AS x, b AS y FROM pairs UNION SELECT b, a FROM pairs"
        ") ON CONFLICT DO NOTHING",
        {"now": now},
    )


def _insert_run_sources(conn: Conn, run_id: str, table: pa.Table) -> None:
    """One row per outcome, with the new/updated counts of its source."""
    columns = ", ".join(table.column_names)
    with registered(conn, staged_runs=table):
        conn.execute(
            f"INSERT INTO run_sources (run_id, {columns}) SELECT $run_id, {columns} "
            f"FROM staged_runs",
            {"run_id": run_id},
        )


def _mark_for_search(conn: Conn, kinds: Set[str]) -> None:
    """Remember which items the full-text index does not cover yet, each once (the queue has
    no key since migration 0020: the batch holds an id once, and pending ones are skipped)."""
    if not kinds & staging.WRITTEN:
        return
    conn.execute(
        "INSERT INTO search_pending (id) SELECT id FROM batch "
        "WHERE change IN ('new', 'updated') AND id NOT IN (SELECT id FROM search_pending)"
    )


def _upsert_states(conn: Conn, now: datetime) -> None:
    columns = staging.STATES.names
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "source_id")
    conn.execute(
        f"INSERT INTO source_state ({', '.join(columns)}, updated_at) "
        f"SELECT {', '.join(columns)}, $now FROM staged_states "
        f"ON CONFLICT (source_id) DO UPDATE SET {updates}, updated_at = excluded.updated_at",
        {"now": now},
    )
