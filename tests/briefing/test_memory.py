from datetime import UTC, date, datetime

import pytest

from techwatch.briefing.memory import Triage, evidence_marks, hidden_by_triage, repeat
from techwatch.scoring.evidence import Evidence
from techwatch.types import EpssScore, KevEntry, VulnFacts

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def evidence(topics=(), kev=False, ransomware=None, epss=None, ssvc=()) -> Evidence:
    entry = KevEntry(date(2026, 11, 1), None, "Patch.", ransomware, "V", "P", "N") if kev else None
    vulns = (VulnFacts("CVE-2026-1", kev=entry, ssvc=ssvc),)
    scores = () if epss is None else (EpssScore("CVE-2026-1", epss, 0.9, date(2026, 11, 27)),)
    return Evidence("s", "t", "x", NOW, topics=topics, vulns=vulns, epss=scores)


@pytest.mark.parametrize(
    ("ev", "marks"),
    [
        (evidence(), set()),
        (evidence(kev=True), {"kev"}),
        (evidence(kev=True, ransomware=True), {"kev", "ransomware"}),
        (evidence(topics=("exploited",)), {"exploited"}),
        (evidence(ssvc=(("Exploitation", "active"),)), {"exploited"}),
        (evidence(ssvc=(("Exploitation", "poc"),)), set()),
        (evidence(epss=0.05), set()),
        (evidence(epss=0.6), {"epss>=0.1", "epss>=0.5"}),
    ],
)
def test_evidence_marks(ev, marks):
    assert evidence_marks(ev) == marks


@pytest.mark.parametrize(
    ("reported", "now", "expected"),
    [
        (None, frozenset(), (True, False)),
        (frozenset(), frozenset(), (False, False)),
        (frozenset({"epss>=0.1"}), frozenset({"epss>=0.1"}), (False, False)),
        (frozenset(), frozenset({"kev"}), (True, True)),
        (frozenset({"kev"}), frozenset(), (False, False)),  # evidence never "disappears" news
        (frozenset({"epss>=0.1"}), frozenset({"epss>=0.1", "epss>=0.5"}), (True, True)),
    ],
)
def test_a_story_is_told_once_then_only_on_new_evidence(reported, now, expected):
    assert repeat(reported, now) == expected


def triage(expires=None, marks=frozenset()) -> Triage:
    return Triage("c", "s", "accepted", "anne", NOW, "risk accepted", expires, marks)


@pytest.mark.parametrize(
    ("t", "marks", "today", "hidden"),
    [
        (None, frozenset(), date(2026, 11, 28), False),
        (triage(), frozenset(), date(2026, 11, 28), True),
        (triage(), frozenset({"kev"}), date(2026, 11, 28), False),
        (triage(marks=frozenset({"kev"})), frozenset({"kev"}), date(2026, 11, 28), True),
        (triage(expires=date(2026, 12, 31)), frozenset(), date(2026, 12, 30), True),
        (triage(expires=date(2026, 12, 31)), frozenset(), date(2026, 12, 31), False),
    ],
)
def test_triage_hides_until_expiry_or_new_evidence(t, marks, today, hidden):
    assert hidden_by_triage(t, marks, today) is hidden
