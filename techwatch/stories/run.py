"""Group what the store holds but no story does yet: the one call the flow and the importer make.

Works in chunks of CHUNK_ITEMS pending items, each one transaction, so a first grouping of a
large store (after the migration) runs in bounded memory and a crash keeps the chunks done.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from techwatch import gcpacing
from techwatch.errors import StorageError
from techwatch.storage import Writer, open_writer
from techwatch.stories import grouping
from techwatch.stories.neardup import lead, text_signs

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
    """Open the store and group every pending item (new, or updated since it was grouped).
    A backlog of several chunks is checkpointed once, when the writer closes: checkpointing
    past each chunk's 16 MiB of log rewrote the story tables, a cost growing with each chunk
    (0.05 -> 1.1 s per chunk of a 200k backlog). A night's single chunk commits as before."""
    with open_writer(db_path) as writer:
        return group_with(writer, now=now, chunk=chunk, defer_checkpoints=True)


def group_with(
    writer: Writer,
    *,
    now: datetime,
    chunk: int = CHUNK_ITEMS,
    defer_checkpoints: bool = False,
) -> GroupingReport:
    """Group pending items chunk by chunk through an open writer; `defer_checkpoints`: from
    the second chunk on, leave the checkpoint to the writer's close (see group_pending)."""
    t0 = time.perf_counter()
    items = joined = 0
    founded: set[str] = set()
    removed: set[str] = set()
    previous: list[str] = []
    with gcpacing.paused():
        while pending := writer.story_pending(chunk):
            ids = [item.item_id for item, _ in pending]
            if ids == previous:  # a chunk that does not leave the queue would loop forever
                raise StorageError(f"story grouping made no progress on {len(ids)} items")
            if previous and defer_checkpoints:
                writer.defer_checkpoints()
                defer_checkpoints = False
            previous = ids
            plan = _group_chunk(writer, pending, now)
            items += len(pending)
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


def _group_chunk(
    writer: Writer, pending: list[tuple[grouping.StoryItem, str | None]], now: datetime
) -> grouping.Plan:
    """Sign, fetch candidates, plan and store one chunk of pending items."""
    signed, grams = sign([item for item, _ in pending])
    known, stories = writer.story_candidates(signed)
    plan = grouping.plan(
        [(item, story) for item, (_, story) in zip(signed, pending, strict=True)],
        known,
        stories,
        grams=grams,
    )
    writer.store_story_plan(plan, signed, now)
    return plan


def sign(
    items: list[grouping.StoryItem],
) -> tuple[list[grouping.StoryItem], dict[str, np.ndarray]]:
    """The items with the MinHash band keys of their title and lead, and the grams of those
    leads by item id, computed for the whole chunk at once from one folding and hashing pass
    (the planner compares the grams of the items that share a key with another)."""
    keys, grams = text_signs([lead(i.title, i.text) for i in items])
    signed = [
        grouping.StoryItem(
            i.item_id, i.source_id, i.title, i.text, i.canonical_url, i.cves, i.seen, bands
        )
        for i, bands in zip(items, keys, strict=True)
    ]
    return signed, {i.item_id: g for i, g in zip(items, grams, strict=True)}
