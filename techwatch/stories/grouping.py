"""The incremental story planner (pure): each new item joins a story, founds one, or bridges two.

Rules, in the order they apply to each pending item (processed in the order given, so the same
input order gives the same stories):

1. Evidence (evidence.py) is looked for only among candidates that share a CVE, a canonical URL
   or a MinHash band key with the item: never among all stored items.
2. A story holds at most one item per source. Two entries of one source are two events as far as
   grouping can tell (two KEV entries, two CERT-FR avis), so the item joins the best-matching
   story that has no item of its source yet; an updated item stays where it is.
3. A new story's id is the id of its first item, and it never changes while the story lives.
4. When the item also matches other stories, they merge into one if their sources do not
   overlap (rule 2 again); the older story (first seen earlier, then smaller id) keeps its id
   and each merge is recorded. Items never leave a story otherwise.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import chain

import numpy as np

from techwatch.stories.bands import Near, band_candidates
from techwatch.stories.evidence import (
    DEFAULT,
    REASON_RANK,
    Evidence,
    Thresholds,
    cve_evidence,
    other_page,
    strongest,
    text_evidence,
    url_evidence,
    when_apart,
)
from techwatch.stories.neardup import grams, jaccards, lead, pair_similarities, text_grams


@dataclass(frozen=True, slots=True)
class StoryItem:
    """What grouping needs of an item: `text` holds at least its lead (neardup.LEAD_CHARS),
    `seen` its publication date or first sighting, `bands` its MinHash band keys."""

    item_id: str
    source_id: str
    title: str
    text: str
    canonical_url: str | None
    cves: frozenset[str]
    seen: datetime
    bands: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredStory:
    """A story already stored: when it began and which item each source gave it."""

    story_id: str
    first_seen: datetime
    members: Mapping[str, str]  # source_id -> item_id


@dataclass(frozen=True, slots=True)
class Join:
    """An item entering a story: 'first' when it founds it, else the evidence and the item
    (`via`) that carried it."""

    item_id: str
    story_id: str
    reason: str
    score: float | None
    via: str | None = None


@dataclass(frozen=True, slots=True)
class Merge:
    """Story `loser` folded into `winner` because `item_id` matched both."""

    loser: str
    winner: str
    item_id: str
    reason: str
    score: float


@dataclass(frozen=True, slots=True)
class Plan:
    """What to store: joins (with final story ids), merges in order, stories to refresh."""

    joins: tuple[Join, ...]
    merges: tuple[Merge, ...]
    touched: tuple[str, ...]
    founded: tuple[str, ...]

    @property
    def removed(self) -> tuple[str, ...]:
        return tuple(m.loser for m in self.merges)


def item_evidence(
    a: StoryItem,
    b: StoryItem,
    a_text: np.ndarray,
    b_text: np.ndarray,
    t: Thresholds = DEFAULT,
    similarity: float | None = None,
) -> Evidence | None:
    """Why `a` and `b` tell one story, or None. Items of one source never do; when both name
    CVEs, the CVE lists decide (see evidence.py). `similarity`: the Jaccard index of the two
    texts when already computed."""
    if a.source_id == b.source_id:
        return None
    apart = when_apart(a.seen, b.seen)
    url = url_evidence(a.canonical_url, b.canonical_url)
    if a.cves and b.cves:
        cve = cve_evidence(a.cves, b.cves, apart, t)
        return strongest(cve, url) if cve is not None else None
    if other_page(a.canonical_url, b.canonical_url):
        return url
    return strongest(url, text_evidence(a_text, b_text, apart, t, similarity))


def plan(
    pending: Sequence[tuple[StoryItem, str | None]],
    known: Sequence[tuple[StoryItem, str]],
    stories: Iterable[StoredStory],
    thresholds: Thresholds = DEFAULT,
    grams: Mapping[str, np.ndarray] | None = None,
) -> Plan:
    """Group `pending` items (each with its current story id, None when new) given the stored
    candidates `known` (each with its story) and the stored stories they belong to. `grams`
    may hold the `neardup.grams` of items' leads already computed (by item id)."""
    keys = [_keys(item) for item, _ in pending]
    known_keys = [_keys(item) for item, _ in known]
    # Only keys a pending item holds and another item shares can ever be looked up: indexing
    # the rest (most band keys of the candidates) cost more than the whole matching.
    wanted, shared = _shared(keys, known_keys)
    planner = _Planner(stories, thresholds, wanted)
    planner.texts.update(grams or {})
    everyone = list(
        zip([item for item, _ in chain(pending, known)], keys + known_keys, strict=True)
    )
    planner.prepare_texts(_compared_by_text(everyone, shared, planner.texts))
    for item, story_id in known:
        planner.index(item, story_id, cves=False)
    # CVE buckets keep their latest MAX_CVE_BUCKET items: fill them oldest first
    for item, story_id in sorted(known, key=lambda known_item: _recency(known_item[0])):
        planner.index(item, story_id, others=False)
    everyone = [item for item, _ in chain(known, pending)]
    near = band_candidates(
        [item.bands for item in everyone],
        [item.item_id for item in everyone],
        len(known),
        MAX_BAND_BUCKET,
        MAX_TEXT_CANDIDATES,
    )
    scores = planner.score_near(everyone, len(known), near)
    for (item, story_id), item_keys, item_near, item_scores in zip(
        pending, keys, near.lists(len(pending)), scores, strict=True
    ):
        if wanted.isdisjoint(item_keys):
            planner.place_alone(item, story_id)
        else:
            planner.place(item, story_id, item_near, item_scores)
    return planner.result()


