"""What a client was already told, and what the advisor decided: pure rules of repetition.

A story reaches a client once. It comes back only with *new evidence*: it entered CISA's KEV
catalog, exploitation was reported, or its EPSS probability crossed a higher band. The same
rule lifts a consultant's triage (`not_applicable`, `mitigated`, `accepted`, `done`): a story
marked done is not shown again unless something new makes it dangerous again. An `accepted`
risk can carry an expiry date, after which the story is shown again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from techwatch.scoring.evidence import Evidence

TriageStatus = Literal["not_applicable", "mitigated", "accepted", "done"]
TRIAGE_STATUSES: tuple[TriageStatus, ...] = ("not_applicable", "mitigated", "accepted", "done")
# EPSS bands: crossing one upwards is new evidence (a jump), drifting within one is not.
EPSS_BANDS: tuple[float, ...] = (0.1, 0.5, 0.9)


@dataclass(frozen=True, slots=True)
class Triage:
    """A consultant's decision about one story for one client; the latest one counts."""

    client_id: str
    story_id: str
    status: TriageStatus
    set_by: str
    set_at: datetime
    note: str = ""
    expires: date | None = None
    marks: frozenset[str] = frozenset()  # evidence marks when the decision was taken


def evidence_marks(evidence: Evidence) -> frozenset[str]:
    """The facts whose appearance makes a story worth telling again."""
    marks: set[str] = set()
    if evidence.kev:
        marks.add("kev")
    if any(v.kev is not None and v.kev.ransomware for v in evidence.vulns):
        marks.add("ransomware")
    if "exploited" in evidence.topics or _ssvc_active(evidence):
        marks.add("exploited")
    best = max((s.score for s in evidence.epss), default=0.0)
    marks.update(f"epss>={band:g}" for band in EPSS_BANDS if best >= band)
    return frozenset(marks)


def news(before: frozenset[str], now: frozenset[str]) -> frozenset[str]:
    """Marks present now that were not there before."""
    return now - before


def hidden_by_triage(triage: Triage | None, marks: frozenset[str], today: date) -> bool:
    """A triaged story stays hidden until its expiry or until new evidence arrives."""
    if triage is None:
        return False
    if triage.expires is not None and today >= triage.expires:
        return False
    return not news(triage.marks, marks)


def repeat(reported: frozenset[str] | None, marks: frozenset[str]) -> tuple[bool, bool]:
    """(show, renewed) for a story given the marks it had when last reported (None: never)."""
    if reported is None:
        return True, False
    if news(reported, marks):
        return True, True
    return False, False


def _ssvc_active(evidence: Evidence) -> bool:
    return any(
        point.lower() == "exploitation" and value.lower() == "active"
        for v in evidence.vulns
        for point, value in v.ssvc
    )
