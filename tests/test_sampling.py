"""The benches' CPU sampler finds every descendant, grandchildren included, and counts them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.benches import load_bench

# A child that starts a grandchild; on "go" both burn 0.4 s of CPU, then the child waits.
_BURN = "end = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
_GRANDCHILD = f"import sys, time\nsys.stdin.readline()\n{_BURN}time.sleep(30)\n"
_CHILD = f"""
import subprocess, sys, time
grandchild = subprocess.Popen([sys.executable, "-c", {_GRANDCHILD!r}], stdin=subprocess.PIPE)
print(grandchild.pid, flush=True)
sys.stdin.readline()
grandchild.stdin.write(b"go\\n")
grandchild.stdin.flush()
{_BURN}grandchild.wait()
"""


@pytest.fixture
def family() -> Iterator[tuple[subprocess.Popen[str], int]]:
    with subprocess.Popen(
        [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        grandchild = int(child.stdout.readline())
        try:
            yield child, grandchild
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(grandchild, signal.SIGKILL)
            child.kill()


def test_descendants_lists_children_and_grandchildren(
    family: tuple[subprocess.Popen[str], int],
) -> None:
    sampling = load_bench("sampling")
    child, grandchild = family
    found = sampling.descendants(sampling.os.getpid())
    if found is None:
        pytest.skip("this kernel has no /proc/PID/task/TID/children lists")
    assert {child.pid, grandchild} <= set(found)
    assert sampling.descendants(grandchild) == []


def test_descendants_without_children_lists_defers_to_psutil(tmp_path: Path) -> None:
    sampling = load_bench("sampling")
    (tmp_path / "42" / "task" / "42").mkdir(parents=True)
    assert sampling.descendants(42, proc=tmp_path) is None


def test_sampler_counts_the_cpu_of_grandchildren(
    family: tuple[subprocess.Popen[str], int],
) -> None:
    sampling = load_bench("sampling")
    child, grandchild = family
    assert child.stdin is not None
    burners = [psutil.Process(child.pid), psutil.Process(grandchild)]
    with sampling.ProcessSampler(interval_s=0.05) as cpu:
        child.stdin.write("go\n")
        child.stdin.flush()
        deadline = time.monotonic() + 60  # a loaded machine is slow
        while sum(sum(p.cpu_times()[:2]) for p in burners) < 0.85:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.15)  # one more sample
    assert cpu.children >= 0.7  # 0.4 s each: the child alone cannot reach it
    assert cpu.peak_child_rss_mib > 0


def test_cores_by_window_tells_busy_from_idle_stages() -> None:
    sampler = load_bench("sampling").ProcessSampler()
    # 0-2 s: main busy, workers busy; 2-4 s: main busy, workers idle; 4-4.05 s: one sample.
    sampler.cpu_trace = [(0.0, 0.0, 0.0), (1.0, 1.0, 1.8), (1.9, 1.9, 3.6), (2.0, 2.0, 3.6)]
    sampler.cpu_trace += [(3.0, 3.0, 3.6), (3.9, 3.9, 3.6), (4.0, 4.0, 3.6)]
    cores = sampler.cores_by_window([("collect", 2.0), ("stories", 2.0), ("finish", 0.05)])
    assert cores["collect"] == (1.0, 1.89)
    assert cores["stories"] == (1.0, 0.0)
    assert cores["finish"] is None


def test_peak_by_window_takes_each_stage_its_own_samples() -> None:
    sampler = load_bench("sampling").ProcessSampler()
    sampler.trace = [(0.0, 200.0), (0.9, 310.0), (1.0, 250.0), (1.5, 420.04), (2.5, 999.0)]
    peaks = sampler.peak_by_window([("collect", 1.0), ("store", 1.0), ("finish", 0.4)])
    assert peaks == {"collect": 310.0, "store": 420.0, "finish": None}
