"""Per-client priority from the rules table: every level reachable, every decision explained."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from techwatch.clients.profile import PRIORITIES, Client, Provider
from techwatch.parse.cve_json5 import parse_cve_json5
from techwatch.parse.kev import parse_kev
from techwatch.scoring.evidence import Evidence
from techwatch.scoring.match import build_index, concerned, relevance
from techwatch.scoring.priority import RULES, RULES_VERSION, Decision, decide, rule
from techwatch.scoring.reasons import reason, render
from techwatch.types import Affected, CvssScore, EpssScore, KevEntry
from tests.scoring.builders import DENTAL, NOW, advisory, asset, client, evidence
from tests.scoring.test_match import as_evidence, parsed_items

KEV = KevEntry(date(2024, 2, 9), None, "Apply updates.", None, "Fortinet", "FortiOS", "OOB write")
CRITICAL = CvssScore("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL")
HIGH = CvssScore("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5, "HIGH")
MEDIUM = CvssScore("3.1", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:N", 4.8, "MEDIUM")
AFFECTED = Affected("Acme", "Gizmo", versions=("< 2.0",))


def gizmo(**fields: object) -> Client:
    """A client with one Acme Gizmo 1.5 (affected by AFFECTED) shaped by `fields`."""
    return client(asset("Gizmo", "Acme", "Gizmo", version="1.5", **fields))


def security(**facts: object) -> Evidence:
    """A story about CVE-1 in Acme Gizmo < 2.0, with the given advisory facts."""
    topics = ("vulnerability", "exploited") if facts.get("kev") else ("vulnerability",)
    epss = facts.pop("epss", ())
    return advisory("Acme fixes a flaw", "CVE-1", AFFECTED, facts=facts, topics=topics, epss=epss)


def decision(story: Evidence, who: Client) -> Decision:
    return decide(story, relevance(who, story), who, NOW)


EXPOSED_4 = {"exposure": "exposed", "criticality": 4}
INTERNAL_4 = {"exposure": "internal", "criticality": 4}
EPSS = (EpssScore("CVE-1", 0.2, 0.96, date(2026, 11, 27)),)


@pytest.mark.parametrize(
    ("story", "asset_fields", "priority", "rule_name"),
    [
        (security(kev=KEV), EXPOSED_4, "act_now", "exploited_exposed"),
        (security(kev=KEV, ssvc=(("Automatable", "yes"),)), INTERNAL_4, "act_now",
         "exploited_internal_automatable"),
        (security(kev=KEV), INTERNAL_4, "act_soon", "exploited"),
        (security(kev=KEV), {"criticality": 1, "exposure": "exposed"}, "act_soon",
         "exploited_exposed_minor"),
        (security(kev=KEV), {"criticality": 2}, "plan", "exploited_minor"),
        (security(ssvc=(("Exploitation", "active"),)), EXPOSED_4, "act_now", "exploited_exposed"),
        (security(ssvc=(("Exploitation", "poc"), ("Automatable", "yes"))), EXPOSED_4, "act_now",
         "poc_exposed_automatable"),
        (security(epss=EPSS), EXPOSED_4, "act_soon", "poc_exposed"),
        (security(epss=EPSS), INTERNAL_4, "plan", "poc"),
        (advisory("Acme Gizmo: a proof-of-concept exploit is public", "CVE-1", AFFECTED),
         EXPOSED_4, "act_soon", "poc_exposed"),
        (security(ssvc=(("Exploitation", "poc"), ("Technical Impact", "total"))), INTERNAL_4,
         "act_soon", "poc_total_impact"),
        (security(cvss=(CRITICAL,)), EXPOSED_4, "act_soon", "critical_exposed"),
        (security(cvss=(CRITICAL,)), INTERNAL_4, "plan", "severe"),
        (security(cvss=(HIGH,)), {"criticality": 1}, "plan", "severe"),
        (security(cvss=(MEDIUM,)), INTERNAL_4, "plan", "medium_important"),
        (security(cvss=(MEDIUM,)), {"criticality": 3}, "watch", "security_other"),
        (security(), EXPOSED_4, "watch", "security_other"),
        # impact: criticality 3 with health data counts as high
        (security(kev=KEV), {"criticality": 3, "exposure": "exposed", "data": ("health",)},
         "act_now", "exploited_exposed"),
    ],
)  # fmt: skip
def test_security_rules(
    story: Evidence, asset_fields: dict[str, object], priority: str, rule_name: str
) -> None:
    found = decision(story, gizmo(**asset_fields))
    assert (found.priority, found.rule, found.lane) == (priority, rule_name, "confirmed")


def test_an_unconfirmed_match_is_lowered_one_level_and_says_so() -> None:
    no_version = client(asset("Gizmo", "Acme", "Gizmo", **EXPOSED_4))  # type: ignore[arg-type]
    found = decision(security(cvss=(HIGH,), epss=EPSS), no_version)
    confirmed = decision(security(cvss=(HIGH,), epss=EPSS), gizmo(**EXPOSED_4))
    assert confirmed.lane == "confirmed" and confirmed.priority != "watch"
    lower = PRIORITIES[PRIORITIES.index(confirmed.priority) + 1]
    assert (found.priority, found.rule, found.lane) == (lower, confirmed.rule, "unconfirmed")
    assert found.reasons[-1].code == "unconfirmed_lowered"


def test_active_exploitation_of_a_named_asset_is_not_lowered() -> None:
    no_version = client(asset("Gizmo", "Acme", "Gizmo", **EXPOSED_4))  # type: ignore[arg-type]
    found = decision(security(kev=KEV), no_version)
    assert (found.priority, found.rule, found.lane) == (
        "act_now",
        "exploited_exposed",
        "unconfirmed",
    )
    assert "unconfirmed_lowered" not in [r.code for r in found.reasons]


def test_the_lowering_is_worded_for_the_client() -> None:
    lowered = reason("unconfirmed_lowered", higher="act_now", lower="act_soon")
    assert render(lowered, "en") == (
        "product not confirmed (version or identifier missing): priority lowered from “Act now” "
        "to “Act soon”"
    )


def test_unconfirmed_stays_visible_at_watch() -> None:
    found = decision(evidence("Outlook flaw", topics=("vulnerability",)), DENTAL)
    assert (found.priority, found.lane) == ("watch", "unconfirmed")
    assert "unconfirmed_lowered" not in [r.code for r in found.reasons]


def test_classifier_severity_and_cvss_the_higher_counts() -> None:
    story = advisory("Flaw", "CVE-1", AFFECTED, facts={"cvss": (MEDIUM,)}, severity="critical")
    assert decision(story, gizmo(**INTERNAL_4)).rule == "severe"


def eol_story(days: int | None) -> Evidence:
    when = "" if days is None else f" le {(NOW.date() + timedelta(days=days)).isoformat()}"
    return evidence(f"Gizmo : fin du support{when}", topics=("end_of_life",))


@pytest.mark.parametrize(
    ("days", "criticality", "priority", "rule_name"),
    [
        (90, 4, "plan", "eol_within_quarter"),  # the issue: three months ahead, plan now
        (25, 4, "act_soon", "eol_within_month"),  # and act a month before
        (-10, 4, "act_soon", "eol_passed"),
        (-10, 1, "plan", "eol_passed_minor"),
        (25, 2, "plan", "eol_within_month_minor"),
        (200, 4, "plan", "eol_within_year_critical"),
        (200, 3, "watch", "eol_other"),
        (90, 1, "watch", "eol_other"),
        (None, 4, "plan", "eol_undated_critical"),
        (None, 2, "watch", "eol_other"),
    ],
)
def test_end_of_life(days: int | None, criticality: int, priority: str, rule_name: str) -> None:
    found = decision(eol_story(days), gizmo(criticality=criticality))
    assert (found.priority, found.rule) == (priority, rule_name)
    assert found.reasons[0].code == ("eol_no_date" if days is None else "eol_date" if days >= 0
                                     else "eol_passed")  # fmt: skip


PROVIDERS = client(
    providers=(
        Provider("MediCloud", "patient records", data=("health", "personal")),
        Provider("MailCo", "e-mail", data=("personal",)),
        Provider("PrintCo", "printing", criticality=4),
        Provider("TinyCo", "newsletter", criticality=1),
    ),
)


@pytest.mark.parametrize(
    ("title", "topics", "priority", "rule_name"),
    [
        ("MediCloud data breach", ("breach",), "act_now", "breach_sensitive_data"),
        ("MailCo data breach", ("breach",), "act_soon", "breach_personal_data"),
        ("PrintCo data breach", ("breach",), "plan", "breach_direct"),
        ("PrintCo outage", ("outage",), "act_soon", "outage_critical"),
        ("MailCo outage", ("outage",), "plan", "outage_important"),
        ("TinyCo outage", ("outage",), "watch", "outage_other"),
        ("PrintCo raises prices", ("pricing_licensing",), "plan", "pricing_important"),
        ("TinyCo raises prices", ("pricing_licensing",), "watch", "pricing_other"),
        ("MailCo launches a feature", ("product_update",), "watch", "default"),
        # a story that is both: the most urgent reading wins
        ("MediCloud outage after a breach", ("outage", "breach"), "act_now",
         "breach_sensitive_data"),
    ],
)  # fmt: skip
def test_provider_stories(
    title: str, topics: tuple[str, ...], priority: str, rule_name: str
) -> None:
    found = decision(evidence(title, topics=topics), PROVIDERS)
    assert (found.priority, found.rule, found.lane) == (priority, rule_name, "confirmed")


@pytest.mark.parametrize(
    ("topics", "severity", "priority", "rule_name"),
    [
        (("regulation",), "medium", "plan", "regulation_to_apply"),
        (("regulation",), "info", "watch", "regulation_other"),
        (("ransomware",), "high", "plan", "campaign_serious"),
        (("phishing_fraud",), "low", "watch", "campaign_other"),
        (("ai",), "high", "watch", "default"),
        # a flaw in "medical devices", exploited: the sector alone does not confirm a product
        (("vulnerability", "exploited"), "high", "plan", "exploited"),
    ],
)
def test_sector_stories(
    topics: tuple[str, ...], severity: str, priority: str, rule_name: str
) -> None:
    story = evidence("Sector news", topics=topics, sectors=("health",), severity=severity)
    found = decision(story, DENTAL)
    assert (found.priority, found.rule) == (priority, rule_name)


def test_every_priority_is_reachable_and_every_rule_is_named_once() -> None:
    assert {r.priority for r in RULES} == set(PRIORITIES)
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    assert RULES[-1].when == ()  # the last rule always holds: no story goes undecided


def test_rules_refuse_unknown_decision_points() -> None:
    with pytest.raises(ValueError, match="unknown decision points"):
        rule("typo", "plan", exploitaton="active")


def test_decisions_carry_the_rules_version_and_renderable_reasons() -> None:
    found = decision(security(kev=KEV, cvss=(CRITICAL,)), gizmo(**EXPOSED_4))
    assert found.rules_version == RULES_VERSION
    assert found.match is not None and found.match.name == "Gizmo"
    for language in ("fr", "de", "en"):
        assert all(render(r, language) for r in found.reasons)
    assert [r.code for r in found.reasons][:2] == ["kev", "exploited_topic"]


def test_clients_sharing_a_sector_match_get_the_same_decision() -> None:
    others = [client(id=f"c{n}", sectors=("health",)) for n in range(3)]
    story = evidence("New health data law", topics=("regulation",), sectors=("health",),
                     severity="medium")  # fmt: skip
    index = build_index(others)
    found = concerned(index, story)
    decisions = [decide(story, found[c.id], c, NOW) for c in others]
    assert decisions[0].priority == "plan"
    assert decisions[1] is decisions[0] and decisions[2] is decisions[0]


def test_a_story_that_does_not_concern_the_client_is_refused() -> None:
    story = evidence("Nothing")
    with pytest.raises(ValueError, match="does not concern"):
        decide(story, relevance(DENTAL, story), DENTAL, NOW)


@pytest.mark.realdata
def test_real_kev_and_cve_record_for_the_dental_firewall(realdata: Path) -> None:
    kev = parsed_items(
        parse_kev, realdata / "advisories/cisa-kev/known_exploited_vulnerabilities.json"
    )
    (entry,) = [item for item in kev if item.cves == ("CVE-2024-21762",)]
    from_kev = decision(as_evidence(entry), DENTAL)
    # KEV states no versions: unconfirmed, but exploited on an exposed firewall is not lowered
    assert (from_kev.priority, from_kev.lane) == ("act_now", "unconfirmed")
    record = realdata / "advisories/cve-json5-vulnrichment/kev/CVE-2024-21762.json"
    (item,) = parsed_items(parse_cve_json5, record)
    from_record = decision(as_evidence(item), DENTAL)
    assert (from_record.priority, from_record.lane, from_record.rule) == (
        "act_now", "confirmed", "exploited_exposed",
    )  # fmt: skip
    assert {"kev", "ssvc_exploitation"} <= {r.code for r in from_record.reasons}
