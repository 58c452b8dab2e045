"""CPU and memory of a benchmark's process and its descendants, sampled while a run lasts.

Parse workers are forkserver grandchildren that exit with the run: rusage never reports them,
so their CPU is sampled while they live (the last sample of each counts), from what each had
used when sampling began: a forkserver that outlives a run is not counted again in the next.

Descendants are found through Linux's /proc/PID/task/TID/children lists: psutil's
`children(recursive=True)` reads every process's status on the machine at each sample
(2.5 ms of CPU, 2.5-5 % of a core at 10-20 samples a second, counted in the measured
process's own CPU), the lists 0.16 ms. Without them (other kernels) psutil's walk is used.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import psutil

_PROC = Path("/proc")
#: A trace sample: its time (seconds since entry) first, then what was measured.
_Sample = tuple[float, ...]


def descendants(pid: int, proc: Path = _PROC) -> list[int] | None:
    """Pids of every descendant of `pid`, from the kernel's children lists; None when this
    system has none (then ask psutil). A process that exits meanwhile is skipped."""
    if not (proc / str(pid) / "task" / str(pid) / "children").exists():
        return None
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            threads = os.listdir(proc / str(parent) / "task")
        except OSError:
            continue
        for tid in threads:
            try:
                kids = (proc / str(parent) / "task" / tid / "children").read_text().split()
            except OSError:
                continue
            found.extend(map(int, kids))
            todo.extend(map(int, kids))
    return found


class ProcessSampler:
    """`own`, `children` and `seconds` (their sum) of CPU, and peak RSS of this process and of
    its largest descendant, for the duration of a `with` block. `exclude`: pids not to count
    (servers the benchmark started before the run). `trace`: (seconds since entry, RSS MiB) of
    this process at every sample, to tell which stage the peak belongs to; `cpu_trace`:
    (seconds since entry, own CPU, descendants' CPU) at every sample, to tell how many cores
    each stage kept busy."""

    def __init__(self, exclude: Iterable[int] = (), interval_s: float = 0.1) -> None:
        self._exclude = set(exclude)
        self._interval_s = interval_s
        self._seen: dict[int, float] = {}
        self._processes: dict[int, psutil.Process] = {}
        self._start_seen: dict[int, float] = {}
        self._start_self = 0.0
        self.own = self.children = self.seconds = 0.0
        self.peak_rss_mib = 0.0
        self.peak_child_rss_mib = 0.0
        self.trace: list[tuple[float, float]] = []
        self.cpu_trace: list[tuple[float, float, float]] = []
        self._t0 = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _children(self, me: psutil.Process) -> list[psutil.Process]:
        pids = descendants(me.pid)
        if pids is None:
            return me.children(recursive=True)
        children = []
        for pid in pids:
            if pid not in self._processes:
                try:
                    self._processes[pid] = psutil.Process(pid)
                except psutil.Error:
                    continue
            children.append(self._processes[pid])
        return children

    def _sample(self) -> None:
        me = psutil.Process()
        rss_mib = me.memory_info().rss / 2**20
        self.peak_rss_mib = max(self.peak_rss_mib, rss_mib)
        now = time.perf_counter() - self._t0
        self.trace.append((now, rss_mib))
        for child in self._children(me):
            if child.pid in self._exclude:
                continue
            try:
                times = child.cpu_times()
                rss = child.memory_info().rss / 2**20
            except psutil.Error:
                continue
            self._seen[child.pid] = times.user + times.system
            self.peak_child_rss_mib = max(self.peak_child_rss_mib, rss)
        own = sum(me.cpu_times()[:2])
        self.cpu_trace.append((now, own, sum(self._seen.values())))

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self._sample()

    def __enter__(self) -> ProcessSampler:
        self._t0 = time.perf_counter()
        self._sample()
        self._start_seen = dict(self._seen)
        self._start_self = sum(psutil.Process().cpu_times()[:2])
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.own = sum(psutil.Process().cpu_times()[:2]) - self._start_self
        self.children = sum(v - self._start_seen.get(pid, 0.0) for pid, v in self._seen.items())
        self.seconds = self.own + self.children

    def peak_by_window(self, windows: Iterable[tuple[str, float]]) -> dict[str, float | None]:
        """Peak RSS (MiB) within consecutive windows given as (name, seconds), in order
        (approximate: the flow's own start-up, before its first stage, is counted in the first)."""
        return {
            name: round(max(rss for _, rss in inside), 1) if inside else None
            for name, inside in _split(self.trace, windows)
        }

    def cores_by_window(
        self, windows: Iterable[tuple[str, float]]
    ) -> dict[str, tuple[float, float] | None]:
        """(main, descendants) CPU seconds per wall second within consecutive windows given as
        (name, seconds): a stage at (1.0, 0.0) leaves one of two cores idle. None for a window
        shorter than two samples."""
        cores: dict[str, tuple[float, float] | None] = {}
        for name, inside in _split(self.cpu_trace, windows):
            if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
                cores[name] = None
                continue
            (t0, own0, kids0), (t1, own1, kids1) = inside[0], inside[-1]
            span = t1 - t0
            cores[name] = (round((own1 - own0) / span, 2), round((kids1 - kids0) / span, 2))
        return cores


def _split(
    trace: Sequence[_Sample], windows: Iterable[tuple[str, float]]
) -> Iterator[tuple[str, list[_Sample]]]:
    """(name, the samples of `trace` taken within it) for consecutive windows given as (name,
    seconds) from the trace's start; a sample's first field is its time."""
    start = 0.0
    for name, seconds in windows:
        end = start + seconds
        yield name, [sample for sample in trace if start <= sample[0] < end]
        start = end
