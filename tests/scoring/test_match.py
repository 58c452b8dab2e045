"""Which clients a story concerns, through what, in which lane, and why (tables of cases)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from techwatch.clients.profile import Client, Provider
from techwatch.parse.cve_json5 import parse_cve_json5
from techwatch.parse.kev import parse_kev
from techwatch.scoring.evidence import Evidence
from techwatch.scoring.match import Relevance, build_index, concerned, relevance
from techwatch.scoring.reasons import reason, render
from techwatch.types import Affected, ParsedItem
from tests.scoring.builders import (
    DENTAL,
    M365,
    NAS,
    NOW,
    advisory,
    asset,
    client,
    evidence,
)


def summary(found: Relevance) -> list[tuple[str, str, str]]:
    return [(m.kind, m.name, m.lane) for m in found.matches]


def codes(found: Relevance) -> list[str]:
    return [r.code for r in found.reasons]


def fortios(*versions: str, fixed: tuple[str, ...] = (), vendor: str = "Fortinet") -> Affected:
    return Affected(vendor, "FortiOS", versions=versions, fixed=fixed)


# --- the examples ---------------------------------------------------------------------


def test_alias_in_title_names_the_asset() -> None:
    found = relevance(DENTAL, evidence("Outlook down for thousands of users"))
    assert summary(found) == [("asset", "Microsoft 365", "unconfirmed")]
    assert found.reasons == (
        reason(
            "text_term",
            term_kind="alias",
            term="Outlook",
            field="title",
            asset="Microsoft 365",
            criticality=4,
            exposure="exposed",
        ),
    )


def test_affected_range_confirms_the_firewall() -> None:
    story = advisory("Fortinet fixes a flaw", "CVE-2024-0001", fortios("< 7.2.5"))
    found = relevance(DENTAL, story)
    assert summary(found) == [("asset", "firewall", "confirmed")]
    assert render(found.reasons[0], "en") == (
        "CVE-2024-0001 affects FortiOS < 7.2.5 → firewall (FortiOS 7.2.3, criticality 4, "
        "exposed to the internet)"
    )


def test_a_fixed_version_rules_the_asset_out_and_says_why() -> None:
    patched = client(asset("firewall", "Fortinet", "FortiOS", version="7.2.6"))
    story = advisory("FortiOS flaw", "CVE-2024-0001", fortios(fixed=("7.2.5",)))
    found = relevance(patched, story)
    assert not found.concerned
    assert [m.name for m in found.ruled_out] == ["firewall"]
    assert found.ruled_out[0].reasons[0] == reason(
        "version_fixed",
        vuln="CVE-2024-0001",
        product="FortiOS",
        fixed="7.2.5",
        asset="firewall",
        version="7.2.6",
    )
    # the title names FortiOS too: naming an asset the versions ruled out does not bring it back
    assert "text_term" in [r.code for r in found.ruled_out[0].reasons]


# --- advisory products ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("affected", "lane", "first_code"),
    [
        (fortios("< 7.2.5"), "confirmed", "version_affected"),
        (fortios("7.0.0 - 7.0.12", "7.2.0 - 7.2.6"), "confirmed", "version_affected"),
        (fortios("< 7.2.5", vendor="Fortinet, Inc."), "confirmed", "version_affected"),
        (Affected("fortinet", "fortios", versions=(">= 7.2.0, < 7.2.7",)), "confirmed",
         "version_affected"),
        (fortios(), "unconfirmed", "product_named"),  # KEV: no versions
        (fortios("sans le correctif"), "unconfirmed", "product_named"),
        (Affected("Fortinet", "FortiOS and FortiProxy"), "unconfirmed", "product_named"),
        (Affected("Fortinet", "Multiple Products"), "unconfirmed", "vendor_wide"),
        (Affected("Fortinet", "FortiGate"), "unconfirmed", "product_named"),  # an alias
        (Affected("Fortinet", "", cpes=("cpe:2.3:o:fortinet:fortios:*:*:*:*:*:*:*:*",)),
         "confirmed", "cpe_match"),
    ],
)  # fmt: skip
def test_advisory_products(affected: Affected, lane: str, first_code: str) -> None:
    with_cpe = client(
        asset(
            "firewall",
            "Fortinet",
            "FortiOS",
            version="7.2.3",
            aliases=("FortiGate",),
            cpe="cpe:2.3:o:fortinet:fortios:7.2.3:*:*:*:*:*:*:*",
        )
    )
    found = relevance(with_cpe, advisory("Advisory", "CVE-2024-0001", affected))
    assert summary(found) == [("asset", "firewall", lane)]
    assert codes(found)[0] == first_code


@pytest.mark.parametrize(
    ("affected", "sentence"),
    [
        (fortios(), "CVE-2024-0001 concerne Fortinet FortiOS → site"),
        (Affected("WordPress", "WordPress"), "CVE-2024-0001 concerne WordPress → site"),
        (Affected("Apache", "Apache HTTP Server"),
         "CVE-2024-0001 concerne Apache HTTP Server → site"),
    ],
)  # fmt: skip
def test_a_product_named_by_an_advisory_is_named_once(affected: Affected, sentence: str) -> None:
    # KEV writes ("WordPress", "WordPress") and ("Apache", "Apache HTTP Server"): the client's
    # briefing must not read "WordPress WordPress".
    named = client(asset("site", affected.vendor, affected.product, version="1"))
    found = relevance(named, advisory("Advisory", "CVE-2024-0001", affected))
    first = render(found.reasons[0], "fr")
    assert found.reasons[0].code == "product_named"
    assert first.startswith(sentence + " (criticité 3")


@pytest.mark.parametrize(
    ("version", "lane", "first_code"),
    [
        ("23.01", "confirmed", "version_affected"),
        ("24.09", None, "version_fixed"),
    ],
)
def test_a_product_named_like_its_vendor_is_matched_and_its_version_assessed(
    version: str, lane: str | None, first_code: str
) -> None:
    # KEV and CVE records name 7-Zip ("7-Zip", "7-Zip"), Joomla!, Samba, Git... so; before,
    # such a name matched no asset, and only the title's words could reach the client.
    pc = client(asset("PC", "7-Zip", "7-Zip", version=version))
    zip_flaw = Affected("7-Zip", "7-Zip", versions=("< 24.09",), fixed=("24.09",))
    found = relevance(pc, advisory("Advisory", "CVE-2025-0411", zip_flaw))
    assert summary(found) == ([("asset", "PC", lane)] if lane else [])
    reasons = found.reasons if lane else found.ruled_out[0].reasons
    assert reasons[0].code == first_code


@pytest.mark.parametrize(
    ("asset_product", "affected", "expected"),
    [
        ("Microsoft 365", Affected("Microsoft", "Microsoft"), []),
        ("Microsoft", Affected("Microsoft", "Exchange Server"), []),
        ("Microsoft", Affected("Microsoft", "Microsoft 365 Apps"), []),
        ("Microsoft", Affected("Microsoft", "Microsoft"), ["asset"]),
    ],
)
def test_a_vendor_name_alone_matches_only_itself(
    asset_product: str, affected: Affected, expected: list[str]
) -> None:
    office = client(asset("asset", "Microsoft", asset_product, version="1"))
    found = relevance(office, advisory("Advisory", "CVE-2024-0001", affected))
    assert [m.name for m in found.matches] == expected


@pytest.mark.parametrize(
    ("affected", "expected"),
    [
        (fortios("< 7.2.5"), []),  # another vendor's product
        (Affected("Fortinet", "FortiProxy", versions=("< 7.2.5",)), []),  # same vendor
        (Affected("Microsoft", "Microsoft 365 Apps for Enterprise"), ["Microsoft 365"]),
        (Affected("Microsoft", "Dynamics 365"), []),  # "365" alone names nothing
        (Affected("Microsoft", "microsoft/playwright"), []),  # "microsoft" alone neither
    ],
)
def test_vendor_and_product_must_both_match(affected: Affected, expected: list[str]) -> None:
    office = client(M365, asset("PC", "Acme", "FortiOS"))
    found = relevance(office, advisory("Advisory", "CVE-2024-0001", affected))
    assert [m.name for m in found.matches] == expected


def test_cpe_purl_and_vendor_spellings() -> None:
    shop = client(
        asset(
            "Boutique",
            "Automattic",
            "WooCommerce",
            version="8.5.1",
            purl="pkg:composer/woocommerce/woocommerce@8.5.1",
        ),
        asset("VPN", "Citrix", "NetScaler ADC", version="13.1-49.13", exposure="exposed"),
    )
    osv = Affected("Packagist", "woocommerce/woocommerce", versions=("< 8.6.0",))
    found = relevance(shop, advisory("WooCommerce flaw", "CVE-2024-0002", osv))
    assert summary(found) == [("asset", "Boutique", "confirmed")]
    assert codes(found)[:2] == ["purl_match", "version_affected"]
    citrix = Affected("Cloud Software Group", "NetScaler ADC", versions=(">= 13.1, < 51.15",))
    found = relevance(shop, advisory("NetScaler flaw", "CVE-2023-6548", citrix))
    assert summary(found) == [("asset", "VPN", "confirmed")]


def test_an_asset_without_version_is_kept_unconfirmed_with_a_hint() -> None:
    found = relevance(
        client(asset("firewall", "Fortinet", "FortiOS")),
        advisory("Advisory", "CVE-2024-0001", fortios("< 7.2.5")),
    )
    assert summary(found) == [("asset", "firewall", "unconfirmed")]
    assert reason("version_missing", asset="firewall") in found.reasons


def test_cert_fr_windows_bulletin_against_a_patched_and_an_old_pc() -> None:
    windows = Affected(
        "Microsoft",
        "Windows",
        versions=(
            "Windows 10 Version 22H2 pour systèmes x64 versions antérieures à 10.0.19045.6937",
            "Windows 11 Version 23H2 pour systèmes x64 versions antérieures à 10.0.22631.6491",
        ),
    )
    story = advisory("CERT-FR avis : Microsoft", "CVE-2026-0003", windows)
    office = client(
        asset("PC patched", "Microsoft", "Windows 10", version="10.0.19045.7000"),
        asset("PC old", "Microsoft", "Windows 10", version="10.0.19045.5000"),
    )
    found = relevance(office, story)
    assert summary(found) == [("asset", "PC old", "confirmed")]
    assert [m.name for m in found.ruled_out] == ["PC patched"]


def test_a_bulletin_repeating_products_for_many_cves_names_them_once() -> None:
    shared = (fortios("< 7.2.5"),)
    story = evidence(
        "CERT-FR avis : Fortinet",
        cves=("CVE-1", "CVE-2", "CVE-3"),
        vulns=tuple(advisory("", cve, *shared).vulns[0] for cve in ("CVE-1", "CVE-2", "CVE-3")),
    )
    found = relevance(DENTAL, story)
    assert found.reasons[0].param("vuln") == "CVE-1 (+2)"


# --- text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("Panne Microsoft-365 ce matin", "", [("asset", "Microsoft 365", "unconfirmed")]),
        ("Störung bei OFFICE 365", "", [("asset", "Microsoft 365", "unconfirmed")]),
        ("News", "Le FortiGate 60F est touché", [("asset", "firewall", "unconfirmed")]),
        ("Synology NAS attaqués", "", [("asset", "NAS", "unconfirmed")]),
        ("HIN : panne de la messagerie", "", [("provider", "HIN", "confirmed")]),
        ("Leak at Health-Info-Net", "", [("provider", "HIN", "confirmed")]),
        ("Le dossier électronique du patient évolue", "",
         [("keyword", "dossier électronique du patient", "unconfirmed")]),
        ("Dossier electronique du patient", "", [("keyword", "dossier électronique du patient",
                                                  "unconfirmed")]),
        ("Firewall and NAS vendors hit", "", []),  # generic words do not flood
        ("Outlookish forecasts", "", []),  # not a word form the guard accepts
    ],
)  # fmt: skip
def test_text_names(title: str, text: str, expected: list[tuple[str, str, str]]) -> None:
    assert summary(relevance(DENTAL, evidence(title, text))) == expected


def test_the_index_lists_terms_it_does_not_search() -> None:
    index = build_index([client(asset("Firewall", "Fortinet", "FortiOS", aliases=("FW",)))])
    assert index.ignored == (("c1", "Firewall", "common"), ("c1", "FW", "too_short"))


# --- exclusions and sectors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("story", "term", "where"),
    [
        (evidence("Outlook et dentifrice"), "dentifrice", "title"),
        (evidence("Outlook", "Un dentifrice connecté"), "dentifrice", "text"),
        (advisory("Outlook flaw", "CVE-1", Affected("Acme", "Dentifrice Pro")), "dentifrice",
         "products"),
    ],
)  # fmt: skip
def test_an_exclusion_keeps_the_story_away(story: Evidence, term: str, where: str) -> None:
    found = relevance(DENTAL, story)
    assert found.matches and not found.concerned
    assert found.excluded_by == reason("excluded", term=term, field=where)


@pytest.mark.parametrize(
    ("sectors", "topics", "severity", "cves", "expected"),
    [
        (("health",), ("regulation",), None, (), [("sector", "health", "confirmed")]),
        (("finance",), ("regulation",), None, (), []),
        (("health",), ("vulnerability",), None, ("CVE-1",), []),  # product-specific
        (("all",), ("regulation",), "info", (), [("sector", "all", "confirmed")]),
        (("all",), ("phishing_fraud",), "high", (), [("sector", "all", "confirmed")]),
        (("all",), ("phishing_fraud",), "medium", (), []),  # minor waves do not reach everyone
        (("all",), ("product_update",), "high", (), []),  # "whoever uses the product": text
        (("all", "health"), ("regulation",), None, (), [("sector", "all", "confirmed")]),
    ],
)
def test_sector_stories(
    sectors: tuple[str, ...],
    topics: tuple[str, ...],
    severity: str | None,
    cves: tuple[str, ...],
    expected: list[tuple[str, str, str]],
) -> None:
    story = evidence(
        "Nouvelle directive", sectors=sectors, topics=topics, severity=severity, cves=cves
    )
    found = relevance(DENTAL, story)
    assert summary(found) == expected
    assert found.lane == "confirmed" or not expected


# --- many clients at once ---------------------------------------------------------------------


def test_concerned_returns_only_the_clients_touched() -> None:
    fiduciary = client(
        asset("Comptabilité", "Abacus", "AbaNinja", criticality=4),
        id="fidu",
        sectors=("finance",),
        providers=(Provider("Infomaniak", "hosting"),),
    )
    other = Client(id="empty", name="Nobody", sectors=("retail_hospitality",))
    index = build_index([DENTAL, fiduciary, other])
    assert list(concerned(index, evidence("AbaNinja and Outlook outage"))) == ["dental", "fidu"]
    assert list(concerned(index, evidence("Nothing to see"))) == []
    regulation = evidence("New nLPD guidance", sectors=("all",), topics=("regulation",))
    assert list(concerned(index, regulation)) == ["dental", "fidu", "empty"]


def test_relevance_of_an_untouched_client_is_empty() -> None:
    found = relevance(client(NAS), evidence("Nothing"))
    assert found == Relevance("c1") and not found.concerned


# --- real advisories ----------------------------------------------------------------------------


def parsed_items(parser, path: Path) -> tuple[ParsedItem, ...]:  # type: ignore[no-untyped-def]
    feed = parser("src", path.read_bytes(), url="https://example.org/", fetched_at=NOW)
    return feed.items


def as_evidence(item: ParsedItem) -> Evidence:
    exploited = any(f.kev is not None for f in item.facts)
    return Evidence(
        story_id=item.identity,
        title=item.title,
        text=item.text,
        first_seen=datetime(2026, 11, 28, tzinfo=UTC),
        cves=item.cves,
        vulns=item.facts,
        topics=("vulnerability", "exploited") if exploited else ("vulnerability",),
        sectors=("all",),
    )


@pytest.mark.realdata
def test_real_kev_entries_reach_fortinet_and_citrix_clients_unconfirmed(realdata: Path) -> None:
    items = parsed_items(
        parse_kev, realdata / "advisories/cisa-kev/known_exploited_vulnerabilities.json"
    )
    by_cve = {item.cves[0]: item for item in items}
    commune = client(
        asset("Accès distant", "Citrix", "NetScaler ADC", version="13.1-49.13",
              aliases=("NetScaler Gateway",), exposure="exposed", criticality=4),
        id="commune", sectors=("public_admin",),
    )  # fmt: skip
    index = build_index([DENTAL, commune])
    fortios_kev = concerned(index, as_evidence(by_cve["CVE-2024-21762"]))
    assert list(fortios_kev) == ["dental"]
    assert summary(fortios_kev["dental"]) == [("asset", "firewall", "unconfirmed")]
    assert "product_named" in codes(fortios_kev["dental"])
    citrix_kev = concerned(index, as_evidence(by_cve["CVE-2023-6548"]))
    assert summary(citrix_kev["commune"]) == [("asset", "Accès distant", "unconfirmed")]


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("record", "product", "version", "lane"),
    [
        ("CVE-2024-21762", "FortiOS", "7.2.3", "confirmed"),
        ("CVE-2024-21762", "FortiOS", "7.2.7", None),  # fixed in 7.2.7
        ("CVE-2023-6548", "NetScaler ADC", "13.1-49.13", "confirmed"),
        ("CVE-2023-6548", "NetScaler ADC", "13.1-51.15", None),
    ],
)
def test_real_cve_records_are_version_aware(
    realdata: Path, record: str, product: str, version: str, lane: str | None
) -> None:
    path = realdata / f"advisories/cve-json5-vulnrichment/kev/{record}.json"
    (item,) = parsed_items(parse_cve_json5, path)
    vendor = "Fortinet" if product == "FortiOS" else "Citrix"
    found = relevance(client(asset("Device", vendor, product, version=version)), as_evidence(item))
    if lane is None:
        assert not found.concerned and [m.name for m in found.ruled_out] == ["Device"]
        assert {r.code for r in found.ruled_out[0].reasons} <= {
            "version_not_affected", "version_fixed", "text_term",
        }  # fmt: skip
    else:
        assert summary(found) == [("asset", "Device", lane)]


def test_a_huge_text_is_read_up_to_its_cap() -> None:
    padding = "lorem ipsum " * 500_000  # 6 MB
    assert relevance(DENTAL, evidence("News", "Outlook " + padding)).concerned
    assert not relevance(DENTAL, evidence("News", padding + " Outlook")).matches
