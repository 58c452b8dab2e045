"""Story grouping benchmark: one night of new items against a large store.

Synthetic items from 50 sources: 60% name 1-3 CVEs (a third of them a "hot" recent CVE, so
stories form), 0.5% are roll-ups of 40-100 CVEs, 40% name none; 5% of the night's items are
edited copies of recent stored items (the text path). Timed in the same process:

- baseline: write_outcomes of the night's items (the store step grouping follows);
- group_pending of the night against the store (the figure the issue asks for);
- the first grouping of the whole store after the migration (the backlog), at two sizes, to see
  how the cost grows with n: medians of `--repeat` runs per size, the sizes alternated so both
  see the same host load, wall and CPU seconds (all threads) with the 1-minute load.

Which hot CVE an item names (`--hot-pool`):

- sliding (default): the CVEs hot around the item's publication time, a window of HOT_WINDOW
  CVEs that moves by one CVE per ITEMS_PER_HOT_CVE items of the generated span, the newest
  items at the top of the pool (so a night and its store share their recent hot CVEs). Why the
  default: in real data a CVE is hot for a few weeks, so a store that grows over time holds
  more CVEs, not more mentions per CVE; ITEMS_PER_HOT_CVE = 4 keeps the items per hot CVE of
  the former 20k backlog (20,000 items / 5,000 hot CVEs) at every size, a night included.
- fixed: one pool of the HOT latest CVEs whatever the size and span (the workload of sessions
  up to 8). The worst case: items per hot CVE grow with n, so the pairs of items naming the
  same CVE (which grouping must compare, up to MAX_CVE_BUCKET per CVE) grow like n^2 and no
  exact grouping can stay within n log n on it.

Which other CVEs an item names (`--cold-pool`; 1-3 per item, 40-100 for a roll-up):

- scaled (default): drawn from a pool of COLD_PER_ITEM CVEs per item of the span (300,000 for
  20,000 items, the former fixed pool), so items per CVE stay constant as the backlog grows.
  Why: in the real advisories (realdata/advisories imported: KEV, CVE records, CERT-FR,
  CSAF, OSV) new CVEs keep coming, 870-2,400 first named each month of 2025, and a CVE's
  mentions fade: of the mentions after a CVE's first, 30 % come within 30 days, 63 % within
  90, 98 % within a year. So a store that grows over time names more CVEs, not more items
  per CVE: the pairs of items naming one CVE per item (capped as grouping compares them) are
  37 / 83 / 107 / 105 over the 45 / 90 / 180 / 360 days ending 2025-12-31 (30 / 60 / 65
  over 45 / 90 / 180 days ending 2025-09-30): flat once the span passes a few months.
- fixed: one pool of CVE_POOL CVEs whatever the size (sessions up to 8): a backlog 10x larger
  names each CVE more often (all-CVE pairs per item 0.154 -> 0.859 from 20k to 200k items),
  as a store given 10x more sources over the same days would.

    .venv/bin/python bench/stories_bench.py [--stored 200000] [--new 20000] [--json]
    .venv/bin/python bench/stories_bench.py --growth-only 20000 --repeat 3   # 20k vs 200k
    .venv/bin/python bench/stories_bench.py --growth-only 10000 --hot-pool fixed
    .venv/bin/python bench/stories_bench.py --growth-only 20000 --cold-pool fixed  # sessions <= 8
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
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
HOT = 5_000  # the fixed pool: the HOT latest CVEs
ITEMS_PER_HOT_CVE = 4  # sliding pool: one more hot CVE per 4 items (20,000 / HOT, see above)
HOT_WINDOW = 500  # sliding pool: CVEs hot at one time (each for ~2,000 items of the span)
HOT_POOLS = ("sliding", "fixed")
COLD_PER_ITEM = 15  # scaled cold pool: CVEs per item of the span (300,000 for 20,000 items)
COLD_POOLS = ("scaled", "fixed")
MAX_CVE_BUCKET = 64  # grouping.MAX_CVE_BUCKET: pairs past it per CVE are not compared


def sliding_hot_cve(age: float, slot: float, n: int) -> int:
    """The hot CVE of an item `age` (0 newest .. 1 oldest) into a span of `n` items: `slot`
    (0..1) picks among the HOT_WINDOW CVEs hot then; the window starts at the top of the pool
    for the newest items and moves down one CVE per ITEMS_PER_HOT_CVE items of the span."""
    top = CVE_POOL - 1 - int(age * n / ITEMS_PER_HOT_CVE)
    return top - int(slot * HOT_WINDOW)


def make_items(
    n: int,
    start: int,
    days: float,
    rng: random.Random,
    hot_pool: str = "sliding",
    hot_named: Counter[int] | None = None,
    cold_pool: str = "scaled",
) -> list[ParsedItem]:
    """`n` items numbered from `start`, published over the `days` before NOW; their hot CVEs
    come from `hot_pool`, their others from `cold_pool` (see the module docstring), the hot
    ones counted in `hot_named` if given. The fixed pools draw exactly as before the other
    ones existed (same items per seed), and so does the scaled cold pool at 20,000 items."""
    found: list[ParsedItem] = []
    cold = CVE_POOL if cold_pool == "fixed" else COLD_PER_ITEM * n
    for k in range(start, start + n):
        draw = rng.random()
        hot = False
        slot = None
        if draw < 0.005:
            cves = rng.sample(range(cold), rng.randint(40, 100))
        elif draw < 0.6:
            cves = rng.sample(range(cold), rng.randint(1, 3))
            hot = rng.random() < 0.33
            if hot and hot_pool == "fixed":
                cves[0] = rng.randrange(CVE_POOL - HOT, CVE_POOL)
            elif hot:
                slot = rng.random()
        else:
            cves = []
        text = " ".join(rng.choices(VOCABULARY, k=60))
        source_id = f"src{rng.randrange(len(SOURCES))}"
        title = " ".join(rng.choices(VOCABULARY, k=8))
        age = rng.random()
        if slot is not None:
            cves[0] = sliding_hot_cve(age, slot, n)
        if hot and hot_named is not None:
            hot_named[cves[0]] += 1
        found.append(
            ParsedItem(
                source_id=source_id,
                identity=f"entry-{k}",
                url=f"https://{source_id}.example/{k}",
                canonical_url=f"https://{source_id}.example/{k}",
                title=title,
                text=text,
                html="",
                published=NOW - timedelta(days=age * days),
                language="en",
                cves=tuple(sorted(f"CVE-2026-{c:06d}" for c in cves)),
                content_hash=f"h{k}",
            )
        )
    return found


def mention_figures(named: Counter[int] | Counter[str]) -> dict[str, float | int]:
    """How crowded CVEs are: CVEs named, mean and max items per named CVE, and the pairs of
    items naming the same CVE that grouping compares (at most MAX_CVE_BUCKET per CVE: each
    item with the latest ones before it). Pairs per item growing with n is what makes a
    workload quadratic whatever the grouping code does."""
    counts = list(named.values())
    pairs = sum(k * (k - 1) // 2 if k <= MAX_CVE_BUCKET else _capped_pairs(k) for k in counts)
    return {
        "cves": len(counts),
        "items_per_cve": round(sum(counts) / len(counts), 2) if counts else 0.0,
        "max_items_per_cve": max(counts, default=0),
        "pairs": pairs,
    }


def _capped_pairs(k: int) -> int:
    """Pairs compared among `k` items naming one CVE: the i-th with min(i, cap) earlier ones."""
    cap = MAX_CVE_BUCKET
    return cap * (cap - 1) // 2 + (k - cap) * cap


def cve_mentions(items: Iterable[ParsedItem]) -> Counter[str]:
    """Items naming each CVE (hot, other and roll-up CVEs alike: grouping compares them all)."""
    return Counter(cve for item in items for cve in item.cves)


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


def store_backlog(
    folder: Path, size: int, rng: random.Random, hot_pool: str, cold_pool: str
) -> tuple[Path, dict[str, float | int]]:
    """A store of `size` items over 45 days, not grouped yet, and how crowded its CVEs are."""
    db = folder / f"backlog-{size}.duckdb"
    hot_named: Counter[int] = Counter()
    items = make_items(size, 0, 45, rng, hot_pool, hot_named, cold_pool)
    write(db, items, NOW - timedelta(days=1), "backlog")
    figures: dict[str, float | int] = {}
    for kind, named in (("hot", hot_named), ("all", cve_mentions(items))):
        crowding = mention_figures(named)
        crowding["pairs_per_item"] = round(int(crowding["pairs"]) / size, 3)
        for key, value in crowding.items():
            figures[f"backlog_{size}_{kind}_{key}"] = value
    return db, figures


def first_grouping(db: Path) -> tuple[float, float, float]:
    """Wall and CPU seconds (all threads) of the first grouping of a fresh copy of `db`, and
    the 1-minute load average just before it."""
    copy = db.with_name(f"{db.stem}-copy.duckdb")
    shutil.copy(db, copy)
    load = os.getloadavg()[0]
    t, c = time.perf_counter(), time.process_time()
    group_pending(copy, now=NOW)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    copy.unlink()
    return wall, cpu, load


def growth(
    folder: Path,
    small: int,
    large: int,
    rng: random.Random,
    repeats: int,
    hot_pool: str,
    cold_pool: str,
) -> dict[str, float | int | str]:
    """First groupings of a small and a 10x larger backlog, `repeats` of each alternated (both
    sizes see the same host load): medians, their ratio and the spread. n log n allows the
    large one about 10 * log(large) / log(small) times the small one's cost."""
    figures: dict[str, float | int | str] = {
        "hot_pool": hot_pool,
        "cold_pool": cold_pool,
        "repeats": repeats,
    }
    dbs: dict[int, Path] = {}
    for size in (small, large):
        dbs[size], crowding = store_backlog(folder, size, rng, hot_pool, cold_pool)
        figures.update(crowding)
    runs: dict[int, list[tuple[float, float, float]]] = {small: [], large: []}
    for _ in range(repeats):
        for size in (small, large):
            runs[size].append(first_grouping(dbs[size]))
    medians: dict[tuple[int, int], float] = {}
    for size in (small, large):
        walls, cpus, loads = zip(*runs[size], strict=True)
        for index, (suffix, values) in enumerate((("s", walls), ("cpu_s", cpus))):
            medians[size, index] = statistics.median(values)
            figures[f"backlog_{size}_{suffix}"] = round(medians[size, index], 2)
            figures[f"backlog_{size}_{suffix}_range"] = f"{min(values):.2f}-{max(values):.2f}"
        figures[f"backlog_{size}_load_range"] = f"{min(loads):.2f}-{max(loads):.2f}"
    for index, unit in enumerate(("wall", "cpu")):
        figures[f"growth_ratio_{unit}"] = round(medians[large, index] / medians[small, index], 2)
        pairs = [b[index] / a[index] for a, b in zip(runs[small], runs[large], strict=True)]
        figures[f"growth_ratio_{unit}_pairs"] = " ".join(f"{r:.2f}" for r in pairs)
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
    parser.add_argument(
        "--repeat", type=int, default=3, help="first groupings timed per backlog size"
    )
    parser.add_argument(
        "--hot-pool",
        choices=HOT_POOLS,
        default="sliding",
        help="where items draw their hot CVE: sliding (realistic) or fixed (the worst case)",
    )
    parser.add_argument(
        "--cold-pool",
        choices=COLD_POOLS,
        default="scaled",
        help="where items draw their other CVEs: a pool scaled with the span (realistic for a "
        "store growing over time) or fixed (sessions <= 8)",
    )
    args = parser.parse_args()
    rng = random.Random(42)
    figures: dict[str, float | int | str] = {"stored": args.stored, "new": args.new}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.growth_only:
            small = args.growth_only
            figures = growth(
                folder, small, small * 10, rng, args.repeat, args.hot_pool, args.cold_pool
            )
            return _show(figures, args.json)
        db = folder / "store.duckdb"
        stored = make_items(args.stored, 0, 45, rng, args.hot_pool, None, args.cold_pool)
        figures["store_write_s"] = round(write(db, stored, NOW - timedelta(days=1), "old"), 2)
        t = time.perf_counter()
        first = group_pending(db, now=NOW - timedelta(days=1))
        figures["backlog_group_s"] = round(time.perf_counter() - t, 2)
        figures["backlog_stories"] = first.new_stories
        recent = [i for i in stored if i.published and i.published > NOW - timedelta(days=3)]
        n_copies = args.new // 20
        night = make_items(
            args.new - n_copies, args.stored, 1, rng, args.hot_pool, None, args.cold_pool
        )
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
        small = args.new // 2
        figures.update(
            growth(folder, small, small * 10, rng, args.repeat, args.hot_pool, args.cold_pool)
        )
    _show(figures, args.json)


def _show(figures: dict[str, float | int | str], as_json: bool) -> None:
    if as_json:
        print(json.dumps(figures, indent=2))
        return
    for key, value in figures.items():
        print(f"{key:>28}: {value}")


if __name__ == "__main__":
    main()
