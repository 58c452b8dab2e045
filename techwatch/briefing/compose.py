"""Choose and order what goes into one client's briefing: pure, explained, capped.

A candidate is one story already decided for the client (priority, lane, reasons worded in
the client's language). The briefing keeps a story when no triage hides it and it was not
told before, or was told before but new evidence arrived since (then marked `renewed`).
Most urgent first; within a priority, confirmed matches before unconfirmed ones, then the
most recent. Past the cap the rest is counted, not dropped silently.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from techwatch.briefing.memory import Triage, hidden_by_triage, repeat
from techwatch.briefing.model import Entry
from techwatch.clients.profile import PRIORITIES

DEFAULT_CAP = 10
SUMMARY_CHARS = 420


@dataclass(frozen=True, slots=True)
class Candidate:
    entry: Entry
    marks: frozenset[str]
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class Skipped:
    story_id: str
    why: str  # "triage:done", "already_told"


@dataclass(frozen=True, slots=True)
class Selection:
    entries: tuple[Entry, ...]
    marks: Mapping[str, frozenset[str]]  # story -> marks told now (to remember)
    omitted: int
    skipped: tuple[Skipped, ...]


def select(
    candidates: Sequence[Candidate],
    *,
    triage: Mapping[str, Triage],
    told: Mapping[str, frozenset[str]],
    today: date,
    cap: int = DEFAULT_CAP,
) -> Selection:
    kept: list[Candidate] = []
    skipped: list[Skipped] = []
    for candidate in candidates:
        story = candidate.entry.story_id
        show, renewed, why = shown(story, candidate.marks, triage=triage, told=told, today=today)
        if not show:
            skipped.append(Skipped(story, why))
            continue
        if renewed:
            candidate = dataclasses.replace(
                candidate, entry=dataclasses.replace(candidate.entry, renewed=True)
            )
        kept.append(candidate)
    kept.sort(key=_order)
    chosen = kept[:cap]
    return Selection(
        entries=tuple(c.entry for c in chosen),
        marks={c.entry.story_id: c.marks for c in chosen},
        omitted=len(kept) - len(chosen),
        skipped=tuple(skipped),
    )


def shown(
    story: str,
    marks: Iterable[str],
    *,
    triage: Mapping[str, Triage],
    told: Mapping[str, frozenset[str]],
    today: date,
) -> tuple[bool, bool, str]:
    """(show, renewed, why not) for one story: the triage rule, then the told-once rule.

    A story neither triaged nor told before is shown without reading its marks: most of a
    busy client's week, decided per row before any facts are read (`build.kept`)."""
    decision = triage.get(story)
    reported = told.get(story)
    if decision is None and reported is None:
        return True, False, ""
    marks = frozenset(marks)
    if hidden_by_triage(decision, marks, today):
        assert decision is not None
        return False, False, f"triage:{decision.status}"
    show, renewed = repeat(reported, marks)
    return show, renewed, "" if show else "already_told"


def order(priority: str, lane: str, last_seen: datetime, story_id: str) -> tuple[Any, ...]:
    """Most urgent first; within a priority confirmed before unconfirmed, then most recent."""
    return (
        PRIORITIES.index(priority),
        0 if lane == "confirmed" else 1,
        -last_seen.timestamp(),
        story_id,
    )


def shorten(text: str, limit: int = SUMMARY_CHARS) -> str:
    """Whole sentences when they fit, else whole words, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    if end >= limit // 3:  # a sentence that keeps at least a third of the room
        return cut[: end + 1]
    return cut[: cut.rfind(" ")].rstrip(",;:") + " …" if " " in cut else cut + "…"


def _order(candidate: Candidate) -> tuple[Any, ...]:
    entry = candidate.entry
    return order(entry.priority, entry.lane, candidate.last_seen, entry.story_id)
