"""What a briefing says about one story whatever the client: its facts, ready to word (pure).

Scoring derives them from the story's Evidence and items when it decides the story, and the
store keeps them beside the decisions (`storage.told`), so that a briefing reads the few
stories it tells by key, as they were when decided, instead of gathering their items, labels
and advisories again. Only what depends on the client stays for `build`: which KEV actions
and fixed versions apply follows the client's match reasons and asset version.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from techwatch.briefing.advice import KevAction
from techwatch.briefing.compose import shorten
from techwatch.briefing.model import Link
from techwatch.scoring import gather
from techwatch.scoring.evidence import Evidence

MAX_LINKS: Final = 5
# Links: one per source, advisories and vendors first.
_RANK: Final = {"advisory": 0, "vendor": 1, "regulation": 2, "status": 3, "press": 4, "blog": 5}


@dataclass(frozen=True, slots=True)
class FixFacts:
    """First fixed versions an advisory states for one product, about one vulnerability."""

    vuln_id: str
    product: str
    fixed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoryFacts:
    """One story as a briefing tells it, before the client's reasons and language."""

    story_id: str
    title: str
    summary: str  # what happened: the title item's text (else the first with text), shortened
    first_seen: datetime
    topics: tuple[str, ...] = ()
    severity: str | None = None
    cves: tuple[str, ...] = ()
    item_ids: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    kev: tuple[KevAction, ...] = ()  # CISA's required actions, in the order of the advisories
    fixes: tuple[FixFacts, ...] = ()


def of(evidence: Evidence, members: Sequence[Mapping[str, Any]]) -> StoryFacts:
    """The facts of a story from its Evidence and item rows (source, title, text, url)."""
    return StoryFacts(
        story_id=evidence.story_id,
        title=evidence.title,
        summary=shorten(_summary(evidence, members)),
        first_seen=evidence.first_seen,
        topics=evidence.topics,
        severity=evidence.severity,
        cves=evidence.cves,
        item_ids=evidence.item_ids,
        links=_links(members),
        kev=tuple(
            KevAction(v.vuln_id, v.kev.required_action, v.kev.due_date)
            for v in evidence.vulns
            if v.kev is not None and v.kev.required_action
        ),
        fixes=tuple(
            FixFacts(v.vuln_id, a.product, a.fixed)
            for v in evidence.vulns
            for a in v.affected
            if a.fixed
        ),
    )


def from_rows(
    rows: Mapping[str, Sequence[Mapping[str, Any]]], wanted: Iterable[str] | None = None
) -> dict[str, StoryFacts]:
    """Facts of the stories in `rows` (`storage.evidence.story_rows`), of `wanted` only when
    given; a story without items has none."""
    return of_evidences(gather.evidences(rows), rows["items"], wanted)


def of_evidences(
    evidences: Mapping[str, Evidence],
    items: Iterable[Mapping[str, Any]],
    wanted: Iterable[str] | None = None,
) -> dict[str, StoryFacts]:
    """Facts of the `wanted` stories (all when None) from their Evidence and item rows."""
    members: defaultdict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for item in items:
        members[item["story_id"]].append(item)
    keys = evidences.keys() if wanted is None else [s for s in wanted if s in evidences]
    return {s: of(evidences[s], members[s]) for s in keys}


def _summary(evidence: Evidence, members: Sequence[Mapping[str, Any]]) -> str:
    """The text of the story's title item, else of its first item with text."""
    for member in members:
        if member["title"] == evidence.title and member["text"]:
            return str(member["text"])
    return next((str(m["text"]) for m in members if m["text"]), evidence.title)


def _links(members: Sequence[Mapping[str, Any]]) -> tuple[Link, ...]:
    """One link per source, advisories and vendors first, at most MAX_LINKS."""
    seen: dict[str, Link] = {}
    for member in sorted(members, key=lambda m: _RANK.get(m["category"], 9)):
        if member["source_id"] in seen:
            continue
        seen[member["source_id"]] = Link(
            source=member["source_name"],
            title=member["title"],
            url=member["url"],
            published=member["published"],
        )
    return tuple(seen.values())[:MAX_LINKS]


def to_json(facts: StoryFacts) -> dict[str, Any]:
    """Plain JSON data (dates as ISO text) that `from_json` reads back into equal facts."""
    return {
        "story_id": facts.story_id,
        "title": facts.title,
        "summary": facts.summary,
        "first_seen": facts.first_seen.isoformat(),
        "topics": list(facts.topics),
        "severity": facts.severity,
        "cves": list(facts.cves),
        "item_ids": list(facts.item_ids),
        "links": [
            [k.source, k.title, k.url, k.published.isoformat() if k.published else None]
            for k in facts.links
        ],
        "kev": [[k.cve, k.action, k.due.isoformat() if k.due else None] for k in facts.kev],
        "fixes": [[f.vuln_id, f.product, list(f.fixed)] for f in facts.fixes],
    }


def from_json(data: Mapping[str, Any]) -> StoryFacts:
    return StoryFacts(
        story_id=data["story_id"],
        title=data["title"],
        summary=data["summary"],
        first_seen=datetime.fromisoformat(data["first_seen"]),
        topics=tuple(data["topics"]),
        severity=data["severity"],
        cves=tuple(data["cves"]),
        item_ids=tuple(data["item_ids"]),
        links=tuple(
            Link(source, title, url, datetime.fromisoformat(published) if published else None)
            for source, title, url, published in data["links"]
        ),
        kev=tuple(
            KevAction(cve, action, date.fromisoformat(due) if due else None)
            for cve, action, due in data["kev"]
        ),
        fixes=tuple(FixFacts(v, product, tuple(fixed)) for v, product, fixed in data["fixes"]),
    )
