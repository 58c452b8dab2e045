"""parse_kev: one item per catalog entry, dated by dateAdded, broken entries skipped by name."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from techwatch.errors import ParseError
from techwatch.parse import kev
from techwatch.parse.kev import parse_kev
from techwatch.types import Affected, KevEntry, ParsedFeed, VulnFacts

DATA = Path(__file__).resolve().parents[1] / "data" / "advisories"
URL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
FETCHED = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
ENTRY_URL = "https://www.cisa.gov/known-exploited-vulnerabilities-catalog?search_api_fulltext="


def _parse(body: bytes) -> ParsedFeed:
    return parse_kev("cisa-kev", body, url=URL, fetched_at=FETCHED)


def _catalog(*entries: Any, **extra: Any) -> bytes:
    document = {"title": "KEV", "count": len(entries), "vulnerabilities": list(entries), **extra}
    return json.dumps(document).encode()


def _entry(cve: str = "CVE-2026-20001", **fields: Any) -> dict[str, Any]:
    entry = {
        "cveID": cve,
        "vendorProject": "Vendor",
        "product": "Product",
        "vulnerabilityName": "Vendor Product Vulnerability",
        "dateAdded": "2026-11-27",
        "shortDescription": "A description.",
        "requiredAction": "Apply updates.",
        "dueDate": "2026-12-18",
        "knownRansomwareCampaignUse": "Unknown",
        "notes": "",
        "cwes": [],
    }
    return {**entry, **fields}


@pytest.fixture(scope="module")
def sample() -> ParsedFeed:
    return _parse((DATA / "kev_catalog.json").read_bytes())


def test_the_sample_catalog_yields_its_readable_entries_in_order(sample: ParsedFeed) -> None:
    assert sample.source_id == "cisa-kev"
    assert sample.entries_total == 6
    assert sample.title == "CISA Catalog of Known Exploited Vulnerabilities"
    assert sample.language == "en"
    assert sample.epss == ()
    assert [i.identity for i in sample.items] == [
        "kev:CVE-2026-10001",
        "kev:CVE-2014-0160",
        "kev:CVE-2026-10002",
    ]


def test_a_full_entry_becomes_an_item_with_its_facts(sample: ParsedFeed) -> None:
    item = sample.items[0]

    assert (
        item.title == "CISA KEV: Examplesoft Gateway Path Traversal Vulnerability (CVE-2026-10001)"
    )
    assert item.url == ENTRY_URL + "CVE-2026-10001"
    assert item.published == datetime(2026, 11, 27, tzinfo=UTC)
    assert item.language == "en"
    assert item.cves == ("CVE-2026-10001",)
    assert item.text.splitlines() == [
        "Examplesoft Gateway contains a path traversal vulnerability that allows an "
        "unauthenticated attacker to read arbitrary files.",
        "Product: Examplesoft Gateway",
        "Exploited in the wild: added to the CISA KEV catalog on 2026-11-27",
        "Remediation due (US federal agencies): 2026-12-18",
        "Use in ransomware campaigns: known",
        "Weaknesses: CWE-22",
        "Required action: Apply mitigations per vendor instructions or discontinue use of the "
        "product if mitigations are unavailable.",
        "Notes: https://examplesoft.example/psirt/ES-2026-01 ; "
        "https://nvd.nist.gov/vuln/detail/CVE-2026-10001",
    ]
    notes = (
        "https://examplesoft.example/psirt/ES-2026-01 ; "
        "https://nvd.nist.gov/vuln/detail/CVE-2026-10001"
    )
    assert item.facts == (
        VulnFacts(
            vuln_id="CVE-2026-10001",
            title="Examplesoft Gateway Path Traversal Vulnerability",
            description="Examplesoft Gateway contains a path traversal vulnerability that allows "
            "an unauthenticated attacker to read arbitrary files.",
            cwes=("CWE-22",),
            affected=(Affected(vendor="Examplesoft", product="Examplesoft Gateway"),),
            kev=KevEntry(
                date_added=date(2026, 11, 27),
                due_date=date(2026, 12, 18),
                required_action="Apply mitigations per vendor instructions or discontinue use "
                "of the product if mitigations are unavailable.",
                ransomware=True,
                vendor="Examplesoft",
                product="Examplesoft Gateway",
                name="Examplesoft Gateway Path Traversal Vulnerability",
                notes=notes,
            ),
            references=(
                "https://examplesoft.example/psirt/ES-2026-01",
                "https://nvd.nist.gov/vuln/detail/CVE-2026-10001",
            ),
        ),
    )


def test_an_old_cve_newly_added_is_dated_by_its_addition(sample: ParsedFeed) -> None:
    heartbleed = sample.items[1]

    assert heartbleed.published == datetime(2026, 11, 20, tzinfo=UTC)
    assert heartbleed.facts[0].kev is not None
    assert heartbleed.facts[0].kev.ransomware is None  # "Unknown" is no confirmation
    assert heartbleed.facts[0].references == ()
    assert "Weaknesses" not in heartbleed.text
    assert "Product: OpenSSL\n" in heartbleed.text  # not "OpenSSL OpenSSL"


def test_mistyped_fields_are_read_as_empty_and_reported(sample: ParsedFeed) -> None:
    broken = sample.items[2]
    facts = broken.facts[0]

    assert facts.description is None
    assert facts.cwes == ()
    assert facts.affected == (Affected(vendor="", product="Phone"),)
    assert facts.kev is not None
    assert (facts.kev.due_date, facts.kev.ransomware, facts.kev.vendor) == (None, None, "")
    assert "Remediation due (US federal agencies): not stated" in broken.text


def test_unusable_entries_are_skipped_with_a_warning_naming_them(sample: ParsedFeed) -> None:
    assert sample.warnings == (
        "entry 2 (no cveID): no valid cveID, skipped",
        "entry 3 (CVE-2026-10002): vendorProject is not text; shortDescription is not text; "
        "dueDate unreadable; cwes is not a list",
        "entry 4 (CVE-2026-10003): no valid dateAdded, skipped",
        "entry 5 (cve-2026-10001): duplicate of an earlier entry, skipped",
    )


def test_parsing_is_deterministic() -> None:
    body = (DATA / "kev_catalog.json").read_bytes()

    assert _parse(body) == _parse(body)


def test_an_item_changes_hash_when_its_due_date_changes() -> None:
    before = _parse(_catalog(_entry())).items[0]
    after = _parse(_catalog(_entry(dueDate="2026-12-25"))).items[0]

    assert before.identity == after.identity
    assert before.content_hash != after.content_hash


def test_a_count_that_disagrees_with_the_list_is_reported() -> None:
    feed = _parse(_catalog(_entry(), count=3))

    assert len(feed.items) == 1
    assert feed.warnings == ("catalog states count=3 but lists 1 entries",)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "invalid JSON"),
        (b"<html>not json</html>", "invalid JSON"),
        (b'{"vulnerabilities": [', "invalid JSON"),
        (b"[1, 2]", "top level is a list"),
        (b'{"title": "KEV"}', "no 'vulnerabilities' list"),
        (b'{"vulnerabilities": {"cveID": "CVE-2021-44228"}}', "no 'vulnerabilities' list"),
        (b'{"vulnerabilities": [], "count": NaN}', "NaN"),
        (b'{"vulnerabilities": [], "count": ' + b"9" * 5000 + b"}", "digits"),
        (b'{"vulnerabilities": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", "nesting"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_a_document_that_is_no_catalog_fails_as_malformed(body: bytes, message: str) -> None:
    with pytest.raises(ParseError) as raised:
        _parse(body)

    assert raised.value.kind == "malformed_advisory"
    assert raised.value.source_id == "cisa-kev"
    assert raised.value.url == URL
    assert message in str(raised.value)


@pytest.mark.parametrize(
    "entry",
    [
        None,
        "CVE-2021-44228",
        [],
        {"cveID": 44228, "dateAdded": "2026-11-27"},
        {"cveID": "CVE-2021-44228"},
        {"cveID": "CVE-2021-44228", "dateAdded": 20261127},
        {"cveID": "CVE-21-44228", "dateAdded": "2026-11-27"},
        {"cveID": "CVE-2021-44228 OR 1=1", "dateAdded": "2026-11-27"},
    ],
)
def test_an_entry_without_identity_or_date_is_skipped_not_fatal(entry: Any) -> None:
    feed = _parse(_catalog(entry, _entry()))

    assert [i.identity for i in feed.items] == ["kev:CVE-2026-20001"]
    assert feed.entries_total == 2
    assert len(feed.warnings) == 1
    assert feed.warnings[0].startswith("entry 0 (")


def test_a_minimal_entry_still_records_exploitation() -> None:
    feed = _parse(_catalog({"cveID": " cve-2021-44228 ", "dateAdded": "2021-12-10"}))

    (item,) = feed.items
    assert item.identity == "kev:CVE-2021-44228"
    assert item.title == "CISA KEV: vulnerability (CVE-2021-44228)"
    assert item.facts[0].affected == ()
    assert item.facts[0].kev == KevEntry(
        date_added=date(2021, 12, 10),
        due_date=None,
        required_action="",
        ransomware=None,
        vendor="",
        product="",
        name="",
    )


def test_huge_fields_and_lists_are_capped() -> None:
    huge = "x" * 1_000_000
    links = " ; ".join(f"https://example.org/{n}" for n in range(500))
    cwes = [f"CWE-{n}" for n in range(1, 200)]
    feed = _parse(_catalog(_entry(shortDescription=huge, notes=links, cwes=cwes)))

    (item,) = feed.items
    facts = item.facts[0]
    assert facts.description is not None
    assert len(facts.description) == kev.MAX_FIELD_CHARS
    assert len(facts.references) == kev.MAX_REFERENCES
    assert facts.cwes == tuple(cwes[: kev.MAX_CWES])
    assert len(item.text) <= 50_000


def test_entries_beyond_the_cap_are_ignored_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kev, "MAX_ENTRIES", 3)
    entries = [_entry(f"CVE-2026-{n:05d}") for n in range(1, 6)]

    feed = _parse(_catalog(*entries))

    assert len(feed.items) == 3
    assert feed.entries_total == 5
    assert feed.warnings == ("2 entries beyond 3 ignored",)


def test_many_broken_entries_give_a_bounded_list_of_warnings() -> None:
    feed = _parse(_catalog(*([None] * 500), _entry()))

    assert len(feed.items) == 1
    assert len(feed.warnings) == kev.MAX_WARNINGS + 1
    assert feed.warnings[-1] == f"and {500 - kev.MAX_WARNINGS} more warnings"


def test_lone_surrogates_and_control_characters_do_not_reach_the_item() -> None:
    body = _catalog(_entry(shortDescription="bad \ud800 text\x00\x1b[31m", product="P\u200bQ"))

    (item,) = _parse(body).items
    item.text.encode("utf-8")  # storable
    assert "\x00" not in item.text
    assert "\x1b" not in item.text


# --- real data -----------------------------------------------------------------------------------


def _real_catalogs(realdata: Path) -> list[Path]:
    folder = realdata / "advisories"
    return [
        folder / "cisa-kev" / "known_exploited_vulnerabilities.json",
        *sorted((folder / "api-samples").glob("kev-*.json")),
    ]


@pytest.mark.realdata
def test_every_real_catalog_yields_one_item_per_entry(realdata: Path) -> None:
    for path in _real_catalogs(realdata):
        raw = json.loads(path.read_bytes())
        feed = parse_kev("cisa-kev", path.read_bytes(), url=URL, fetched_at=FETCHED)

        entries = raw["vulnerabilities"]
        assert len(feed.items) == raw["count"] == len(entries) == feed.entries_total, path.name
        assert feed.warnings == (), path.name
        assert [i.identity for i in feed.items] == [f"kev:{e['cveID']}" for e in entries]
        known = Counter(e["knownRansomwareCampaignUse"] for e in entries)["Known"]
        assert sum(1 for i in feed.items if i.facts[0].kev.ransomware) == known  # type: ignore[union-attr]
        for entry, item in zip(entries, feed.items, strict=True):
            (facts,) = item.facts
            assert facts.vuln_id == entry["cveID"]
            assert entry["cveID"] in item.cves
            assert item.published == datetime.fromisoformat(entry["dateAdded"]).replace(tzinfo=UTC)
            assert facts.cwes == tuple(entry["cwes"])
            assert facts.kev is not None
            assert facts.kev.due_date == date.fromisoformat(entry["dueDate"])
            assert item.title.startswith("CISA KEV: ") and item.title.endswith(
                f"({entry['cveID']})"
            )


@pytest.mark.realdata
def test_the_2025_catalog_matches_the_manifest(realdata: Path) -> None:
    path = realdata / "advisories" / "cisa-kev" / "known_exploited_vulnerabilities.json"
    if json.loads(path.read_bytes())["catalogVersion"] != "2025.08.25":
        pytest.skip("the corpus holds another catalog version than the MANIFEST describes")
    feed = parse_kev("cisa-kev", path.read_bytes(), url=URL, fetched_at=FETCHED)

    ransomware = Counter(item.facts[0].kev.ransomware for item in feed.items)  # type: ignore[union-attr]
    assert len(feed.items) == 1404
    assert ransomware == {True: 293, None: 1111}


@pytest.mark.realdata
def test_the_catalog_schema_is_not_a_catalog(realdata: Path) -> None:
    path = realdata / "advisories" / "cisa-kev" / "known_exploited_vulnerabilities_schema.json"

    with pytest.raises(ParseError, match="no 'vulnerabilities' list"):
        parse_kev("cisa-kev", path.read_bytes(), url=URL, fetched_at=FETCHED)
