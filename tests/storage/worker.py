"""A second process for the lock and crash tests (cases 34-36), driven over stdin/stdout.

    python -m tests.storage.worker hold DB rw|ro           open, print "ready", wait for a line
    python -m tests.storage.worker write DB RUN TAG N [pause-mid|hold-after-commit|MODE]

`pause-mid` stops inside write_outcomes, after the items were inserted and before COMMIT, and
prints "mid"; `hold-after-commit` prints "committed" and keeps the connection open;
`unindexed` commits the batch without indexing it (as an ingestion's store stage does) and
prints "committed"; `index-chunks` then indexes it 10 items per transaction and prints
"chunked" once the first chunk is committed. Each waits for a line on stdin (or a SIGKILL).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from techwatch.storage import fts, open_reader, open_writer, writer
from tests.storage.factories import T0, batch, state


def say(word: str) -> None:
    print(word, flush=True)


def hold(db: Path, mode: str) -> None:
    opener = open_writer if mode == "rw" else open_reader
    with opener(db, wait_s=30):
        say("ready")
        sys.stdin.readline()
    say("released")


def pause_mid() -> None:
    """Wrap a step of write_outcomes that runs between BEGIN and COMMIT."""
    original = writer._link_items

    def paused(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        say("mid")
        sys.stdin.readline()

    writer._link_items = paused  # type: ignore[assignment]


def pause_after_first_chunk() -> None:
    """Stop when the second transaction of a chunked index update begins."""
    original = fts.update
    calls = []

    def paused(*args: Any, **kwargs: Any) -> int:
        calls.append(1)
        if len(calls) == 2:
            say("chunked")
            sys.stdin.readline()
        return original(*args, **kwargs)

    fts.update = paused  # type: ignore[assignment]


def write(db: Path, run_id: str, tag: str, n: int, mode: str) -> None:
    if mode == "pause-mid":
        pause_mid()
    if mode == "index-chunks":
        pause_after_first_chunk()
    now = T0 + timedelta(days=1)
    indexed = mode not in ("unindexed", "index-chunks")
    with open_writer(db, wait_s=30) as w:
        w.begin_run(run_id, started_at=now, kind="ingest", flow_run_id=None)
        outcomes = batch(tag, n)
        w.write_outcomes(run_id, outcomes, [state("s1", items_seen=n)], now, index_search=indexed)
        if mode == "unindexed":
            say("committed")
            sys.stdin.readline()
        if mode == "index-chunks":
            w.update_search_index(chunk=10)
        else:
            w.rebuild_search_index()
        if mode == "hold-after-commit":
            say("committed")
            sys.stdin.readline()
    say("done")


def main(argv: list[str]) -> None:
    command, db = argv[0], Path(argv[1])
    if command == "hold":
        hold(db, argv[2])
    else:
        write(db, argv[2], argv[3], int(argv[4]), argv[5] if len(argv) > 5 else "")


if __name__ == "__main__":
    main(sys.argv[1:])
