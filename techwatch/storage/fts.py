"""Full-text search over items: DuckDB's fts extension loaded offline, with an ILIKE fallback.

The extension ships as a wheel (duckdb-extension-fts) pinned to the duckdb version, so it is
LOADed from that folder and never downloaded. DuckDB does not maintain its index: a run
rebuilds it when due (see techwatch.ingest.index_due; it costs seconds per 10k items), and items
written since the last build (listed in `search_pending`) are still found, unranked, by a plain
substring match.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

import duckdb

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


def rebuild(conn: duckdb.DuckDBPyConnection, *, now: Any) -> None:
    """Rebuild the index over all items and record what it covers (caller owns the transaction)."""
    # One thread: the build barely parallelises, and two threads took 60 MiB more at the peak
    # for no gain (measured on 15k items: 4.2 s / 344 MiB with two, 3.9 s / 288 MiB with one).
    conn.execute("SET threads = 1")
    try:
        _build(conn)
    finally:
        conn.execute("RESET threads")
    conn.execute("DELETE FROM search_pending")
    conn.execute("DELETE FROM search_index")
    conn.execute("INSERT INTO search_index (built_at, items) SELECT ?, count(*) FROM items", [now])


def _build(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(
        f"CREATE OR REPLACE TABLE {DOC_TABLE} AS SELECT id, title, "
        f"left(text, {INDEXED_TEXT_CHARS}) || ' ' || array_to_string(cves, ' ') AS body FROM items"
    )
    conn.execute(
        f"PRAGMA create_fts_index('{DOC_TABLE}', 'id', 'title', 'body', stemmer = 'porter', "
        f"stopwords = 'none', ignore = '{IGNORE}', strip_accents = 1, lower = 1, overwrite = 1)"
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
