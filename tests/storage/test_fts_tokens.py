"""The index our writes keep holds exactly the words the fts extension's own build would.

fts.update tokenizes its own way (texts cut at spaces, each distinct piece tokenized once) for
speed; the extension's `create_fts_index` pragma, run over the same documents, is the reference.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from techwatch.storage import fts, open_writer
from techwatch.storage.connection import connect
from tests.storage.factories import T0, item, outcome, real_feed_items

HOSTILE = [
    "Sécurité: MISE À JOUR, données; Straße ß œuvre",
    "back\\slash \\é \\\n x \\ y a\\b c\\",  # the tokenizer drops a backslash and what follows
    " \u0301leading combining mark e\u0301te\u0301 =\u0338 ≠",
    "İstanbul ÇAĞRI ǅemal ﬁnance ﬀ Ⅻ ½ ① x\u00a0y",
    "tabs\tand\nnew\r\nlines  double  spaces   ",
    "CVE-2026-1234, v1.2.3-rc1 (KB5034441) https://example.org/a?b=c&d=e#f",
    "مرحبا بالعالم 中文字符 Новости Оренбурга",
    "",
    "   ",
    "\\",
]


def extension_words(conn: duckdb.DuckDBPyConnection, schema: str) -> Words:
    """(item id, field, stemmed word, occurrences) of the extension's index, each document's
    length, and each word's document frequency."""
    rows = conn.execute(
        f"SELECT d.name, t.fieldid, w.term, count(*) FROM {schema}.terms t "
        f"JOIN {schema}.docs d USING (docid) JOIN {schema}.dict w USING (termid) "
        f"GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    lengths = conn.execute(f"SELECT name, -1, '', len FROM {schema}.docs ORDER BY name").fetchall()
    df = conn.execute(f"SELECT '', -2, term, df FROM {schema}.dict ORDER BY term").fetchall()
    return [tuple(r) for r in rows + lengths + df]  # type: ignore[misc]


def our_words(conn: duckdb.DuckDBPyConnection) -> Words:
    """The same from our index's counts (field 0 is the title, 1 the body, as the pragma's)."""
    rows = conn.execute(
        "SELECT * FROM ("
        "  SELECT d.id, 0 AS field, w.term, t.title_tf AS n FROM search_terms t"
        "  JOIN search_docs d USING (docid) JOIN search_words w USING (termid)"
        "  UNION ALL"
        "  SELECT d.id, 1, w.term, t.tf - t.title_tf FROM search_terms t"
        "  JOIN search_docs d USING (docid) JOIN search_words w USING (termid)"
        ") WHERE n > 0 ORDER BY ALL"
    ).fetchall()
    lengths = conn.execute("SELECT id, -1, '', len FROM search_docs ORDER BY id").fetchall()
    df = conn.execute("SELECT '', -2, term, df FROM search_words ORDER BY term").fetchall()
    return [tuple(r) for r in rows + lengths + df]  # type: ignore[misc]


Words = list[tuple[str, int, str, int]]


def reference_words(db: Path) -> tuple[Words, Words]:
    """Our index's words, and those of the pragma's build over the same documents."""
    conn = connect(db, read_only=False, wait_s=5)
    try:
        assert fts.load(conn)
        conn.execute(
            f"CREATE TABLE ref_docs AS SELECT i.id, title, "
            f"left(text, {fts.INDEXED_TEXT_CHARS}) || ' ' || array_to_string(cves, ' ') AS body "
            f"FROM items i JOIN search_docs USING (id)"
        )
        conn.execute(
            f"PRAGMA create_fts_index('ref_docs', 'id', 'title', 'body', stemmer = 'porter', "
            f"stopwords = 'none', ignore = '{fts.IGNORE}', strip_accents = 1, lower = 1)"
        )
        fields = conn.execute("SELECT * FROM fts_main_ref_docs.fields ORDER BY ALL").fetchall()
        assert fields == [(0, "title"), (1, "body")]
        return our_words(conn), extension_words(conn, "fts_main_ref_docs")
    finally:
        conn.close()


def write_texts(db: Path, texts: list[tuple[str, str]]) -> None:
    """Two batch writes (the second updates the index the first built)."""
    items = [item("s1", f"i{n:04d}", title=t, text=x) for n, (t, x) in enumerate(texts)]
    half = len(items) // 2
    with open_writer(db) as w:
        w.write_outcomes("r1", [outcome("s1", items[:half])], [], T0)
    with open_writer(db) as w:
        w.write_outcomes("r2", [outcome("s1", items[half:])], [], T0)


def test_hostile_texts_get_the_words_of_the_extensions_own_build(db: Path) -> None:
    texts = [(a, b) for a in HOSTILE for b in HOSTILE[:4]]
    write_texts(db, texts)
    ours, reference = reference_words(db)
    assert ours == reference
    assert any(word == "securit" for _, _, word, _ in ours)


def test_real_feed_entries_get_the_words_of_the_extensions_own_build(
    db: Path, realdata: Path
) -> None:
    texts = [(i.title, i.text) for i in real_feed_items(realdata)]
    assert len(texts) > 1000
    write_texts(db, texts)
    ours, reference = reference_words(db)
    assert len(ours) > 100_000
    assert ours == reference


@pytest.mark.parametrize("text", HOSTILE)
def test_each_hostile_text_alone(db: Path, text: str) -> None:
    write_texts(db, [(text, text), ("x", text)])
    ours, reference = reference_words(db)
    assert ours == reference


def test_pieces_sharing_a_hash_are_told_apart_by_their_text(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A "hash" that most pieces share (their length): the counting joins on the pieces
    # themselves then, and the words are still the extension's; on this hash they would not be.
    monkeypatch.setattr(fts, "PIECE_HASH", "strlen(p)")
    write_texts(db, [(a, b) for a in HOSTILE for b in HOSTILE[:4]])
    ours, reference = reference_words(db)
    assert ours == reference


def test_the_pieces_are_joined_on_their_hash_unless_two_share_one() -> None:
    conn = duckdb.connect()
    try:
        conn.execute(
            "CREATE TEMP TABLE fts_words AS "
            "SELECT * FROM (VALUES ('ab', 'ab'), ('cd', 'cd'), ('a.b', 'a'), ('a.b', 'b'), "
            "('-', NULL)) AS t(p, term)"
        )
        assert fts._piece_key(conn) == fts.PIECE_HASH
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(fts, "PIECE_HASH", "strlen(p)")
            assert fts._piece_key(conn) == "p"
    finally:
        conn.close()


def test_an_index_built_in_chunks_of_storage_order_gets_the_extensions_words(db: Path) -> None:
    # Three writes whose rows lie in storage order, ids (hashes) in another: every chunk of
    # the update reads its own range of rows, and together they hold every word once.
    texts = [
        (f"title {n} {a}", f"{b} body {n}")
        for n, (a, b) in enumerate(zip(HOSTILE, HOSTILE[::-1], strict=True))
    ]
    items = [item("s1", f"c{n:03d}", title=t, text=x) for n, (t, x) in enumerate(texts * 4)]
    with open_writer(db) as w:
        for start in range(0, len(items), 15):
            w.write_outcomes(
                "r", [outcome("s1", items[start : start + 15])], [], T0, index_search=False
            )
        w.update_search_index(chunk=7)
    ours, reference = reference_words(db)
    assert ours == reference
    assert len({name for name, field, _, _ in ours if field == -1}) == len(items)


def test_a_pending_id_without_its_item_is_taken_out_of_the_queue(db: Path) -> None:
    with open_writer(db) as w:
        w.write_outcomes("r", [outcome("s1", [item("s1", "a"), item("s1", "b")])], [], T0)
    _queue_unknown_id(db)
    with open_writer(db) as w:
        w.update_search_index(chunk=1)
        _, indexed, pending = w.search_index_status()
    assert (indexed, pending) == (2, 0)


def test_a_rebuild_indexes_pending_and_indexed_items_alike(db: Path) -> None:
    # Two items indexed, one pending, one pending id without its item: the rebuild keeps the
    # queue's entries and adds the indexed items to it, and ends with every item indexed once.
    with open_writer(db) as w:
        w.write_outcomes("r1", [outcome("s1", [item("s1", "a"), item("s1", "b")])], [], T0)
        w.write_outcomes("r2", [outcome("s1", [item("s1", "c")])], [], T0, index_search=False)
    _queue_unknown_id(db)
    with open_writer(db) as w:
        assert w.search_index_status()[1:] == (2, 2)
        w.rebuild_search_index()
        assert w.search_index_status()[1:] == (3, 0)
    ours, reference = reference_words(db)
    assert ours == reference
    assert len({name for name, field, _, _ in ours if field == -1}) == 3


def _queue_unknown_id(db: Path) -> None:
    """Queue for the index an id that no item has (a deleted item's, say)."""
    conn = connect(db, read_only=False, wait_s=5)
    try:
        conn.execute("INSERT INTO search_pending (id) VALUES ('no-such-item')")
    finally:
        conn.close()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "short",
        "a" * 4000,
        "a" * 4001,
        "é" * 2000,
        "é" * 2001,
        "é" * 4000,
        "é" * 4001,
        "😀" * 4500,
    ],
)
def test_the_indexed_head_of_a_text_is_its_first_characters(text: str) -> None:
    """_indexed_text takes a text of no more bytes than the limit whole, `left` otherwise."""
    conn = duckdb.connect()
    try:
        sql = (
            f"SELECT {fts._indexed_text('t')}, left(t, {fts.INDEXED_TEXT_CHARS}) FROM (SELECT ? t)"
        )
        head = conn.execute(sql, [text]).fetchone()
    finally:
        conn.close()
    assert head is not None
    assert head[0] == head[1] == text[: fts.INDEXED_TEXT_CHARS]


#: How the extension's `tokenize` macro splits its cleaned text: at runs of whitespace.
MACRO_SPLIT = (
    "string_split_regex(regexp_replace(lower(strip_accents(CAST(t AS VARCHAR))), "
    f"'{fts.IGNORE}', ' ', 'g'), '\\s+')"
)


PIECES = st.sampled_from([*HOSTILE, "\\", " ", "\\\\", "\t", "\n", "é", "a", "1", "-"])


@settings(max_examples=300, deadline=None)
@given(st.text() | st.lists(PIECES, max_size=8).map("".join))
def test_tokenize_sql_cuts_as_the_extensions_macro(text: str) -> None:
    """tokenize_sql splits at single spaces where the macro splits at runs of whitespace:
    the same words, empty ones included, whatever the text (backslashes, spaces, accents)."""
    conn = duckdb.connect()
    try:
        ours, macro = conn.execute(
            f"SELECT {fts.tokenize_sql('t')}, {MACRO_SPLIT} FROM (SELECT ? AS t)", [text]
        ).fetchone() or (None, None)
    finally:
        conn.close()
    assert ours == macro
    assert ours is not None
