"""Band candidates of a whole chunk at once: whom each pending item meets in its MinHash band
buckets, exactly as the planner's bounded buckets would tell it one item at a time.

Why: a bucket's content depends only on the order items are indexed in (stored candidates, then
the pending items in turn), never on the planner's decisions, so it can be computed upfront with
numpy. Counting the shared bands of every item's candidates one item at a time (a Counter over
up to BANDS x bucket ids, then a sort) was a third of a look-alike night's planning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

LOOKUPS = 256  # pending items whose candidates are counted at once: bounds the pair arrays
# (1024 held 35 MiB of them for a night of 15,000 look-alike feed items, 256 16 MiB, same CPU)


@dataclass(frozen=True, slots=True)
class Near:
    """Band candidates of pending items, flat: pair k is pending item `looker[k]` (0 for the
    first pending item) and candidate `names[candidate[k]]`, each item's best first.
    `code[n]` is the code of item n's id (items in the order given)."""

    looker: np.ndarray
    candidate: np.ndarray
    code: np.ndarray
    names: list[str]

    def lists(self, pending: int) -> list[list[str]]:
        """The candidate ids of each of the `pending` items."""
        found: list[list[str]] = [[] for _ in range(pending)]
        names = self.names
        for owner, candidate in zip(self.looker.tolist(), self.candidate.tolist(), strict=True):
            found[owner].append(names[candidate])
        return found


def band_candidates(
    bands: Sequence[Sequence[int]],
    ids: Sequence[str],
    first_pending: int,
    bucket: int,
    top: int,
) -> Near:
    """For each item from `first_pending` on, at most `top` earlier items sharing the most band
    keys with it, ties broken by first appearance, as the planner ranked them one at a time:
    each key's bucket holds the latest `bucket` keys indexed before the item (in `bands`
    order, an item's keys in turn), and the item reads its buckets in its keys' order.

    `bands` and `ids` list every item in the order the planner indexes them."""
    codes: dict[str, int] = {}
    id_code = np.fromiter((codes.setdefault(i, len(codes)) for i in ids), np.int64, len(ids))
    counts = np.fromiter(map(len, bands), dtype=np.int64, count=len(bands))
    total = int(counts.sum())
    none = np.empty(0, dtype=np.int64)
    if not total or first_pending >= len(bands):
        return Near(none, none, id_code, list(codes))
    keys = np.fromiter((k for item in bands for k in item), dtype=np.int64, count=total)
    item = np.repeat(np.arange(len(bands), dtype=np.int64), counts)
    slot = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    order = np.lexsort((slot, item, keys))
    keys, item, slot = keys[order], item[order], slot[order]
    new_key = np.ones(total, dtype=bool)
    new_key[1:] = keys[1:] != keys[:-1]
    new_item = new_key.copy()
    new_item[1:] |= item[1:] != item[:-1]
    position = np.arange(total, dtype=np.int64)
    key_start = np.maximum.accumulate(np.where(new_key, position, 0))
    # an item's own keys are not in its buckets yet: its bucket ends at its first key of the run
    item_start = np.maximum.accumulate(np.where(new_item, position, 0))
    lo = np.maximum(key_start, item_start - bucket)
    sizes = item_start - lo
    del keys, new_key, new_item, position, key_start, item_start  # peak memory of a large chunk
    holder = id_code[item]
    lookers: list[np.ndarray] = [none]
    candidates: list[np.ndarray] = [none]
    # the positions of each item's keys, items in order: a block's keys are one slice of it
    by_item = np.argsort(item, kind="stable")
    edges = np.arange(first_pending, len(bands) + LOOKUPS, LOOKUPS)
    bounds = np.searchsorted(item[by_item], edges).tolist()
    for start, stop in pairwise(bounds):
        chosen = np.sort(by_item[start:stop])
        looker, candidate = _ranked(
            item[chosen], slot[chosen], lo[chosen], sizes[chosen], holder, id_code, top
        )
        lookers.append(looker - first_pending)
        candidates.append(candidate)
    return Near(np.concatenate(lookers), np.concatenate(candidates), id_code, list(codes))


