"""Enrichment benchmark: CVE table refresh and EPSS loads, as ratios to plain DuckDB baselines.

Builds a store of `--items` items (a fifth of them advisories with facts) naming `--cves`
CVEs, refreshes it fully once, then writes `--touched` new items that name as many CVEs and
times the incremental refresh (dictionary, product recognition, CVE rows). Baseline: the
cheapest CVE table DuckDB can build by itself over the same store (one GROUP BY of all
mentions into a new table), in the same process.

EPSS: a day of `--epss` scores through the writer (history, latest two, one transaction),
a second day, and the first day again; baseline: the same Arrow table inserted into an
empty table. Parsing the gzip CSV and the parse worker's pickling are timed too.

    .venv/bin/python bench/cves_bench.py [--items 200000] [--cves 100000] [--touched 20000]
"""

from __future__ import annotations

import argparse
import gzip
import json
import pickle
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from techwatch.enrich.refresh import refresh
from techwatch.parse.epss import parse_epss
from techwatch.storage import cves, open_writer
from techwatch.types import (
    Affected,
    CvssScore,
    EpssScore,
    KevEntry,
    ParsedItem,
    SourceOutcome,
    VulnFacts,
)

T0 = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
WORDS = [f"word{i}" for i in range(5000)]
VENDORS = [f"Vendor{i}" for i in range(300)]
PRODUCTS = ["Gateway", "FortiThing", "Manager", "Portal", "CloudSync", "Xpress", "DataVault"]
CVSS = CvssScore("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL", "CNA")


def items(first: int, count: int, cve_ids: list[str], rng: random.Random) -> list[ParsedItem]:
    """Press items naming 1-3 CVEs (every CVE of `cve_ids` once at least) and a product;
    every fifth an advisory with its facts."""
    made = []
    for n in range(first, first + count):
        # each CVE named at least once, plus up to two others
        named = tuple(
            dict.fromkeys(
                [cve_ids[(n - first) % len(cve_ids)], *rng.sample(cve_ids, rng.randint(0, 2))]
            )
        )
        vendor, product = rng.choice(VENDORS), rng.choice(PRODUCTS)
        text = f"{vendor} {product}{n % 7} flaw. " + " ".join(rng.choices(WORDS, k=40))
        facts: tuple[VulnFacts, ...] = ()
        source = f"press{n % 20}"
        if n % 5 == 0:
            source = "advisories"
            kev = (
                KevEntry(date(2025, 1, 1), None, "Patch.", None, vendor, product, "X")
                if n % 15 == 0
                else None
            )
            facts = tuple(
                VulnFacts(
                    vuln_id=cve,
                    description=f"{vendor} {product} lets attackers in.",
                    cvss=(CVSS,),
                    cwes=("CWE-787",),
                    affected=(Affected(vendor, f"{product} {n % 4}.0"),),
                    kev=kev,
                )
                for cve in named
            )
        made.append(
            ParsedItem(
                source_id=source,
                identity=f"e{n}",
                url=f"https://{source}.example/{n}",
                canonical_url=None,
                title=f"{vendor} {product} advisory {n}",
                text=text,
                html="",
                published=T0,
                language="en",
                cves=named,
                content_hash=f"h{n}",
                facts=facts,
            )
        )
    return made


def write(db: Path, batch: list[ParsedItem], now: datetime, chunk: int = 20_000) -> None:
    for start in range(0, len(batch), chunk):
        part = batch[start : start + chunk]
        by_source: dict[str, list[ParsedItem]] = {}
        for item in part:
            by_source.setdefault(item.source_id, []).append(item)
        outcomes = [
            SourceOutcome(source_id=s, status="ok", started_at=now, duration_s=0.0, items=tuple(i))
            for s, i in by_source.items()
        ]
        with open_writer(db) as writer:
            writer.write_outcomes("bench", outcomes, [], now)


def baseline_cve_table(db: Path) -> float:
    """Plain SQL: one row per CVE with its items, first sighting and count, from scratch."""
    with duckdb.connect(str(db)) as conn:
        t0 = time.perf_counter()
        conn.execute(
            "CREATE OR REPLACE TABLE baseline_cves AS SELECT cve_id, list(id) AS item_ids, "
            "count(*) AS items, min(first_seen) AS first_seen "
            "FROM (SELECT id, first_seen, unnest(cves) AS cve_id FROM items) GROUP BY cve_id"
        )
        elapsed = time.perf_counter() - t0
        conn.execute("DROP TABLE baseline_cves")
    return elapsed


