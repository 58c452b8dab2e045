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
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any, TypeVar

import psutil

_PROC = Path("/proc")
#: A trace sample: its time (seconds since entry) first, then what was measured.
_Sample = TypeVar("_Sample", bound=tuple[Any, ...])


def anon_mib(info: Any) -> float:
    """RSS less its file-backed and shared pages (psutil's `shared` on Linux), in MiB."""
    return (info.rss - getattr(info, "shared", 0)) / 2**20


def descendants(
    pid: int, proc: Path = _PROC, main_thread_only: AbstractSet[int] = frozenset()
) -> list[int] | None:
    """Pids of every descendant of `pid`, from the kernel's children lists; None when this
    system has none (then ask psutil). A process that exits meanwhile is skipped.

    Of the pids in `main_thread_only`, only the main thread's children are looked for: the
    bench's feed server runs a thread per connection, and reading its ~50 threads' lists at
    every sample cost the sampler (in the measured process) 2.5-4 ms a sample, and the
    ingestion bench's main-process CPU ~1.5 s a first run. A forkserver forks from its main
    thread, so the workers of one that is excluded are still found."""
    if not (proc / str(pid) / "task" / str(pid) / "children").exists():
        return None
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            threads = (
                [str(parent)]
                if parent in main_thread_only
                else os.listdir(proc / str(parent) / "task")
            )
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
    (servers the benchmark started before the run, a forkserver that outlives it); of these,
    only children of the main thread are looked for (see `descendants`). `trace`: (seconds
    since entry, RSS MiB) of this process at every sample, to tell which stage the peak belongs
    to; `cpu_trace`: (seconds since entry, own CPU, descendants' CPU) at every sample, to tell
    how many cores each stage kept busy. `threads`: also sample this process's threads, for
    `threads_by_window` (their CPU by role: the flow, the collector's event loop, pebble's,
    Prefect's, DuckDB's)."""

    def __init__(
        self, exclude: Iterable[int] = (), interval_s: float = 0.1, *, threads: bool = False
    ) -> None:
        self._exclude = set(exclude)
        self._threads = threads
        #: (seconds since entry, {thread id: CPU seconds}) at every sample, with `threads`
        self.thread_trace: list[tuple[float, dict[int, float]]] = []
        self.thread_roles: dict[int, str] = {}
        self._interval_s = interval_s
        self._seen: dict[int, float] = {}
        self._processes: dict[int, psutil.Process] = {}
        self._start_seen: dict[int, float] = {}
        self._start_self = 0.0
        self.own = self.children = self.seconds = 0.0
        self.peak_rss_mib = 0.0
        #: the peak of RSS less its file-backed pages (RssAnon): the process's own memory, which
        #: the mapped libraries' pages do not swell (a freshly installed venv's count more)
        self.peak_anon_mib = 0.0
        self.peak_child_rss_mib = 0.0
        self.trace: list[tuple[float, float]] = []
        self.cpu_trace: list[tuple[float, float, float]] = []
        self.t0 = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="sampler")

    def _children(self, me: psutil.Process) -> list[psutil.Process]:
        pids = descendants(me.pid, main_thread_only=self._exclude)
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
        info = me.memory_info()
        rss_mib = info.rss / 2**20
        self.peak_rss_mib = max(self.peak_rss_mib, rss_mib)
        self.peak_anon_mib = max(self.peak_anon_mib, anon_mib(info))
        now = time.perf_counter() - self.t0
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
        if self._threads:
            self._sample_threads(me, now)

    def _sample_threads(self, me: psutil.Process, now: float) -> None:
        names = {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}
        cpu: dict[int, float] = {}
        for thread in me.threads():
            cpu[thread.id] = thread.user_time + thread.system_time
            role = self.thread_roles.get(thread.id)
            # a Python thread is listed by the kernel a moment before `threading` knows it
            if role is None or (role.startswith("native:") and thread.id in names):
                self.thread_roles[thread.id] = thread_role(thread.id, names)
        self.thread_trace.append((now, cpu))

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self._sample()

    def __enter__(self) -> ProcessSampler:
        self.t0 = time.perf_counter()
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

    def threads_by_window(
        self, windows: Iterable[tuple[str, float]]
    ) -> dict[str, dict[str, float]]:
        """CPU seconds of this process's threads by role within consecutive windows given as
        (name, seconds), from the window's first sample to each thread's last in it (a thread
        born within it counts from zero; one that died, its CPU after its last sample is lost)."""
        table: dict[str, dict[str, float]] = {}
        for name, inside in _split(self.thread_trace, windows):
            latest: dict[int, float] = {}
            for _, cpu in inside[1:]:
                latest.update(cpu)
            roles: dict[str, float] = {}
            for tid, cpu in latest.items():
                role = self.thread_roles.get(tid, "?")
                roles[role] = roles.get(role, 0.0) + cpu - inside[0][1].get(tid, 0.0)
            table[name] = {r: round(c, 2) for r, c in sorted(roles.items(), key=lambda x: -x[1])}
        return table


def thread_role(tid: int, names: dict[int, str], proc: Path = _PROC) -> str:
    """A thread's role: its Python name with numbers folded ("ThreadPoolExecutor-N_N"), or the
    kernel's name of a thread Python did not start (DuckDB's, OpenBLAS's)."""
    if tid in names:
        return re.sub(r"\d+", "N", names[tid])
    try:
        return "native:" + (proc / "self" / "task" / str(tid) / "comm").read_text().strip()
    except OSError:
        return "native:?"


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
