"""Full-text search over items: DuckDB's fts extension loaded offline, with an ILIKE fallback.

The extension ships as a wheel (duckdb-extension-fts) pinned to the duckdb version, so it is
LOADed from that folder and never downloaded. DuckDB does not maintain its index, and a full
build costs seconds per 10k items, so the index's tables are updated for the items written since
(see `update`). Items not indexed yet (listed in `search_pending`: written since, or the
extension could not be loaded) are still found, unranked, by a plain substring match.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from techwatch.storage.connection import registered

log = logging.getLogger(__name__)

#: The index covers a derived table, rebuilt with it: title, the head of the text and the CVE
#: ids. What an item is about is in its title and lede; indexing whole full-content entries
#: (up to 50k characters each) would make every rebuild's cost grow with text, not with items.
DOC_TABLE = "search_docs"
INDEX_SCHEMA = f"fts_main_{DOC_TABLE}"
INDEXED_TEXT_CHARS = 4000
# A title hit counts this much more than the same hit in the text.
TITLE_BOOST = 1.0
# Like the extension's default, but digits are kept: CVE-2026-1234 and version numbers are the
# words advisors search for most.
IGNORE = r"(\\.|[^a-z0-9])+"
RESULT_COLUMNS = "id, source_id, url, canonical_url, title, text, published, first_seen, language"


def extension_path() -> Path | None:
    """The fts extension file inside the duckdb-extension-fts package, preferring our version."""
    spec = importlib.util.find_spec("duckdb_extension_fts")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "extensions"
    exact = folder / f"v{duckdb.__version__}" / "fts.duckdb_extension"
    if exact.is_file():
        return exact
    found = sorted(folder.glob("v*/fts.duckdb_extension"))
    return found[-1] if found else None


def load(conn: duckdb.DuckDBPyConnection) -> bool:
    """LOAD the extension on this connection; False (with a warning) when it cannot be."""
    path = extension_path()
    if path is None:
        log.warning("full-text search unavailable: duckdb-extension-fts is not installed")
        return False
    literal = str(path).replace("'", "''")
    try:
        conn.execute(f"LOAD '{literal}'")
    except duckdb.Error as e:
        log.warning("full-text search unavailable: cannot load %s: %s", path, e)
        return False
    return True


#: Items tokenised per statement when the index is brought up to date: bounds the memory of
#: the token table (~300 tokens per item) whatever the number of pending items.
UPDATE_CHUNK = 5000


def rebuild(conn: duckdb.DuckDBPyConnection, *, now: Any) -> None:
    """Rebuild the index over all items and record what it covers (caller owns the transaction).

    The pragma creates an empty index (its schema, tables and macros), then every item is
    added as `update` adds the items of a night.
    """
    create_empty(conn)
    update(conn, now=now)


def create_empty(conn: duckdb.DuckDBPyConnection) -> None:
    """Replace the index by an empty one and mark every item pending (caller's transaction)."""
    conn.execute(f"CREATE OR REPLACE TABLE {DOC_TABLE} (id VARCHAR, title VARCHAR, body VARCHAR)")
    conn.execute(
        f"PRAGMA create_fts_index('{DOC_TABLE}', 'id', 'title', 'body', stemmer = 'porter', "
        f"stopwords = 'none', ignore = '{IGNORE}', strip_accents = 1, lower = 1, overwrite = 1)"
    )
    conn.execute("DELETE FROM search_pending")
    conn.execute("INSERT INTO search_pending (id) SELECT id FROM items")


def update(conn: duckdb.DuckDBPyConnection, *, now: Any, limit: int | None = None) -> int:
    """Bring an existing index up to date with the items in `search_pending` (the first `limit`
    of them by id, all when None), take them out of it, and return how many were indexed.

    DuckDB's index is a set of plain tables (docs, terms, dict with document frequencies,
    stats) that the `match_bm25` macro reads at query time, so changed items are taken out and
    added again exactly as a full build holds them: scores stay those of a rebuild, and a
    write's cost follows its own items, not the store's size. A caller that commits after each
    `limit` items bounds the memory of a large backlog (see Writer.update_search_index).
    """
    s = INDEX_SCHEMA
    pending = _pending_in_storage_order(conn, limit)
    ids = pa.table({"id": pa.array([item_id for item_id, _ in pending], pa.string())})
    with registered(conn, fts_pending=ids):
        _remove(conn)
        for start in range(0, len(pending), UPDATE_CHUNK):
            _add(conn, pending[start : start + UPDATE_CHUNK])
        conn.execute("DELETE FROM search_pending WHERE id IN (SELECT id FROM fts_pending)")
    conn.execute(f"DELETE FROM {s}.stats")
    conn.execute(f"INSERT INTO {s}.stats SELECT count(docid), sum(len) / count(len) FROM {s}.docs")
    for table in ("fts_new", "fts_pieces", "fts_words"):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute("DELETE FROM search_index")
    conn.execute(
        "INSERT INTO search_index (built_at, items) "
        "SELECT ?, (SELECT count(*) FROM items) - (SELECT count(*) FROM search_pending)",
        [now],
    )
    return len(pending)


def _pending_in_storage_order(
    conn: duckdb.DuckDBPyConnection, limit: int | None
) -> list[tuple[str, int | None]]:
    """The first `limit` pending items (all when None) with their row number in `items`, in
    the table's storage order (items gone from it last, with no row number).

    Why storage order: a chunk's rows are then neighbours, and `_add` reads the text of their
    range of rows only; ids are hashes, so a chunk in id order was spread over the whole table,
    whose text was read again for every chunk. The cost grows with the store: indexing a night
    of 15,000 bench items on a store of 60,000 took 2.2-2.35 s of CPU, 1.85-1.9 s this way
    (~25 MiB less at its peak). Documents get other docids, never other words or scores
    (tests/storage/test_fts_tokens.py).
    """
    head = "" if limit is None else f" LIMIT {int(limit)}"
    rows = conn.execute(
        "SELECT p.id, i.rowid FROM search_pending p LEFT JOIN items i ON i.id = p.id "
        f"ORDER BY i.rowid NULLS LAST, p.id{head}"
    ).fetchall()
    return [(str(item_id), None if row is None else int(row)) for item_id, row in rows]


def _remove(conn: duckdb.DuckDBPyConnection) -> None:
    """Take the items of `fts_pending` that are indexed (they changed since) out of the index."""
    s = INDEX_SCHEMA
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE fts_stale AS SELECT docid FROM {s}.docs "
        f"WHERE name IN (SELECT id FROM fts_pending)"
    )
    stale = conn.execute("SELECT count(*) FROM fts_stale").fetchone()
    if stale and stale[0]:
        conn.execute(
            f"UPDATE {s}.dict SET df = df - gone.n FROM ("
            f"  SELECT termid, count(DISTINCT docid) AS n FROM {s}.terms "
            f"  WHERE docid IN (SELECT docid FROM fts_stale) GROUP BY termid"
            f") gone WHERE dict.termid = gone.termid"
        )
        conn.execute(f"DELETE FROM {s}.terms WHERE docid IN (SELECT docid FROM fts_stale)")
        conn.execute(f"DELETE FROM {s}.docs WHERE docid IN (SELECT docid FROM fts_stale)")
        conn.execute(f"DELETE FROM {s}.dict WHERE df <= 0")
        conn.execute(f"DELETE FROM {DOC_TABLE} WHERE id IN (SELECT id FROM fts_pending)")
    conn.execute("DROP TABLE fts_stale")


