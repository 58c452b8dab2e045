"""Store benchmark: write_outcomes throughput as a ratio to a plain Arrow insert into DuckDB.

The baseline inserts the very same Arrow table into an empty DuckDB file with nothing else
(no key lookups, no links, no run rows), in the same process, so the ratio says what techwatch's
bookkeeping costs on this machine whatever its speed. Also timed: an unchanged re-write, a
re-write with 10% of the items edited, the search index build, one search, and a night: `--night`
new items written, then indexed as ingestion's `index_search` does on a store already indexed.

`--first-run` times instead a first ingestion run's store stage on a new store: `--night` items
of 500 sources (30 each, as issue 2's bench), stored as the flow stores them (`ingest.store_due`)
once as before session 16 (batches of 100 sources, writes of at least 3,000 items) and once as
now (ingest.BATCH_SOURCES, STORE_MIN_ITEMS: a row group), alternated `--repeat` times; CPU and
wall seconds of each, and their ratios. Session 16, --night 15000, 3 pairs at load 5.8 (with
100-source batches, 5 writes -> 3): CPU 1.78 1.66 1.50 -> 1.13 1.16 1.12 s (ratios 0.64-0.75),
wall 4.15 3.61 3.37 -> 2.68 2.87 2.05 s (0.61-0.80).

    .venv/bin/python bench/storage_bench.py [--items 50000] [--sources 50] [--words 120]
    .venv/bin/python bench/storage_bench.py --first-run [--night 15000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sampling import ProcessSampler

from techwatch import ingest
from techwatch.storage import open_reader, open_writer, staging
from techwatch.types import ParsedItem, SourceOutcome

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
VOCABULARY = [f"word{i}" for i in range(20_000)]


def outcomes(items: int, sources: int, words: int, rng: random.Random) -> list[SourceOutcome]:
    """`items` items spread over `sources` sources, texts drawn from a fixed vocabulary."""
    per_source: dict[str, list[ParsedItem]] = {f"src{i}": [] for i in range(sources)}
    for n in range(items):
        source_id = f"src{n % sources}"
        text = " ".join(rng.choices(VOCABULARY, k=words))
        per_source[source_id].append(
            ParsedItem(
                source_id=source_id,
                identity=f"entry-{n}",
                url=f"https://{source_id}.example/{n}",
                canonical_url=f"https://story.example/{n // 2}",  # every story in two feeds
                title=" ".join(rng.choices(VOCABULARY, k=8)),
                text=text,
                html=f"<p>{text}</p>",
                published=NOW - timedelta(minutes=n),
                language="en",
                authors=("Ada",),
                cves=(f"CVE-2026-{n:05d}",),
                content_hash=f"h{n}",
            )
        )
    return [
        SourceOutcome(source_id=s, status="ok", started_at=NOW, duration_s=1.0, items=tuple(i))
        for s, i in per_source.items()
    ]


def edited(batch: list[SourceOutcome], share: float) -> list[SourceOutcome]:
    """The same batch with `share` of each source's items carrying a new body."""
    result = []
    for o in batch:
        cut = int(len(o.items) * share)
        changed = tuple(
            replace(i, text=i.text + " edit", content_hash=i.content_hash + "e")
            for i in o.items[:cut]
        )
        result.append(replace(o, items=changed + o.items[cut:]))
    return result


def renamed(batch: list[SourceOutcome], tag: str) -> list[SourceOutcome]:
    """The same items as new ones: other identities and URLs, the same texts."""
    return [
        replace(
            o,
            items=tuple(
                replace(i, identity=f"{i.identity}-{tag}", url=f"{i.url}-{tag}") for i in o.items
            ),
        )
        for o in batch
    ]


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def baseline(folder: Path, batch: list[SourceOutcome]) -> float:
    """Seconds to insert the staged Arrow table into a new DuckDB file, nothing more."""
    table = staging.stage_items(staging.unique_items(batch))
    conn = duckdb.connect(str(folder / "baseline.duckdb"))
    try:
        return timed(lambda: conn.from_arrow(table).create("items"))
    finally:
        conn.close()


def write(db: Path, batch: list[SourceOutcome], now: datetime) -> float:
    """Seconds for one write_outcomes call (opening and closing included, as in a run)."""

    def run() -> None:
        with open_writer(db) as w:
            w.write_outcomes("bench", batch, [], now)

    return timed(run)


