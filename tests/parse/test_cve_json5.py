"""parse_cve_json5: golden samples field by field, every real CVE record, hostile inputs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from techwatch.errors import ParseError
from techwatch.parse.advisory import parse_timestamp
from techwatch.parse.cve_json5 import MAX_AFFECTED, MAX_WARNINGS, parse_cve_json5, version_range
from techwatch.types import Affected, CvssScore, KevEntry, ParsedFeed

DATA = Path(__file__).resolve().parents[1] / "data" / "advisories"
FETCHED = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
URL = "https://cve.example.org/records"
CISA = "https://www.cisa.gov/known-exploited-vulnerabilities-catalog?search_api_fulltext="


def _parse(body: bytes, source_id: str = "cve") -> ParsedFeed:
    return parse_cve_json5(source_id, body, url=URL, fetched_at=FETCHED)


def _sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return loaded


# --- golden samples ---------------------------------------------------------------------------


def test_one_record_gives_one_item_with_every_fact() -> None:
    feed = _parse((DATA / "cve_json5_record.json").read_bytes())

    assert feed.entries_total == 1
    assert feed.warnings == ()
    [item] = feed.items
    assert item.identity == "cve:CVE-2025-99001"
    assert item.title == "Path traversal in the Example Gateway web console (CVE-2025-99001)"
    assert item.url == "https://www.cve.org/CVERecord?id=CVE-2025-99001"
    assert item.published == datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
    assert item.language == "en"
    assert item.cves == ("CVE-2025-99001",)
    [facts] = item.facts
    assert facts.vuln_id == "CVE-2025-99001"
    assert facts.title == "Path traversal in the Example Gateway web console"
    assert facts.description is not None
    assert facts.description.startswith("A path traversal in the web console")  # en, not de
    assert facts.modified == datetime(2025, 3, 11, 16, 30, tzinfo=UTC)
    assert facts.cvss[:2] == (
        CvssScore("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5, "HIGH", "example"),
        CvssScore(
            "4.0",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N",
            8.7,
            "HIGH",
            "example",
        ),
    )
    adp_score = facts.cvss[2]  # a malformed ADP vector: unscored with the reason
    assert (adp_score.version, adp_score.base_score, adp_score.source) == ("3.1", None, "CISA-ADP")
    assert adp_score.problem is not None
    assert "malformed" in adp_score.problem
    assert facts.cwes == ("CWE-22", "CWE-23")
    assert facts.affected == (
        Affected(
            vendor="Example",
            product="Example Gateway",
            versions=(">= 7.0.0, < 7.0.13", "7.2.0 - 7.2.4", "6.4.9"),
            fixed=("7.2.5", "8.0.0"),
            cpes=("cpe:2.3:a:example:gateway:*:*:*:*:*:*:*:*",),
        ),
        Affected(
            vendor="Example",
            product="Gateway Agent",
            versions=("all other versions",),
            purl="pkg:npm/example-gateway-agent",
        ),
        Affected(
            vendor="example",
            product="gateway",
            versions=(">= 7.0.0, < 7.0.13",),
            cpes=("cpe:2.3:a:example:gateway:*:*:*:*:*:*:*:*",),
        ),
    )
    assert facts.ssvc == (
        ("Exploitation", "active"),
        ("Automatable", "yes"),
        ("Technical Impact", "partial"),
    )
    assert facts.kev == KevEntry(
        date_added=date(2025, 3, 10),
        due_date=None,
        required_action="",
        ransomware=None,
        vendor="",
        product="",
        name="",
        notes=CISA + "CVE-2025-99001",
    )
    assert facts.references == ("https://example.com/psirt/EX-2025-001", CISA + "CVE-2025-99001")


def test_item_text_reads_as_a_summary_for_a_consultant() -> None:
    [item] = _parse((DATA / "cve_json5_record.json").read_bytes()).items
    lines = item.text.split("\n")

    assert lines[0].startswith("A path traversal in the web console of Example Gateway")
    # the CNA's products only: the ADP's CPE copy of them is in the facts, not repeated here
    assert lines[1] == (
        "Affected: Example Gateway: >= 7.0.0, < 7.0.13; 7.2.0 - 7.2.4; 6.4.9 (fixed: 7.2.5, "
        "8.0.0); Example Gateway Agent: all other versions"
    )
    assert lines[2].startswith(
        "Severity: CVSS 3.1 7.5 HIGH by example; CVSS 4.0 8.7 HIGH by example; "
        "CVSS 3.1 by CISA-ADP: unscored (malformed"
    )
    assert lines[3:7] == [
        "Weakness: CWE-22, CWE-23",
        "CISA SSVC: Exploitation active, Automatable yes, Technical Impact partial",
        "Known exploited: in the CISA KEV catalog since 2025-03-10.",
        "What to do: Upgrade to 7.0.13, 7.2.5 or later.",
    ]
    assert "Eine Path-Traversal" not in item.text
    assert "javascript:" not in item.text


def test_bundle_keeps_published_records_and_warns_about_the_others() -> None:
    feed = _parse((DATA / "cve_json5_bundle.json").read_bytes())

    assert feed.entries_total == 6
    assert [i.identity for i in feed.items] == ["cve:CVE-2024-99002", "cve:CVE-2024-99005"]
    assert feed.warnings == (
        "CVE-2024-99003: REJECTED record, skipped",
        "CVE-2024-99002: duplicate record, first kept",
        "record 3: not a JSON object, skipped",
        "CVE-2024-99004: no CNA container, skipped",
    )
    router, japanese = feed.items
    assert router.title == "Example Router vulnerability (CVE-2024-99002)"
    assert router.language == "en"  # "en-US"
    assert router.facts[0].cvss == (
        CvssScore("2.0", "AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0, "HIGH", "CNA"),
    )
    assert router.facts[0].affected == (Affected("Example", "Router", versions=("< 2.3",)),)
    assert router.text.split("\n")[1:3] == [
        "Affected: Example Router: < 2.3",
        "Severity: CVSS 2.0 10.0 HIGH by CNA",
    ]
    # no English description: the one given, in its language
    assert japanese.language == "ja"
    assert japanese.facts[0].description == "テスト用の説明です。"


def test_a_plain_list_of_records_is_accepted() -> None:
    record = _sample("cve_json5_record.json")
    feed = _parse(json.dumps([record]).encode())
    assert [i.identity for i in feed.items] == ["cve:CVE-2025-99001"]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"version": "0", "lessThan": "2.0", "status": "affected"}, "< 2.0"),
        ({"version": "1.0", "lessThan": "2.0", "status": "affected"}, ">= 1.0, < 2.0"),
        ({"version": "1.0", "lessThanOrEqual": "1.9", "status": "affected"}, "1.0 - 1.9"),
        ({"version": "*", "lessThanOrEqual": "1.9", "status": "affected"}, "<= 1.9"),
        ({"version": "5.4", "lessThan": "*", "status": "affected"}, ">= 5.4"),
        ({"version": "n/a", "status": "affected"}, ""),
        ({"version": 3, "status": "affected"}, "3"),
        ({"version": "abc", "lessThan": "def", "versionType": "git"}, "git >= abc, < def"),
    ],
)
def test_version_entries_read_as_ranges(entry: dict[str, Any], expected: str) -> None:
    assert version_range(entry) == expected


# --- every real CVE record ----------------------------------------------------------------------


def _real_records(realdata: Path) -> list[Path]:
    folder = realdata / "advisories" / "cve-json5-vulnrichment"
    return sorted(folder.rglob("*.json")) + sorted(
        (realdata / "advisories" / "api-samples").glob("cve-json5_*.json")
    )


def _stated_scores(record: dict[str, Any]) -> list[tuple[str, float]]:
    containers = record["containers"]
    stated = []
    for container in [containers["cna"], *containers.get("adp", [])]:
        for metric in container.get("metrics", []):
            for key, data in metric.items():
                if key.startswith("cvssV"):
                    stated.append((data["vectorString"], float(data["baseScore"])))
    return stated


@pytest.mark.realdata
def test_every_real_record_yields_its_cve_or_is_rejected(realdata: Path) -> None:
    files = _real_records(realdata)
    assert len(files) == 501
    rejected = 0
    for path in files:
        record = json.loads(path.read_bytes())
        cve_id = record["cveMetadata"]["cveId"]
        feed = _parse(path.read_bytes())
        assert feed.entries_total == 1, path.name
        if record["cveMetadata"]["state"] == "REJECTED":
            rejected += 1
            assert feed.items == ()
            assert feed.warnings == (f"{cve_id}: REJECTED record, skipped",)
            continue
        [item] = feed.items
        assert item.identity == f"cve:{cve_id}", path.name
        assert item.facts[0].vuln_id == cve_id
        assert cve_id in item.cves
        assert item.title.endswith(f"({cve_id})"), path.name
        assert item.text.strip(), path.name
        # 3 real records state no datePublished: no date is guessed for them
        stated = record["cveMetadata"].get("datePublished")
        assert (item.published is None) == (stated is None), path.name
        if stated:
            assert item.published == parse_timestamp(stated)
    assert rejected == 1


@pytest.mark.realdata
def test_every_kev_record_carries_an_ssvc_exploitation_value(realdata: Path) -> None:
    files = sorted((realdata / "advisories" / "cve-json5-vulnrichment" / "kev").glob("*.json"))
    assert len(files) == 150
    for path in files:
        [item] = _parse(path.read_bytes()).items
        values = dict(item.facts[0].ssvc)
        assert values.get("Exploitation") in {"none", "poc", "active"}, path.name


@pytest.mark.realdata
def test_real_cvss_scores_equal_the_stated_ones(realdata: Path) -> None:
    """Each stated score is the vector's base score, or the disagreement is named (Fortinet
    states its temporal score as baseScore)."""
    checked = disagreements = 0
    for path in _real_records(realdata):
        record = json.loads(path.read_bytes())
        feed = _parse(path.read_bytes())
        if not feed.items:
            continue
        scores = feed.items[0].facts[0].cvss
        stated = _stated_scores(record)
        assert [s.vector for s in scores] == [vector for vector, _ in stated], path.name
        for score, (_, stated_score) in zip(scores, stated, strict=True):
            checked += 1
            assert score.base_score is not None, (path.name, score)
            if score.base_score != stated_score:
                disagreements += 1
                assert score.problem and "differs" in score.problem, (path.name, score)
    assert checked > 450
    assert disagreements <= 5


@pytest.mark.realdata
def test_real_adp_kev_and_cwe_reach_the_facts(realdata: Path) -> None:
    with_kev = 0
    for path in _real_records(realdata):
        record = json.loads(path.read_bytes())
        feed = _parse(path.read_bytes())
        if not feed.items:
            continue
        facts = feed.items[0].facts[0]
        kev_dates = [
            m["other"]["content"]["dateAdded"]
            for adp in record["containers"].get("adp", [])
            for m in adp.get("metrics", [])
            if m.get("other", {}).get("type") == "kev"
        ]
        if kev_dates:
            with_kev += 1
            assert facts.kev is not None
            assert facts.kev.date_added.isoformat() == kev_dates[0]
            assert "Known exploited" in feed.items[0].text
        else:
            assert facts.kev is None
        assert all(c.startswith("CWE-") for c in facts.cwes)
    assert with_kev >= 130


# --- hostile inputs (RELIABILITY 25-26) -------------------------------------------------------

_WRONG_VALUES: tuple[object, ...] = (None, 7, "x", [], {}, True, [1, "a", None])


def _mutations(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside a JSON document."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*path, key)
            yield from _mutations(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*path, index)
            yield from _mutations(child, (*path, index))


def _replaced(document: Any, path: tuple[Any, ...], new: object) -> Any:
    copy = json.loads(json.dumps(document))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return copy


def test_any_field_of_any_wrong_type_never_crashes() -> None:
    record = _sample("cve_json5_record.json")
    paths = list(_mutations(record))
    assert len(paths) > 100
    for path in paths:
        for wrong in _WRONG_VALUES:
            feed = _parse(json.dumps(_replaced(record, path, wrong)).encode())
            assert feed.entries_total == 1
            assert len(feed.items) + len(feed.warnings) == 1, (path, wrong)


def test_huge_affected_lists_are_capped_in_facts_and_text() -> None:
    record = _sample("cve_json5_record.json")
    product = {"vendor": "V", "versions": [{"version": "1", "status": "affected"}]}
    record["containers"]["cna"]["affected"] = [{**product, "product": f"P{i}"} for i in range(5000)]
    [item] = _parse(json.dumps(record).encode()).items
    assert len(item.facts[0].affected) == MAX_AFFECTED
    assert f"and {MAX_AFFECTED - 10} more" in item.text


def test_a_list_of_junk_gives_capped_warnings() -> None:
    records = [_sample("cve_json5_record.json")] + ["junk"] * 500
    feed = _parse(json.dumps(records).encode())
    assert len(feed.items) == 1
    assert feed.entries_total == 501
    assert len(feed.warnings) == MAX_WARNINGS + 1
    assert feed.warnings[-1] == "and 450 more records skipped"


@pytest.mark.parametrize(
    "vector",
    [
        "CVSS:3.1/AV:N",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q",
        "CVSS:4.0/garbage",
        "AV:N/AC:L/Au:N/C:C/I:C",
        "CVSS:9.9/AV:N",
        "",
        "x" * 10_000,
    ],
)
def test_malformed_vectors_are_unscored_with_a_reason(vector: str) -> None:
    record = _sample("cve_json5_record.json")
    record["containers"]["cna"]["metrics"] = [
        {"cvssV3_1": {"version": "3.1", "vectorString": vector, "baseScore": 9.8}}
    ]
    [item] = _parse(json.dumps(record).encode()).items
    score = item.facts[0].cvss[0]
    assert score.base_score is None
    assert score.problem


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 10_000 + b"]" * 10_000, "nesting"),
        (b'{"cveMetadata": {"cveId": 1' + b"0" * 5000 + b"}}", "digits"),
        (b'{"cvssV3_1": {"baseScore": NaN}}', "NaN"),
        (b'{"cveMetadata": {"cveId": "CVE-2025-1', "invalid JSON"),
        (b"\xff\xfe not utf-8", "UTF-8"),
        (b'{"dataType": "something else"}', "cveMetadata"),
        (b'[1, 2, "three"]', "cveMetadata"),
        (b'"just a string"', "cveMetadata"),
    ],
)
def test_broken_or_foreign_documents_are_malformed_advisories(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        _parse(body, source_id="cve-src")
    assert caught.value.kind == "malformed_advisory"
    assert caught.value.source_id == "cve-src"
    assert caught.value.url == URL
    assert reason in str(caught.value)


def test_lone_surrogates_become_storable_text() -> None:
    record = _sample("cve_json5_record.json")
    record["containers"]["cna"]["descriptions"] = [{"lang": "en", "value": "bad \ud800 text"}]
    body = json.dumps(record).encode()
    [item] = _parse(body).items
    item.text.encode("utf-8")
    item.title.encode("utf-8")


def test_empty_list_is_an_empty_feed() -> None:
    feed = _parse(b"[]")
    assert (feed.items, feed.entries_total, feed.warnings) == ((), 0, ())
