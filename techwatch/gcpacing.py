"""Pacing Python's cyclic garbage collector during bulk work: slower for a whole run, off for
a stage that builds no cycles.

A run (a night's ingestion, an import) allocates millions of small objects that stay alive
until their stage ends: parsed items, staged rows, fact rows. At Python's default pace (a
young collection every 700 allocations, and older ones that walk every object of the
process, Prefect's and the loaded modules' included) the collector walked them again and
again, finding almost nothing to free: reference counting frees them. A run keeps the
collector at a slower pace (`collecting_less`), so reference cycles it leaves are still
collected; a stage whose objects form no cycles (story grouping, a worker's piece of
enrichment) pauses it (`paused`).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Allocations between two young-generation collections during a run (Python's default: 700).
#: An import: at the default pace, a third of the staging of facts and about 1 s of a bulk
#: import's CPU. The ingestion bench's runs, in the flow's process: the first run's
#: collections took 0.23 s of CPU (a full one 0.14 s), 0.02 s at this pace; the unchanged
#: second run's 0.13 s (a full one 0.12 s, a tenth of that run's CPU), 0.007 s.
YOUNG_THRESHOLD = 50_000


@contextmanager
def collecting_less() -> Iterator[None]:
    """Run the cyclic garbage collector less often for the duration (YOUNG_THRESHOLD); the
    pace set before is restored on the way out, whatever happens inside."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], YOUNG_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


@contextmanager
def paused() -> Iterator[None]:
    """The collector off inside, then as it was (a collector already off stays off).

    For stages that build hundreds of thousands of objects, none in a cycle: grouping a chunk
    of stories (items, key tuples, sets: a sixth of a 100k backlog's grouping CPU, growing
    with the chunk's candidates), a worker's CVE rows (a fifth of a chunk's CPU), mentions
    (~10 %: 0.048 of 0.47 s over the real advisories) or dictionary (0.024 of 0.215 s).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