def first_run(
    folder: Path, night: list[SourceOutcome], sources: int, min_items: int
) -> tuple[float, float]:
    """(wall, CPU) seconds of a new store's writes, made as the flow makes them: a write once
    the sources collected (`sources` at a time) hold `min_items` items, and one at the end."""
    db = folder / f"first-{min_items}.duckdb"
    with open_writer(db):
        pass  # schema created outside the timings
    wall = cpu = 0.0
    unstored: list[SourceOutcome] = []
    for start in range(0, len(night), sources):
        unstored.extend(night[start : start + sources])
        if start + sources < len(night) and not ingest.store_due(unstored, min_items):
            continue
        batch, unstored = unstored, []
        cpu_before = cpu_s()
        wall += timed(lambda batch=batch: _store(db, batch))
        cpu += cpu_s() - cpu_before
    db.unlink()
    return wall, cpu


def _store(db: Path, batch: list[SourceOutcome]) -> None:
    """One write as ingest.store_batch makes it (its own open, one DuckDB thread)."""
    with open_writer(db, threads=ingest.STORE_THREADS) as w:
        w.write_outcomes("first", batch, [], NOW, index_search=False)


def compare_first_runs(night_items: int, words: int, repeat: int) -> dict[str, object]:
    """Writes as before session 16 against writes as now, alternated (see the docstring)."""
    night = outcomes(night_items, 500, words, random.Random(7))
    sizes = ((100, 3000), (ingest.BATCH_SOURCES, ingest.STORE_MIN_ITEMS))
    runs: dict[tuple[int, int], list[tuple[float, float]]] = {size: [] for size in sizes}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            for size in sizes:
                runs[size].append(first_run(Path(tmp), night, *size))
    old, new = (runs[size] for size in sizes)
    return {
        "night_items": night_items,
        "sources_and_min_items": sizes,
        "wall_s": [[round(w, 2) for w, _ in runs[size]] for size in sizes],
        "cpu_s": [[round(c, 2) for _, c in runs[size]] for size in sizes],
        "cpu_ratios": [round(n[1] / o[1], 2) for o, n in zip(old, new, strict=True)],
        "wall_ratios": [round(n[0] / o[0], 2) for o, n in zip(old, new, strict=True)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--words", type=int, default=120, help="words per item text")
    parser.add_argument("--night", type=int, default=15_000, help="new items of the night")
    parser.add_argument("--first-run", action="store_true", help="time a first run's writes")
    parser.add_argument("--repeat", type=int, default=3, help="pairs for --first-run")
    args = parser.parse_args()
    if args.first_run:
        print(json.dumps(compare_first_runs(args.night, args.words, args.repeat), indent=2))
        return
    batch = outcomes(args.items, args.sources, args.words, random.Random(42))
    night = renamed(outcomes(args.night, args.sources, args.words, random.Random(7)), "night")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = folder / "techwatch.duckdb"
        with open_writer(db):
            pass  # schema created outside the timings
        base_s = baseline(folder, batch)
        first_s = write(db, batch, NOW)
        same_s = write(db, batch, NOW + timedelta(days=1))
        edit_s = write(db, edited(batch, 0.1), NOW + timedelta(days=2))

        def rebuild() -> None:
            with open_writer(db) as w:
                w.rebuild_search_index()

        index_s = timed(rebuild)
        with open_reader(db) as r:
            search_s = timed(lambda: r.search("word17 word42"))
        with open_writer(db) as w:
            w.write_outcomes("night", night, [], NOW + timedelta(days=3), index_search=False)
        cpu_before = cpu_s()
        with ProcessSampler(interval_s=0.02) as memory:
            night_index_s = timed(lambda: ingest.index_search(db))
        night_index_cpu_s = cpu_s() - cpu_before
        with open_reader(db) as r:
            search_after_night_s = timed(lambda: r.search("word17 word42"))

    n = args.items
    print(
        json.dumps(
            {
                "items": n,
                "baseline_rows_per_s": round(n / base_s),
                "first_write_rows_per_s": round(n / first_s),
                "first_write_vs_baseline": round(base_s / first_s, 3),
                "unchanged_write_vs_baseline": round(base_s / same_s, 3),
                "ten_percent_edited_write_vs_baseline": round(base_s / edit_s, 3),
                "index_build_s": round(index_s, 2),
                "index_build_s_per_10k_items": round(index_s / n * 10_000, 2),
                "search_s": round(search_s, 3),
                "night_items": args.night,
                "night_index_s": round(night_index_s, 2),
                "night_index_cpu_s": round(night_index_cpu_s, 2),
                # The index's memory over what the process held when it started.
                "night_index_peak_rss_over_start_mib": round(
                    memory.peak_rss_mib - memory.trace[0][1], 1
                ),
                "search_after_night_s": round(search_after_night_s, 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
