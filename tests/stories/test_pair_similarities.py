"""neardup.pair_similarities: the exact Jaccard index wherever it may reach the floor (or the
caller asks for it), and below the floor a bound that is never under the exact index, so the
planner rules out exactly the pairs it ruled out by intersecting them."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from techwatch.stories.neardup import (
    HISTOGRAM_BINS,
    PAIR_BLOCK,
    _histograms,
    jaccard,
    pair_similarities,
    text_grams,
)

WORDS = ["zimbra", "faille", "rançongiciel", "vaud", "patch", "exploit", "hôpital", "genève"]


def _texts(seed: int, n: int) -> list[np.ndarray]:
    """Look-alike texts from a small vocabulary, a few near-copies, a few empty or tiny."""
    rng = random.Random(seed)
    made = [" ".join(rng.choices(WORDS, k=rng.randint(5, 60))) for _ in range(n)]
    made += [made[0].replace("patch", "correctif", 1), made[1] + " vaud", "", "abc"]
    return text_grams(made)


@pytest.mark.parametrize("floor", [0.0, 0.3, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("seed", [1, 2])
def test_exact_at_or_above_the_floor_and_an_upper_bound_below(seed: int, floor: float) -> None:
    texts = _texts(seed, 40)
    n = len(texts)
    a = np.repeat(np.arange(n, dtype=np.int64), n)  # every ordered pair, each text with itself
    b = np.tile(np.arange(n, dtype=np.int64), n)
    marked = np.zeros(len(a), dtype=bool)
    marked[::7] = True
    found = pair_similarities(texts, a, b, floor, marked)
    exact = [jaccard(texts[i], texts[j]) for i, j in zip(a.tolist(), b.tolist(), strict=True)]
    for k, (score, true) in enumerate(zip(found, exact, strict=True)):
        if true >= floor or marked[k]:
            assert score == true
        else:
            assert true <= score < floor
    assert any(t >= floor for t in exact) and (floor == 0.0 or any(t < floor for t in exact))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="abcdeé ", max_size=80), min_size=2, max_size=8))
def test_the_bound_never_hides_a_pair_at_the_floor(texts: list[str]) -> None:
    grams = text_grams(texts)
    pairs = [(i, j) for i in range(len(texts)) for j in range(len(texts))]
    a = np.array([i for i, _ in pairs], dtype=np.int64)
    b = np.array([j for _, j in pairs], dtype=np.int64)
    found = pair_similarities(grams, a, b, 0.5, np.zeros(len(pairs), dtype=bool))
    for (i, j), score in zip(pairs, found, strict=True):
        exact = jaccard(grams[i], grams[j])
        assert score == exact if exact >= 0.5 else exact <= score < 0.5


def test_no_pairs() -> None:
    none = np.empty(0, dtype=np.int64)
    assert pair_similarities([], none, none, 0.5, np.empty(0, dtype=bool)) == []


@pytest.mark.parametrize("crowded_at", [None, 0, PAIR_BLOCK + 3])
def test_bin_counts_are_exact_in_one_byte_and_widened_when_a_bin_holds_more(
    crowded_at: int | None,
) -> None:
    """One byte a bin until a text puts more than 255 grams in one bin, in any block."""
    texts = _texts(3, PAIR_BLOCK + 10)
    if crowded_at is not None:  # 300 grams in bin 5, then a few elsewhere
        texts[crowded_at] = np.arange(300, dtype=np.uint32) * HISTOGRAM_BINS + 5
    sizes = np.array([len(t) for t in texts], dtype=np.int64)
    found = _histograms(texts, sizes)
    expected = [
        np.bincount(t.astype(np.int64) % HISTOGRAM_BINS, minlength=HISTOGRAM_BINS) for t in texts
    ]
    assert (found.astype(np.int64) == np.array(expected)).all()
    assert found.dtype == (np.uint8 if crowded_at is None else np.uint16)
