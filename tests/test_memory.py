"""techwatch.memory: what a finished stage left behind goes back to the system."""

from __future__ import annotations

import subprocess
import sys

import pytest

from techwatch import memory

# Freed blocks between live ones (every tenth kept) stay in glibc's heap until a trim.
_FRAGMENTED_HEAP = """
import gc, psutil
from techwatch import memory
gc.disable()
blocks = [bytes(2048) for _ in range(60_000)]
kept = blocks[::10]
del blocks
before = psutil.Process().memory_info().rss
memory.release()
print((before - psutil.Process().memory_info().rss) // 2**20)
"""


@pytest.mark.skipif(memory._malloc_trim() is None, reason="no malloc_trim (not glibc)")
def test_release_returns_the_freed_heap_pages() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _FRAGMENTED_HEAP],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert int(done.stdout) >= 60  # of the ~110 MiB freed: whole pages between kept blocks
