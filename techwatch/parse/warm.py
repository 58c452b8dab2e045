"""Imported by the parse workers' forkserver: loads the language model before any fork.

Workers forked from that server inherit the loaded model, its pages shared copy-on-write, so a
(re)started worker spends nothing on it instead of ~0.6 s of CPU and its own copy of the table.
A failure here must not kill the forkserver: the worker initializer loads the model again and
reports a real error there.
"""

from __future__ import annotations

import gc
from contextlib import suppress

from techwatch.clean import warm_up

with suppress(Exception):  # retried, and reported, by each worker's initializer
    warm_up()
# Forked workers then never touch these objects' GC headers: their pages stay shared.
gc.freeze()
