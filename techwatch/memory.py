"""Hand back to the system the memory a long run's finished stages no longer use.

Why: once a night's feeds are collected and stored, their parsed items and bodies are freed,
but glibc keeps the pages inside its arenas, and the stages after (stories, enrichment, the
search index) would count them in the run's peak. `malloc_trim` returns them. (They used to
be kept by reference cycles of the parse futures until a full collection, which the stories
stage, run with the cyclic collector paused, never made: see ParsePool._submit.)
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from functools import cache


def release() -> None:
    """Return the heap's free pages to the system (glibc only; elsewhere nothing to do)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where the C library has none (musl, macOS)."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except AttributeError:
        return None
    return trim
