"""The `techwatch` console script's target, with no import at module level.

Why: parse workers start from a forkserver, and Python 3.11's multiprocessing re-imports the
script that started the program in every new worker (as `__mp_main__`). pip's generated script
imports the module of its entry point, so a script pointing at `techwatch.cli` made every
worker import the whole CLI (~0.6 s of CPU each, again for each restarted worker) before its
first parse. Pointing it here leaves the workers only what they use.
"""

from __future__ import annotations


def entry_point() -> None:
    """Run the CLI (see techwatch.cli); exits with its code."""
    from techwatch.cli import entry_point as run

    run()
