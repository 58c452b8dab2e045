"""Opening for reading: clear errors instead of tracebacks or an accidental new file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from techwatch.errors import StorageError
from techwatch.storage import open_reader, open_writer


def test_a_missing_database_is_explained_and_not_created(db: Path) -> None:
    with pytest.raises(StorageError, match="techwatch db migrate"), open_reader(db):
        pass
    assert not db.exists()


def test_an_unmigrated_database_is_explained(tmp_path: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(StorageError, match="has no schema"), open_reader(empty):
        pass


def test_a_file_that_is_not_a_database_is_a_storage_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database" * 1000)
    with pytest.raises(StorageError, match="cannot open database"), open_reader(junk):
        pass


def test_the_writer_creates_the_folder_and_the_reader_cannot_write(db: Path) -> None:
    with open_writer(db):
        pass
    with open_reader(db) as r:
        assert r.items() == []
        with pytest.raises(duckdb.InvalidInputException):
            r._conn.execute("CREATE TABLE x (a INTEGER)")
