"""Assemble one client's briefing from stored decisions and story facts (pure).

Triage, told-once and the order are decided on the decision rows alone (`kept`, the rules of
`compose`); then each decision within the cap becomes an Entry worded in the client's
language: why (match reasons, then priority reasons), what to do (KEV action, fixed version,
topic advice) and the sources. Only those few need their story's facts (`facts.StoryFacts`,
kept by scoring) and their decision's reasons: a week of 600 decisions costs the wording of
ten.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from techwatch.briefing import advice
from techwatch.briefing.compose import Selection, Skipped, order, shown
from techwatch.briefing.facts import StoryFacts
from techwatch.briefing.memory import Triage
from techwatch.briefing.model import Briefing, Entry, Health
from techwatch.briefing.period import Period, local_date
from techwatch.clients.profile import Client
from techwatch.scoring.reasons import Reason, render

MAX_WHY: Final = 6
MAX_CVES: Final = 5
_NUMBERS = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class Inputs:
    """What the store says for one client and period, read at the I/O edge."""

    decisions: Sequence[Mapping[str, Any]]  # client_stories rows, reasons decoded or JSON
    facts: Mapping[str, StoryFacts]
    triage: Mapping[str, Triage]
    told: Mapping[str, frozenset[str]]
    health: Health
    items_watched: int
    model_version: str | None = None
    advisor: str | None = None
    # Stories whose facts were read (None: all of them). A kept story outside it is counted
    # as omitted without reading it; one inside it without facts is gone and left out.
    read: frozenset[str] | None = None
    # Reasons (decoded or JSON) of decisions read without them, by story: only the stories
    # told need theirs (`storage.told.told_stories`); a row's own reasons come first.
    reasons: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Kept:
    """A decision the briefing keeps (triage and told-once applied), before the cap."""

    row: Mapping[str, Any]
    renewed: bool


def kept(
    decisions: Sequence[Mapping[str, Any]],
    triage: Mapping[str, Triage],
    told: Mapping[str, frozenset[str]],
    now: datetime,
) -> tuple[list[Kept], list[Skipped]]:
    """The decisions to tell, in briefing order, and those left out: decided on the decision
    rows alone, so that only the few stories within the cap need their facts read."""
    today = local_date(now)
    keep: list[Kept] = []
    skipped: list[Skipped] = []
    for row in decisions:
        story = row["story_id"]
        show, renewed, why = shown(story, row["marks"], triage=triage, told=told, today=today)
        if show:
            keep.append(Kept(row, renewed))
        else:
            skipped.append(Skipped(story, why))
    keep.sort(key=_order)
    return keep, skipped


def build(
    client: Client,
    period: Period,
    inputs: Inputs,
    now: datetime,
    cap: int,
    picks: tuple[list[Kept], list[Skipped]] | None = None,
) -> tuple[Briefing, Selection]:
    """The briefing and what it told; `picks` is `kept` of the same inputs and `now` when the
    caller already has it (it chose which stories' facts to read)."""
    told, skipped = picks or kept(inputs.decisions, inputs.triage, inputs.told, now)
    chosen: list[Kept] = []
    omitted = 0
    for pick in told:
        story = pick.row["story_id"]
        if story in inputs.facts:
            if len(chosen) < cap:
                chosen.append(pick)
            else:
                omitted += 1
        elif inputs.read is not None and story not in inputs.read:
            omitted += 1
    language = client.language
    entries = tuple(
        _entry(k.row, inputs.facts[k.row["story_id"]], language, k.renewed, inputs.reasons)
        for k in chosen
    )
    selection = Selection(
        entries=entries,
        marks={k.row["story_id"]: frozenset(k.row["marks"]) for k in chosen},
        omitted=omitted,
        skipped=tuple(s for s in skipped if _known(s.story_id, inputs)),
    )
    rules = sorted({row["rules_version"] for row in inputs.decisions})
    briefing = Briefing(
        client_id=client.id,
        client_name=client.name,
        language=client.language,
        period=period,
        generated_at=now,
        items_watched=inputs.items_watched,
        health=inputs.health,
        entries=selection.entries,
        omitted=selection.omitted,
        model_version=inputs.model_version,
        rules_version=", ".join(rules) or None,
        advisor=inputs.advisor,
    )
    return briefing, selection


def _order(pick: Kept) -> tuple[Any, ...]:
    row = pick.row
    return order(row["priority"], row["lane"], row["last_seen"], row["story_id"])


def _known(story: str, inputs: Inputs) -> bool:
    """A story whose facts were read and found, or not read at all (assumed present)."""
    return story in inputs.facts or (inputs.read is not None and story not in inputs.read)


def _entry(
    row: Mapping[str, Any],
    facts: StoryFacts,
    language: str,
    renewed: bool,
    read: Mapping[str, Any] | None,
) -> Entry:
    reasons = row["reasons"] if "reasons" in row or read is None else read[row["story_id"]]
    if isinstance(reasons, str):
        reasons = json.loads(reasons)
    match = [_reason(r) for r in reasons.get("match", [])]
    priority = [_reason(r) for r in reasons.get("priority", [])]
    why = tuple(dict.fromkeys(render(r, language) for r in (*match, *priority)))[:MAX_WHY]
    return Entry(
        story_id=facts.story_id,
        priority=row["priority"],
        lane=row["lane"],
        title=facts.title,
        summary=facts.summary,
        why=why,
        actions=advice.actions(
            facts.topics,
            language,
            kev=_kev_actions(facts, match),
            fixes=_fixes(facts, match),
        ),
        links=facts.links,
        first_seen=facts.first_seen,
        topics=facts.topics,
        severity=facts.severity,
        cves=facts.cves[:MAX_CVES],
        item_ids=facts.item_ids,
        marks=tuple(sorted(row["marks"])),
        renewed=renewed,
    )


def _reason(data: Mapping[str, Any]) -> Reason:
    return Reason(data["code"], tuple(data["params"].items()))


def _matched_vulns(match: Sequence[Reason]) -> dict[str, dict[str, Any]]:
    return {str(r.param("vuln")): dict(r.params) for r in match if "vuln" in dict(r.params)}


def _kev_actions(facts: StoryFacts, match: Sequence[Reason]) -> tuple[advice.KevAction, ...]:
    """CISA's required action for the CVEs that matched (any KEV CVE of a text match)."""
    matched = _matched_vulns(match)
    chosen = [k for k in facts.kev if k.cve in matched] or facts.kev
    return tuple({k.cve: k for k in chosen}.values())[:2]


def _fixes(facts: StoryFacts, match: Sequence[Reason]) -> tuple[advice.Fix, ...]:
    """First fixed versions the advisories state for the products that matched, on the
    branch of the client's version when it is known (7.2.3 -> the 7.2 fix)."""
    fixes: dict[str, advice.Fix] = {}
    for vuln_id, params in _matched_vulns(match).items():
        version = str(params.get("version") or "")
        for fix in facts.fixes:
            if fix.vuln_id != vuln_id:
                continue
            named = str(params.get("product") or fix.product)
            if named.casefold() != fix.product.casefold():
                continue
            fixes.setdefault(fix.product, advice.Fix(fix.product, _on_branch(fix.fixed, version)))
    return tuple(fixes.values())[:2]


def _on_branch(fixed: Sequence[str], version: str) -> str:
    branch = _NUMBERS.findall(version)[:2]
    if branch:
        same = [f for f in fixed if _NUMBERS.findall(f)[:2] == branch]
        if same:
            return same[0]
    return " / ".join(fixed[:3])
