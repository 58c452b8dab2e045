"""The grouping bench's workload: with the sliding hot pool the items per hot CVE (and the pairs
of items grouping must compare through them) stay flat as the backlog grows; the fixed pool,
the worst case kept for comparison, crowds them in proportion to n. Likewise the other CVEs:
the scaled cold pool keeps them as crowded at any size, the fixed one (sessions <= 8) does not."""

from __future__ import annotations

import random
from collections import Counter
from types import ModuleType

import pytest

from tests.benches import load_bench


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench("stories_bench")


@pytest.mark.parametrize(
    ("age", "slot", "n", "expected_offset"),
    [
        (0.0, 0.0, 20_000, 0),  # the newest items: top of the pool, like the fixed pool
        (0.0, 0.999, 20_000, 499),  # anywhere in the HOT_WINDOW CVEs hot at that time
        (0.5, 0.0, 20_000, 2_500),  # one CVE further down per 4 items of the span
        (1.0, 0.0, 200_000, 50_000),
        (0.5, 0.5, 1_000, 125 + 250),
    ],
)
def test_sliding_hot_cve_moves_with_the_items_age(
    bench: ModuleType, age: float, slot: float, n: int, expected_offset: int
) -> None:
    assert bench.CVE_POOL - 1 - bench.sliding_hot_cve(age, slot, n) == expected_offset


@pytest.mark.parametrize(
    ("named", "expected"),
    [
        ({}, {"cves": 0, "items_per_cve": 0.0, "max_items_per_cve": 0, "pairs": 0}),
        ({"a": 1, "b": 2, "c": 3}, {"cves": 3, "items_per_cve": 2.0, "max_items_per_cve": 3,
                                    "pairs": 0 + 1 + 3}),
        # past MAX_CVE_BUCKET (64) each item is compared with the 64 latest only
        ({"a": 64}, {"cves": 1, "items_per_cve": 64.0, "max_items_per_cve": 64, "pairs": 2016}),
        ({"a": 70}, {"cves": 1, "items_per_cve": 70.0, "max_items_per_cve": 70,
                     "pairs": 2016 + 6 * 64}),
    ],
)  # fmt: skip
def test_mention_figures(bench: ModuleType, named: dict[str, int], expected: dict) -> None:
    assert bench.mention_figures(Counter(named)) == expected


def _hot_crowding(bench: ModuleType, n: int, hot_pool: str) -> dict:
    named: Counter[int] = Counter()
    items = bench.make_items(n, 0, 45, random.Random(3), hot_pool, named)
    assert len(items) == n
    return bench.mention_figures(named)


def test_the_sliding_pool_keeps_hot_cves_as_crowded_at_any_size(bench: ModuleType) -> None:
    small, large = (_hot_crowding(bench, n, "sliding") for n in (4_000, 40_000))
    assert large["cves"] > 8 * small["cves"]  # a larger store holds more hot CVEs...
    assert large["items_per_cve"] == pytest.approx(small["items_per_cve"], rel=0.15)
    assert large["pairs"] / 40_000 == pytest.approx(small["pairs"] / 4_000, rel=0.25)


def test_the_fixed_pool_crowds_hot_cves_in_proportion_to_n(bench: ModuleType) -> None:
    small, large = (_hot_crowding(bench, n, "fixed") for n in (4_000, 40_000))
    assert large["cves"] <= bench.HOT
    assert large["items_per_cve"] > 1.5 * small["items_per_cve"]  # (most named once at 4k)
    assert large["pairs"] / 40_000 > 5 * small["pairs"] / 4_000


def test_a_night_and_its_store_share_their_recent_hot_cves(bench: ModuleType) -> None:
    stored: Counter[int] = Counter()
    night: Counter[int] = Counter()
    bench.make_items(40_000, 0, 45, random.Random(4), "sliding", stored)
    bench.make_items(2_000, 40_000, 1, random.Random(5), "sliding", night)
    recent = {cve for cve in stored if cve >= bench.CVE_POOL - 2 * bench.HOT_WINDOW}
    assert len(set(night) & recent) > len(night) / 4


def _all_crowding(bench: ModuleType, n: int, cold_pool: str) -> dict:
    items = bench.make_items(n, 0, 45, random.Random(4), "sliding", None, cold_pool)
    figures = bench.mention_figures(bench.cve_mentions(items))
    return {**figures, "pairs_per_item": figures["pairs"] / n}


def test_the_scaled_cold_pool_keeps_all_cves_as_crowded_at_any_size(bench: ModuleType) -> None:
    small, large = (_all_crowding(bench, n, "scaled") for n in (4_000, 40_000))
    assert large["cves"] > 8 * small["cves"]
    assert large["items_per_cve"] == pytest.approx(small["items_per_cve"], rel=0.05)
    assert large["pairs_per_item"] == pytest.approx(small["pairs_per_item"], rel=0.25)


def test_the_fixed_cold_pool_crowds_all_cves_as_n_grows(bench: ModuleType) -> None:
    small, large = (_all_crowding(bench, n, "fixed") for n in (4_000, 40_000))
    assert large["items_per_cve"] > 1.1 * small["items_per_cve"]
    assert large["pairs_per_item"] > 2.5 * small["pairs_per_item"]  # (0.073 -> 0.227)


def test_at_20000_items_the_scaled_cold_pool_draws_the_former_items(bench: ModuleType) -> None:
    n = bench.CVE_POOL // bench.COLD_PER_ITEM
    scaled, fixed = (
        bench.make_items(n, 0, 45, random.Random(5), "sliding", None, pool)
        for pool in ("scaled", "fixed")
    )
    assert scaled == fixed
