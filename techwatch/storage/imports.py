"""SQL of `techwatch import`'s file record: which files were stored, with which bytes and parser.

Functions take a connection; `record` runs in its own short transaction once the batches that
stored the files have committed, so a file is recorded only once its items are safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import pyarrow as pa

from techwatch.storage.connection import Conn, registered, transaction


@dataclass(frozen=True, slots=True)
class ImportedFile:
    """One file an import stored: what identifies its content, and what it held."""

    source_id: str
    url: str
    sha256: str
    parsers: str
    entries: int
    items: int


FILES: Final = pa.schema(
    [
        ("source_id", pa.string()),
        ("url", pa.string()),
        ("sha256", pa.string()),
        ("parsers", pa.string()),
        ("entries", pa.int32()),
        ("items", pa.int32()),
    ]
)


class ImportedFiles:
    """The writer's side of the file record (see the module docstring)."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    def known(self, source_ids: Sequence[str]) -> dict[tuple[str, str], ImportedFile]:
        """Recorded files of these sources, by (source id, url)."""
        table = pa.table({"id": pa.array(list(source_ids), pa.string())})
        with registered(self._conn, wanted_sources=table):
            rows = self._conn.execute(
                f"SELECT {', '.join(FILES.names)} FROM imported_files "
                "WHERE source_id IN (SELECT id FROM wanted_sources)"
            ).fetchall()
        files = (ImportedFile(*row) for row in rows)
        return {(f.source_id, f.url): f for f in files}

    def record(self, files: Sequence[ImportedFile], run_id: str, now: datetime) -> None:
        """Remember these files as stored by `run_id` (a file imported again is replaced)."""
        if not files:
            return
        columns = {name: [getattr(f, name) for f in files] for name in FILES.names}
        table = pa.table(columns, schema=FILES)
        names = ", ".join(FILES.names)
        updates = ", ".join(
            f"{c} = excluded.{c}" for c in (*FILES.names[2:], "run_id", "imported_at")
        )
        with (
            transaction(self._conn, f"record imported files of run {run_id}"),
            registered(self._conn, staged_files=table),
        ):
            self._conn.execute(
                f"INSERT INTO imported_files ({names}, run_id, imported_at) "
                f"SELECT {names}, $run_id, $now FROM staged_files "
                "QUALIFY row_number() OVER (PARTITION BY source_id, url) = 1 "
                f"ON CONFLICT (source_id, url) DO UPDATE SET {updates}",
                {"run_id": run_id, "now": now},
            )
