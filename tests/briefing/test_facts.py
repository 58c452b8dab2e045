"""A story's facts, derived once when it is scored and stored as JSON: what a briefing says of
it whatever the client."""

from datetime import UTC, date, datetime, timedelta

import pytest

from techwatch.briefing import facts
from techwatch.briefing.advice import KevAction
from techwatch.briefing.model import Link
from techwatch.scoring.evidence import Evidence
from techwatch.types import Affected, KevEntry, VulnFacts

NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def member(n: int, category: str, source: str, title: str, text: str | None = "text") -> dict:
    return {
        "story_id": "s",
        "item_id": f"i{n}",
        "source_id": source,
        "source_name": source.upper(),
        "category": category,
        "title": title,
        "text": text,
        "url": f"https://{source}.example/{n}",
        "published": NOW - timedelta(hours=n) if n % 2 else None,
    }


def vuln(vuln_id: str, *, action: str | None = None, fixed: tuple[str, ...] = ()) -> VulnFacts:
    kev = None
    if action is not None:  # listed in KEV, with this required action (maybe none)
        kev = KevEntry(date(2026, 11, 1), date(2026, 11, 22), action, False, "F", "P", "N")
    return VulnFacts(
        vuln_id,
        affected=(Affected("Fortinet", "FortiOS", fixed=fixed), Affected("Fortinet", "FortiWeb")),
        kev=kev,
    )


EVIDENCE = Evidence(
    "s",
    "FortiOS flaw exploited",
    "",
    NOW - timedelta(days=1),
    item_ids=("i1", "i2"),
    topics=("vulnerability", "exploited"),
    severity="critical",
    cves=("CVE-1", "CVE-2"),
    vulns=(
        vuln("CVE-1", action="Apply mitigations.", fixed=("7.2.5", "7.4.1")),
        vuln("CVE-2", fixed=("7.0.9",)),
        vuln("CVE-3", action=""),
    ),
)


def test_facts_keep_what_the_briefing_words_and_nothing_of_the_client():
    members = [
        member(1, "press", "news", "Attack wave", "Other text."),
        member(2, "advisory", "cert", "FortiOS flaw exploited", "The advisory text. " * 40),
        member(3, "press", "news", "Second news article"),
    ]
    told = facts.of(EVIDENCE, members)
    assert told.summary.startswith("The advisory text.") and len(told.summary) <= 420
    assert [link.source for link in told.links] == ["CERT", "NEWS"]  # advisories first
    assert told.kev == (KevAction("CVE-1", "Apply mitigations.", date(2026, 11, 22)),)
    assert [(f.vuln_id, f.product, f.fixed) for f in told.fixes] == [
        ("CVE-1", "FortiOS", ("7.2.5", "7.4.1")),
        ("CVE-2", "FortiOS", ("7.0.9",)),
    ]
    assert (told.title, told.cves, told.item_ids) == (EVIDENCE.title, EVIDENCE.cves, ("i1", "i2"))


@pytest.mark.parametrize(
    ("members", "summary"),
    [
        ([member(1, "press", "a", "Other", None), member(2, "press", "b", "Other", "B.")], "B."),
        ([member(1, "press", "a", "Other", None)], "FortiOS flaw exploited"),
        ([], "FortiOS flaw exploited"),
    ],
)
def test_the_summary_falls_back_to_any_text_then_the_title(members, summary):
    assert facts.of(EVIDENCE, members).summary == summary


def test_at_most_five_links_one_per_source():
    members = [member(n, "blog", f"src{n % 7}", f"t{n}") for n in range(1, 15)]
    links = facts.of(EVIDENCE, members).links
    assert len(links) == facts.MAX_LINKS and len({k.source for k in links}) == facts.MAX_LINKS


def test_json_gives_back_equal_facts():
    told = facts.of(EVIDENCE, [member(1, "press", "n", "T"), member(2, "vendor", "v", "U")])
    assert told.links[1] == Link("N", "T", "https://n.example/1", NOW - timedelta(hours=1))
    assert facts.from_json(facts.to_json(told)) == told
    bare = facts.StoryFacts("x", "title", "summary", NOW)
    assert facts.from_json(facts.to_json(bare)) == bare
