"""The store: all SQL of techwatch, one short-lived writer, read-only readers.

with open_writer(path) as w:      # migrates, waits for the file lock, one unit of work
    w.write_outcomes(run_id, outcomes, states, now)
with open_reader(path) as r:      # read-only; the writer waits while it is open
    r.search("exchange")
"""

from __future__ import annotations

from techwatch.storage.reader import Reader, open_reader
from techwatch.storage.writer import Writer, open_writer

__all__ = ["Reader", "Writer", "open_reader", "open_writer"]