def _shared(
    keys: Iterable[list[Key]], known_keys: Iterable[list[Key]]
) -> tuple[set[Key], set[Key]]:
    """Index keys held by at least two items: those a pending item holds (with the keys of
    `keys`), then all of them. Why: most of a night's items share none (their own story,
    nothing to compare), and skipping the indexes for them keeps a night fast. Counted apart,
    the pending items' shared keys come without intersecting every key they hold again."""
    counts = Counter(chain.from_iterable(keys))
    known_counts = Counter(chain.from_iterable(known_keys))
    wanted = {key for key, n in counts.items() if n > 1 or key in known_counts}
    return wanted, wanted.union(key for key, n in known_counts.items() if n > 1)


@dataclass
class _Story:
    first_seen: datetime
    members: dict[str, str] = field(default_factory=dict)


class _Planner:
    """Mutable state of one plan: stories, aliases of merged ones, candidate indexes."""

    def __init__(
        self,
        stories: Iterable[StoredStory],
        thresholds: Thresholds,
        wanted: set[Key] | None = None,
    ) -> None:
        self.thresholds = thresholds
        self.wanted = wanted  # the only keys worth indexing (see plan); None: all of them
        self.stories = {s.story_id: _Story(s.first_seen, dict(s.members)) for s in stories}
        self.alias: dict[str, str] = {}
        self.items: dict[str, StoryItem] = {}
        self.story_of: dict[str, str] = {}
        self.texts: dict[str, np.ndarray] = {}
        # URL buckets hold every item (dict keys: insertion-ordered, no repeats); a CVE bucket
        # only its latest MAX_CVE_BUCKET items (a bounded deque: reading a crowded bucket must
        # not cost its whole size, or a CVE named night after night makes grouping quadratic).
        # Band buckets are read for the whole plan at once (bands.band_candidates).
        self.by_url: dict[Key, dict[str, None]] = {}
        self.by_cve: dict[str, deque[str]] = {}
        # The source that gave every item of a CVE bucket, None once two sources did: an item
        # of that source skips the bucket, none of its items can match it (rule 2). Why: CERT-FR
        # avis name dozens of CVEs each, and the buckets they read held the earlier avis only
        # (170k of the 175k entries the real advisories' items read, bench/import_bench.py).
        self.cve_source: dict[str, str | None] = {}
        self.joins: list[Join] = []
        self.merges: list[Merge] = []
        self.founded: list[str] = []
        self.touched: set[str] = set()

    def resolve(self, story_id: str) -> str:
        while story_id in self.alias:
            story_id = self.alias[story_id]
        return story_id

    def index(
        self, item: StoryItem, story_id: str, *, cves: bool = True, others: bool = True
    ) -> None:
        """Make `item` a candidate for the items placed after it, through its CVEs and/or its
        URL (band keys: see bands.band_candidates)."""
        self.items[item.item_id] = item
        self.story_of[item.item_id] = story_id
        wanted = self.wanted
        if cves:
            source = item.source_id
            for cve in item.cves:
                if wanted is None or cve in wanted:
                    if (named := self.by_cve.get(cve)) is None:
                        named = self.by_cve[cve] = deque(maxlen=MAX_CVE_BUCKET)
                        self.cve_source[cve] = source
                    elif self.cve_source[cve] != source:
                        self.cve_source[cve] = None
                    named.append(item.item_id)
        if not others:
            return
        url = ("url", item.canonical_url) if item.canonical_url else None
        if url is not None and (wanted is None or url in wanted):
            self.by_url.setdefault(url, {})[item.item_id] = None

    def prepare_texts(self, items: Iterable[StoryItem]) -> None:
        """Compute the grams of items that may be compared by text, all at once: one numpy pass
        instead of ~0.4 ms of Python per item, most of a look-alike night's grouping. The
        caller passes only items whose text may be compared (`_compared_by_text`); grams given
        to `plan` are not computed again, and any other item's are computed on demand by
        `_text`."""
        wanted = [item for item in items if item.item_id not in self.texts]
        found = text_grams([lead(item.title, item.text) for item in wanted])
        self.texts.update((item.item_id, g) for item, g in zip(wanted, found, strict=True))

    def score_near(
        self, everyone: Sequence[StoryItem], first_pending: int, near: Near
    ) -> list[dict[str, float]]:
        """For each pending item (`everyone` from `first_pending` on, the items `near` was
        computed over), the Jaccard index of its text with each of its band candidates that
        may be compared by text, for all items at once (neardup.pair_similarities: below the
        floor, a bound of it). Candidates found through a CVE or URL only, or missing here,
        are compared by `_similarities`; a score depends only on the two ids' texts."""
        by_code = {code: item for code, item in zip(near.code.tolist(), everyone, strict=True)}
        held = [by_code[code] for code in range(len(near.names))]
        sources: dict[str, int] = {}
        urls: dict[str | None, int] = {None: -1}
        source = np.array([sources.setdefault(i.source_id, len(sources)) for i in held])
        url = np.array([urls.setdefault(i.canonical_url, len(urls)) for i in held])
        named = np.array([bool(i.cves) for i in held], dtype=bool)
        a = near.code[first_pending + near.looker]
        b = near.candidate
        texted = (source[a] != source[b]) & ~(named[a] & named[b])
        a, b, looker = a[texted], b[texted], near.looker[texted]
        used, pairs = np.unique(np.concatenate([a, b]), return_inverse=True)
        found = pair_similarities(
            [self._text(held[code]) for code in used.tolist()],
            pairs[: len(a)],
            pairs[len(a) :],
            self.thresholds.text_jaccard,
            (url[a] == url[b]) & (url[a] >= 0),
        )
        scores: list[dict[str, float]] = [{} for _ in range(len(everyone) - first_pending)]
        names = near.names
        for n, other, score in zip(looker.tolist(), b.tolist(), found, strict=True):
            scores[n][names[other]] = score
        return scores

    def place(
        self,
        item: StoryItem,
        current: str | None,
        near: Sequence[str] = (),
        scores: Mapping[str, float] | None = None,
    ) -> None:
        """Join, found or bridge stories for `item`; `near`: its band candidates and `scores`
        their similarities to it (see `plan`)."""
        scores = scores or {}
        unmatched = current is None and self._unmatched(item, near, scores)
        matches = {} if unmatched else self._matches(item, near, scores)
        ordered = sorted(matches, key=lambda s: self._rank(s, matches[s][0]))
        if current is not None and self.resolve(current) in self.stories:
            target = self.resolve(current)
        else:
            target = self._join(item, ordered, matches)
        self.touched.add(target)
        for story_id in ordered:
            other = self.resolve(story_id)
            if other != target and self._compatible(target, other):
                target = self._merge(target, other, item.item_id, matches[story_id][0])
        self.index(item, target)

    def place_alone(self, item: StoryItem, current: str | None) -> None:
        """`place` for an item that shares no key with any other: it stays in its story, or
        founds one, and no later item can find it, so it is not indexed."""
        if current is not None and self.resolve(current) in self.stories:
            self.touched.add(self.resolve(current))
            return
        self.touched.add(self._join(item, [], {}))

    def result(self) -> Plan:
        """The plan, each join in its final story: a join whose story was not merged away is
        kept as it is (rebuilding all of them was 0.03-0.04 s of CPU for a night's 15,000)."""
        joins = tuple(
            j if j.story_id not in self.alias else replace(j, story_id=self.resolve(j.story_id))
            for j in self.joins
        )
        touched = sorted({self.resolve(s) for s in self.touched})
        return Plan(joins, tuple(self.merges), tuple(touched), tuple(self.founded))

    def _unmatched(self, item: StoryItem, near: Sequence[str], scores: Mapping[str, float]) -> bool:
        """Whether `_matches` would find nothing, told without looking at any candidate: no
        item shares the URL of `item`, none of another source a CVE, and its band candidates
        were all compared by text (`scores`) below the floor. Why: most of a look-alike night's
        items are so, and gathering and sorting their candidates to reject each one was most
        of their placing. A candidate with the same URL would be in the URL bucket (a shared
        key is indexed)."""
        if len(scores) != len(near):
            return False
        floor = self.thresholds.text_jaccard
        if any(score >= floor for score in scores.values()):
            return False
        if item.canonical_url and self.by_url.get(("url", item.canonical_url)):
            return False
        return not self._cves_of_others(item)

    def _cves_of_others(self, item: StoryItem) -> list[str]:
        """The CVEs of `item` whose buckets may hold an item of another source (cve_source)."""
        source, owner = item.source_id, self.cve_source
        return [cve for cve in item.cves if cve in owner and owner[cve] != source]

    def _matches(
        self, item: StoryItem, near: Sequence[str], scores: Mapping[str, float]
    ) -> dict[str, tuple[Evidence, str]]:
        """Best evidence per story among the candidates that share a CVE or URL with `item`,
        and its band candidates `near` (whose similarities `scores` may hold)."""
        candidates: set[str] = set(near)
        for cve in self._cves_of_others(item):
            candidates.update(self.by_cve[cve])
        if item.canonical_url:
            candidates.update(self.by_url.get(("url", item.canonical_url), ()))
        candidates.discard(item.item_id)
        matches: dict[str, tuple[Evidence, str]] = {}
        others = [self.items[other_id] for other_id in sorted(candidates)]
        similar = self._similarities(item, others, scores)
        floor = self.thresholds.text_jaccard
        for other in others:
            score = similar.get(other.item_id)
            if score is not None and score < floor and not _same_url(item, other):
                continue  # only text could tie them and it does not: item_evidence says None
            if item.cves and other.cves:  # the CVE lists decide: no text needed
                found = item_evidence(item, other, _NO_TEXT, _NO_TEXT, self.thresholds)
            else:
                found = item_evidence(
                    item,
                    other,
                    self._text(item),
                    self._text(other),
                    self.thresholds,
                    score,
                )
            if found is None:
                continue
            other_id = other.item_id
            story = self.resolve(self.story_of[other_id])
            best = matches.get(story)
            if best is None or _strength(found) < _strength(best[0]):
                matches[story] = (found, other_id)
        return matches

    def _rank(self, story_id: str, evidence: Evidence) -> tuple[float, int, datetime, str]:
        story = self.stories[story_id]
        return (*_strength(evidence), story.first_seen, story_id)

    def _join(
        self, item: StoryItem, ordered: list[str], matches: Mapping[str, tuple[Evidence, str]]
    ) -> str:
        for story_id in ordered:
            holder = self.stories[story_id].members.get(item.source_id)
            if holder is None or holder == item.item_id:
                evidence, via = matches[story_id]
                self._add(item, story_id)
                self.joins.append(
                    Join(item.item_id, story_id, evidence.reason, evidence.score, via)
                )
                return story_id
        self.stories[item.item_id] = _Story(item.seen)
        self._add(item, item.item_id)
        self.founded.append(item.item_id)
        self.joins.append(Join(item.item_id, item.item_id, "first", None))
        return item.item_id

    def _add(self, item: StoryItem, story_id: str) -> None:
        story = self.stories[story_id]
        story.members[item.source_id] = item.item_id
        story.first_seen = min(story.first_seen, item.seen)

    def _compatible(self, a: str, b: str) -> bool:
        """Two stories may merge when no source gave an item to both."""
        return not (self.stories[a].members.keys() & self.stories[b].members.keys())

    def _merge(self, a: str, b: str, item_id: str, evidence: Evidence) -> str:
        """Fold the younger story into the older; returns the winner's id."""
        first, second = self.stories[a], self.stories[b]
        winner, loser = (a, b) if (first.first_seen, a) <= (second.first_seen, b) else (b, a)
        kept, gone = self.stories[winner], self.stories.pop(loser)
        kept.members.update(gone.members)
        kept.first_seen = min(kept.first_seen, gone.first_seen)
        self.alias[loser] = winner
        self.touched.discard(loser)
        self.touched.add(winner)
        self.merges.append(Merge(loser, winner, item_id, evidence.reason, evidence.score))
        return winner

    def _similarities(
        self, item: StoryItem, others: list[StoryItem], known: Mapping[str, float]
    ) -> dict[str, float]:
        """Jaccard index of `item`'s text with each of `others` that may be compared by text
        (another source, not both naming CVEs), by item id: from `known` (score_near), the
        others in one pass (neardup.jaccards)."""
        texted = [
            other
            for other in others
            if other.source_id != item.source_id and not (item.cves and other.cves)
        ]
        found = {other.item_id: known[other.item_id] for other in texted if other.item_id in known}
        missing = [other for other in texted if other.item_id not in found]
        if missing:
            scores = jaccards(self._text(item), [self._text(other) for other in missing])
            found.update(
                (other.item_id, score) for other, score in zip(missing, scores, strict=True)
            )
        return found

    def _text(self, item: StoryItem) -> np.ndarray:
        cached = self.texts.get(item.item_id)
        if cached is None:
            cached = self.texts[item.item_id] = grams(lead(item.title, item.text))
        return cached