def _add(conn: duckdb.DuckDBPyConnection, pending: list[tuple[str, int | None]]) -> None:
    """Index these items (none of them indexed; with their row numbers in `items`, see
    `_pending_in_storage_order`), holding what the pragma's build would.

    The pragma's tokenizer (accents stripped, lowered, split by a regex) costs ~1 us per token,
    so texts are first cut at spaces (a plain split, ~20x cheaper) and each distinct piece is
    tokenized once, each distinct word stemmed once: a space separates words in the tokenizer
    too, so the words are the same (tests/storage/test_fts_tokens.py compares them with the
    pragma's own build).
    """
    s = INDEX_SCHEMA
    ids = pa.table({"id": pa.array([item_id for item_id, _ in pending], pa.string())})
    rows = [row for _, row in pending if row is not None]
    first, last = (min(rows), max(rows)) if rows else (0, -1)
    with registered(conn, fts_ids=ids):
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE fts_new AS "
            f"SELECT (SELECT coalesce(max(docid), -1) FROM {s}.docs) "
            f"       + row_number() OVER (ORDER BY id) AS docid, id, title, "
            f"       left(text, {INDEXED_TEXT_CHARS}) || ' ' || array_to_string(cves, ' ') AS body "
            f"FROM items WHERE rowid BETWEEN $first AND $last AND id IN (SELECT id FROM fts_ids)",
            {"first": first, "last": last},
        )
    conn.execute(f"INSERT INTO {DOC_TABLE} SELECT id, title, body FROM fts_new")
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE fts_pieces AS "
        f"SELECT docid, f.fieldid, unnest(string_split(title, ' ')) AS p "
        f"FROM fts_new, {s}.fields f WHERE f.field = 'title' "
        f"UNION ALL "
        f"SELECT docid, f.fieldid, unnest(string_split(body, ' ')) AS p "
        f"FROM fts_new, {s}.fields f WHERE f.field = 'body'"
    )
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE fts_words AS "
        f"WITH words AS MATERIALIZED ("
        f"  SELECT p, w FROM ("
        f"    SELECT p, unnest({s}.tokenize(p)) AS w FROM (SELECT DISTINCT p FROM fts_pieces)"
        f"  ) WHERE w IS NOT NULL AND len(w) > 0"
        f"), stems AS (SELECT w, stem(w, 'porter') AS term FROM (SELECT DISTINCT w FROM words)) "
        f"SELECT p, term FROM words JOIN stems USING (w)"
    )
    conn.execute(
        f"INSERT INTO {s}.dict (termid, term, df) "
        f"SELECT (SELECT coalesce(max(termid), -1) FROM {s}.dict) "
        f"       + row_number() OVER (ORDER BY term), term, 0 "
        f"FROM (SELECT DISTINCT term FROM fts_words "
        f"      WHERE term NOT IN (SELECT term FROM {s}.dict))"
    )
    # A piece holding several words (e.g. "v1.2") gives a row per word. The terms go straight
    # into the index; counts are read back from it (the new documents' ids are the highest).
    conn.execute(
        f"INSERT INTO {s}.terms (docid, fieldid, termid) "
        f"WITH piece_terms AS (SELECT w.p, d.termid FROM fts_words w JOIN {s}.dict d USING (term)) "
        f"SELECT docid, fieldid, termid FROM fts_pieces JOIN piece_terms USING (p)"
    )
    new_terms = f"FROM {s}.terms WHERE docid >= (SELECT min(docid) FROM fts_new)"
    conn.execute(
        f"UPDATE {s}.dict SET df = df + added.n FROM ("
        f"  SELECT termid, count(DISTINCT docid) AS n {new_terms} GROUP BY termid"
        f") added WHERE dict.termid = added.termid"
    )
    conn.execute(
        f"INSERT INTO {s}.docs (docid, name, len) "
        f"SELECT n.docid, n.id, coalesce(t.len, 0) FROM fts_new n LEFT JOIN ("
        f"  SELECT docid, count(*) AS len {new_terms} GROUP BY docid"
        f") t USING (docid)"
    )


