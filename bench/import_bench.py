"""Import benchmark: the real advisories into a fresh store, with the share of each stage.

Each folder of /work/shared/realdata/advisories that a techwatch parser reads is imported, one
source per folder, into a DuckDB file in a temporary folder: in one run (`import_sources`: one
worker pool, one enrichment, grouping and search-index pass) or, with --per-source, one
`techwatch import` run per source (`import_files`). Reported: files and
items per second over the whole import, and the seconds and share of each stage (read, parse,
store, enrich, stories, close, which indexes the run's items for search; `other` is run
bookkeeping). A full search-index rebuild is timed apart (`fts_s`), for comparison. The same
files are then imported again into the same store (`second_*`: files stored before are
skipped), and the CPU seconds of the process (parent and its DuckDB threads) and of its parse
workers (sampled with psutil every 0.05 s: forkserver children that rusage never reports) are
given next to the wall-clock ones, as the machine is shared. `digest` sums up what the first
import stored (items, facts, CVE rows, products, mentions, stories...; not the times nor the
run bookkeeping): a change meant to be faster only must leave it as it was on main.

    .venv/bin/python bench/import_bench.py [--realdata PATH] [--repeat 1] [--per-source] [--json]

Skips (exit 0, a message on stderr) when the real-data folder is absent.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from techwatch.importer import ImportReport

# techwatch is imported inside the functions, not here: Python 3.11's forkserver workers
# re-import the main script (as __mp_main__), and a script importing the importer at its top
# made each parse worker load the store, grouping and config code (~0.4 s of CPU each) that
# `techwatch import` workers never load (see techwatch/console.py).

REPO = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("TECHWATCH_REALDATA", REPO.parent / "shared" / "realdata"))

#: source id, parser kind, globs under advisories/ (the files that kind reads).
SOURCES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("kev", "cisa-kev", ("cisa-kev/known_exploited_vulnerabilities.json",)),
    ("cve", "cve-json5", ("cve-json5-vulnrichment/*/*.json",)),
    ("certfr", "certfr-json", ("cert-fr-avis/*/*.json",)),
    ("csaf", "csaf", ("csaf-cisa/*-2024/*.json", "csaf/*.json")),
    ("osv", "osv", ("osv-golang-vulndb/*.json", "osv-misc/*.json")),
)


#: Tables of run bookkeeping (times, file paths, parser fingerprint), left out of the digest.
BOOKKEEPING = frozenset({"runs", "run_sources", "imported_files", "schema_migrations"})


def store_digest(db: Path) -> str:
    """A digest of every stored table but BOOKKEEPING, rows sorted, without the columns that
    hold times (TIMESTAMP, DATE columns are kept) or run ids."""
    from techwatch.storage.connection import connect

    digest = hashlib.sha256()
    conn = connect(db, read_only=True, wait_s=5)
    try:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_type = 'BASE TABLE' ORDER BY 1"
        ).fetchall()
        for (table,) in tables:
            if table in BOOKKEEPING:
                continue
            columns = conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' "
                "AND table_name = $t AND data_type NOT LIKE 'TIMESTAMP%' "
                "AND column_name NOT LIKE '%run_id%' ORDER BY ordinal_position",
                {"t": table},
            ).fetchall()
            selected = ", ".join(f'"{c}"' for (c,) in columns)
            rows = conn.execute(f'SELECT {selected} FROM "{table}"').fetchall()
            digest.update(f"{table}:{len(rows)}\n".encode())
            for row in sorted(map(repr, rows)):
                digest.update(row.encode())
    finally:
        conn.close()
    return digest.hexdigest()[:16]


def sources_yaml() -> str:
    entries = "".join(
        f"  - id: {sid}\n    name: {sid}\n    kind: {kind}\n"
        f"    url: https://{sid}.example/\n    category: advisory\n"
        for sid, kind, _ in SOURCES
    )
    return f"sources:\n{entries}"


def run_once(advisories: Path, folder: Path, *, per_source: bool) -> dict[str, object]:
    """One full import into a fresh store; figures of that run."""
    from sampling import ProcessSampler

    from techwatch.config import load_sources
    from techwatch.importer import import_files, import_sources  # before the clock starts
    from techwatch.storage import open_reader, open_writer

    def run() -> list[ImportReport]:
        if per_source:
            return [import_files(db, config, source_id, paths) for source_id, paths in groups]
        return [import_sources(db, config, groups)]

    (folder / "sources.yml").write_text(sources_yaml())
    config = load_sources(folder / "sources.yml")
    db = folder / "store.duckdb"
    stages: Counter[str] = Counter()
    files = parsed = items = 0
    groups = [
        (source_id, sorted(p for g in globs for p in advisories.glob(g)))
        for source_id, _, globs in SOURCES
    ]
    t0, cpu0 = time.perf_counter(), time.process_time()
    with ProcessSampler(interval_s=0.05) as sampled:
        reports = run()
    cpu = time.process_time() - cpu0
    for report in reports:
        files += report.files
        parsed += report.parsed
        items += report.new_items + report.updated_items
        stages.update(report.stage_seconds)
    total = time.perf_counter() - t0
    stages["other"] = total - sum(stages.values())
    digest = store_digest(db)
    t, cpu0 = time.perf_counter(), time.process_time()
    again = run()
    second, second_cpu = time.perf_counter() - t, time.process_time() - cpu0
    t = time.perf_counter()
    with open_writer(db) as writer:
        writer.rebuild_search_index()
    fts = time.perf_counter() - t
    with open_reader(db) as reader:
        stories = len(reader.stories(limit=10_000_000))
    return {
        "files": files,
        "parsed": parsed,
        "items": items,
        "stories": stories,
        "seconds": round(total, 2),
        "parent_cpu_s": round(cpu, 2),
        "workers_cpu_s": round(sampled.children, 2),
        "advisories_per_s": round(parsed / total, 1),
        "items_per_s": round(items / total, 1),
        "stage_seconds": {k: round(v, 2) for k, v in stages.items()},
        "stage_share": {k: round(v / total, 3) for k, v in stages.items()},
        "second_seconds": round(second, 2),
        "second_parent_cpu_s": round(second_cpu, 2),
        "second_files_per_s": round(files / second, 1),
        "second_skipped": sum(r.unchanged_files for r in again),
        "second_new_or_updated": sum(r.new_items + r.updated_items for r in again),
        "fts_s": round(fts, 2),
        "digest": digest,
        "load": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realdata", type=Path, default=REALDATA)
    parser.add_argument("--repeat", type=int, default=1, help="runs; the fastest is reported")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--per-source",
        action="store_true",
        help="one import run per source (as five `techwatch import` commands would)",
    )
    args = parser.parse_args()
    advisories = args.realdata / "advisories"
    if not advisories.is_dir():
        print(f"skipped: no real data at {advisories}", file=sys.stderr)
        return
    runs = []
    for _ in range(max(1, args.repeat)):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(run_once(advisories, Path(tmp), per_source=args.per_source))
    best = min(runs, key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
    best["all_seconds"] = [r["seconds"] for r in runs]
    if args.json:
        print(json.dumps(best, indent=2))
        return
    for key, value in best.items():
        print(f"{key:>18}: {value}")


if __name__ == "__main__":
    main()
