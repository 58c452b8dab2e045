"""Pacing Python's cyclic garbage collector during a bulk run.

A run (a night's ingestion, an import) allocates millions of small objects that stay alive
until their stage ends: parsed items, staged rows, fact rows. At Python's default pace (a
young collection every 700 allocations, and older ones that walk every object of the
process, Prefect's and the loaded modules' included) the collector walked them again and
again, finding almost nothing to free: reference counting frees them. The run keeps the
collector, only at a slower pace, so any reference cycles it leaves are still collected.
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
