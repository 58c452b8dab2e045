"""Score stories for every client at once (pure): evidence x clients x now -> decision rows.

One index over all clients' terms, one lookup per story, one decision per concerned client:
the rows `storage.briefings.replace_decisions` stores. Reasons are kept structured (code and
parameters), so briefings word them later in each client's language.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from techwatch.briefing.memory import evidence_marks
from techwatch.clients.profile import Client
from techwatch.scoring.evidence import Evidence
from techwatch.scoring.match import Relevance, build_index, concerned
from techwatch.scoring.priority import RULES_VERSION, Decision, decide


def assess(
    evidences: Mapping[str, Evidence],
    clients: Sequence[Client],
    last_seen: Mapping[str, datetime],
    now: datetime,
) -> list[dict[str, Any]]:
    """Decision rows for every (client, story) where the story concerns the client."""
    if not clients:
        return []
    index = build_index(clients)
    by_id = {c.id: c for c in clients}
    rows: list[dict[str, Any]] = []
    for story_id, evidence in evidences.items():
        relevant = {cid: r for cid, r in concerned(index, evidence).items() if r.concerned}
        if not relevant:
            continue
        marks = sorted(evidence_marks(evidence))
        shared: dict[int, tuple[Any, ...]] = {}  # per story: ids stay those of live objects
        for client_id, relevance in sorted(relevant.items()):
            decision = decide(evidence, relevance, by_id[client_id], now)
            rows.append(
                {
                    "client_id": client_id,
                    "story_id": story_id,
                    "priority": decision.priority,
                    "lane": decision.lane,
                    "reasons": _reasons_json(relevance, decision, shared),
                    "marks": marks,
                    "title": evidence.title,
                    "first_seen": evidence.first_seen,
                    "last_seen": last_seen.get(story_id, evidence.first_seen),
                    "decided_at": now,
                    "rules_version": decision.rules_version or RULES_VERSION,
                }
            )
    return rows


def _reasons_json(
    relevance: Relevance, decision: Decision, shared: dict[int, tuple[Any, ...]]
) -> str:
    """The decision's reasons as JSON text: match reasons, then priority reasons. Encoded once
    per story for a decision several clients share (a sector match: `decide` hands each of them
    the same Decision, their Relevance holds the same Match objects), as a law or a phishing
    wave reaches dozens of clients."""
    known = shared.get(id(decision))
    if (
        known is not None
        and known[0] is decision
        and len(known[1]) == len(relevance.matches)
        and all(a is b for a, b in zip(known[1], relevance.matches, strict=True))
    ):
        return str(known[2])
    text = json.dumps(
        {
            "match": [r.as_dict() for r in relevance.reasons],
            "priority": [r.as_dict() for r in decision.reasons],
        },
        ensure_ascii=False,
    )
    shared[id(decision)] = (decision, relevance.matches, text)
    return text