def bench_refresh(folder: Path, args: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(7)
    db = folder / "cves.duckdb"
    cve_ids = [f"CVE-20{20 + i % 7}-{10000 + i}" for i in range(args.cves)]
    t0 = time.perf_counter()
    write(db, items(0, args.items, cve_ids, rng), T0)
    build_s = time.perf_counter() - t0
    full = refresh(db, since=None, now=T0)

    later = datetime.now(UTC)
    touched = rng.sample(cve_ids, args.touched)
    fresh = items(args.items, args.touched, touched, rng)
    write(db, fresh, later)
    incremental = refresh(db, since=later)
    baseline = baseline_cve_table(db)
    return {
        "store_items": args.items + args.touched,
        "store_cves": args.cves,
        "build_store_s": round(build_s, 2),
        "full_refresh": full.to_dict(),
        "touched_items": incremental.items,
        "touched_cves": incremental.cves,
        "incremental_refresh": incremental.to_dict(),
        "baseline_group_by_all_s": round(baseline, 3),
        "ratio_incremental_to_baseline": round(incremental.seconds / baseline, 1),
        "ratio_full_to_baseline": round(full.seconds / baseline, 1),
    }


def epss_csv(day: date, count: int, rng: random.Random) -> bytes:
    lines = [f"#model_version:v2025.03.14,score_date:{day}T00:00:00+0000", "cve,epss,percentile"]
    lines += [
        f"CVE-{1999 + i % 27}-{10000 + i},{rng.random():.5f},{rng.random():.5f}"
        for i in range(count)
    ]
    return gzip.compress(("\n".join(lines) + "\n").encode())


def timed(action: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    action()
    return time.perf_counter() - t0


def bench_epss(folder: Path, count: int) -> dict[str, object]:
    rng = random.Random(11)
    db = folder / "epss.duckdb"
    day1, day2 = date(2026, 11, 26), date(2026, 11, 27)
    body = epss_csv(day1, count, rng)
    fetched = datetime.now(UTC)
    parse_s = timed(lambda: parse_epss("epss", body, url="bench", fetched_at=fetched))
    scores = parse_epss("epss", body, url="bench", fetched_at=fetched).epss
    blob = pickle.dumps(scores)
    pickle_s = timed(lambda: pickle.loads(pickle.dumps(scores)))
    second = tuple(EpssScore(s.cve_id, s.score / 2, s.percentile, day2) for s in scores)

    def load(rows: tuple[EpssScore, ...]) -> None:
        outcome = SourceOutcome("epss", "ok", fetched, 0.0, epss=rows)
        with open_writer(db) as writer:
            writer.write_outcomes("bench", [outcome], [], fetched)

    with open_writer(db):
        pass  # migrate outside the timings
    day1_s, day2_s, again_s = (
        timed(lambda: load(scores)),
        timed(lambda: load(second)),
        timed(lambda: load(scores)),
    )
    table = cves.stage_epss(scores)
    with duckdb.connect(str(folder / "baseline.duckdb")) as conn:
        conn.execute("CREATE TABLE t (cve_id VARCHAR, date DATE, score DOUBLE, percentile DOUBLE)")
        conn.register("staged", table)
        baseline = timed(lambda: conn.execute("INSERT INTO t SELECT * FROM staged"))
    with duckdb.connect(str(db), read_only=True) as conn:
        rows = conn.execute("SELECT count(*) FROM epss_scores").fetchone()
    return {
        "scores": len(scores),
        "gzip_bytes": len(body),
        "parse_s": round(parse_s, 3),
        "pickle_roundtrip_s": round(pickle_s, 3),
        "pickle_mb": round(len(blob) / 1e6, 1),
        "write_day1_s": round(day1_s, 3),
        "write_day2_s": round(day2_s, 3),
        "rewrite_day1_s": round(again_s, 3),
        "history_rows": rows[0] if rows else 0,
        "db_mb_two_days": round(db.stat().st_size / 1e6, 1),
        "baseline_arrow_insert_s": round(baseline, 3),
        "ratio_day2_to_baseline": round(day2_s / baseline, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--cves", type=int, default=100_000)
    parser.add_argument("--touched", type=int, default=20_000)
    parser.add_argument("--epss", type=int, default=250_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report = {
            "epss": bench_epss(Path(folder), args.epss),
            "refresh": bench_refresh(Path(folder), args),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
