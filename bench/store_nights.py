"""Store memory over many nights: the peak of each night's writes as the store grows.

The ingestion bench measures one night on an empty store; a store of months behaves
differently, because DuckDB's checkpoint merges ("vacuums") a table's small row groups and a
merge holds every row it rewrites in memory. This replays nights as the flow writes them
(`ingest.prepare_run`, then `ingest.store_batch` per batch of 100 sources; every source
publishes `--new` new entries a night and edits `--updated` of its window), and prints, per
reported night, the peak RSS that the prepare and each write added over the process's RSS
before it, the items table's row groups and the file size.

`--config key=value` overrides a DuckDB setting of storage.connection.CONFIG for the whole
replay (for example `max_vacuum_tasks=0`), to compare checkpoint policies on the same nights.
Session 12, defaults (500 sources, 3 new and 2 edited entries each a night; 20 nights, load ~2):

    policy                      writes' peak added       row groups / file after night 20
    vacuum on (today)           41-134 MiB, +297 night 10       4 / 107.3 MiB
    max_vacuum_tasks=0          25-130 MiB                    100 / 137.3 MiB (5 a night)

Vacuum on, one write of night 10 merged 28,500 items' row groups (+297 MiB, 1.3 s; engineer
M's 30-night replay: +301 night 10, +314 night 30): the merge grows with the store. Vacuum off
keeps every write small but appends a row group per write for ever (300 rows each, compressed
as such): +28 % on disk at night 20, and growing.

`--row-group-size N` overrides storage.connection.ROW_GROUP_SIZE (the ATTACH option that sets
rows per row group). Session 13, 20 nights, every write's added peak (load 4-9):

    rows per group        largest writes (MiB)         writes > 200 MiB   night 20: groups / file
    122,880 (DuckDB's)    409 403 394 295 293 287      3 a run (3 runs)     4 / 106.5-110.8 MiB
    16,384                304 258 225 204 203          5                    4 / 85.5 MiB
    8,192                 257 239 219 218 214          6                    6 / 95.8 MiB
    4,096 (chosen)        178 175 166 165 163          0 (3 runs)          12 / 77.5-79.0 MiB

The cost, 4,096 vs the default run one after the other at load 0.5-1: writes' seconds summed
54.9 vs 52.4 (1.05), CPU 105 vs 98 s (1.08); side by side at load 8: 126.5 vs 128.1. A merge
rewrites up to a few row groups, and an items row holds its html and text: 16,384 rows of it
still make merges of the whole 20-night store.

    .venv/bin/python bench/store_nights.py [--nights 30] [--report 1,5,10,20,30]
        [--sources 500] [--config max_vacuum_tasks=0] [--row-group-size 4096] [--db PATH]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feedgen import entry_html

from techwatch import ingest
from techwatch.storage import connection, open_writer
from techwatch.types import FetchSettings, ParsedItem, Source, SourceOutcome

T0 = datetime(2026, 11, 1, 3, tzinfo=UTC)
WINDOW = 30  # entries a feed shows
_TAG = re.compile(r"<[^>]+>")


def status_mib(field: str) -> float:
    """A memory field of /proc/self/status in MiB: VmRSS (now) or VmHWM (the peak since the
    last reset_peak, exact where sampling would miss a checkpoint's short spike)."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


def reset_peak() -> None:
    """Reset VmHWM to the current RSS, so each write's own peak is measured."""
    Path("/proc/self/clear_refs").write_text("5")


def entry(source: int, k: int, version: int) -> ParsedItem:
    rng = random.Random(source * 1_000_003 + k * 7 + version)
    html = entry_html(rng, rng.randint(1000, 3000))
    url = f"https://n{source}.example/a/{k}"
    return ParsedItem(
        source_id=f"b{source}",
        identity=f"e{k}",
        url=url,
        canonical_url=url,
        title=f"title {source} {k} v{version}",
        text=_TAG.sub(" ", html),
        html=html,
        published=T0 + timedelta(hours=k),
        language="en",
        authors=("Ada",),
        cves=(),
        content_hash=f"h{source}-{k}-{version}",
    )


def night_outcomes(night: int, sources: int, new: int, updated: int) -> list[SourceOutcome]:
    """Each feed's window on `night`: `new` entries more than yesterday, its oldest `updated`
    entries edited (a new version each night)."""
    first = (night - 1) * new
    now = T0 + timedelta(days=night)
    return [
        SourceOutcome(
            source_id=f"b{s}",
            status="ok",
            started_at=now,
            duration_s=0.1,
            items=tuple(
                entry(s, k, night if night > 1 and k < first + updated else 0)
                for k in range(first, first + WINDOW)
            ),
        )
        for s in range(sources)
    ]


def layout(db: Path) -> dict[str, Any]:
    conn = connection.connect(db, read_only=True, wait_s=5)
    try:
        groups = conn.execute(
            "SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('items')"
        ).fetchone()
        rows = conn.execute("SELECT count(*) FROM items").fetchone()
    finally:
        conn.close()
    return {
        "row_groups": groups[0] if groups else 0,
        "items": rows[0] if rows else 0,
        "file_mib": round(db.stat().st_size / 2**20, 1),
    }


def run(db: Path, nights: int, report: set[int], sources: int, new: int, updated: int) -> None:
    catalogue = [
        Source(
            id=f"b{s}",
            name=f"B{s}",
            kind="feed",
            url=f"https://n{s}.example/feed",
            category="press",
        )
        for s in range(sources)
    ]
    settings = FetchSettings()
    with open_writer(db) as writer:
        writer.sync_sources(catalogue, T0)
    for night in range(1, nights + 1):
        now = T0 + timedelta(days=night)
        outcomes = night_outcomes(night, sources, new, updated)
        peaks: list[int] = []
        seconds: list[float] = []
        before = status_mib("VmRSS")
        reset_peak()
        started = time.perf_counter()
        ingest.prepare_run(db, catalogue, now=now, kind="bench")
        seconds.append(round(time.perf_counter() - started, 2))
        peaks.append(round(status_mib("VmHWM") - before))
        for batch in ingest.batches(outcomes, 100):
            before = status_mib("VmRSS")
            reset_peak()
            started = time.perf_counter()
            ingest.store_batch(db, f"run{night}", catalogue, batch, {}, settings, now=now)
            seconds.append(round(time.perf_counter() - started, 2))
            peaks.append(round(status_mib("VmHWM") - before))
        if night in report:
            line = {"night": night, "peak_added_mib": peaks, "seconds": seconds, **layout(db)}
            print(json.dumps(line), flush=True)


def parse_config(pairs: list[str]) -> dict[str, str]:
    settings: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--config expects key=value, got {pair!r}")
        settings[key] = value
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--report", default="1,5,10,20,30", help="nights to print")
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--new", type=int, default=3, help="new entries per feed and night")
    parser.add_argument("--updated", type=int, default=2, help="edited entries per feed/night")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--row-group-size", type=int, default=connection.ROW_GROUP_SIZE, help="rows per group"
    )
    parser.add_argument("--db", type=Path, help="store to create (default: a temporary one)")
    args = parser.parse_args()
    connection.CONFIG.update(parse_config(args.config))
    connection.ROW_GROUP_SIZE = args.row_group_size
    report = {int(n) for n in args.report.split(",") if n}
    if args.db is not None:
        run(args.db, args.nights, report, args.sources, args.new, args.updated)
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "nights.duckdb"
        run(db, args.nights, report, args.sources, args.new, args.updated)


if __name__ == "__main__":
    main()
