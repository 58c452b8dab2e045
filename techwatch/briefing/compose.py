"""Choose and order what goes into one client's briefing: pure, explained, capped.

A candidate is one story already decided for the client (priority, lane, reasons worded in
the client's language). The briefing keeps a story when no triage hides it and it was not
told before, or was told before but new evidence arrived since (then marked `renewed`).
Most urgent first; within a priority, confirmed matches before unconfirmed ones, then the
most recent. Past the cap the rest is counted, not dropped silently.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

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
        decision = triage.get(story)
        if hidden_by_triage(decision, candidate.marks, today):
            assert decision is not None
            skipped.append(Skipped(story, f"triage:{decision.status}"))
            continue
        show, renewed = repeat(told.get(story), candidate.marks)
        if not show:
            skipped.append(Skipped(story, "already_told"))
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


def _order(candidate: Candidate) -> tuple[int, int, float, str]:
    entry = candidate.entry
    return (
        PRIORITIES.index(entry.priority),
        0 if entry.lane == "confirmed" else 1,
        -candidate.last_seen.timestamp(),
        entry.story_id,
    )
