"""Collect-stage benchmark: fetch + parse of N feeds x M entries served with latency from 127.0.0.1.

Runs only `techwatch.collect.Collector`, in batches through one client as the ingestion flow
does, without Prefect or the store: a first run (every feed new, fresh parse workers) and an
unchanged run (every feed answers 304). CPU counts this process and its parse workers, not the
feed server. Figures are absolute; compare them with a run of the same script on the base tree
under the same load (`uptime` is printed next to them).

    .venv/bin/python bench/collect_bench.py [--feeds 500] [--entries 30] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feedgen import add_workload_arguments, start_feed_server
from sampling import ProcessSampler

from techwatch.collect import Collector
from techwatch.parse.pool import ParsePool
from techwatch.types import FetchSettings, Source, SourceState


def _run(sources, states, settings, batch_size: int, workers: int, exclude: set[int]):  # type: ignore[no-untyped-def]
    outcomes = []
    with ProcessSampler(exclude) as cpu:
        t0 = time.perf_counter()
        with (
            ParsePool(workers, settings.parse_timeout_s) as pool,
            Collector(settings, pool) as collector,
        ):
            for start in range(0, len(sources), batch_size):
                batch = sources[start : start + batch_size]
                outcomes += collector.collect(batch, states)
        wall = time.perf_counter() - t0
    return wall, cpu, outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_workload_arguments(parser)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--early-forkserver",
        action="store_true",
        help="start the parse workers' forkserver before the timed runs, as a flow can",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from techwatch.ingest import BATCH_SOURCES

    batch_size = args.batch_size or BATCH_SOURCES
    latency = (args.latency_ms[0] / 1000, args.latency_ms[1] / 1000)
    server, base_url = start_feed_server(args.feeds, args.entries, latency)
    if args.early_forkserver:
        from techwatch.parse.pool import start_forkserver

        start_forkserver()
        time.sleep(2.0)  # what a run's preparation would take meanwhile
    exclude = {c.pid for c in psutil.Process().children(recursive=True)}
    settings = FetchSettings(allow_private_networks=True, concurrency=args.concurrency)
    sources = [
        Source(
            id=f"bench-{i}",
            name=f"Bench feed {i}",
            kind="feed",
            url=f"{base_url}/feed{i}.rss",
            category="press",
        )
        for i in range(args.feeds)
    ]
    first_wall, first_cpu, first = _run(sources, {}, settings, batch_size, args.workers, exclude)
    states = {
        o.source_id: SourceState(
            source_id=o.source_id, url=o.url, etag=o.etag, last_modified=o.last_modified
        )
        for o in first
    }
    second_wall, second_cpu, second = _run(
        sources, states, settings, batch_size, args.workers, exclude
    )
    server.terminate()
    entries = sum(o.entries for o in first)
    figures = {
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "entries": entries,
        "items": sum(len(o.items) for o in first),
        "first_collect_s": round(first_wall, 2),
        "first_cpu_s": round(first_cpu.seconds, 2),
        "first_cpu_main_s": round(first_cpu.own, 2),
        "first_cpu_workers_s": round(first_cpu.children, 2),
        "cpu_ms_per_entry": round(1000 * first_cpu.seconds / max(entries, 1), 3),
        "unchanged_collect_s": round(second_wall, 2),
        "unchanged_cpu_s": round(second_cpu.seconds, 2),
        "unchanged_not_modified": sum(o.status == "not_modified" for o in second),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:<24} {value}")


if __name__ == "__main__":
    main()
