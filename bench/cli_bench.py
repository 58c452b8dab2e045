"""CLI benchmark: how long a consultant waits for everyday queries, as fresh processes.

Each command runs as `python -m techwatch ...` against a store filled by the demo's ingestion
(built once in a temporary folder, or given with --home), `--repeat` times, alternating with a
baseline measured in the same run: a Python process that imports only the libraries any store
query needs (typer, rich, duckdb, pyarrow). Reported per command: median wall seconds, the
median ratio to that baseline (1.0 = nothing but the unavoidable imports) and the peak RSS.
With --code DIR the commands run the techwatch package found in DIR (e.g. a worktree of an
older commit) instead of this one, so two versions can be compared in one session.

    .venv/bin/python bench/cli_bench.py [--home DIR] [--repeat 7] [--code DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: What a consultant types most, read-only: listings and one-item views of the store.
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("items", "list", "--limit", "20"),
    ("items", "search", "ransomware"),
    ("stories", "list"),
    ("cves", "list", "--kev"),
    ("sources", "health"),
    ("runs", "list"),
    ("db", "info"),
    ("mail", "outbox"),
    ("search", "ransomware"),
    ("portfolio",),
)
BASELINE = "import typer, rich.console, duckdb, pyarrow"


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one fresh process, which must exit with 0."""
    with tempfile.TemporaryFile() as errors:
        t = time.perf_counter()
        child = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)  # its own rusage, not all children's
        wall = time.perf_counter() - t
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            errors.seek(0)
            tail = errors.read()[-2000:].decode(errors="replace")
            raise SystemExit(f"{' '.join(argv)} failed ({child.returncode}): {tail}")
    return wall, usage.ru_maxrss / 1024


def _demo_home(folder: Path, env: dict[str, str]) -> Path:
    """A home whose store holds the demo's night (its ingestion, stories and briefings)."""
    subprocess.run(
        [sys.executable, "-m", "techwatch", "demo"],
        env=env,
        cwd=folder,
        check=True,
        capture_output=True,
    )
    return folder


def measure(home: Path, repeat: int, env: dict[str, str]) -> dict[str, object]:
    """Median seconds, ratio to the baseline and peak RSS of each command."""
    clients = ["--clients", str(home / "var" / "demo" / "clients")]
    results: dict[str, object] = {}
    for command in COMMANDS:
        argv = [sys.executable, "-m", "techwatch", *command]
        if command[0] == "portfolio":
            argv += clients
        walls, ratios, peaks = [], [], []
        for _ in range(repeat):
            base, _ = _run([sys.executable, "-c", BASELINE], env, home)
            wall, peak = _run(argv, env, home)
            walls.append(wall)
            ratios.append(wall / base)
            peaks.append(peak)
        results[" ".join(command)] = {
            "median_s": round(statistics.median(walls), 3),
            "ratio_to_baseline": round(statistics.median(ratios), 2),
            "peak_rss_mib": round(max(peaks), 1),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="a home with var/techwatch.duckdb filled")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--code", type=Path, help="run the techwatch package of this folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.code:
        env["PYTHONPATH"] = str(args.code.resolve())
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or _demo_home(Path(tmp), env)
        results = measure(home.resolve(), max(1, args.repeat), env)
    report = {
        "baseline": BASELINE,
        "code": str(args.code or REPO),
        "load": round(os.getloadavg()[0], 2),
        "commands": results,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"baseline: python -c {BASELINE!r}; load {report['load']}")
    for name, figures in results.items():
        print(f"{name:>24}: {figures}")


if __name__ == "__main__":
    main()
