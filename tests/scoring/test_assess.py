"""assess(): one decision row per concerned (story, client), its reasons stored as the JSON of
the match reasons then the priority reasons, whether or not several clients share them."""

from __future__ import annotations

import itertools
import json

from techwatch.scoring.assess import assess
from techwatch.scoring.match import build_index, concerned
from techwatch.scoring.priority import RULES, Situation, _first_rule, decide
from techwatch.types import Affected
from tests.scoring.builders import DENTAL, NOW, advisory, client, evidence

OTHERS = [client(id=f"c{n}", sectors=("health",) if n % 2 else ("legal",)) for n in range(4)]
STORIES = {
    "law": evidence("New data law", topics=("regulation",), sectors=("all",), severity="high",
                    story_id="law"),
    "health": evidence("Phishing at clinics", topics=("phishing_fraud",), sectors=("health",),
                       severity="high", story_id="health"),
    "fortios": advisory("FortiOS flaw", "CVE-2026-1", Affected("Fortinet", "FortiOS",
                        versions=("< 7.2.5",), fixed=("7.2.5",)), story_id="fortios"),
    "hin": evidence("HIN outage: Mail down", topics=("outage",), story_id="hin"),
}  # fmt: skip


def test_each_rows_reasons_are_the_json_of_its_relevance_and_decision():
    clients = [DENTAL, *OTHERS]
    rows = assess(STORIES, clients, {}, NOW)
    index = build_index(clients)
    by_id = {c.id: c for c in clients}
    expected = []
    for story_id, story in STORIES.items():
        for client_id, found in sorted(concerned(index, story).items()):
            if not found.concerned:
                continue
            decision = decide(story, found, by_id[client_id], NOW)
            reasons = {
                "match": [r.as_dict() for r in found.reasons],
                "priority": [r.as_dict() for r in decision.reasons],
            }
            expected.append((client_id, story_id, json.dumps(reasons, ensure_ascii=False)))
    assert [(r["client_id"], r["story_id"], r["reasons"]) for r in rows] == expected
    law = [r["reasons"] for r in rows if r["story_id"] == "law"]
    assert len(law) == len(clients) and len(set(law)) == 1  # one sector match for all
    assert {r["story_id"] for r in rows} == set(STORIES)


def test_the_first_rule_remembered_per_situation_is_the_first_of_the_table():
    labels = {
        "topic": ("security", "end_of_life", "breach", "outage", "pricing", "regulation",
                  "campaign", "general"),
        "target": ("asset", "provider", "keyword", "sector"),
        "exploitation": ("active", "poc", "none"),
        "exposure": ("exposed", "internal", "unknown"),
        "impact": ("high", "medium", "low"),
        "severity": ("critical", "high", "medium", "unknown"),
        "eol": ("passed", "1m", "12m", "unknown"),
        "data": ("sensitive", "personal", "none"),
    }  # fmt: skip
    for values in itertools.product(*labels.values()):
        situation = Situation(**dict(zip(labels, values, strict=True)))
        for _ in range(2):  # computed, then remembered
            assert _first_rule(situation) is next(r for r in RULES if r.holds(situation))
