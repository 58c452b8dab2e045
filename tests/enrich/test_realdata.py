"""End to end on real files: KEV catalog + CVE JSON 5 records + EPSS sample -> the CVE table."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from techwatch.config.sources import parse_sources
from techwatch.importer import import_files
from techwatch.storage import open_reader

SOURCES = """\
sources:
  - id: kev
    name: KEV
    kind: cisa-kev
    url: https://www.cisa.gov/kev.json
    category: advisory
  - id: cvelist
    name: CVE records
    kind: cve-json5
    url: https://cve.example/records
    category: advisory
  - id: first-epss
    name: EPSS
    kind: epss
    url: https://epss.cyentia.com/epss_scores-current.csv.gz
    category: advisory
"""


@pytest.fixture(scope="module")
def store(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("realdata") / "techwatch.duckdb"
    config = parse_sources(SOURCES, path=Path("sources.yml"))
    advisories = realdata / "advisories"
    records = advisories / "cve-json5-vulnrichment" / "kev"
    import_files(
        db, config, "kev", [advisories / "cisa-kev" / "known_exploited_vulnerabilities.json"]
    )
    import_files(
        db, config, "cvelist", [records / "CVE-2021-1675.json", records / "CVE-2012-4792.json"]
    )
    samples = advisories / "api-samples"
    report = import_files(
        db,
        config,
        "first-epss",
        [samples / "epss-api_CVE-2021-44228.json", samples / "epss-api_batch.json"],
    )
    assert (report.new_items, report.epss_scores) == (0, 3)
    return db


def test_a_kev_cve_with_its_cna_record_gathers_every_fact(store: Path) -> None:
    with open_reader(store) as reader:
        row = reader.cve("CVE-2021-1675")
    assert row is not None
    assert row["description"] == "Windows Print Spooler Remote Code Execution Vulnerability"
    assert row["description_from"] == "cvelist"  # the CNA's text, not KEV's
    assert row["title"] == "Microsoft Windows Print Spooler Remote Code Execution Vulnerability"
    assert (row["cvss_version"], row["cvss_score"], row["cvss_severity"]) == ("3.1", 7.8, "HIGH")
    assert row["cwes"] == ["CWE-285"]
    assert (row["kev"], row["kev_date_added"], row["kev_due_date"]) == (
        True,
        date(2021, 11, 3),
        date(2021, 11, 17),
    )
    assert row["kev_ransomware"] is True
    assert row["exploitation"] == "active"
    assert row["vendors"] == ["Microsoft"]
    assert {"vendor": "Microsoft", "product": "Windows"} in row["products"]
    assert (row["items"], row["sources"]) == (2, ["cvelist", "kev"])
    assert {i["source_id"] for i in row["mentioned_by"]} == {"cvelist", "kev"}


def test_epss_scores_join_the_cve_without_making_items(store: Path) -> None:
    with open_reader(store) as reader:
        row = reader.cve("CVE-2021-44228")
        listed = reader.cves(min_epss=0.9, limit=10)
        info = reader.info()
    assert row is not None
    assert (row["epss"], row["epss_percentile"], row["epss_date"]) == (
        0.99999,
        1.0,
        date(2026, 7, 5),
    )
    assert row["epss_history"] == [{"date": date(2026, 7, 5), "score": 0.99999, "percentile": 1.0}]
    assert row["products"] == [{"vendor": "Apache", "product": "Log4j"}]
    assert {r["cve_id"] for r in listed} == {"CVE-2021-44228", "CVE-2024-21413"}
    assert info["counts"]["items"] == 1404 + 2


def test_every_kev_entry_has_a_row_with_its_dates(store: Path) -> None:
    with open_reader(store) as reader:
        rows = reader.cves(kev=True, limit=100_000)
    assert len(rows) == 1404
    assert all(r["kev_date_added"] is not None for r in rows)
    ransomware = sum(1 for r in rows if r["kev_ransomware"])
    assert ransomware == 293  # MANIFEST: knownRansomwareCampaignUse Known 293


def test_product_mentions_are_stored_for_the_imported_items(store: Path) -> None:
    with duckdb.connect(str(store), read_only=True) as conn:
        fields = dict(
            conn.execute("SELECT field, count(*) FROM item_products GROUP BY ALL").fetchall()
        )
        printers = conn.execute(
            "SELECT DISTINCT vendor, product FROM item_products p JOIN items i ON i.id = p.item_id "
            "WHERE i.title LIKE '%CVE-2021-1675%'"
        ).fetchall()
    assert fields["affected"] >= 1404 and fields["title"] > 1000
    assert ("Microsoft", "Windows") in printers
