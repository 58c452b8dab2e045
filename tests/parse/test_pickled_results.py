"""Parse results cross from the workers to the parent by pickling: as their constructor's
arguments (types._pickled_as_arguments), they must come back equal, every field carried."""

from __future__ import annotations

import pickle
from dataclasses import fields
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from techwatch.parse.registry import parse_document
from techwatch.types import (
    Affected,
    CvssScore,
    EpssScore,
    KevEntry,
    ParsedFeed,
    ParsedItem,
    VulnFacts,
)

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
SCORE = CvssScore("3.1", "CVSS:3.1/AV:N", 9.8, "CRITICAL", source="cna", problem="x")
PRODUCT = Affected("Fortinet", "FortiOS", ("< 7.2.5",), ("7.2.5",), ("cpe:2.3:o",), "pkg:x/y")
KEV = KevEntry(date(2024, 4, 12), date(2024, 4, 19), "Patch.", True, "V", "P", "N", "notes")
FACT = VulnFacts(
    vuln_id="CVE-2024-0001",
    aliases=("GHSA-1",),
    title="t",
    description="d",
    published=T0,
    modified=T0,
    cvss=(SCORE,),
    cwes=("CWE-79",),
    affected=(PRODUCT,),
    kev=KEV,
    ssvc=(("Exploitation", "active"),),
    references=("https://example.org/a",),
)
ITEM = ParsedItem(
    source_id="s",
    identity="i",
    url="https://example.org/a",
    canonical_url="https://example.org/a",
    title="T",
    text="x",
    html="<p>x</p>",
    published=T0,
    language="fr",
    authors=("a",),
    cves=("CVE-2024-0001",),
    content_hash="h",
    facts=(FACT, FACT),
)
FEED = ParsedFeed(
    "s", (ITEM,), 1, "title", "fr", ("w",), (EpssScore("CVE-1", 0.5, 0.9, T0.date()),)
)


@pytest.mark.parametrize("record", [SCORE, PRODUCT, KEV, FACT, ITEM, FEED])
def test_every_field_comes_back(record: object) -> None:
    back = pickle.loads(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == record
    # no field left at its default: each was given a value of its own above
    for f in fields(record):  # type: ignore[arg-type]
        assert getattr(back, f.name) == getattr(record, f.name)
        assert getattr(back, f.name) != f.default


def test_shared_values_stay_shared() -> None:
    """A bulletin's facts share one product list: pickled once, shared again once loaded."""
    back = pickle.loads(pickle.dumps(ITEM, protocol=pickle.HIGHEST_PROTOCOL))
    assert back.facts[0] is back.facts[1]
    assert back.facts[0].affected is back.facts[1].affected


SAMPLES = (
    ("cisa-kev", "cisa-kev/known_exploited_vulnerabilities.json"),
    ("cve-json5", "cve-json5-vulnrichment/*/*.json"),
    ("certfr-json", "cert-fr-avis/*/*.json"),
    ("csaf", "csaf-cisa/*-2024/*.json"),
    ("osv", "osv-golang-vulndb/*.json"),
)


@pytest.mark.parametrize(("kind", "pattern"), SAMPLES)
def test_real_advisories_come_back_equal(realdata: Path, kind: str, pattern: str) -> None:
    paths = sorted((realdata / "advisories").glob(pattern))[:40]
    assert paths
    for path in paths:
        parsed = parse_document(kind, "src", path.read_bytes(), url=path.as_uri(), fetched_at=T0)
        assert pickle.loads(pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL)) == parsed
