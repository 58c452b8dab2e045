"""CSAF 2.0 advisories and ROLIE feeds: golden samples, every real file, hostile documents."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from techwatch.errors import ParseError
from techwatch.parse.csaf import (
    MAX_FACTS,
    item_sectors,
    parse_csaf,
    parse_rolie_feed,
)
from techwatch.types import Affected, CvssScore, ParsedFeed

DATA = Path(__file__).resolve().parents[1] / "data" / "advisories"
NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
URL = "https://example.org/csaf/advisory.json"


def _parse(body: bytes, url: str = URL) -> ParsedFeed:
    return parse_csaf("csaf-test", body, url=url, fetched_at=NOW)


def _sample(name: str) -> ParsedFeed:
    return _parse((DATA / name).read_bytes())


def _document(**overrides: Any) -> dict[str, Any]:
    """A minimal valid CSAF document; tests break one part of it at a time."""
    document: dict[str, Any] = {
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "title": "Minimal advisory",
            "publisher": {
                "category": "vendor",
                "name": "Acme",
                "namespace": "https://acme.example",
            },
            "tracking": {"id": "ACME-2026-1", "initial_release_date": "2026-01-01T00:00:00Z"},
        },
        "product_tree": {
            "branches": [
                {
                    "category": "vendor",
                    "name": "Acme",
                    "branches": [
                        {
                            "category": "product_name",
                            "name": "Widget",
                            "branches": [
                                {
                                    "category": "product_version",
                                    "name": "1.0",
                                    "product": {"name": "Acme Widget 1.0", "product_id": "P1"},
                                }
                            ],
                        }
                    ],
                }
            ]
        },
        "vulnerabilities": [{"cve": "CVE-2026-0001", "product_status": {"known_affected": ["P1"]}}],
    }
    document.update(overrides)
    return document


def _encode(document: object) -> bytes:
    return json.dumps(document).encode()


# --- golden samples ----------------------------------------------------------------------------


def test_ics_advisory_item() -> None:
    feed = _sample("csaf_ics_advisory.json")
    assert (feed.entries_total, feed.warnings, feed.language) == (1, (), "en")
    assert feed.title == "Acme Controls PLC-5000 and HMI Studio"
    (item,) = feed.items
    assert item.identity == "csaf:https://www.cisa.gov:ICSA-26-001-01"
    assert item.title == "CISA: Acme Controls PLC-5000 and HMI Studio (ICSA-26-001-01)"
    assert item.url == "https://www.cisa.gov/news-events/ics-advisories/icsa-26-001-01"
    assert item.published == datetime(2026, 1, 6, 7, 0, tzinfo=UTC)
    assert item.language == "en"
    assert item.cves == ("CVE-2026-1001", "CVE-2026-1002")
    lines = item.text.splitlines()
    assert "Critical infrastructure sectors: Energy, Water and Wastewater Systems" in lines
    assert "Countries/areas deployed: Worldwide" in lines
    assert "Company headquarters location: Switzerland" in lines
    assert item_sectors(item) == ("Energy", "Water and Wastewater Systems")
    assert "- Acme Controls Runtime 1.0 installed on Acme Gateway GW-1" in lines
    cve_line = "- CVE-2026-1001 · CVSS 3.1 9.8 CRITICAL · CWE-787: Out-of-bounds write in the PLC"
    assert f"{cve_line} web server" in lines
    assert "- Vendor fix: Update PLC-5000 to firmware 2.4. (https://acme.example/security)" in lines
    assert lines.index(
        "- Vendor fix: Update PLC-5000 to firmware 2.4. (https://acme.example/security)"
    ) < lines.index("- Mitigation: Restrict access to the web server."), (
        "vendor fixes come first, and a remediation repeated per CVE is shown once"
    )
    assert item.text.count("Restrict access to the web server.") == 1
    assert "Minimize network exposure" not in item.text, (
        "generic recommended practices are left out"
    )
    assert "Provided as is" not in item.text


def test_ics_advisory_facts() -> None:
    (item,) = _sample("csaf_ics_advisory.json").items
    first, second = item.facts
    assert first.vuln_id == "CVE-2026-1001"
    assert first.aliases == ()
    assert first.title == "Out-of-bounds write in the PLC web server"
    assert first.description == "A crafted HTTP request overflows a buffer."
    assert first.published == datetime(2026, 1, 6, 7, 0, tzinfo=UTC)
    assert first.modified == datetime(2026, 2, 3, 7, 0, tzinfo=UTC)
    assert first.cvss == (
        CvssScore("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL", "CISA"),
    )
    assert first.cwes == ("CWE-787",)
    assert first.affected == (
        Affected(vendor="Acme Controls", product="PLC-5000", versions=("<=2.3",), fixed=("2.4",)),
        Affected(vendor="Acme Controls", product="Runtime", versions=("1.0",)),
        Affected(vendor="", product="Acme Gateway GW-1"),
    )
    assert first.references == ("https://nvd.nist.gov/vuln/detail/CVE-2026-1001",)
    assert (first.kev, first.ssvc) == (None, ())

    assert second.vuln_id == "CVE-2026-1002"
    assert second.title is None
    assert second.cvss == (
        CvssScore(
            "3.1",
            "CVSS:3.1/AV:X/AC:L",
            None,
            None,
            "CISA",
            'malformed v3.1 vector: Unknown value "X" in field "AV:X"; stated score 7.5 not used',
        ),
        CvssScore("2.0", "AV:N/AC:M/Au:N/C:N/I:P/A:N", 4.3, "MEDIUM", "CISA"),
    )
    assert second.affected == (
        Affected(
            vendor="Acme Controls",
            product="HMI Studio",
            versions=("7.1",),
            cpes=("cpe:2.3:a:acme:hmi_studio:7.1:*:*:*:*:*:*:*",),
        ),
    )


def test_vex_not_affected_products_are_never_affected() -> None:
    feed = _sample("csaf_vex_not_affected.json")
    (item,) = feed.items
    assert item.identity == "csaf:https://psirt.example.com:EXAMPLE-VEX-2026-0001"
    assert item.title == "VEX: ABC and Log4Shell (EXAMPLE-VEX-2026-0001)"
    assert item.url == URL, "no self reference: the document's own URL"
    log4shell, incomplete_fix = item.facts
    assert log4shell.affected == (
        Affected(vendor="Example Company", product="ABC", versions=("4.3",), fixed=("5.0",)),
    ), "4.2 is known_not_affected: not listed"
    assert incomplete_fix.vuln_id == "CVE-2021-45046"
    assert incomplete_fix.affected == ()
    lines = item.text.splitlines()
    assert (
        "- Example Company ABC 4.2: CVE-2021-44228, CVE-2021-45046 (vulnerable code not present)"
        in lines
    )
    assert "- Example Company ABC 4.3: CVE-2021-45046 (component not present)" in lines


def test_rolie_feed_lists_https_advisories_with_their_update_time() -> None:
    body = (DATA / "csaf_rolie_feed.json").read_bytes()
    listed = parse_rolie_feed(
        body, url="https://psirt.example.com/.well-known/csaf/white/feed.json"
    )
    assert listed == [
        (
            "https://psirt.example.com/.well-known/csaf/white/2026/ex-2026-0002.json",
            datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        ),
        (
            "https://psirt.example.com/.well-known/csaf/white/2026/ex-2026-0001.json",
            datetime(2026, 2, 1, 9, 0, tzinfo=UTC),
        ),
    ], "relative links resolved, content.src as fallback, http and broken entries left out"


@pytest.mark.parametrize("body", [b"[]", b'{"feed": {}}', b'{"feed": {"entry": {}}}', b"{"])
def test_rolie_feed_that_is_not_one_is_malformed(body: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_rolie_feed(body, url="https://x.example/feed.json", source_id="rolie")
    assert info.value.kind == "malformed_advisory"
    assert info.value.source_id == "rolie"


# --- hostile and broken documents (RELIABILITY 25-26) -------------------------------------------


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([], "no 'document' object"),
        ({"document": "CSAF"}, "no 'document' object"),
        ({"feed": {"entry": []}}, "ROLIE feed"),
        (
            _document(document={"title": "x", "publisher": {"namespace": "https://a.b"}}),
            "tracking.id",
        ),
        (
            _document(
                document={"title": "x", "tracking": {"id": "X-1"}, "publisher": {"name": "P"}}
            ),
            "publisher.namespace",
        ),
        (
            _document(document={"tracking": {"id": ["X-1"]}, "publisher": {"namespace": 7}}),
            "tracking.id",
        ),
        (
            _document(
                document={"tracking": {"id": "X" * 600}, "publisher": {"namespace": "https://a"}}
            ),
            "identity longer than 500",
        ),
    ],
)
def test_documents_that_are_not_csaf_are_malformed(document: object, reason: str) -> None:
    with pytest.raises(ParseError) as info:
        _parse(_encode(document))
    assert info.value.kind == "malformed_advisory"
    assert (info.value.source_id, info.value.url) == ("csaf-test", URL)
    assert reason in str(info.value)


@pytest.mark.parametrize(
    "body",
    [
        b'{"document": ' * 200 + b"{}" + b"}" * 200,
        b'{"document": {"tracking": {"id": "X", "version": ' + b"9" * 5000 + b"}}}",
        b'{"document": {"title": NaN}}',
        b'{"document": {"title": "truncated',
    ],
)
def test_hostile_json_is_malformed(body: bytes) -> None:
    with pytest.raises(ParseError) as info:
        _parse(body)
    assert info.value.kind == "malformed_advisory"


@pytest.mark.parametrize(
    "override",
    [
        {"product_tree": []},
        {"product_tree": {"branches": "x", "relationships": [7, {"full_product_name": 3}]}},
        {
            "product_tree": {
                "branches": [None, {"branches": {"a": 1}}, {"product": {"product_id": 5}}]
            }
        },
        {"vulnerabilities": {"cve": "CVE-2026-0001"}},
        {"vulnerabilities": "none"},
        {
            "vulnerabilities": [
                {
                    "cve": 12,
                    "notes": "text",
                    "cwe": "CWE-79",
                    "scores": [{"cvss_v3": "9.8"}, None, {"cvss_v2": {"baseScore": "high"}}],
                    "product_status": {"known_affected": "P1", "fixed": [None, 3]},
                    "remediations": [{"category": "vendor_fix", "details": ["x"], "url": 5}],
                    "references": [{"url": "javascript:alert(1)"}, "https://x"],
                    "ids": [{"text": None}, "x"],
                    "flags": {"label": "x"},
                }
            ]
        },
    ],
)
def test_wrong_types_in_fields_never_crash(override: dict[str, Any]) -> None:
    document = _document(**override)
    document["document"]["notes"] = [None, {"category": "summary", "text": 5}, "x"]
    document["document"]["references"] = {"self": "x"}
    feed = _parse(_encode(document))
    (item,) = feed.items
    assert item.identity == "csaf:https://acme.example:ACME-2026-1"
    for facts in item.facts:
        for score in facts.cvss:
            assert score.base_score is None or 0 <= score.base_score <= 10


def test_skipped_records_are_named_in_warnings() -> None:
    document = _document(
        vulnerabilities=[
            "not an object",
            {"cve": "CVE-2026-0001", "product_status": {"known_affected": ["P1", "P9"]}},
            {"cve": "cve-2026-0001"},
        ]
    )
    feed = _parse(_encode(document))
    assert [f.vuln_id for f in feed.items[0].facts] == ["CVE-2026-0001"]
    assert feed.warnings == (
        "ACME-2026-1: vulnerability #1 skipped: not an object",
        "ACME-2026-1: CVE-2026-0001 stated twice, second skipped",
        "ACME-2026-1: 1 product ids not in the product tree (P9)",
    )


def test_vulnerability_without_cve_uses_the_format_ids() -> None:
    document = _document(
        vulnerabilities=[
            {"ids": [{"system_name": "Acme", "text": "ACME-BUG-7"}, {"text": "GHSA-xxxx"}]},
            {"title": "No id at all"},
        ]
    )
    first, second = _parse(_encode(document)).items[0].facts
    assert (first.vuln_id, first.aliases) == ("ACME-BUG-7", ("GHSA-xxxx",))
    assert second.vuln_id == "ACME-2026-1#2"


V31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
V30_NONE = "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"
V2 = "AV:N/AC:L/Au:N/C:P/I:P/A:P"
V40 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"


@pytest.mark.parametrize(
    ("key", "stated", "expected"),
    [
        ("cvss_v3", {"vectorString": V31, "baseScore": 9.8}, (9.8, "CRITICAL", None)),
        ("cvss_v3", {"vectorString": V30_NONE, "baseScore": 0}, (0.0, "NONE", None)),
        ("cvss_v3", {"vectorString": "CVSS:3.1/AV:N", "baseScore": 9.8}, (None, None, "malformed")),
        ("cvss_v3", {"vectorString": "x", "version": "3.0"}, (None, None, "without its")),
        ("cvss_v3", {"baseScore": 9.8}, (None, None, "no vector")),
        ("cvss_v3", {"vectorString": V31, "baseScore": 7.5}, (9.8, "CRITICAL", "differs")),
        ("cvss_v3", {"vectorString": V31, "baseScore": 11}, (9.8, "CRITICAL", "outside 0-10")),
        ("cvss_v3", {"vectorString": V31, "baseScore": True}, (9.8, "CRITICAL", "bool")),
        ("cvss_v2", {"vectorString": V2, "baseScore": 7.5}, (7.5, "HIGH", None)),
        ("cvss_v2", {"vectorString": V2 + "/Z:Q:", "baseScore": 7.5}, (None, None, "malformed")),
        ("cvss_v4", {"vectorString": V40, "baseScore": 9.3}, (9.3, "CRITICAL", None)),
        ("cvss_v4", {"vectorString": "CVSS:4.0/AV:N", "baseScore": 9.3}, (None, None, "malformed")),
    ],
)
def test_cvss_scored_from_the_vector_or_unscored_with_the_reason(
    key: str, stated: dict[str, Any], expected: tuple[float | None, str | None, str | None]
) -> None:
    """RELIABILITY 26, through techwatch.parse.cvss: a bad vector is unscored, never a crash."""
    document = _document(vulnerabilities=[{"cve": "CVE-2026-0001", "scores": [{key: stated}]}])
    (score,) = _parse(_encode(document)).items[0].facts[0].cvss
    base_score, severity, problem = expected
    assert (score.base_score, score.severity) == (base_score, severity)
    if problem is None:
        assert score.problem is None
    else:
        assert score.problem is not None and problem in score.problem


def test_huge_lists_are_capped_in_facts_and_text_in_bounded_time() -> None:
    products = [
        {
            "category": "product_version",
            "name": f"1.{i}",
            "product": {"name": f"W 1.{i}", "product_id": f"P{i}"},
        }
        for i in range(20_000)
    ]
    tree = {
        "branches": [
            {
                "category": "vendor",
                "name": "Acme",
                "branches": [{"category": "product_name", "name": "W", "branches": products}],
            }
        ]
    }
    vulns = [
        {
            "cve": f"CVE-2026-{i:05d}",
            "product_status": {"known_affected": [f"P{j}" for j in range(i % 50)]},
        }
        for i in range(MAX_FACTS + 10)
    ]
    vulns[0]["product_status"] = {"known_affected": [f"P{i}" for i in range(20_000)]}
    started = time.monotonic()
    feed = _parse(_encode(_document(product_tree=tree, vulnerabilities=vulns)))
    assert time.monotonic() - started < 10
    (item,) = feed.items
    assert len(item.facts) == MAX_FACTS
    assert f"10 vulnerabilities beyond {MAX_FACTS} skipped" in feed.warnings[0]
    assert len(item.facts[0].affected[0].versions) == 250
    assert "- and 19988 more" in item.text.splitlines()
    assert len(item.text) <= 50_000


# --- every real file (../shared/realdata/advisories) --------------------------------------------

REAL_DIRS = {"csaf": 19, "csaf-cisa/OT-2024": 344, "csaf-cisa/IT-2024": 4}
_SCORE_KEYS = ("cvss_v2", "cvss_v3")


def _real_csaf(realdata: Path) -> list[Path]:
    files = []
    for folder, count in REAL_DIRS.items():
        found = sorted((realdata / "advisories" / folder).glob("*.json"))
        assert len(found) == count, folder
        files.extend(found)
    return files


def _stated_scores(vulnerability: dict[str, Any]) -> set[tuple[str, float]]:
    return {
        (score[key]["vectorString"], float(score[key]["baseScore"]))
        for score in vulnerability.get("scores", [])
        for key in _SCORE_KEYS
        if key in score
    }


def test_every_real_csaf_advisory_parses_with_its_cves_and_scores(realdata: Path) -> None:
    identities: set[str] = set()
    for path in _real_csaf(realdata):
        raw = json.loads(path.read_bytes())
        feed = _parse(path.read_bytes(), url=f"https://example.org/{path.name}")
        (item,) = feed.items
        assert feed.entries_total == 1
        assert item.identity not in identities, path.name
        identities.add(item.identity)
        assert item.title and item.text and item.language == "en", path.name
        facts = {f.vuln_id: f for f in item.facts}
        for vulnerability in raw.get("vulnerabilities", []):
            stated = facts[vulnerability["cve"]]
            parsed = {(c.vector, c.base_score) for c in stated.cvss if not c.problem}
            disputed = {c.vector for c in stated.cvss if c.problem}
            expected = {(v, b) for v, b in _stated_scores(vulnerability) if v not in disputed}
            assert expected == parsed, (path.name, stated.vuln_id)
            assert all(c.base_score is not None for c in stated.cvss), (path.name, stated.vuln_id)
            status = vulnerability["product_status"]
            if set(status) == {"known_not_affected"}:
                assert stated.affected == (), (path.name, stated.vuln_id)
            elif {"known_affected", "fixed", "first_fixed"} & set(status):
                assert stated.affected, (path.name, stated.vuln_id)


def test_every_real_cisa_advisory_carries_its_sectors(realdata: Path) -> None:
    for folder in ("csaf-cisa/OT-2024", "csaf-cisa/IT-2024"):
        for path in sorted((realdata / "advisories" / folder).glob("*.json")):
            (item,) = _parse(path.read_bytes()).items
            assert item_sectors(item), path.name
            assert "Countries/areas deployed: " in item.text, path.name


def test_real_vex_documents_list_no_not_affected_product(realdata: Path) -> None:
    path = (
        realdata
        / "advisories/csaf/oasis-csaf_2.0__examples__csaf__csaf_vex__2022-evd-uc-02-na-001.json"
    )
    (item,) = _parse(path.read_bytes()).items
    assert len(item.facts) == 19
    assert all(f.affected == () for f in item.facts)
    assert "- Example Company ABC 4.2: CVE-2020-11896" in item.text


@pytest.mark.parametrize(
    ("name", "entries"),
    [("OT-cisa-csaf-ot-feed-tlp-white.json", 2379), ("IT-cisa-csaf-it-feed-tlp-white.json", 4)],
)
def test_real_rolie_feeds_list_every_advisory(realdata: Path, name: str, entries: int) -> None:
    body = (realdata / "advisories" / "csaf-cisa" / name).read_bytes()
    in_file = json.loads(body)["feed"]["entry"]
    listed = parse_rolie_feed(
        body, url="https://raw.githubusercontent.com/cisagov/CSAF/develop/feed.json"
    )
    assert len(listed) == len(in_file) == entries
    assert all(url.startswith("https://") and url.endswith(".json") for url, _ in listed)
    assert all(updated is not None for _, updated in listed)
