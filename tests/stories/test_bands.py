"""bands.band_candidates gives, for a whole chunk at once, what the planner's bounded band
buckets gave one item at a time (the reference below is the planner's former loop)."""

from __future__ import annotations

import random
from collections import Counter, deque
from itertools import chain
from operator import itemgetter

import numpy as np
import pytest

from techwatch.stories import bands as bands_module
from techwatch.stories.bands import band_candidates


def _one_at_a_time(
    bands: list[tuple[int, ...]], ids: list[str], first_pending: int, bucket: int, top: int
) -> list[list[str]]:
    """The planner's former way: deques of the latest ids per key, a Counter per item."""
    buckets: dict[int, deque[str]] = {}
    found: list[list[str]] = []
    for n, (keys, item_id) in enumerate(zip(bands, ids, strict=True)):
        if n >= first_pending:
            read = [buckets[k] for k in keys if k in buckets]
            shared = Counter(chain.from_iterable(read))
            shared.pop(item_id, None)
            ranked = sorted(shared.items(), key=itemgetter(1), reverse=True)
            found.append([other for other, _ in ranked[:top]])
        for k in keys:
            buckets.setdefault(k, deque(maxlen=bucket)).append(item_id)
    return found


def _random_chunk(seed: int, items: int, key_space: int) -> tuple[list[tuple[int, ...]], list[str]]:
    rng = random.Random(seed)
    bands = [
        tuple(rng.randrange(key_space) for _ in range(rng.choice([0, 3, 10, 10])))
        for _ in range(items)
    ]
    ids = [f"i{rng.randrange(items * 2)}" for _ in range(items)]  # some ids repeat
    return bands, ids


@pytest.mark.parametrize(
    ("seed", "items", "key_space", "first_pending", "bucket", "top"),
    [
        (1, 300, 40, 0, 32, 6),  # crowded keys: full buckets, many ties
        (2, 300, 40, 120, 32, 6),  # stored candidates first, then pending items
        (3, 500, 2000, 50, 4, 3),  # sparse keys, small buckets
        (4, 200, 15, 100, 8, 16),  # few keys held by everyone: every tie rule matters
        (5, 50, 5, 0, 1, 1),
        # most candidates met in one bucket only, past the best few: ranked without them
        (6, 400, 300, 0, 32, 2),
        (7, 400, 120, 100, 32, 1),
    ],
)
def test_same_candidates_as_one_bucket_at_a_time(
    seed: int, items: int, key_space: int, first_pending: int, bucket: int, top: int
) -> None:
    bands, ids = _random_chunk(seed, items, key_space)
    # an item holding one key twice reads its bucket twice and is counted twice in it
    bands[-1] = bands[-1] + bands[-1][:2]
    expected = _one_at_a_time(bands, ids, first_pending, bucket, top)
    found = band_candidates(bands, ids, first_pending, bucket, top)
    assert found.lists(items - first_pending) == expected
    assert any(len(found) == min(top, items) for found in expected)


@pytest.mark.parametrize("lookups", [1, 7, 64])
def test_the_pending_items_counted_per_block_do_not_change_the_candidates(
    lookups: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    bands, ids = _random_chunk(6, 400, 60)
    expected = _one_at_a_time(bands, ids, 90, 16, 5)
    monkeypatch.setattr(bands_module, "LOOKUPS", lookups)
    assert band_candidates(bands, ids, 90, 16, 5).lists(400 - 90) == expected


def test_items_without_keys_or_shared_keys_have_no_candidates() -> None:
    bands = [(1, 2), (), (3,), (1, 5)]
    ids = ["a", "b", "c", "d"]
    assert band_candidates(bands, ids, 1, 32, 6).lists(3) == [[], [], ["a"]]
    assert band_candidates([(), ()], ["a", "b"], 0, 32, 6).lists(2) == [[], []]
    assert band_candidates([(1,)], ["a"], 1, 32, 6).lists(0) == []


@pytest.mark.parametrize("high", [3, 1 << 20, 1 << 40])  # the last does not fit in 63 bits
def test_sorted_rows_come_back_in_lexicographic_order(high: int) -> None:
    rng = np.random.default_rng(7)
    columns = [rng.integers(low, low + high, 500) for low in (0, 5, 1 << 30)]
    order = np.lexsort(columns[::-1])
    found = bands_module._sorted(*columns)
    assert all((f == c[order]).all() for f, c in zip(found, columns, strict=True))
