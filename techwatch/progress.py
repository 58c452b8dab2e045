"""A tiny publish/subscribe hook so a terminal can show progress of a run it did not build.

The flow and the library only publish; the CLI subscribes a progress bar when stderr is a
terminal. Listeners must be fast and thread-safe: they are called from worker threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Listener = Callable[[str, dict[str, Any]], None]

_lock = threading.Lock()
_listeners: list[Listener] = []


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Subscribe `listener` for the duration of the block."""
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)


def publish(event: str, **data: Any) -> None:
    """Tell every listener that `event` happened (e.g. "planned", "source_done")."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(event, data)
