"""Ingestion benchmark: N feeds x M entries served with latency from 127.0.0.1.

Measures techwatch's real Prefect flow (first run, then an unchanged run) and, as a baseline in
the same process and against the same server, the `reader` library updating the same feeds.
Figures are ratios to what was measured in this run: machines here are shared and noisy.

    .venv/bin/python bench/ingest_bench.py [--feeds 500] [--entries 30] [--concurrency 50]

The parse workers' forkserver starts with Prefect's API server, as `techwatch ingest` starts
it (techwatch.cli.runs.run_flow): its imports and language model (~1 s of one core) load while
the server starts, not in the first run.

`--threads` adds the first run's main-process CPU by thread (the flow, the collector's event
loop, pebble's threads, Prefect's, DuckDB's, the sampler's own), for the whole run and by stage
window; the sampler then costs more (~2.7 ms a sample at load 10-12, ~0.5 ms when idle).

`--models DIR` (a folder with a `current` model, e.g. from `techwatch model train --out DIR`)
makes the first run a night that classifies its new items; without it classification is
skipped (no model), as on a store nobody has trained a model for.
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import math
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feedgen import add_workload_arguments, sources_yaml, start_feed_server
from sampling import ProcessSampler, anon_mib


def _timed_flow(
    flow,
    sources_path: Path,
    db_path: Path,
    batch_size: int,
    models: Path | None = None,
    threads: bool = False,
) -> tuple[float, dict, ProcessSampler, float]:  # type: ignore[no-untyped-def]
    """Wall time, report and sampler of one run, and when (seconds into the sampling) its
    preparation ended: the stages' windows start there, after the flow's start-up."""
    # The feed server and Prefect's API server are not part of the ingestion's CPU. The flow
    # runs as `techwatch ingest` runs it (pipelines.local.one_shot).
    from pipelines.local import one_shot
    from techwatch import progress

    planned: list[float] = []

    def on_event(event: str, _: dict) -> None:  # type: ignore[type-arg]
        if event == "planned":
            planned.append(time.perf_counter())

    servers = {c.pid for c in psutil.Process().children(recursive=True)}
    with (
        progress.listening(on_event),
        ProcessSampler(exclude=servers, threads=threads) as cpu,
        one_shot(),
    ):
        t0 = time.perf_counter()
        report = flow(
            sources_path=sources_path,
            db_path=db_path,
            kind="bench",
            force=True,
            batch_size=batch_size,
            models_path=models,
        )
        wall = time.perf_counter() - t0
    return wall, report, cpu, planned[0] - cpu.t0


#: Seconds the API server is given after the first run to finish what it does in reply (its
#: task-run recorder writes every 5 s), before its CPU is read again.
API_SETTLE_S = 6.0


def _api_cpu() -> float:
    """CPU seconds used so far by the Prefect API server that one_shot started."""
    from pipelines.local import api_server_pid

    pid = api_server_pid()
    if pid is None:
        return 0.0
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def _thread_windows(stages: dict[str, float], planned_s: float) -> list[tuple[str, float]]:
    """The run's stages as consecutive windows, anchored at the end of its preparation; collect
    and store alternate (batch k+1 is collected while batch k is stored), so they are one."""
    start_up = planned_s - stages["prepare"]
    windows = [("start-up", start_up), ("prepare", stages["prepare"])]
    windows.append(("collect+store", stages["collect"] + stages["store"]))
    later = [(k, v) for k, v in stages.items() if k not in ("prepare", "collect", "store")]
    return [*windows, *later, ("end", 1e9)]


def _fetch_only(base_url: str, feeds: int, concurrency: int) -> float:
    """Wall time of fetching every feed once with techwatch's client, nothing else."""
    import asyncio
    from datetime import UTC, datetime

    from techwatch.fetch import FeedClient
    from techwatch.types import FetchSettings, Source

    settings = FetchSettings(allow_private_networks=True, concurrency=concurrency)

    async def run() -> float:
        gate = asyncio.Semaphore(concurrency)
        async with FeedClient(settings) as client:

            async def one(i: int) -> None:
                source = Source(
                    id=f"b{i}",
                    name="b",
                    kind="feed",
                    url=f"{base_url}/feed{i}.rss",
                    category="press",
                )
                async with gate:
                    await client.fetch(source, None, datetime.now(UTC))

            t0 = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(feeds)))
            return time.perf_counter() - t0

    return asyncio.run(run())


