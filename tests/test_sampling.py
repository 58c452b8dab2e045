"""The benches' CPU sampler finds every descendant, grandchildren included, and counts them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
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


def test_descendants_looks_only_at_the_main_thread_of_the_pids_given(tmp_path: Path) -> None:
    sampling = load_bench("sampling")
    # 1 started 2 (main thread) and 3 (thread 11); 2 started 4 from its main thread and 5 from
    # thread 21, a thread per connection that never forks in a real server.
    for pid, tid, kids in [(1, 1, "2"), (1, 11, "3"), (2, 2, "4"), (2, 21, "5"), (3, 3, "")]:
        (tmp_path / str(pid) / "task" / str(tid)).mkdir(parents=True, exist_ok=True)
        (tmp_path / str(pid) / "task" / str(tid) / "children").write_text(kids)
    assert sorted(sampling.descendants(1, proc=tmp_path)) == [2, 3, 4, 5]
    assert sorted(sampling.descendants(1, proc=tmp_path, main_thread_only={2})) == [2, 3, 4]


def test_descendants_without_children_lists_defers_to_psutil(tmp_path: Path) -> None:
    sampling = load_bench("sampling")
    (tmp_path / "42" / "task" / "42").mkdir(parents=True)
    assert sampling.descendants(42, proc=tmp_path) is None


def test_sampler_counts_the_cpu_of_grandchildren(
    family: tuple[subprocess.Popen[str], int],
) -> None:
    sampling = load_bench("sampling")
    child, grandchild = family
    with sampling.ProcessSampler(interval_s=0.05) as cpu:
        _burn(child, grandchild)
    assert cpu.children >= 0.7  # 0.4 s each: the child alone cannot reach it
    assert cpu.peak_child_rss_mib > 0


def test_sampler_counts_what_an_excluded_process_started_from_its_main_thread(
    family: tuple[subprocess.Popen[str], int],
) -> None:
    # as the workers of a forkserver that outlives a run (the bench's second run)
    sampling = load_bench("sampling")
    child, grandchild = family
    with sampling.ProcessSampler(exclude={child.pid}, interval_s=0.05) as cpu:
        _burn(child, grandchild)
    assert 0.35 <= cpu.children < 0.7  # the grandchild's 0.4 s, not the child's


def _burn(child: subprocess.Popen[str], grandchild: int) -> None:
    """Tell the family to burn, and return once both did (and the sampler saw it).

    Each waits for its own 0.4 s (less a clock tick of rounding): waiting for their sum to
    pass 0.85 s counted on 0.05 s of interpreter start-up, which a fast start did not give,
    and the loop then waited until the grandchild had slept its 30 s and gone."""
    assert child.stdin is not None
    burners = [psutil.Process(child.pid), psutil.Process(grandchild)]
    child.stdin.write("go\n")
    child.stdin.flush()
    deadline = time.monotonic() + 25  # a loaded machine is slow; the grandchild stays 30 s
    while any(sum(p.cpu_times()[:2]) < 0.39 for p in burners):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.15)  # one more sample


def test_cores_by_window_tells_busy_from_idle_stages() -> None:
    sampler = load_bench("sampling").ProcessSampler()
    # 0-2 s: main busy, workers busy; 2-4 s: main busy, workers idle; 4-4.05 s: one sample.
    sampler.cpu_trace = [(0.0, 0.0, 0.0), (1.0, 1.0, 1.8), (1.9, 1.9, 3.6), (2.0, 2.0, 3.6)]
    sampler.cpu_trace += [(3.0, 3.0, 3.6), (3.9, 3.9, 3.6), (4.0, 4.0, 3.6)]
    cores = sampler.cores_by_window([("collect", 2.0), ("stories", 2.0), ("finish", 0.05)])
    assert cores["collect"] == (1.0, 1.89)
    assert cores["stories"] == (1.0, 0.0)
    assert cores["finish"] is None


def test_threads_by_window_counts_each_role_within_each_window() -> None:
    sampler = load_bench("sampling").ProcessSampler()
    sampler.thread_roles = {1: "MainThread", 2: "collect", 3: "ThreadPoolExecutor-N_N"}
    sampler.thread_roles[4] = "ThreadPoolExecutor-N_N"
    # 0-2 s: main and collect busy, collect then ends; 2-4 s: two pool threads, one born late.
    sampler.thread_trace = [(0.0, {1: 1.0, 2: 0.5}), (1.0, {1: 1.5, 2: 1.0}), (1.5, {1: 1.8})]
    sampler.thread_trace += [(2.0, {1: 2.0, 3: 0.0}), (3.0, {1: 2.1, 3: 0.7, 4: 0.3})]
    table = sampler.threads_by_window([("collect", 2.0), ("stories", 2.0), ("end", 9.0)])
    assert table["collect"] == {"MainThread": 0.8, "collect": 0.5}
    assert table["stories"] == {"ThreadPoolExecutor-N_N": 1.0, "MainThread": 0.1}
    assert table["end"] == {}


def test_thread_sampling_names_a_thread_first_seen_before_python_knew_it() -> None:
    sampler = load_bench("sampling").ProcessSampler(threads=True)
    release = threading.Event()
    probe = threading.Thread(target=release.wait, name="probe-7")
    probe.start()
    try:
        assert probe.native_id is not None
        sampler.thread_roles[probe.native_id] = "native:python"  # listed by the kernel first
        sampler._sample()
    finally:
        release.set()
        probe.join()
    assert sampler.thread_roles[probe.native_id] == "probe-N"
    assert probe.native_id in sampler.thread_trace[-1][1]


def test_thread_role_folds_numbers_and_names_native_threads(tmp_path: Path) -> None:
    sampling = load_bench("sampling")
    (tmp_path / "self" / "task" / "7").mkdir(parents=True)
    (tmp_path / "self" / "task" / "7" / "comm").write_text("duckdb\n")
    names = {5: "Thread-12 (message_manager_loop)"}
    assert sampling.thread_role(5, names, proc=tmp_path) == "Thread-N (message_manager_loop)"
    assert sampling.thread_role(7, names, proc=tmp_path) == "native:duckdb"
    assert sampling.thread_role(8, names, proc=tmp_path) == "native:?"


def test_peak_by_window_takes_each_stage_its_own_samples() -> None:
    sampler = load_bench("sampling").ProcessSampler()
    sampler.trace = [(0.0, 200.0), (0.9, 310.0), (1.0, 250.0), (1.5, 420.04), (2.5, 999.0)]
    peaks = sampler.peak_by_window([("collect", 1.0), ("store", 1.0), ("finish", 0.4)])
    assert peaks == {"collect": 310.0, "store": 420.0, "finish": None}
