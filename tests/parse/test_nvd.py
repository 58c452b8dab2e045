"""parse_nvd and nvd_page_info: a golden page, the real NVD samples, hostile input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from techwatch.errors import ParseError
from techwatch.parse.nvd import cpe_fields, match_range, nvd_page_info, parse_nvd
from techwatch.types import Affected, CvssScore, KevEntry, ParsedFeed

DATA = Path(__file__).resolve().parents[1] / "data" / "advisories"
FETCHED = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
URL = "https://services.nvd.nist.gov/rest/json/cves/2.0?startIndex=2000"


def _parse(body: bytes) -> ParsedFeed:
    return parse_nvd("nvd", body, url=URL, fetched_at=FETCHED)


def _page() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / "cve_nvd_page.json").read_text(encoding="utf-8"))
    return loaded


def test_page_gives_one_item_per_cve_and_skips_rejected_ones() -> None:
    feed = _parse((DATA / "cve_nvd_page.json").read_bytes())

    assert feed.entries_total == 3
    assert [i.identity for i in feed.items] == ["cve:CVE-2025-99010", "cve:CVE-2025-99012"]
    assert feed.warnings == ("CVE-2025-99011: rejected, skipped",)


def test_a_cve_listed_twice_keeps_its_first_entry_and_warns() -> None:
    page = _page()
    first, *_ = page["vulnerabilities"]
    twin = json.loads(json.dumps(first))
    twin["cve"]["descriptions"] = [{"lang": "en", "value": "A later, different description."}]
    page["vulnerabilities"].append(twin)

    feed = _parse(json.dumps(page).encode())

    assert feed.entries_total == 4
    assert [i.identity for i in feed.items] == ["cve:CVE-2025-99010", "cve:CVE-2025-99012"]
    assert feed.items[0].facts[0].description.startswith("SQL injection in Example CMS")
    assert feed.warnings == (
        "CVE-2025-99011: rejected, skipped",
        "CVE-2025-99010: duplicate record, first kept",
    )


def test_analysed_cve_facts_field_by_field() -> None:
    item = _parse((DATA / "cve_nvd_page.json").read_bytes()).items[0]

    assert item.title == "Example CMS SQL Injection Vulnerability (CVE-2025-99010)"
    assert item.url == "https://nvd.nist.gov/vuln/detail/CVE-2025-99010"
    assert item.published == datetime(2025, 3, 20, 14, 15, 46, 563000, tzinfo=UTC)
    assert item.language == "en"
    [facts] = item.facts
    assert facts.description == (
        "SQL injection in Example CMS before 4.2.1 allows remote attackers to run SQL commands."
    )
    assert facts.modified == datetime(2025, 3, 28, 19, 0, 2, 80000, tzinfo=UTC)
    assert facts.cvss == (
        CvssScore(
            "3.1",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            9.8,
            "CRITICAL",
            "nvd@nist.gov (Primary)",
        ),
        CvssScore(
            "3.1",
            "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
            8.8,
            "HIGH",
            "CISA-ADP (Secondary)",
        ),
        CvssScore("2.0", "AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5, "HIGH", "nvd@nist.gov (Primary)"),
    )
    assert facts.cwes == ("CWE-89",)  # NVD-CWE-Other dropped
    assert facts.affected == (
        Affected(
            vendor="example",
            product="cms",
            versions=(">= 4.0.0, < 4.2.1", "3.9.9 rc1"),
            cpes=(
                "cpe:2.3:a:example:cms:*:*:*:*:*:*:*:*",
                "cpe:2.3:a:example:cms:3.9.9:rc1:*:*:*:*:*:*",
            ),
        ),
        Affected(
            vendor="example",
            product="cms_pro:edition",
            versions=("<= 2.0",),
            cpes=("cpe:2.3:a:example:cms_pro\\:edition:*:*:*:*:*:*:*:*",),
        ),
    )  # the non-vulnerable linux_kernel platform is not an affected product
    assert facts.kev == KevEntry(
        date_added=date(2025, 3, 25),
        due_date=date(2025, 4, 15),
        required_action=(
            "Apply mitigations per vendor instructions or discontinue use of the product."
        ),
        ransomware=None,
        vendor="",
        product="",
        name="Example CMS SQL Injection Vulnerability",
    )
    assert facts.ssvc == (
        ("Exploitation", "active"),
        ("Automatable", "yes"),
        ("Technical Impact", "total"),
    )
    assert facts.references == ("https://example.com/security/cms-4.2.1",)
    assert item.text.split("\n")[1:] == [
        "Affected: example cms: >= 4.0.0, < 4.2.1; 3.9.9 rc1; example cms_pro:edition: <= 2.0",
        "Severity: CVSS 3.1 9.8 CRITICAL by nvd@nist.gov (Primary); CVSS 3.1 8.8 HIGH by "
        "CISA-ADP (Secondary); CVSS 2.0 7.5 HIGH by nvd@nist.gov (Primary)",
        "Weakness: CWE-89",
        "CISA SSVC: Exploitation active, Automatable yes, Technical Impact total",
        "Known exploited: in the CISA KEV catalog since 2025-03-25, remediation due 2025-04-15.",
        "NVD analysis status: Analyzed.",
        "What to do: Apply mitigations per vendor instructions or discontinue use of the product.",
        "References: https://example.com/security/cms-4.2.1",
    ]


def test_unanalysed_cve_takes_its_title_from_the_description() -> None:
    item = _parse((DATA / "cve_nvd_page.json").read_bytes()).items[1]
    assert item.title == "Widget: Versions before 1.0.5 crash on empty input (CVE-2025-99012)"
    assert item.facts[0].cvss[0].base_score == 8.7
    assert item.facts[0].affected == ()


def test_page_info_reads_the_paging_fields() -> None:
    assert nvd_page_info((DATA / "cve_nvd_page.json").read_bytes()) == (2000, 3, 2003)


@pytest.mark.parametrize(
    "change",
    [{"startIndex": "0"}, {"totalResults": -1}, {"resultsPerPage": True}, {"vulnerabilities": {}}],
)
def test_page_info_refuses_broken_paging(change: dict[str, Any]) -> None:
    page = {**_page(), **change}
    with pytest.raises(ParseError) as caught:
        nvd_page_info(json.dumps(page).encode())
    assert caught.value.kind == "malformed_advisory"


@pytest.mark.parametrize(
    ("match", "version", "update", "expected"),
    [
        ({"versionStartIncluding": "1.0", "versionEndIncluding": "1.4"}, "*", "*", "1.0 - 1.4"),
        ({"versionStartExcluding": "1.0", "versionEndExcluding": "2"}, "*", "*", "> 1.0, < 2"),
        ({}, "*", "*", "all versions"),
        ({}, "-", "*", ""),
        ({}, "2.4.4", "-", "2.4.4"),
    ],
)
def test_cpe_matches_read_as_ranges(
    match: dict[str, Any], version: str, update: str, expected: str
) -> None:
    assert match_range(match, version, update) == expected


def test_cpe_fields_honour_escaped_colons() -> None:
    assert cpe_fields("cpe:2.3:a:ex\\:ample:p\\!x:1.0:*:*:*:*:*:*:*")[3:6] == [
        "ex:ample",
        "p!x",
        "1.0",
    ]


# --- real samples ------------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_nvd_pages_parse_with_stated_scores(realdata: Path) -> None:
    files = sorted((realdata / "advisories" / "api-samples").glob("nvd-api2_*.json"))
    assert len(files) == 3
    for path in files:
        page = json.loads(path.read_bytes())
        feed = _parse(path.read_bytes())
        assert feed.entries_total == len(page["vulnerabilities"]), path.name
        assert len(feed.items) + len(feed.warnings) == feed.entries_total, path.name
        assert nvd_page_info(path.read_bytes()) == (
            page["startIndex"],
            page["resultsPerPage"],
            page["totalResults"],
        )
        for entry, item in zip(page["vulnerabilities"], feed.items, strict=True):
            cve = entry["cve"]
            assert item.identity == f"cve:{cve['id']}"
            stated = [
                (m["cvssData"]["vectorString"], m["cvssData"]["baseScore"])
                for key in ("cvssMetricV40", "cvssMetricV31", "cvssMetricV30", "cvssMetricV2")
                for m in cve["metrics"].get(key, [])
            ]
            assert [(s.vector, s.base_score) for s in item.facts[0].cvss] == stated
            assert (item.facts[0].kev is not None) == ("cisaExploitAdd" in cve)
            vulnerable = {
                m["criteria"]
                for c in cve.get("configurations", [])
                for n in c["nodes"]
                for m in n["cpeMatch"]
                if m["vulnerable"]
            }
            assert {c for a in item.facts[0].affected for c in a.cpes} == vulnerable


@pytest.mark.realdata
def test_real_log4j_page_names_the_kev_entry_and_the_cna_product(realdata: Path) -> None:
    body = (realdata / "advisories" / "api-samples" / "nvd-api2_CVE-2021-44228.json").read_bytes()
    [item] = _parse(body).items
    assert item.title == "Apache Log4j2 Remote Code Execution Vulnerability (CVE-2021-44228)"
    facts = item.facts[0]
    assert facts.affected[0].product == "Apache Log4j2"
    assert facts.kev is not None
    assert facts.kev.date_added == date(2021, 12, 10)
    assert ("Exploitation", "active") in facts.ssvc
    assert "CWE-502" in facts.cwes


# --- hostile inputs ----------------------------------------------------------------------------


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict | list):
        children = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in children:
            yield (*path, key)
            yield from _paths(child, (*path, key))


def _replaced(document: Any, path: tuple[Any, ...], new: object) -> Any:
    copy = json.loads(json.dumps(document))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return copy


def test_any_field_of_any_wrong_type_never_crashes() -> None:
    page = _page()
    for path in _paths(page["vulnerabilities"], ("vulnerabilities",)):
        for wrong in (None, 7, "x", [], {}, True):
            feed = _parse(json.dumps(_replaced(page, path, wrong)).encode())
            assert len(feed.items) + len(feed.warnings) == feed.entries_total, (path, wrong)


def test_huge_configurations_are_capped() -> None:
    page = _page()
    matches = [
        {"vulnerable": True, "criteria": f"cpe:2.3:a:v{i}:p{i}:1.0:*:*:*:*:*:*:*"}
        for i in range(3000)
    ]
    page["vulnerabilities"][0]["cve"]["configurations"] = [{"nodes": [{"cpeMatch": matches}]}]
    item = _parse(json.dumps(page).encode()).items[0]
    assert len(item.facts[0].affected) == 500
    assert "and 490 more" in item.text


@pytest.mark.parametrize(
    "body",
    [b'{"cveRecords": []}', b"[]", b'{"vulnerabilities": "none"}', b"{", b'{"a": NaN}'],
)
def test_foreign_or_broken_documents_are_malformed_advisories(body: bytes) -> None:
    with pytest.raises(ParseError) as caught:
        _parse(body)
    assert caught.value.kind == "malformed_advisory"
