"""Search ranks exactly as the fts extension's `match_bm25` macro over its own index did.

The index now holds one row per item and word with its counts (migration 0018) and `fts.ranked`
computes BM25 itself; the reference here is the former way: the extension's pragma builds its
per-occurrence index over the same documents, and the former query scores them with its macro.
Same items, same order, same scores, for words of real feed items and for hostile queries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from techwatch.storage import fts, open_reader, open_writer
from techwatch.storage.connection import connect
from techwatch.types import ParsedItem
from tests.storage.factories import T0, item, outcome, real_feed_items

HOSTILE_QUERIES = [
    "(log4j)",
    "-exchange",
    "exchange -",
    "CVE-2026-1234",
    "cve 2026",
    "Sécurité MISE À JOUR",
    "Straße ß œuvre",
    "\\",
    "a\\b",
    "100%",
    "under_score",
    "'; DROP TABLE items; --",
    "中文字符",
    "e\u0301te\u0301",
    "v1.2.3-rc1",
    "the the the",
    "running runs ran",
    "x" * 500,
]

HOSTILE_TEXTS = [
    ("Sécurité: MISE À JOUR, données", "Straße ß œuvre, la sécurité d'abord"),
    ("back\\slash \\é", "a\\b c\\ (log4j) exchange -exchange"),
    ("CVE-2026-1234 v1.2.3-rc1", "Fixes CVE-2026-1234 in v1.2.3-rc1 (KB5034441) 100% under_score"),
    ("中文字符 Новости", "e\u0301te\u0301 running runs ran the the"),
]


def reference_ranking(conn: duckdb.DuckDBPyConnection, query: str, limit: int) -> list[Any]:
    """The former search: the extension's macro over the pragma's index of `ref_docs`."""
    schema = "fts_main_ref_docs"
    return conn.execute(
        f"""
        WITH scored AS (
            SELECT id,
                   {schema}.match_bm25(id, $q, conjunctive := 1) AS all_score,
                   {schema}.match_bm25(id, $q, fields := 'title') AS title_score
            FROM ref_docs
        )
        SELECT s.id, s.all_score + {fts.TITLE_BOOST} * coalesce(s.title_score, 0) AS score
        FROM scored s JOIN items i ON i.id = s.id
        WHERE s.all_score IS NOT NULL AND s.id NOT IN (SELECT id FROM search_pending)
        ORDER BY score DESC, i.id
        LIMIT $limit
        """,
        {"q": query, "limit": limit},
    ).fetchall()


def build_reference(conn: duckdb.DuckDBPyConnection) -> None:
    """The extension's own index over the documents our index covers."""
    assert fts.load(conn)
    conn.execute(
        f"CREATE TABLE ref_docs AS SELECT id, title, "
        f"left(text, {fts.INDEXED_TEXT_CHARS}) || ' ' || array_to_string(cves, ' ') AS body "
        f"FROM items"
    )
    conn.execute(
        f"PRAGMA create_fts_index('ref_docs', 'id', 'title', 'body', stemmer = 'porter', "
        f"stopwords = 'none', ignore = '{fts.IGNORE}', strip_accents = 1, lower = 1)"
    )


def in_rank_order(hits: list[Any]) -> list[tuple[str, float]]:
    """(id, score) by score then id, scores cut at 1e-9: the macro summed a document's terms
    in its hash tables' order, so equal scores could differ in their last bit."""
    rounded = [(str(item_id), round(score, 9)) for item_id, score in hits]
    return sorted(rounded, key=lambda hit: (-hit[1], hit[0]))


def compare(db: Path, queries: list[str]) -> int:
    """Assert that each query finds the same items as before, in the same order, with the
    same scores; return how many hits were compared (all of them: no limit cuts a tie)."""
    conn = connect(db, read_only=False, wait_s=5)
    compared = 0
    try:
        build_reference(conn)
        for query in queries:
            ours = [(row[0], row[-1]) for row in fts.ranked(conn, query, 100_000)]
            reference = reference_ranking(conn, query, 100_000)
            assert in_rank_order(ours) == in_rank_order(reference), query
            assert [hit[0] for hit in ours] == [hit[0] for hit in in_rank_order(ours)], query
            compared += len(ours)
    finally:
        conn.close()
    return compared


def write_in_two_nights(db: Path, items: list[ParsedItem]) -> None:
    """Two writes, the second updating the index the first built (stale rows taken out)."""
    half = len(items) // 2
    with open_writer(db) as w:
        w.write_outcomes("r1", [outcome("s1", items[:half])], [], T0)
    with open_writer(db) as w:
        w.write_outcomes("r2", [outcome("s1", items[half:])], [], T0)


def queries_from(items: list[ParsedItem]) -> list[str]:
    """Words and word pairs of real titles, CVE ids, and the hostile queries."""
    queries: list[str] = []
    for entry in items[::25]:
        words = entry.title.split()
        queries += words[:1] + ([" ".join(words[1:3])] if len(words) > 2 else [])
        queries += list(entry.cves[:1])
    return queries + HOSTILE_QUERIES


