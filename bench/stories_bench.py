"""Story grouping benchmark: one night of new items against a large store.

Synthetic items from 50 sources: 60% name 1-3 CVEs (a third of them a "hot" recent CVE, so
stories form), 0.5% are roll-ups of 40-100 CVEs, 40% name none; 5% of the night's items are
edited copies of recent stored items (the text path). Timed in the same process:

- baseline: write_outcomes of the night's items (the store step grouping follows);
- group_pending of the night against the store (the figure the issue asks for);
- the first grouping of the whole store after the migration (the backlog), at two sizes, to see
  how the cost grows with n (wall and CPU seconds, the small size best of three).

    .venv/bin/python bench/stories_bench.py [--stored 200000] [--new 20000] [--json]
    .venv/bin/python bench/stories_bench.py --growth-only 20000   # 20k vs 200k items only
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from techwatch.storage import open_reader, open_writer
from techwatch.stories.run import group_pending
from techwatch.types import ParsedItem, Source, SourceOutcome

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
SOURCES = [
    Source(f"src{i}", f"Source {i}", "feed", f"https://src{i}.example/", "press") for i in range(50)
]
_LETTERS = random.Random(7)
VOCABULARY = [
    "".join(_LETTERS.choices("abcdefghijklmnopqrstuvwxyz", k=_LETTERS.randint(3, 10)))
    for _ in range(20_000)
]
CVE_POOL = 300_000
HOT = 5_000


def make_items(n: int, start: int, days: float, rng: random.Random) -> list[ParsedItem]:
    """`n` items numbered from `start`, published over the `days` before NOW."""
    found: list[ParsedItem] = []
    for k in range(start, start + n):
        draw = rng.random()
        if draw < 0.005:
            cves = rng.sample(range(CVE_POOL), rng.randint(40, 100))
        elif draw < 0.6:
            cves = rng.sample(range(CVE_POOL), rng.randint(1, 3))
            if rng.random() < 0.33:
                cves[0] = rng.randrange(CVE_POOL - HOT, CVE_POOL)
        else:
            cves = []
        text = " ".join(rng.choices(VOCABULARY, k=60))
        source_id = f"src{rng.randrange(len(SOURCES))}"
        found.append(
            ParsedItem(
                source_id=source_id,
                identity=f"entry-{k}",
                url=f"https://{source_id}.example/{k}",
                canonical_url=f"https://{source_id}.example/{k}",
                title=" ".join(rng.choices(VOCABULARY, k=8)),
                text=text,
                html="",
                published=NOW - timedelta(days=rng.random() * days),
                language="en",
                cves=tuple(sorted(f"CVE-2026-{c:06d}" for c in cves)),
                content_hash=f"h{k}",
            )
        )
    return found


def copies(of: Sequence[ParsedItem], n: int, start: int, rng: random.Random) -> list[ParsedItem]:
    """Edited copies of stored items in other sources: a few words changed. A small store may
    hold fewer recent items than copies wanted: then each is copied once."""
    made: list[ParsedItem] = []
    for k, original in enumerate(rng.sample(list(of), min(n, len(of))), start=start):
        words = original.text.split()
        for i in rng.sample(range(len(words)), 3):
            words[i] = rng.choice(VOCABULARY)
        source_id = f"src{(int(original.source_id[3:]) + 1) % len(SOURCES)}"
        made.append(
            replace(
                original,
                source_id=source_id,
                identity=f"copy-{k}",
                url=None,
                canonical_url=None,
                text=" ".join(words),
                cves=(),
                published=NOW,
                content_hash=f"c{k}",
            )
        )
    return made


def write(db: Path, items: Sequence[ParsedItem], now: datetime, run: str) -> float:
    """Store items like the flow (batches of 5,000); returns the seconds it took."""
    t = time.perf_counter()
    for offset in range(0, len(items), 5_000):
        by_source: dict[str, list[ParsedItem]] = {}
        for item in items[offset : offset + 5_000]:
            by_source.setdefault(item.source_id, []).append(item)
        outcomes = [SourceOutcome(s, "ok", now, 0.1, items=tuple(v)) for s, v in by_source.items()]
        with open_writer(db) as writer:
            if offset == 0:
                writer.sync_sources(SOURCES, now)
                writer.begin_run(run, started_at=now, kind="bench", flow_run_id=None)
            writer.write_outcomes(run, outcomes, [], now)
    return time.perf_counter() - t


def backlog(folder: Path, size: int, rng: random.Random, repeats: int = 1) -> tuple[float, float]:
    """Best wall and CPU seconds (all threads) of `repeats` first groupings of a store of
    `size` items, each on a fresh copy: a short run is timed more than once on a noisy host."""
    db = folder / f"backlog-{size}.duckdb"
    write(db, make_items(size, 0, 45, rng), NOW - timedelta(days=1), "backlog")
    wall = cpu = float("inf")
    for n in range(repeats):
        copy = folder / f"backlog-{size}-{n}.duckdb"
        shutil.copy(db, copy)
        t, c = time.perf_counter(), time.process_time()
        group_pending(copy, now=NOW)
        wall = min(wall, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
        copy.unlink()
    return wall, cpu


def growth(folder: Path, small: int, large: int, rng: random.Random) -> dict[str, float]:
    """First groupings of a small and a 10x larger backlog (best of 3 and of 1): n log n
    allows the large one about 10 * log(large) / log(small) times the small one's cost."""
    figures: dict[str, float] = {}
    for size, repeats in ((small, 3), (large, 1)):
        wall, cpu = backlog(folder, size, rng, repeats)
        figures[f"backlog_{size}_s"] = round(wall, 2)
        figures[f"backlog_{size}_cpu_s"] = round(cpu, 2)
    figures["growth_ratio_10x_items"] = round(
        figures[f"backlog_{large}_s"] / figures[f"backlog_{small}_s"], 2
    )
    figures["growth_ratio_cpu"] = round(
        figures[f"backlog_{large}_cpu_s"] / figures[f"backlog_{small}_cpu_s"], 2
    )
    figures["n_log_n_allows"] = round(large / small * math.log(large) / math.log(small), 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stored", type=int, default=200_000)
    parser.add_argument("--new", type=int, default=20_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--growth-only",
        type=int,
        metavar="SMALL",
        help="only time the first grouping of SMALL and 10 x SMALL items",
    )
    args = parser.parse_args()
    rng = random.Random(42)
    figures: dict[str, float | int] = {"stored": args.stored, "new": args.new}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.growth_only:
            figures = dict(growth(folder, args.growth_only, args.growth_only * 10, rng))
            return _show(figures, args.json)
        db = folder / "store.duckdb"
        stored = make_items(args.stored, 0, 45, rng)
        figures["store_write_s"] = round(write(db, stored, NOW - timedelta(days=1), "old"), 2)
        t = time.perf_counter()
        first = group_pending(db, now=NOW - timedelta(days=1))
        figures["backlog_group_s"] = round(time.perf_counter() - t, 2)
        figures["backlog_stories"] = first.new_stories
        recent = [i for i in stored if i.published and i.published > NOW - timedelta(days=3)]
        n_copies = args.new // 20
        night = make_items(args.new - n_copies, args.stored, 1, rng)
        edited = copies(recent, n_copies, args.stored + args.new, rng)
        figures["night_copies"] = len(edited)
        night += edited
        figures["baseline_write_s"] = round(write(db, night, NOW, "night"), 2)
        t = time.perf_counter()
        report = group_pending(db, now=NOW)
        figures["night_group_s"] = round(time.perf_counter() - t, 2)
        figures["night_joined"] = report.joined
        figures["night_merges"] = report.merges
        figures["night_new_stories"] = report.new_stories
        figures["ratio_group_to_write"] = round(
            figures["night_group_s"] / figures["baseline_write_s"], 2
        )
        with open_reader(db) as reader:
            figures["stories"] = len(reader.stories(limit=10_000_000))
        figures.update(growth(folder, args.new // 2, args.new * 5, rng))
    _show(figures, args.json)


def _show(figures: dict[str, float | int], as_json: bool) -> None:
    if as_json:
        print(json.dumps(figures, indent=2))
        return
    for key, value in figures.items():
        print(f"{key:>28}: {value}")


if __name__ == "__main__":
    main()
