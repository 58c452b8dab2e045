"""One night's write through the single writer, as the ingestion flow does it: for store tests
that group, index or score what a night brought."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from techwatch.storage import open_writer
from techwatch.types import ParsedItem, Source
from tests.storage.factories import outcome


def write_night(
    db: Path, now: datetime, sources: Sequence[Source], items: Sequence[ParsedItem]
) -> None:
    """Mirror `sources`, then write `items` as one run with one outcome per source."""
    by_source: dict[str, list[ParsedItem]] = {}
    for parsed in items:
        by_source.setdefault(parsed.source_id, []).append(parsed)
    with open_writer(db) as writer:
        writer.sync_sources(sources, now)
        writer.begin_run(f"run-{now:%d%H}", started_at=now, kind="test", flow_run_id=None)
        outcomes = [outcome(s, found) for s, found in by_source.items()]
        writer.write_outcomes(f"run-{now:%d%H}", outcomes, [], now)
