"""A briefing as plain data: what the renderers show and what the store keeps, so that a past
briefing can be shown again exactly and explained (model and rules versions, scores)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from techwatch.briefing.period import Period
from techwatch.clients.profile import Language, Priority

Lane = Literal["confirmed", "unconfirmed"]


@dataclass(frozen=True, slots=True)
class Link:
    """One source of a story, as published."""

    source: str  # the source's display name
    title: str
    url: str | None
    published: datetime | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One story in one client's briefing, already in the client's language."""

    story_id: str
    priority: Priority
    lane: Lane
    title: str  # as published, never translated
    summary: str  # what happened: plain text from the best source, shortened
    why: tuple[str, ...]  # why it concerns this client: match and priority reasons
    actions: tuple[str, ...]  # what to do
    links: tuple[Link, ...]
    first_seen: datetime
    topics: tuple[str, ...] = ()
    severity: str | None = None
    cves: tuple[str, ...] = ()
    renewed: bool = False  # shown again because of new evidence (KEV, EPSS jump, exploitation)
    item_ids: tuple[str, ...] = ()  # the stored items the story was built from
    marks: tuple[str, ...] = ()  # evidence marks when told (kev, exploited, epss>=0.5...)


@dataclass(frozen=True, slots=True)
class Health:
    """Sources health in one line: how many were checked, how many are failing."""

    checked: int
    failing: int
    degraded: int = 0


@dataclass(frozen=True, slots=True)
class Briefing:
    client_id: str
    client_name: str
    language: Language
    period: Period
    generated_at: datetime
    items_watched: int  # items collected during the period, all sources
    health: Health
    entries: tuple[Entry, ...]
    omitted: int = 0  # stories beyond the cap, listed by count with a pointer to the CLI
    model_version: str | None = None
    rules_version: str | None = None
    advisor: str | None = None

    @property
    def empty(self) -> bool:
        return not self.entries

    def count(self, priority: Priority) -> int:
        return sum(1 for e in self.entries if e.priority == priority)
