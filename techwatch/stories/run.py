"""Group what the store holds but no story does yet: the one call the flow and the importer make.

Works in chunks of CHUNK_ITEMS pending items, each one transaction, so a first grouping of a
large store (after the migration) runs in bounded memory and a crash keeps the chunks done.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from techwatch.errors import StorageError
from techwatch.storage import Writer, open_writer
from techwatch.stories import grouping
from techwatch.stories.neardup import lead, text_band_keys

CHUNK_ITEMS = 20_000


@dataclass(frozen=True, slots=True)
class GroupingReport:
    """What one grouping did: items looked at, stories founded (and still alive), items that
    joined a story, merges, and how long it took."""

    items: int = 0
    new_stories: int = 0
    joined: int = 0
    merges: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def group_pending(db_path: Path, *, now: datetime, chunk: int = CHUNK_ITEMS) -> GroupingReport:
    """Open the store and group every pending item (new, or updated since it was grouped)."""
    with open_writer(db_path) as writer:
        return group_with(writer, now=now, chunk=chunk)


def group_with(writer: Writer, *, now: datetime, chunk: int = CHUNK_ITEMS) -> GroupingReport:
    """Group pending items chunk by chunk through an open writer."""
    t0 = time.perf_counter()
    items = joined = 0
    founded: set[str] = set()
    removed: set[str] = set()
    previous: list[str] = []
    while pending := writer.story_pending(chunk):
        ids = [item.item_id for item, _ in pending]
        if ids == previous:  # a chunk that does not leave the queue would loop forever
            raise StorageError(f"story grouping made no progress on {len(ids)} items")
        previous = ids
        signed = with_bands([item for item, _ in pending])
        known, stories = writer.story_candidates(signed)
        plan = grouping.plan(
            [(item, story) for item, (_, story) in zip(signed, pending, strict=True)],
            known,
            stories,
        )
        writer.store_story_plan(plan, signed, now)
        items += len(signed)
        joined += sum(1 for j in plan.joins if j.reason != "first")
        founded.update(plan.founded)
        removed.update(plan.removed)
    return GroupingReport(
        items=items,
        new_stories=len(founded - removed),
        joined=joined,
        merges=len(removed),
        seconds=round(time.perf_counter() - t0, 3),
    )


def with_bands(items: list[grouping.StoryItem]) -> list[grouping.StoryItem]:
    """The items with the MinHash band keys of their title and lead, computed for the whole
    chunk at once; their grams are left to the planner, which needs them only for the items
    that share a key with another."""
    keys = text_band_keys([lead(i.title, i.text) for i in items])
    return [replace(item, bands=k) for item, k in zip(items, keys, strict=True)]
