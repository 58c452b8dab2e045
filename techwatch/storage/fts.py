"""Full-text search over items: BM25 over our own index tables, with an ILIKE fallback.

The index holds, per item, each stemmed word with its counts (`search_terms`, migration 0018),
and search computes the BM25 of DuckDB's fts extension (`match_bm25`) from them. The extension,
shipped as a wheel (duckdb-extension-fts) pinned to the duckdb version and LOADed from that
folder, never downloaded, gives the stemmer. Why our own tables: the extension's hold one row
per occurrence (1.7x more rows on the real feed items, 4.1x on the ingestion bench's), which a
night's index held in memory until it committed. The index is updated for the items
written since (see `update`); items not indexed yet (listed in `search_pending`: written since,
or the extension could not be loaded) are still found, unranked, by a plain substring match.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from techwatch.storage.connection import Conn, registered

log = logging.getLogger(__name__)

#: The index covers the title, the head of the text and the CVE ids. What an item is about is
#: in its title and lede; indexing whole full-content entries (up to 50k characters each) would
#: make every rebuild's cost grow with text, not with items.
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


def load(conn: Conn) -> bool:
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


def tokenize_sql(text: str) -> str:
    """SQL for the words of `text` as the extension's `tokenize` macro cuts them (accents
    stripped, lowered, split at what IGNORE matches); a word may be empty, as there.

    The macro splits at runs of whitespace (a regex), but once each run of what IGNORE
    matches is one space, only lone spaces are left between the words (letters and digits):
    a plain split at ' ' gives the same lists. Indexing the real advisories' 3,882 items
    (73,742 distinct pieces to tokenize): 0.91x the instructions of DuckDB's work (callgrind,
    3.50 -> 3.20 G), the tokenizing statement 0.7-0.8x of its CPU (4 alternated pairs).
    """
    return (
        f"string_split(regexp_replace(lower(strip_accents(CAST({text} AS VARCHAR))), "
        f"'{IGNORE}', ' ', 'g'), ' ')"
    )


def rebuild(conn: Conn, *, now: Any) -> None:
    """Rebuild the index over all items and record what it covers (caller owns the transaction)."""
    create_empty(conn)
    update(conn, now=now)


def create_empty(conn: Conn) -> None:
    """Empty the index and mark every item pending (caller's transaction).

    The items already pending stay in the queue and only the others are added: on a first
    night all 15,000 bench items are pending, which a DELETE and INSERT of them all rewrote.
    """
    for table in ("search_terms", "search_words", "search_docs"):
        conn.execute(f"DELETE FROM {table}")
    conn.execute(
        "INSERT INTO search_pending (id) SELECT id FROM items "
        "WHERE id NOT IN (SELECT id FROM search_pending)"
    )


def update(conn: Conn, *, now: Any, limit: int | None = None) -> int:
    """Bring the index up to date with the items in `search_pending` (the first `limit` of them
    by storage order, all when None), take them out of it, and return how many were indexed.

    Changed items are taken out and added again exactly as a full build holds them: scores
    stay those of a rebuild, and a write's cost follows its own items, not the store's size.
    A caller that commits after each `limit` items bounds the memory of a large backlog (see
    Writer.update_search_index).
    """
    pending = _pending_in_storage_order(conn, limit)
    ids = pa.table({"id": pa.array([item_id for item_id, _ in pending], pa.string())})
    with registered(conn, fts_pending=ids):
        _remove(conn)
        for start in range(0, len(pending), UPDATE_CHUNK):
            _add(conn, pending[start : start + UPDATE_CHUNK])
        conn.execute("DELETE FROM search_pending WHERE id IN (SELECT id FROM fts_pending)")
    for table in ("fts_new", "fts_words"):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute("DELETE FROM search_index")
    conn.execute(
        "INSERT INTO search_index (built_at, items) "
        "SELECT ?, (SELECT count(*) FROM items) - (SELECT count(*) FROM search_pending)",
        [now],
    )
    return len(pending)


def _pending_in_storage_order(conn: Conn, limit: int | None) -> list[tuple[str, int | None]]:
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


def _remove(conn: Conn) -> None:
    """Take the items of `fts_pending` that are indexed (they changed since) out of the index."""
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE fts_stale AS SELECT docid FROM search_docs "
        "WHERE id IN (SELECT id FROM fts_pending)"
    )
    stale = conn.execute("SELECT count(*) FROM fts_stale").fetchone()
    if stale and stale[0]:
        conn.execute(
            "UPDATE search_words SET df = df - gone.n FROM ("
            "  SELECT termid, count(*) AS n FROM search_terms "
            "  WHERE docid IN (SELECT docid FROM fts_stale) GROUP BY termid"
            ") gone WHERE search_words.termid = gone.termid"
        )
        conn.execute("DELETE FROM search_terms WHERE docid IN (SELECT docid FROM fts_stale)")
        conn.execute("DELETE FROM search_docs WHERE docid IN (SELECT docid FROM fts_stale)")
        conn.execute("DELETE FROM search_words WHERE df <= 0")
    conn.execute("DROP TABLE fts_stale")


def _add(conn: Conn, pending: list[tuple[str, int | None]]) -> None:
    """Index these items (none of them indexed; with their row numbers in `items`, see
    `_pending_in_storage_order`): per item, each stemmed word with its counts.

    The extension's tokenizer costs ~1 us per token, so texts are first cut at spaces (a plain
    split, ~20x cheaper) and each distinct piece is tokenized once, each distinct word stemmed
    once: a space separates words in the tokenizer too, so the words are the same
    (tests/storage/test_fts_tokens.py compares them with the extension's own build).
    """
    ids = pa.table({"id": pa.array([item_id for item_id, _ in pending], pa.string())})
    rows = [row for _, row in pending if row is not None]
    first, last = (min(rows), max(rows)) if rows else (0, -1)
    with registered(conn, fts_ids=ids):
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE fts_new AS "
            f"SELECT (SELECT coalesce(max(docid), -1) FROM search_docs) "
            f"       + row_number() OVER (ORDER BY id) AS docid, id, title, "
            f"       {_indexed_text('text')} || ' ' || array_to_string(cves, ' ') AS body "
            f"FROM items WHERE rowid BETWEEN $first AND $last AND id IN (SELECT id FROM fts_ids)",
            {"first": first, "last": last},
        )
    # The chunk's distinct pieces, each cut into its stemmed words; a piece without any word
    # is a row too, with no term (see `_piece_key`).
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE fts_words AS "
        f"WITH words AS MATERIALIZED ("
        f"  SELECT p, unnest({tokenize_sql('p')}) AS w FROM (SELECT DISTINCT p FROM ({_PIECES}))"
        f"), stems AS ("
        f"  SELECT w, stem(w, 'porter') AS term FROM (SELECT DISTINCT w FROM words)"
        f"  WHERE len(w) > 0"
        f") "
        f"SELECT p, term FROM words LEFT JOIN stems USING (w)"
    )
    conn.execute(
        "INSERT INTO search_words (termid, term, df) "
        "SELECT (SELECT coalesce(max(termid), -1) FROM search_words) "
        "       + row_number() OVER (ORDER BY term), term, 0 "
        "FROM (SELECT DISTINCT term FROM fts_words "
        "      WHERE term IS NOT NULL AND term NOT IN (SELECT term FROM search_words))"
    )
    # Each piece of the text becomes its words' ids (a piece holding several words, e.g.
    # "v1.2", a row per word), counted per item: the counts go straight into the index and
    # are read back from it (the new documents' ids are the highest).
    key = _piece_key(conn)
    conn.execute(
        f"INSERT INTO search_terms (docid, termid, tf, title_tf) "
        f"WITH piece_terms AS ("
        f"  SELECT {key} AS k, d.termid FROM fts_words w JOIN search_words d USING (term)"
        f"), pieces AS (SELECT docid, in_title, {key} AS k FROM ({_PIECES})) "
        f"SELECT docid, termid, count(*), count(*) FILTER (WHERE in_title) "
        f"FROM pieces JOIN piece_terms USING (k) GROUP BY docid, termid"
    )
    new_terms = "FROM search_terms WHERE docid >= (SELECT min(docid) FROM fts_new)"
    conn.execute(
        f"UPDATE search_words SET df = df + added.n FROM ("
        f"  SELECT termid, count(*) AS n {new_terms} GROUP BY termid"
        f") added WHERE search_words.termid = added.termid"
    )
    conn.execute(
        f"INSERT INTO search_docs (docid, id, len) "
        f"SELECT n.docid, n.id, coalesce(t.len, 0) FROM fts_new n LEFT JOIN ("
        f"  SELECT docid, sum(tf) AS len {new_terms} GROUP BY docid"
        f") t USING (docid)"
    )


#: Every piece of the new items' titles and texts (cut at spaces), with its item and field.
_PIECES = (
    "SELECT docid, true AS in_title, unnest(string_split(title, ' ')) AS p FROM fts_new "
    "UNION ALL "
    "SELECT docid, false AS in_title, unnest(string_split(body, ' ')) AS p FROM fts_new"
)
#: The key the pieces of the text are joined to their words on: a 64-bit number, not the
#: piece (see `_piece_key`).
PIECE_HASH = "hash(p)"


def _piece_key(conn: Conn) -> str:
    """SQL for the key of a piece `p` in the counting join: its hash, unless two of the chunk's
    distinct pieces (all in `fts_words`, those without words too) share one; then the piece.

    Why: each piece of the text (~370,000 per 2,000 bench items) is joined to its words on a
    number and counted once per (item, word). Before, the pieces were grouped per (item, piece)
    into a table of strings, joined on the strings, then counted again: `_add` took 0.80-0.85x
    the CPU this way, a night's index of 15,000 bench items 0.90x (8 alternated pairs). A
    shared hash would give a piece another's words: a ~1e-10 chance with a chunk's 5,000-75,000
    distinct pieces, checked anyway (tests/storage/test_fts_tokens.py forces it).
    """
    row = conn.execute(
        f"SELECT count(DISTINCT p) = count(DISTINCT {PIECE_HASH}) FROM fts_words"
    ).fetchone()
    return PIECE_HASH if row and row[0] else "p"


def _indexed_text(column: str) -> str:
    """SQL for the head of `column` that the index covers: its first INDEXED_TEXT_CHARS
    characters. A text of no more bytes has no more characters and is taken whole: `left`
    counts the characters of every text (UTF-8): the statement that reads the ingestion bench's
    15,000 texts (all shorter) 0.16-0.20 -> 0.13-0.14 s of CPU (4 alternated pairs)."""
    limit = INDEXED_TEXT_CHARS
    return f"CASE WHEN strlen({column}) <= {limit} THEN {column} ELSE left({column}, {limit}) END"


def index_exists(conn: Conn) -> bool:
    """True once an index was built (its first update records itself in `search_index`)."""
    row = conn.execute("SELECT count(*) FROM search_index").fetchone()
    return bool(row and row[0])


#: BM25 of one word in one document, as the extension's `match_bm25` macro computes it, with
#: its default parameters (k = 1.2, b = 0.75) and the same expression, so the same types and
#: so the same doubles: `tf` is the word's count in the fields searched, `len` the document's
#: words in all fields, `df`, `num_docs` and `avgdl` those of the whole index.
BM25 = (
    "log(((((num_docs - df) + 0.5) / (df + 0.5)) + 1)) * "
    "((CAST({tf} AS BIGINT) * (1.2 + 1)) / "
    "(CAST({tf} AS BIGINT) + (1.2 * ((1 - 0.75) + (0.75 * (len / avgdl))))))"
)


def ranked(conn: Conn, query: str, limit: int) -> list[tuple[Any, ...]]:
    """BM25 over title and text, every word required, plus a title-only BM25 so that title
    hits rank first: the scores of the extension's `match_bm25` (conjunctive over all fields,
    and over the title alone), from one row per document and word. Each document's terms are
    summed in one order, so equal documents get equal scores and rank by id (the macro's sums
    followed its hash tables: the same score could differ in its last bit).

    Items written since the index was built are left out here (their index entries are
    missing or stale) and found by `unindexed` instead.
    """
    columns = ", ".join(f"i.{name}" for name in RESULT_COLUMNS.split(", "))
    all_terms = BM25.format(tf="h.tf")
    title_terms = BM25.format(tf="h.title_tf")
    sql = f"""
        WITH tokens AS (SELECT DISTINCT stem(unnest({tokenize_sql("$q")}), 'porter') AS t),
        hits AS (
            SELECT t.docid, t.termid, t.tf, t.title_tf, w.df
            FROM search_words w JOIN tokens ON w.term = tokens.t
            JOIN search_terms t ON t.termid = w.termid
        ),
        matched AS (
            SELECT docid FROM hits GROUP BY docid
            HAVING count(DISTINCT termid) = (SELECT count(*) FROM tokens)
        ),
        stats AS (SELECT count(docid) AS num_docs, sum(len) / count(len) AS avgdl FROM search_docs),
        scored AS (
            SELECT d.id, sum({all_terms} ORDER BY h.termid) AS all_score,
                   sum({title_terms} ORDER BY h.termid) FILTER (WHERE h.title_tf > 0)
                   AS title_score
            FROM hits h JOIN matched USING (docid) JOIN search_docs d USING (docid), stats
            GROUP BY d.id
        )
        SELECT {columns}, s.all_score + {TITLE_BOOST} * coalesce(s.title_score, 0) AS score
        FROM scored s JOIN items i ON i.id = s.id
        WHERE s.id NOT IN (SELECT id FROM search_pending)
        ORDER BY score DESC, i.id
        LIMIT $limit
    """
    return conn.execute(sql, {"q": query, "limit": limit}).fetchall()


def unindexed(conn: Conn, query: str, limit: int, *, only_new: bool) -> list[tuple[Any, ...]]:
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
