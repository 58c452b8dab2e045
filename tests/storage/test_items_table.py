"""items has no primary key (migration 0011): the writer keeps ids unique, and old stores keep
their rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from techwatch.ingest import STORE_MIN_ITEMS
from techwatch.storage import migrate, open_reader, open_writer
from techwatch.storage.connection import connect
from tests.storage.factories import T0, item, outcome

NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def item_ids(db: Path) -> list[str]:
    conn = connect(db, read_only=True, wait_s=5)
    try:
        return [row[0] for row in conn.execute("SELECT id FROM items ORDER BY rowid").fetchall()]
    finally:
        conn.close()


def test_writing_the_same_items_again_and_again_keeps_one_row_each(db: Path) -> None:
    first = [item("s1", "a", text="one"), item("s1", "b", text="two")]
    changed = [replace(first[0], text="one, updated", content_hash="h2"), first[1]]
    with open_writer(db) as w:
        w.write_outcomes("r1", [outcome("s1", first)], [], T0)
        w.write_outcomes("r2", [outcome("s1", first + first)], [], T0 + timedelta(hours=1))
        stats = w.write_outcomes("r3", [outcome("s1", changed)], [], T0 + timedelta(hours=2))
    assert sorted(item_ids(db)) == sorted(set(item_ids(db)))
    assert len(item_ids(db)) == 2
    assert (stats.new, stats.updated, stats.unchanged) == ({"s1": 0}, {"s1": 1}, {"s1": 1})
    with open_reader(db) as r:
        assert [h["title"] for h in r.search("updated")] == ["item a"]


def test_a_store_from_before_0011_keeps_its_items_in_order(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    conn = connect(path, read_only=False, wait_s=5)
    conn.execute(migrate.BOOTSTRAP)
    for migration in migrate.available():
        if migration.version < 11:
            migrate._apply(conn, [migration], NOW)
    assert conn.execute(
        "SELECT count(*) FROM duckdb_constraints() "
        "WHERE table_name = 'items' AND constraint_type = 'PRIMARY KEY'"
    ).fetchone() == (1,)
    for n in (3, 1, 2):
        conn.execute(
            "INSERT INTO items VALUES (?, 's1', ?, NULL, NULL, ?, 'text', '<p>text</p>', NULL, "
            "?, ?, 'fr', ['Ada'], ['CVE-2026-0001'], ?)",
            [f"id{n}", f"i{n}", f"title {n}", NOW, NOW, f"h{n}"],
        )
    before = conn.execute("SELECT * FROM items ORDER BY rowid").fetchall()
    migrate.apply_pending(conn, NOW)
    assert conn.execute("SELECT * FROM items ORDER BY rowid").fetchall() == before
    assert conn.execute(
        "SELECT count(*) FROM duckdb_constraints() "
        "WHERE table_name = 'items' AND constraint_type = 'PRIMARY KEY'"
    ).fetchone() == (0,)
    conn.close()
    assert item_ids(path) == ["id3", "id1", "id2"]


def test_a_write_of_store_min_items_new_items_leaves_their_content_out_of_the_log(
    db: Path,
) -> None:
    """Why ingest.STORE_MIN_ITEMS is a row group: so many new rows reach the file compressed
    at the commit, where fewer are logged whole and compressed again by the checkpoint (the
    log then holds only the row groups' pointers, with a few values in their statistics)."""
    with open_writer(db) as w:
        w.write_outcomes("r0", [outcome("s0", [item("s0", "first")])], [], T0)
    log = Path(f"{db}.wal")

    def copies_logged(items: int, marker: str) -> int:
        batch = [item("s1", f"{marker}-{n}", text=f"{marker} {n}") for n in range(items)]
        with open_writer(db) as w:
            w.write_outcomes("r", [outcome("s1", batch)], [], T0)
            return log.read_bytes().count(marker.encode())

    assert copies_logged(100, "few") >= 100
    assert copies_logged(STORE_MIN_ITEMS, "many") < 100
    assert len(item_ids(db)) == 1 + 100 + STORE_MIN_ITEMS