def test_real_feed_items_rank_as_the_extensions_macro_ranked_them(db: Path, realdata: Path) -> None:
    items = [
        item("s1", f"r{n:05d}", title=i.title, text=i.text)
        for n, i in enumerate(real_feed_items(realdata))
    ]
    assert len(items) > 1000
    # Some items change: the second night takes their former words out of the index.
    items += [
        item("s1", f"r{n:05d}", title=f"{i.title} updated", text=i.text[::-1])
        for n, i in enumerate(items[:200])
    ]
    write_in_two_nights(db, items)
    queries = queries_from(real_feed_items(realdata))
    assert len(queries) > 120
    assert compare(db, queries) > 3000


def test_hostile_texts_and_queries_rank_as_before(db: Path) -> None:
    items = [
        item("s1", f"h{n:03d}", title=title, text=f"{text} {n % 3}")
        for n, (title, text) in enumerate(HOSTILE_TEXTS * 5)
    ]
    write_in_two_nights(db, items)
    assert compare(db, [*HOSTILE_QUERIES, "exchange", "sécurité", "cve-2026-1234 0"]) > 20


@pytest.mark.parametrize("query", ["(log4j)", "-exchange", "\\"])
def test_a_query_with_an_empty_first_word_ranks_nothing_as_before(db: Path, query: str) -> None:
    # The extension's tokenizer gives an empty word for a leading separator, which no item
    # holds: every word being required, nothing is ranked, and search falls back to substrings
    # of the items not indexed (none here).
    write_in_two_nights(db, [item("s1", f"h{n}", title="(log4j) exchange \\") for n in range(4)])
    with open_reader(db) as r:
        assert r.search(query) == []


def forge_a_store_before_0018(db: Path, *, indexed: bool) -> None:
    """Give a store what techwatch held before migration 0018: the extension's index (built by
    its pragma over a `search_docs` copy of the documents) when `indexed`, none otherwise."""
    conn = connect(db, read_only=False, wait_s=5)
    try:
        assert fts.load(conn)
        for table in ("search_docs", "search_words", "search_terms"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DELETE FROM schema_migrations WHERE version = 18")
        if not indexed:
            return
        conn.execute(
            f"CREATE TABLE search_docs AS SELECT id, title, "
            f"left(text, {fts.INDEXED_TEXT_CHARS}) || ' ' || array_to_string(cves, ' ') AS body "
            f"FROM items WHERE id NOT IN (SELECT id FROM search_pending)"
        )
        conn.execute(
            f"PRAGMA create_fts_index('search_docs', 'id', 'title', 'body', stemmer = 'porter', "
            f"stopwords = 'none', ignore = '{fts.IGNORE}', strip_accents = 1, lower = 1)"
        )
    finally:
        conn.close()


def searched(db: Path, query: str) -> list[tuple[str, float | None]]:
    with open_reader(db) as r:
        return [(h["id"], h["score"]) for h in r.search(query)]


def two_nights_one_unindexed(db: Path) -> None:
    items = [item("s1", f"m{n}", title=f"exchange patch {n}", text="mail " * n) for n in range(6)]
    with open_writer(db) as w:
        w.write_outcomes("r1", [outcome("s1", items[:5])], [], T0)
        w.write_outcomes("r2", [outcome("s1", items[5:])], [], T0, index_search=False)


def test_an_index_the_extension_built_is_converted_as_it_stands(db: Path) -> None:
    two_nights_one_unindexed(db)
    before = searched(db, "exchange")
    assert [score is None for _, score in before] == [False] * 5 + [True]
    forge_a_store_before_0018(db, indexed=True)

    with open_writer(db) as w:  # migrates: same index in the new tables, nothing indexed again
        _, indexed, pending = w.search_index_status()
    assert (indexed, pending) == (5, 1)
    assert searched(db, "exchange") == before
    with open_writer(db) as w:
        w.update_search_index(chunk=2)
    after = searched(db, "exchange")
    with open_writer(db) as w:
        w.rebuild_search_index()
    assert searched(db, "exchange") == after
    assert len(after) == 6 and all(score is not None for _, score in after)


def test_a_store_never_indexed_keeps_every_item_found_until_the_next_update(db: Path) -> None:
    two_nights_one_unindexed(db)
    conn = connect(db, read_only=False, wait_s=5)
    try:
        fts.create_empty(conn)  # every item pending, as in a store the extension never indexed
        conn.execute("DELETE FROM search_index")
    finally:
        conn.close()
    forge_a_store_before_0018(db, indexed=False)

    with open_writer(db) as w:
        assert w.search_index_status() == (None, 0, 6)
    assert len(searched(db, "patch")) == 6
    assert all(score is None for _, score in searched(db, "patch"))
    with open_writer(db) as w:
        w.update_search_index(chunk=4)
        assert w.search_index_status()[1:] == (6, 0)
    assert len(searched(db, "patch")) == 6
    assert all(score is not None for _, score in searched(db, "patch"))
