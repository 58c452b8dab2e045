"""Items that share no key with any other skip the planner's indexes: the plan must be the one
the full path gives (same joins, merges, stories), in any mix of new and updated items."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from techwatch.stories.bands import band_candidates
from techwatch.stories.evidence import DEFAULT
from techwatch.stories.grouping import (
    MAX_BAND_BUCKET,
    MAX_TEXT_CANDIDATES,
    Join,
    Key,
    Plan,
    StoredStory,
    StoryItem,
    _compared_by_text,
    _Planner,
    plan,
)
from techwatch.stories.neardup import lead, text_signs

T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
TEXTS = [
    "Zimbra fixes a critical flaw exploited in the wild",
    "Zimbra fixes critical flaw exploited in the wild",
    "Hospital in Vaud hit by ransomware, emergency open",
    "Unrelated note about a conference in Geneva",
]


def full_path(
    pending: list[tuple[StoryItem, str | None]],
    known: list[tuple[StoryItem, str]],
    stories: list[StoredStory],
) -> Plan:
    planner = _Planner(stories, DEFAULT)
    for item, story_id in known:
        planner.index(item, story_id)
    everyone = [item for item, _ in known + pending]
    near = band_candidates(
        [i.bands for i in everyone],
        [i.item_id for i in everyone],
        len(known),
        MAX_BAND_BUCKET,
        MAX_TEXT_CANDIDATES,
    )
    for (item, story_id), item_near in zip(pending, near.lists(len(pending)), strict=True):
        planner.place(item, story_id, item_near)  # similarities computed one item at a time
    return planner.result()


item_specs = st.tuples(
    st.integers(0, 3),  # source
    st.frozensets(st.integers(0, 5), max_size=2),  # CVEs
    st.one_of(st.none(), st.integers(0, 3)),  # canonical URL
    st.one_of(st.none(), st.integers(0, len(TEXTS) - 1)),  # text (None: unique text)
    st.integers(0, 10),  # day
)


def items_from(specs: list[tuple[int, frozenset[int], int | None, int | None, int]], tag: str):
    made = []
    for n, (source, cves, url, text, day) in enumerate(specs):
        title = TEXTS[text] if text is not None else f"zq{tag}{n}xj unique {n}"
        made.append(
            StoryItem(
                item_id=f"{tag}{n}",
                source_id=f"s{source}",
                title=title,
                text="",
                canonical_url=f"https://news.example/{url}" if url is not None else None,
                cves=frozenset(f"CVE-2026-{c:04d}" for c in cves),
                seen=T0 + timedelta(days=day),
            )
        )
    keys = text_signs([lead(i.title, i.text) for i in made])[0]
    return [
        StoryItem(**{**{f: getattr(i, f) for f in i.__slots__}, "bands": k})
        for i, k in zip(made, keys, strict=True)
    ]


@settings(max_examples=80, deadline=None)
@given(st.lists(item_specs, max_size=12), st.lists(item_specs, min_size=1, max_size=12))
def test_the_fast_path_gives_the_full_plan(stored_specs, night_specs) -> None:
    pending, others, stories = night_after(stored_specs, night_specs)
    assert plan(pending, others, stories) == full_path(pending, others, stories)


@settings(max_examples=80, deadline=None)
@given(st.lists(item_specs, max_size=12), st.lists(item_specs, min_size=1, max_size=12))
def test_items_nothing_can_match_are_placed_without_reading_their_candidates(
    stored_specs, night_specs
) -> None:
    """An item sharing no CVE or URL with an indexed item, whose band candidates are all below
    the text floor, founds its story without `_matches`: the plan is the one `_matches` gives."""
    pending, others, stories = night_after(stored_specs, night_specs)
    fast = plan(pending, others, stories)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_Planner, "_unmatched", lambda *_: False)
        assert fast == plan(pending, others, stories)


def night_after(stored_specs, night_specs):
    """A night's items (new ones, and three stored ones again as updated items) after the
    stored ones were grouped: (pending, their candidates, the stored stories)."""
    stored = items_from(stored_specs, "k")
    first = plan([(i, None) for i in stored], [], [])
    story_of = {j.item_id: j.story_id for j in first.joins}
    members: dict[str, dict[str, str]] = {}
    for item in stored:
        members.setdefault(story_of[item.item_id], {})[item.source_id] = item.item_id
    stories = [StoredStory(sid, T0, m) for sid, m in members.items()]
    known = [(i, story_of[i.item_id]) for i in stored]
    night = items_from(night_specs, "n")
    # the night's items are new, plus the stored ones again as updated items
    pending = [(i, None) for i in night] + [(i, story_of[i.item_id]) for i in stored[:3]]
    others = [(i, s) for i, s in known if i.item_id not in {p.item_id for p, _ in pending}]
    return pending, others, stories


@settings(max_examples=80, deadline=None)
@given(st.lists(item_specs, max_size=12), st.lists(item_specs, min_size=1, max_size=12))
def test_cve_buckets_of_only_the_items_own_source_are_skipped_without_changing_the_plan(
    stored_specs, night_specs
) -> None:
    """A CVE bucket whose items all come from the pending item's source is not read (rule 2:
    none of them can match it): the plan is the one reading every bucket gives."""
    pending, others, stories = night_after(stored_specs, night_specs)
    skipping = plan(pending, others, stories)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            _Planner,
            "_cves_of_others",
            lambda self, item: [c for c in item.cves if c in self.by_cve],
        )
        assert skipping == plan(pending, others, stories)


def test_a_cve_bucket_is_read_by_the_other_sources_only_until_a_second_source_joins_it() -> None:
    planner = _Planner([], DEFAULT)
    avis = [
        StoryItem(f"a{n}", "certfr", f"avis {n}", "", None, frozenset({"CVE-2026-0001"}), T0)
        for n in range(2)
    ]
    kev = StoryItem("k", "kev", "kev", "", None, frozenset({"CVE-2026-0001"}), T0)
    for item in avis:
        planner.index(item, item.item_id)
    assert planner._cves_of_others(avis[0]) == []
    assert planner._cves_of_others(kev) == ["CVE-2026-0001"]
    planner.index(kev, "k")
    assert planner._cves_of_others(avis[0]) == ["CVE-2026-0001"]


def test_items_whose_grams_are_given_are_not_chosen_for_texts_again() -> None:
    """A CVE item without grams still needs its text when a cveless item, grams given, shares
    a band key with it; one naming CVEs that only CVE items share a key with does not."""

    def made(name: str, keys: list[Key], *cves: str) -> tuple[StoryItem, list[Key]]:
        return StoryItem(name, name, name, "", None, frozenset(cves), T0), [*cves, *keys]

    items = [
        made("given", [1, 2]),
        made("cve-shares-with-given", [1], "CVE-2026-0001"),
        made("cve-shares-with-cve", [3], "CVE-2026-0002"),
        made("other-cve", [3], "CVE-2026-0003"),
        made("cveless", [2]),
    ]
    shared: set[Key] = {1, 2, 3}
    chosen = [i.item_id for i in _compared_by_text(items, shared, {"given"})]
    assert chosen == ["cve-shares-with-given", "cveless"]
    assert _compared_by_text(items, shared, {i.item_id for i, _ in items}) == []
    everyone = [i.item_id for i in _compared_by_text(items, shared)]
    assert everyone == ["given", "cve-shares-with-given", "cveless"]


def test_the_plan_keeps_the_joins_of_stories_not_merged_and_resolves_the_others() -> None:
    planner = _Planner([], DEFAULT)
    kept, moved = Join("a", "x", "first", None), Join("b", "y", "first", None)
    planner.joins = [kept, moved]
    planner.alias = {"y": "z", "z": "x"}  # y merged into z, then z into x
    joins = planner.result().joins
    assert joins[0] is kept
    assert joins[1] == Join("b", "x", "first", None)