MAX_BAND_BUCKET = 32  # latest items taken from one MinHash band bucket (see _Planner._matches)
# Latest items (by date, then id) an item is compared with through one CVE it names. Why a cap:
# a CVE named night after night (Log4Shell) made each new item naming it cost as much as all the
# items before it, so grouping grew with the square of the store. Why it loses no evaluated
# pair: the most-named CVE of the 4,457 items of bench/stories_eval.py (real KEV, CVE records,
# CERT-FR avis and alertes, news) is named by 34 items, so the cap never applies there; past it,
# the story that holds the latest items naming the CVE is still found through them.
MAX_CVE_BUCKET = 64
# Band candidates compared exactly per item, most shared bands first. A true near-duplicate
# (Jaccard >= 0.5) shares most bands and ranks first; 6 instead of 16 gives the same grouping on
# the 388 labelled real pairs (bench/stories_eval.py: 0.973 / 0.822) and cuts the stories stage
# of the ingestion bench (15k look-alike items) from 9.2 to 6.0 s.
MAX_TEXT_CANDIDATES = 6


def _strength(evidence: Evidence) -> tuple[float, int]:
    """Sort key: stronger evidence first (higher score, then url > cve > text)."""
    return (-evidence.score, REASON_RANK[evidence.reason])


def _compared_by_text(
    items: Sequence[tuple[StoryItem, list[Key]]], shared: set[Key], known: Container[str] = ()
) -> list[StoryItem]:
    """Items whose text may be compared, but whose grams are not `known` (by item id): two CVE
    lists decide without text, so only pairs across a URL or band key where one side names no
    CVE need it. Computing every candidate's grams up front cost more than this choice on a
    CVE-heavy backlog (100k items: 13.5 -> 17 s then); the pending items' grams come with
    their band keys (run.sign) at almost no cost, and choosing among them again was 0.05 s
    of CPU for a night of 15,000 items."""
    wanted = [(item, item_keys) for item, item_keys in items if item.item_id not in known]
    if not wanted:
        return []
    text_keys = {key for key in shared if not isinstance(key, str)}  # URLs and bands
    without_cves: set[Key] = set()
    if any(item.cves for item, _ in wanted):  # an item naming none may need their text
        for item, item_keys in items:
            if not item.cves:
                without_cves.update(text_keys.intersection(item_keys))
    return [
        item
        for item, item_keys in wanted
        if not (without_cves if item.cves else text_keys).isdisjoint(item_keys)
    ]


def _same_url(a: StoryItem, b: StoryItem) -> bool:
    """Whether URL evidence may tie two items (url_evidence decides whether it does)."""
    return a.canonical_url is not None and a.canonical_url == b.canonical_url


def _recency(item: StoryItem) -> tuple[datetime, str]:
    """Which of two items naming one CVE is the later (see MAX_CVE_BUCKET)."""
    return item.seen, item.item_id


def _keys(item: StoryItem) -> list[Key]:
    """Index keys of an item: its CVEs (str), its canonical URL (a ("url", url) tuple) and its
    band keys (int); the three kinds never compare equal. In no particular order: every use
    is a set operation (sorting the CVEs of a 100k backlog's items and candidates cost 0.3 s)."""
    keys: list[Key] = list(item.cves)
    if item.canonical_url:
        keys.append(("url", item.canonical_url))
    keys.extend(item.bands)
    return keys


Key = str | tuple[str, str] | int
_NO_TEXT: np.ndarray = np.empty(0, dtype=np.uint32)