def _reader_update(base_url: str, feeds: int, workdir: Path, workers: int) -> float:
    from reader import make_reader

    logging.getLogger("reader").setLevel(logging.ERROR)
    reader = make_reader(str(workdir / "reader.sqlite"))
    for i in range(feeds):
        reader.add_feed(f"{base_url}/feed{i}.rss")
    t0 = time.perf_counter()
    reader.update_feeds(workers=workers)
    wall = time.perf_counter() - t0
    reader.close()
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_workload_arguments(parser)
    parser.add_argument("--reader-workers", type=int, default=20)
    parser.add_argument("--skip-reader", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--models", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the store and Prefect home")
    parser.add_argument(
        "--threads",
        action="store_true",
        help="also report the first run's main-process CPU by thread; sampling threads costs "
        "the main process more CPU, so compare CPU only between runs with the same flags",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="techwatch-bench-"))
    if args.keep:
        print(f"store and Prefect home kept in {workdir}", file=sys.stderr)
    else:  # ~50 MB a run; registered first, so it runs after Prefect's own server shutdown
        atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    os.environ.setdefault("PREFECT_HOME", str(workdir / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # A loaded shared machine can take longer than the default 20 s to start the API server.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    latency = (args.latency_ms[0] / 1000, args.latency_ms[1] / 1000)

    server, base_url = start_feed_server(args.feeds, args.entries, latency)
    sources_path = workdir / "sources.yml"
    sources_path.write_text(sources_yaml(base_url, args.feeds, args.concurrency))
    db_path = workdir / "bench.duckdb"

    from prefect import flow

    from pipelines.ingest import ingest_flow
    from pipelines.local import one_shot
    from techwatch.ingest import BATCH_SOURCES

    batch_size = args.batch_size or BATCH_SOURCES

    @flow
    def warm_up() -> int:
        return 1

    from techwatch.parse.pool import start_forkserver

    t0 = time.perf_counter()
    start_forkserver()  # as `techwatch ingest` does (cli.runs.run_flow): while the API starts
    with one_shot():  # the API server the runs will use, started as `techwatch ingest` does
        warm_up()
    prefect_start = time.perf_counter() - t0

    fetch_only = _fetch_only(base_url, args.feeds, args.concurrency)
    info_before = psutil.Process().memory_info()
    rss_before = info_before.rss / 2**20
    api_before = _api_cpu()
    first_wall, first, first_sampled, first_planned = _timed_flow(
        ingest_flow, sources_path, db_path, batch_size, args.models, args.threads
    )
    api_during = _api_cpu() - api_before
    time.sleep(API_SETTLE_S)  # what the API server does after the run in reply to it
    api_after = _api_cpu() - api_before
    first_cpu = first_sampled.seconds
    second_wall, second, _, _ = _timed_flow(
        ingest_flow, sources_path, db_path, batch_size, args.models
    )
    reader_wall = (
        None
        if args.skip_reader
        else _reader_update(base_url, args.feeds, workdir, args.reader_workers)
    )
    server.terminate()

    entries = sum(s["entries"] for s in first["sources"])
    mean_latency = sum(latency) / 2
    ideal_fetch = mean_latency * math.ceil(args.feeds / args.concurrency)
    fetch_wall = first["stage_seconds"].get("collect", 0.0)
    stages = first["stage_seconds"]
    total_stage = sum(stages.values()) or 1.0
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    figures = {
        "feeds": args.feeds,
        "entries": entries,
        "prefect_server_start_s": round(prefect_start, 2),
        # the API server's CPU (not in cpu_s_main_and_workers) during the first run, and
        # until API_SETTLE_S after it (task runs it records in batches, see pipelines/local.py)
        "prefect_server_cpu_first_run_s": (round(api_during, 2), round(api_after, 2)),
        "first_run_s": round(first_wall, 2),
        "first_new_items": first["new_items"],
        "entries_per_s": round(entries / first_wall, 1),
        "cpu_ms_per_entry_all_processes": round(1000 * first_cpu / max(entries, 1), 3),
        "cpu_s_main_and_workers": (round(first_sampled.own, 2), round(first_sampled.children, 2)),
        "fetch_only_wall_s": round(fetch_only, 3),
        "fetch_ideal_s": round(ideal_fetch, 3),
        "fetch_ratio_to_ideal": round(fetch_only / ideal_fetch, 2),
        "collect_wall_s (fetch+parse)": round(fetch_wall, 2),
        "second_run_s": round(second_wall, 2),
        "second_new_items": second["new_items"],
        "second_not_modified": second["status_counts"]["not_modified"],
        "second_stage_seconds": second["stage_seconds"],
        "peak_rss_main_mib": round(peak_self, 1),
        "peak_rss_largest_child_mib": round(peak_children, 1),
        # sampled every 0.1 s during the first run: what the process held before it, its peak,
        # and the largest parse worker (rusage above only sees children that were waited for)
        "rss_before_first_run_mib": round(rss_before, 1),
        "peak_rss_first_run_sampled_mib": round(first_sampled.peak_rss_mib, 1),
        # the same without the mapped libraries' pages: a freshly installed .venv's count more
        # (seen: 242-253 MiB of RSS before the run on a new clone, then 194 in the same venv
        # later; 113 MiB anonymous in both): this figure is the process's own memory
        "anon_before_and_peak_first_run_mib": (
            round(anon_mib(info_before), 1),
            round(first_sampled.peak_anon_mib, 1),
        ),
        "peak_rss_worker_sampled_mib": round(first_sampled.peak_child_rss_mib, 1),
        "stage_seconds": stages,
        # stages run one after the other (the search index runs beside enrich, classify, score)
        "peak_rss_by_stage_mib": first_sampled.peak_by_window(stages.items()),
        "cores_by_stage_main_workers": first_sampled.cores_by_window(stages.items()),
        "classified": (first.get("classification") or {}).get("classified"),
        "stage_share": {k: round(v / total_stage, 3) for k, v in stages.items()},
        "reader_update_s": None if reader_wall is None else round(reader_wall, 2),
        "techwatch_to_reader_ratio": None
        if reader_wall is None
        else round(first_wall / reader_wall, 3),
    }
    if args.threads:
        figures["cpu_by_thread_main"] = first_sampled.threads_by_window([("run", 1e9)])["run"]
        figures["cpu_by_thread_by_stage"] = first_sampled.threads_by_window(
            _thread_windows(stages, first_planned)
        )
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:<34} {value}")


if __name__ == "__main__":
    main()
