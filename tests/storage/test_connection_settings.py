"""Connections never print: stdout belongs to the CLI's data (RELIABILITY 41)."""

from __future__ import annotations

from pathlib import Path

from techwatch.storage import open_reader, open_writer


def test_progress_bar_is_off_for_writers_and_readers(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    with open_writer(db) as writer:
        setting = writer._conn.execute("SELECT current_setting('enable_progress_bar')").fetchone()
    assert setting == (False,)
    with open_reader(db) as reader:
        setting = reader._conn.execute("SELECT current_setting('enable_progress_bar')").fetchone()
    assert setting == (False,)
