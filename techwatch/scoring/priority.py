"""act_now / act_soon / plan / watch for one story and one client, from one table of rules.

    decide(evidence, relevance, client, now) -> Decision(priority, reasons, lane, rule, match)

How a decision is made:
1. The story's facts become a `Situation` per (topic, match): topic (security, end_of_life,
   breach, outage, pricing, regulation, campaign, general), what matched (asset, provider,
   keyword, sector) and the SSVC-style decision points below. Each point is a plain label.
2. RULES is read top to bottom; the first rule whose conditions all hold gives the priority.
3. A security decision resting on an `unconfirmed` match (a name without CPE, PURL or a
   version known to be affected) is lowered one level, never below `watch`, and says so:
   the consultant sees it, checks the version, and confirmation restores the level. So is
   one resting on the sector alone (a flaw "in medical devices": which ones is not known).
   Except under active exploitation of a named asset: an exploited flaw in the client's
   product is checked today, confirmed or not (a KEV entry never states versions, and
   under-prioritising the one story attackers already use is the costliest mistake).
4. The most urgent decision over all (topic, match) pairs wins (confirmed before unconfirmed
   on a tie). Its reasons are the facts the winning rule read; the match's own reasons (why
   the story concerns the client) stay in `Decision.match`.

Decision points (in the spirit of CISA's SSVC deployer tree):
- exploitation: `active` (in CISA KEV, topic `exploited`, or SSVC Exploitation "active"),
  `poc` (SSVC "poc", a public exploit named in the text, or EPSS >= EPSS_LIKELY), else `none`.
  EPSS is a calibrated probability of exploitation within 30 days, while only a few percent
  of CVEs are ever exploited: 10% is several times that base rate, so it counts like a public
  proof of concept. It is a forecast, so it never counts as active exploitation;
- exposure of the matched asset (`exposed` / `internal`; `unknown` for keywords and sectors);
- impact (SSVC mission and well-being): `high` for criticality 4, or 3 with sensitive data
  (health, financial, legal, children, credentials); `medium` for 3, or 2 with sensitive data;
  else `low`. Keywords and sectors count as `medium`;
- automatable and technical_impact: SSVC values when an advisory states them, else `unknown`;
- severity: the higher of the classifier's label and the best CVSS of each CVE (9.0+
  critical, 7.0+ high, 4.0+ medium, else low);
- eol: from the end-of-support date in the text (`eol.end_of_support`) and `now`: `passed`,
  `1m` (31 days or less), `3m` (92), `12m` (366), `later`, `unknown`;
- data held by the matched asset or provider: `sensitive`, `personal` or `none`.

Bump RULES_VERSION whenever RULES or the derivation of a decision point changes: briefings
store it, so a past briefing can be explained with the rules that produced it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import lru_cache
from typing import Final

from techwatch.clients.profile import PRIORITIES, Client, Priority
from techwatch.parse.cvss import best_cvss
from techwatch.scoring.eol import end_of_support
from techwatch.scoring.evidence import Evidence
from techwatch.scoring.match import Lane, Match, Relevance
from techwatch.scoring.reasons import DATA_SEPARATOR, Reason, reason
from techwatch.scoring.text import MAX_TEXT_CHARS
from techwatch.taxonomy import SEVERITY_KEYS

RULES_VERSION: Final = "2026.11-2"

EPSS_LIKELY: Final = 0.10
SENSITIVE_DATA: Final = frozenset({"health", "financial", "legal", "children", "credentials"})
MAX_EXPLOITATION_REASONS: Final = 3
# A public exploit named in the text (read on the raw text: one pass, no folding).
_POC: Final = re.compile(
    r"\b(?:proof[ -]of[ -]concept|poc|public(?:ly available)? exploits?|exploit[ -]code|"
    r"exploits? (?:is |are )?(?:now )?public(?:ly available)?|preuve de concept|"
    r"code d['’]exploitation|exploit public|machbarkeitsnachweis|"
    r"(?:ö|oe|o)ffentliche[rn]? exploit)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Situation:
    """The decision points of one (topic, match) pair, as plain labels the rules compare."""

    topic: str
    target: str
    exploitation: str = "none"
    exposure: str = "unknown"
    impact: str = "medium"
    automatable: str = "unknown"
    technical_impact: str = "unknown"
    severity: str = "unknown"
    eol: str = "unknown"
    data: str = "none"


SITUATION_FIELDS: Final = frozenset(f.name for f in fields(Situation))


@dataclass(frozen=True, slots=True)
class Rule:
    """When every condition holds (the situation's label is one of the listed values), the
    story gets `priority`."""

    name: str
    priority: Priority
    when: tuple[tuple[str, frozenset[str]], ...]

    def holds(self, situation: Situation) -> bool:
        return all(getattr(situation, name) in values for name, values in self.when)


def rule(name: str, priority: Priority, **when: str | tuple[str, ...]) -> Rule:
    """A Rule from keyword conditions: rule("x", "plan", topic="outage", impact=("high",))."""
    unknown = set(when) - SITUATION_FIELDS
    if unknown:
        raise ValueError(f"rule {name!r}: unknown decision points {sorted(unknown)}")
    conditions = tuple(
        (key, frozenset((value,) if isinstance(value, str) else value))
        for key, value in when.items()
    )
    return Rule(name, priority, conditions)


HIGH_OR_MEDIUM: Final = ("high", "medium")
DIRECT: Final = ("asset", "provider")

# The rules, most specific first; the first that holds decides.
RULES: Final = (
    # security: exploitation x exposure x automatable x impact (SSVC deployer tree)
    rule("exploited_exposed", "act_now", topic="security", exploitation="active",
         exposure="exposed", impact=HIGH_OR_MEDIUM),
    rule("exploited_internal_automatable", "act_now", topic="security", exploitation="active",
         automatable="yes", impact="high"),
    rule("exploited", "act_soon", topic="security", exploitation="active",
         impact=HIGH_OR_MEDIUM),
    rule("exploited_exposed_minor", "act_soon", topic="security", exploitation="active",
         exposure="exposed"),
    rule("exploited_minor", "plan", topic="security", exploitation="active"),
    rule("poc_exposed_automatable", "act_now", topic="security", exploitation="poc",
         exposure="exposed", automatable="yes", impact="high"),
    rule("poc_exposed", "act_soon", topic="security", exploitation="poc", exposure="exposed",
         impact=HIGH_OR_MEDIUM),
    rule("poc_total_impact", "act_soon", topic="security", exploitation="poc", impact="high",
         technical_impact="total"),
    rule("poc", "plan", topic="security", exploitation="poc"),
    rule("critical_exposed", "act_soon", topic="security", severity="critical",
         exposure="exposed", impact=HIGH_OR_MEDIUM),
    rule("severe", "plan", topic="security", severity=("critical", "high")),
    rule("medium_important", "plan", topic="security", severity="medium", impact="high"),
    rule("security_other", "watch", topic="security"),
    # end of life: plan ahead, act when the date is close or past
    rule("eol_passed", "act_soon", topic="end_of_life", eol="passed", impact=HIGH_OR_MEDIUM),
    rule("eol_passed_minor", "plan", topic="end_of_life", eol="passed"),
    rule("eol_within_month", "act_soon", topic="end_of_life", eol="1m", impact="high"),
    rule("eol_within_month_minor", "plan", topic="end_of_life", eol="1m"),
    rule("eol_within_quarter", "plan", topic="end_of_life", eol="3m", impact=HIGH_OR_MEDIUM),
    rule("eol_within_year_critical", "plan", topic="end_of_life", eol="12m", impact="high"),
    rule("eol_undated_critical", "plan", topic="end_of_life", eol="unknown", impact="high"),
    rule("eol_other", "watch", topic="end_of_life"),
    # a breach at a provider or service the client uses: how sensitive is what it holds
    rule("breach_sensitive_data", "act_now", topic="breach", target=DIRECT, data="sensitive"),
    rule("breach_personal_data", "act_soon", topic="breach", target=DIRECT, data="personal"),
    rule("breach_direct", "plan", topic="breach", target=DIRECT),
    rule("breach_other", "watch", topic="breach"),
    # an outage of something the client depends on
    rule("outage_critical", "act_soon", topic="outage", target=DIRECT, impact="high"),
    rule("outage_important", "plan", topic="outage", target=DIRECT, impact="medium"),
    rule("outage_other", "watch", topic="outage"),
    # prices, licences, acquisitions
    rule("pricing_important", "plan", topic="pricing", target=DIRECT, impact=HIGH_OR_MEDIUM),
    rule("pricing_other", "watch", topic="pricing"),
    # laws, guidance, standards (sector-wide)
    rule("regulation_to_apply", "plan", topic="regulation",
         severity=("critical", "high", "medium")),
    rule("regulation_other", "watch", topic="regulation"),
    # ransomware and phishing campaigns aimed at the sector or naming the client's terms
    rule("campaign_serious", "plan", topic="campaign", severity=("critical", "high")),
    rule("campaign_other", "watch", topic="campaign"),
    rule("default", "watch"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Decision:
    """A client's priority for a story, the reasons that produced it, and what it rests on."""

    priority: Priority
    reasons: tuple[Reason, ...]
    lane: Lane
    rule: str
    match: Match | None = None
    rules_version: str = RULES_VERSION


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the story says, the same for every client: labels and their reasons."""

    topics: tuple[str, ...]
    exploitation: str
    exploitation_reasons: tuple[Reason, ...]
    automatable: str
    automatable_reasons: tuple[Reason, ...]
    technical_impact: str
    technical_impact_reasons: tuple[Reason, ...]
    severity: str
    severity_reasons: tuple[Reason, ...]
    eol: str
    eol_reasons: tuple[Reason, ...]
    # decisions already made for matches shared by several clients (a sector match is one
    # object for all its clients), with the matches they were made for: kept alive, so an
    # identity can never be taken by another object while it is here
    shared: dict[tuple[int, ...], tuple[tuple[Match, ...], Decision]] = field(
        default_factory=dict, compare=False, hash=False
    )


def decide(evidence: Evidence, relevance: Relevance, client: Client, now: datetime) -> Decision:
    """The priority of `evidence` for `client` (see the module docstring); `relevance` must
    be the client's and concerned (ValueError otherwise)."""
    if relevance.client_id != client.id or not relevance.concerned:
        raise ValueError(f"story {evidence.story_id} does not concern client {client.id}")
    facts = _story_facts(evidence, now)
    shareable = all(m.asset is None and m.provider is None for m in relevance.matches)
    if shareable:
        key = tuple(id(m) for m in relevance.matches)
        known = facts.shared.get(key)
        if known is not None and all(
            a is b for a, b in zip(known[0], relevance.matches, strict=True)
        ):
            return known[1]
    best: tuple[tuple[int, bool, int], str, Match, Rule, Priority] | None = None
    for topic in facts.topics:
        for match in relevance.matches:
            situation = _situation(topic, match, facts)
            chosen = _first_rule(situation)
            priority = chosen.priority
            if _lowered(topic, match, facts):
                priority = _lower(priority)
            urgency = (
                PRIORITIES.index(priority),
                match.lane != "confirmed",
                _RULE_ORDER[chosen.name],
            )
            if best is None or urgency < best[0]:
                best = (urgency, topic, match, chosen, priority)
    assert best is not None  # a concerned relevance has matches, and the last rule always holds
    _, topic, match, chosen, priority = best
    reasons = _reasons(topic, match, chosen, priority, facts, evidence)
    decision = Decision(priority, reasons, match.lane, chosen.name, match)
    if shareable:
        facts.shared[key] = (relevance.matches, decision)
    return decision


def story_topics(evidence: Evidence) -> tuple[str, ...]:
    """The rule topics a story falls under: a story may be a breach and an outage at once."""
    topics = set(evidence.topics)
    found = []
    if topics & {"vulnerability", "exploited"} or evidence.cves or evidence.vulns:
        found.append("security")
    for label, topic in (
        ("end_of_life", "end_of_life"),
        ("breach", "breach"),
        ("outage", "outage"),
        ("pricing_licensing", "pricing"),
        ("regulation", "regulation"),
    ):
        if label in topics:
            found.append(topic)
    if topics & {"ransomware", "phishing_fraud"}:
        found.append("campaign")
    return tuple(found) or ("general",)


_RULE_ORDER: Final = {r.name: number for number, r in enumerate(RULES)}


@lru_cache(maxsize=4096)
def _first_rule(situation: Situation) -> Rule:
    """The first rule that holds: remembered per situation, a handful of labels that repeat
    over a night's thousands of (story, client) pairs."""
    return next(r for r in _rules_for(situation.topic) if r.holds(situation))


@lru_cache(maxsize=32)
def _rules_for(topic: str) -> tuple[Rule, ...]:
    """The rules that can hold for a topic, in table order (a shortcut, same result)."""
    return tuple(r for r in RULES if all(topic in v for k, v in r.when if k == "topic"))


def _reasons(
    topic: str, match: Match, chosen: Rule, priority: Priority, facts: _Facts, evidence: Evidence
) -> tuple[Reason, ...]:
    """The reasons of the winning decision: the topic's facts, the matched asset's or
    provider's facts that the rule read, and the lowering of an unconfirmed match."""
    held = match.asset or match.provider
    reasons = [*_topic_reasons(topic, match, facts, evidence)]
    if held is not None:
        read = {name for name, _ in chosen.when}
        if "impact" in read:
            reasons.append(reason("criticality", asset=held.name, criticality=held.criticality))
            if held.data:
                kinds = DATA_SEPARATOR.join(held.data)
                reasons.append(reason("sensitive_data", asset=held.name, data=kinds))
        if "exposure" in read and match.asset is not None:
            reasons.append(reason(match.asset.exposure, asset=held.name))
    if priority != chosen.priority:
        reasons.append(reason("unconfirmed_lowered", higher=chosen.priority, lower=priority))
    return tuple(dict.fromkeys(reasons))


def _lowered(topic: str, match: Match, facts: _Facts) -> bool:
    """Whether a security decision is lowered one level for resting on weak ground."""
    if topic != "security":
        return False
    if match.kind == "sector":
        return True
    exploited_asset = match.kind == "asset" and facts.exploitation == "active"
    return match.lane == "unconfirmed" and not exploited_asset


def _lower(priority: Priority) -> Priority:
    return PRIORITIES[min(PRIORITIES.index(priority) + 1, len(PRIORITIES) - 1)]


def _situation(topic: str, match: Match, facts: _Facts) -> Situation:
    """The decision points for one match: the story's, and the matched asset's or provider's."""
    held = match.asset or match.provider
    impact, data, exposure = "medium", "none", "unknown"
    if held is not None:
        sensitive = not SENSITIVE_DATA.isdisjoint(held.data)
        impact = _impact(held.criticality, sensitive)
        data = "sensitive" if sensitive else "personal" if "personal" in held.data else "none"
    if match.asset is not None:
        exposure = match.asset.exposure
    return Situation(
        topic=topic,
        target=match.kind,
        exploitation=facts.exploitation,
        exposure=exposure,
        impact=impact,
        automatable=facts.automatable,
        technical_impact=facts.technical_impact,
        severity=facts.severity,
        eol=facts.eol,
        data=data,
    )


def _impact(criticality: int, sensitive: bool) -> str:
    if criticality >= 4 or (criticality == 3 and sensitive):
        return "high"
    if criticality == 3 or (criticality == 2 and sensitive):
        return "medium"
    return "low"


def _topic_reasons(topic: str, match: Match, facts: _Facts, evidence: Evidence) -> Iterable[Reason]:
    """The facts every decision of a topic shows, whichever rule fired."""
    held = match.asset or match.provider
    target = held.name if held else match.name
    if topic == "security":
        return (*facts.exploitation_reasons, *facts.automatable_reasons,
                *facts.technical_impact_reasons, *facts.severity_reasons)  # fmt: skip
    if topic == "end_of_life":
        return facts.eol_reasons
    if topic == "breach":
        if held is not None and held.data:
            return (reason("provider_breach", target=target,
                           data=DATA_SEPARATOR.join(held.data)),)  # fmt: skip
        return (reason("breach", target=target),)
    if topic == "outage":
        criticality = held.criticality if held else 0
        return (reason("outage", target=target, criticality=criticality),)
    if topic == "pricing":
        return (reason("pricing", target=target),)
    if topic == "regulation":
        return (reason("regulation"), *facts.severity_reasons)
    if topic == "campaign":
        labels = [t for t in evidence.topics if t in ("ransomware", "phishing_fraud")]
        return (*(reason("campaign", topic=t) for t in labels), *facts.severity_reasons)
    return tuple(reason("topic_info", topic=t) for t in evidence.topics[:2])


# --- facts of the story -----------------------------------------------------------------------


_FACTS_CACHE_SIZE: Final = 256
_facts_cache: dict[int, tuple[Evidence, datetime, _Facts]] = {}


def _story_facts(evidence: Evidence, now: datetime) -> _Facts:
    """The story's facts, read once for all the clients it concerns: remembered for the last
    stories by identity (the same object at the same `now`), so the result is that of _facts."""
    cached = _facts_cache.get(id(evidence))
    if cached is not None and cached[0] is evidence and cached[1] == now:
        return cached[2]
    if len(_facts_cache) >= _FACTS_CACHE_SIZE:
        _facts_cache.clear()
    facts = _facts(evidence, now)
    _facts_cache[id(evidence)] = (evidence, now, facts)
    return facts


def _facts(evidence: Evidence, now: datetime) -> _Facts:
    topics = story_topics(evidence)
    exploitation: str = "none"
    exploitation_reasons: tuple[Reason, ...] = ()
    if "security" in topics:  # the only rules that read it; the text search costs
        exploitation, exploitation_reasons = _exploitation(evidence)
    automatable = _ssvc(evidence, "automatable")
    technical = _ssvc(evidence, "technical impact")
    severity, severity_reasons = _severity(evidence)
    eol, eol_reasons = _eol(evidence, now)
    first = _first_vuln(evidence)
    return _Facts(
        topics=topics,
        exploitation=exploitation,
        exploitation_reasons=exploitation_reasons,
        automatable=automatable,
        automatable_reasons=(reason("automatable", vuln=first),) if automatable == "yes" else (),
        technical_impact=technical,
        technical_impact_reasons=(reason("total_impact", vuln=first),)
        if technical == "total"
        else (),
        severity=severity,
        severity_reasons=severity_reasons,
        eol=eol,
        eol_reasons=eol_reasons,
    )


def _first_vuln(evidence: Evidence) -> str:
    return evidence.vulns[0].vuln_id if evidence.vulns else (evidence.cves or ("?",))[0]


def _exploitation(evidence: Evidence) -> tuple[str, tuple[Reason, ...]]:
    active: list[Reason] = []
    for vuln in evidence.vulns:
        if vuln.kev is not None:
            added = vuln.kev.date_added.isoformat()
            active.append(reason("kev", vuln=vuln.vuln_id, date=added))
            if vuln.kev.ransomware:
                active.append(reason("kev_ransomware", vuln=vuln.vuln_id))
    if "exploited" in evidence.topics:
        active.append(reason("exploited_topic"))
    ssvc = _ssvc_values(evidence, "exploitation")
    for vuln, value in ssvc:
        if value == "active":
            active.append(reason("ssvc_exploitation", vuln=vuln, exploitation="active"))
    if active:
        return "active", tuple(dict.fromkeys(active))[:MAX_EXPLOITATION_REASONS]
    likely = [
        reason("ssvc_exploitation", vuln=vuln, exploitation="poc")
        for vuln, value in ssvc
        if value in ("poc", "public poc")
    ]
    for score in sorted(evidence.epss, key=lambda s: -s.score):
        if score.score >= EPSS_LIKELY:
            likely.append(
                reason(
                    "epss",
                    vuln=score.cve_id,
                    epss_score=score.score,
                    epss_percentile=score.percentile,
                )
            )
    if _POC.search(evidence.title) or _POC.search(evidence.text[:MAX_TEXT_CHARS]):
        likely.append(reason("poc_text"))
    if likely:
        return "poc", tuple(likely)[:MAX_EXPLOITATION_REASONS]
    return "none", (reason("no_exploitation"),)


def _ssvc_values(evidence: Evidence, point: str) -> list[tuple[str, str]]:
    return [
        (vuln.vuln_id, value.strip().lower())
        for vuln in evidence.vulns
        for name, value in vuln.ssvc
        if name.strip().lower() == point
    ]


def _ssvc(evidence: Evidence, point: str) -> str:
    """The most severe SSVC value stated for a decision point, or "unknown"."""
    values = {value for _, value in _ssvc_values(evidence, point)}
    for value in ("yes", "total", "no", "partial"):
        if value in values:
            return value
    return "unknown"


def _severity(evidence: Evidence) -> tuple[str, tuple[Reason, ...]]:
    """The higher of the classifier's severity and the best CVSS of each CVE."""
    found: list[tuple[str, Reason]] = []
    if evidence.severity in SEVERITY_KEYS:
        found.append((evidence.severity, reason("severity", severity=evidence.severity)))
    for vuln in evidence.vulns:
        best = best_cvss(vuln.cvss)
        if best is not None and best.base_score is not None:
            label = _cvss_severity(best.base_score)
            cvss = reason("cvss", vuln=vuln.vuln_id, version=best.version, score=best.base_score)
            found.append((label, cvss))
    if not found:
        return "unknown", ()
    top = max(SEVERITY_KEYS.index(label) for label, _ in found)
    return SEVERITY_KEYS[top], _top_reasons(found, SEVERITY_KEYS[top])


def _top_reasons(found: Sequence[tuple[str, Reason]], label: str) -> tuple[Reason, ...]:
    return tuple(r for lb, r in found if lb == label)[:2]


def _cvss_severity(score: float) -> str:
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low" if score > 0 else "info"


EOL_WINDOWS: Final = ((31, "1m"), (92, "3m"), (366, "12m"))


def _eol(evidence: Evidence, now: datetime) -> tuple[str, tuple[Reason, ...]]:
    if "end_of_life" not in evidence.topics:
        return "unknown", ()
    day = end_of_support(f"{evidence.title}\n{evidence.text[:MAX_TEXT_CHARS]}")
    if day is None:
        return "unknown", (reason("eol_no_date"),)
    days = (day - now.date()).days
    if days < 0:
        return "passed", (reason("eol_passed", date=day.isoformat(), days=-days),)
    window = next((label for limit, label in EOL_WINDOWS if days <= limit), "later")
    return window, (reason("eol_date", date=day.isoformat(), days=days),)