def _ranked(
    looker: np.ndarray,
    slot: np.ndarray,
    lo: np.ndarray,
    sizes: np.ndarray,
    holder: np.ndarray,
    id_code: np.ndarray,
    top: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(looking item, candidate id code) pairs of the best `top` candidates of each looking
    item, best first. Each looking key reads the sorted positions [lo, lo + size) (its bucket,
    oldest first); `holder` gives the id code at each sorted position; `slot` is the key's
    place among its item's keys, the order the item reads its buckets in."""
    by_item = np.lexsort((slot, looker))
    looker, lo, sizes = looker[by_item], lo[by_item], sizes[by_item]
    ends = np.cumsum(sizes)
    starts = ends - sizes
    first_of_item = np.ones(len(looker), dtype=bool)
    first_of_item[1:] = looker[1:] != looker[:-1]
    item_base = np.maximum.accumulate(np.where(first_of_item, starts, 0))
    within = np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64) - np.repeat(starts, sizes)
    pair_looker = np.repeat(looker, sizes)
    candidate = holder[np.repeat(lo, sizes) + within]
    # position in the chain of the item's buckets, which decides ties as Counter's order does
    chain = np.repeat(starts - item_base, sizes) + within
    keep = candidate != id_code[pair_looker]
    pair_looker, candidate, chain = _sorted(pair_looker[keep], candidate[keep], chain[keep])
    run_start = np.ones(len(chain), dtype=bool)
    run_start[1:] = (pair_looker[1:] != pair_looker[:-1]) | (candidate[1:] != candidate[:-1])
    starts_at = np.flatnonzero(run_start)
    shared = np.diff(np.append(starts_at, len(chain)))
    # A candidate met in one bucket only ranks after every candidate first met before it in
    # the chain, and at least its place less the chain's other entries (repeats, the item
    # itself) were: past `top` of them it cannot be among the best. Why: on a look-alike
    # night nearly every candidate shares one band (2.2M of 2.27M pairs), and ranking them
    # all was a third of band_candidates.
    low = int(looker[0]) if len(looker) else 0
    span = int(looker[-1]) - low + 1 if len(looker) else 0
    read = np.bincount(looker - low, weights=sizes, minlength=span).astype(np.int64)
    met = np.bincount(pair_looker[starts_at] - low, minlength=span)
    other_entries = (read - met)[pair_looker[starts_at] - low]
    may_rank = (shared > 1) | (chain[starts_at] < top + other_entries)
    hopeful, shared = starts_at[may_rank], shared[may_rank]
    looker, _, _, candidate = _sorted(
        pair_looker[hopeful],
        int(shared.max(initial=0)) - shared,
        chain[hopeful],
        candidate[hopeful],
    )
    new_looker = np.ones(len(looker), dtype=bool)
    new_looker[1:] = looker[1:] != looker[:-1]
    position = np.arange(len(looker))
    rank = position - np.maximum.accumulate(np.where(new_looker, position, 0))
    best = rank < top
    return looker[best], candidate[best]


def _sorted(*columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """The rows of non-negative int64 `columns` sorted by the first, then the next...: one sort
    of the columns packed into one integer, each in its own bits, when they fit in 63 bits (3x
    faster than lexsort and its gathers), else lexsort. Bits rather than mixed radices: the
    columns come back by shifts and masks, where a division per column was a third of
    `_ranked` on the ingestion bench's 2.3M pairs."""
    base = [int(c.min(initial=0)) for c in columns]
    bits = [(int(c.max(initial=0)) - b).bit_length() for c, b in zip(columns, base, strict=True)]
    if sum(bits) > 63:
        order = np.lexsort(columns[::-1])
        return tuple(c[order] for c in columns)
    packed = np.zeros(len(columns[0]), dtype=np.int64)
    for column, low, width in zip(columns, base, bits, strict=True):
        packed <<= width
        packed |= column - low
    packed.sort()
    found: list[np.ndarray] = []
    shift = 0
    for low, width in zip(base[::-1], bits[::-1], strict=True):
        found.append(((packed >> shift) & ((1 << width) - 1)) + low)
        shift += width
    return tuple(found[::-1])
