"""Loaded by an import's parse workers before their enrichment work reaches them.

The workers compute CVE rows and mentions (`cverows`, `mentions`) once every file is parsed.
Importing these modules, pyarrow mostly, costs a worker ~0.25 s of CPU: done when the first
chunk arrives, it lengthens the import's tail; asked for as soon as the last files are in the
workers' hands (importer), it runs while they would be idle, the parent storing the last
batches.
"""

from __future__ import annotations

from techwatch.enrich import cverows, mentions

#: What a worker holds once it has run `ready`.
LOADED = (cverows.__name__, mentions.__name__)


def ready() -> tuple[str, ...]:
    """Nothing to do: a worker imports this module, and so the enrichment's, to run it."""
    return LOADED