def index_exists(conn: duckdb.DuckDBPyConnection) -> bool:
    """True when an index was built (the pragma creates its own schema)."""
    row = conn.execute(
        "SELECT count(*) FROM duckdb_schemas() WHERE schema_name = ?", [INDEX_SCHEMA]
    ).fetchone()
    return bool(row and row[0])


def ranked(conn: duckdb.DuckDBPyConnection, query: str, limit: int) -> list[tuple[Any, ...]]:
    """BM25 over title and text, every word required, plus a title-only BM25 so that title
    hits rank first.

    Items written since the index was built are left out here (their index entries are
    missing or stale) and found by `unindexed` instead.
    """
    columns = ", ".join(f"i.{name}" for name in RESULT_COLUMNS.split(", "))
    sql = f"""
        WITH scored AS (
            SELECT id,
                   {INDEX_SCHEMA}.match_bm25(id, $q, conjunctive := 1) AS all_score,
                   {INDEX_SCHEMA}.match_bm25(id, $q, fields := 'title') AS title_score
            FROM {DOC_TABLE}
        )
        SELECT {columns}, s.all_score + {TITLE_BOOST} * coalesce(s.title_score, 0) AS score
        FROM scored s JOIN items i ON i.id = s.id
        WHERE s.all_score IS NOT NULL AND s.id NOT IN (SELECT id FROM search_pending)
        ORDER BY score DESC, i.id
        LIMIT $limit
    """
    return conn.execute(sql, {"q": query, "limit": limit}).fetchall()


def unindexed(
    conn: duckdb.DuckDBPyConnection, query: str, limit: int, *, only_new: bool
) -> list[tuple[Any, ...]]:
    """Items containing every word of the query, accents and case ignored; no score.

    With `only_new`, only items changed since the index was built (the rest are ranked).
    """
    words = [w for w in query.split() if w]
    if not words:
        return []
    conditions = " AND ".join(
        f"strip_accents(lower(title || ' ' || text)) LIKE "
        f"'%' || strip_accents(lower(${i})) || '%' ESCAPE '\\'"
        for i in range(1, len(words) + 1)
    )
    newer = "AND id IN (SELECT id FROM search_pending)" if only_new else ""
    sql = f"""
        SELECT {RESULT_COLUMNS}, NULL::DOUBLE AS score FROM items
        WHERE {conditions} {newer}
        ORDER BY coalesce(published, first_seen) DESC, id
        LIMIT {int(limit)}
    """
    return conn.execute(sql, [_escape_like(w) for w in words]).fetchall()


def _escape_like(word: str) -> str:
    """Make % and _ in a user's word literal characters."""
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
