"""Vendor and product names as advisories write them -> canonical names (enrich.names)."""

from __future__ import annotations

import pytest

from techwatch.enrich import names
from techwatch.enrich.names import (
    adopt,
    canonical_pairs,
    fold,
    fold_name,
    known_pairs,
    named_pairs,
    nicer,
    product_key,
    vendor_name,
)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Citrix NetScaler® ADC (Gateway)", "citrix netscaler adc gateway"),
        ("Sécurité Système", "securite systeme"),
        ("Straße", "strasse"),
        ("PAN-OS", "pan os"),
        ("adaptive_security_appliance_software", "adaptive security appliance software"),
        ("  ", ""),
    ],
)
def test_fold_removes_case_accents_and_punctuation(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("raw", "vendor"),
    [
        ("Fortinet, Inc.", "Fortinet"),
        ("Microsoft Corporation", "Microsoft"),
        ("Siemens AG", "Siemens"),
        ("The Apache Software Foundation", "Apache"),
        ("Cisco Systems", "Cisco"),
        ("paloaltonetworks", "Palo Alto Networks"),
        ("Synacor", "Zimbra"),
        ("n/a", None),
        ("", None),
        ("Inc.", "Inc"),  # a legal suffix alone is kept: it is all the name there is
    ],
)
def test_vendor_names_lose_legal_suffixes_and_follow_the_alias_table(
    raw: str, vendor: str | None
) -> None:
    assert vendor_name(raw) == vendor


@pytest.mark.parametrize(
    ("vendor", "product", "pairs"),
    [
        ("Microsoft", "Windows 10 Version 1809", [("Microsoft", "Windows")]),
        (
            "Microsoft",
            "Windows Server 2019 (Server Core installation)",
            [("Microsoft", "Windows Server")],
        ),
        ("Microsoft", "Windows 7 Service Pack 1", [("Microsoft", "Windows")]),
        ("Microsoft", "Windows 10 for 32-bit Systems", [("Microsoft", "Windows")]),
        ("microsoft", "windows_10", [("microsoft", "Windows")]),
        ("Microsoft", "Win32k", [("Microsoft", "Windows")]),
        ("Microsoft", "Microsoft Exchange Server 2019", [("Microsoft", "Exchange Server")]),
        ("Cisco", "IOS and IOS XE Software", [("Cisco", "IOS"), ("Cisco", "IOS XE")]),
        (
            "cisco",
            "adaptive_security_appliance_software",
            [("Cisco", "Adaptive Security Appliance")],
        ),
        (
            "Citrix",
            "ADC and Gateway",
            [("Citrix", "NetScaler ADC"), ("Citrix", "NetScaler Gateway")],
        ),
        ("Fortinet", "FortiGate", [("Fortinet", "FortiOS")]),
        ("Synology", "DSM", [("Synology", "DiskStation Manager")]),
        ("Google", "Chromium V8", [("Google", "Chrome")]),
        ("Siemens", "SCALANCE XCH328 (6GK5328-4TS01-2EC2)", [("Siemens", "SCALANCE")]),
        ("SUSE", "openSUSE Leap 15.4", [("SUSE", "openSUSE Leap")]),
        ("Siemens", "TeleControl Server Basic V3", [("Siemens", "TeleControl Server Basic")]),
        ("Arm", "Trusted Firmware", [("Arm", "Trusted Firmware")]),  # not "Trusted"
        ("Linux", "Linux", [("Linux", "Kernel")]),
        ("Veeam", "Backup & Replication", [("Veeam", "Backup & Replication")]),
        ("Apple", "Multiple Products", []),
        ("n/a", "n/a", []),
        ("Acme", "n/a", []),
    ],
)
def test_products_are_reduced_to_their_family_then_aliased(
    vendor: str, product: str, pairs: list[tuple[str, str]]
) -> None:
    assert canonical_pairs(vendor, product) == pairs


@pytest.mark.parametrize(
    ("ecosystem", "package", "pairs"),
    [
        ("Go", "github.com/hashicorp/vault", [("hashicorp", "vault")]),
        ("Go", "github.com/mattermost/mattermost/server/v8", [("mattermost", "mattermost")]),
        ("Go", "stdlib", [("Go", "stdlib")]),
        ("PyPI", "requests", [("PyPI", "requests")]),
        ("", "requests", []),
    ],
)
def test_osv_packages_name_their_ecosystem_or_module_owner(
    ecosystem: str, package: str, pairs: list[tuple[str, str]]
) -> None:
    assert canonical_pairs(ecosystem, package, package=True) == pairs


def test_a_product_key_ignores_a_leading_vendor_name_but_not_before_a_number() -> None:
    assert product_key("Microsoft", "Microsoft Windows") == product_key("Microsoft", "Windows")
    assert product_key("Microsoft", "Microsoft 365") == "microsoft 365"


@pytest.mark.parametrize(
    ("a", "b", "shown"),
    [
        ("microsoft", "Microsoft", "Microsoft"),
        ("Windows", "Microsoft Windows", "Windows"),
        ("IOS", "ios", "IOS"),
    ],
)
def test_the_nicer_spelling_is_shown(a: str, b: str, shown: str) -> None:
    assert nicer(a, b) == nicer(b, a) == shown


STATED = [
    ("Microsoft Corporation", "Windows Server 2019 (Server Core installation)", False),
    ("Cisco", "IOS and IOS XE Software", False),
    ("Go", "github.com/gin-gonic/gin", True),
    ("n/a", "n/a", False),
]


@pytest.mark.parametrize(("vendor", "product", "package"), STATED)
def test_named_pairs_are_the_canonical_pairs_with_their_dictionary_keys(
    vendor: str, product: str, package: bool
) -> None:
    found = named_pairs(vendor, product, package)
    assert [name for _, name in found] == canonical_pairs(vendor, product, package=package)
    assert [key for key, _ in found] == [(fold_name(v), product_key(v, p)) for _, (v, p) in found]


def test_adopted_pairs_are_used_as_this_process_would_compute_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(names, "_NAMED", {})
    known = known_pairs(STATED)
    assert list(known) == STATED and known[STATED[3]] == ()
    # Another process's: equal, not these same objects, and used instead of a computation.
    monkeypatch.setattr(names, "_NAMED", {})
    other = {s: tuple((tuple(k), tuple(n)) for k, n in pairs) for s, pairs in known.items()}
    adopt(other)
    assert all(named_pairs(*s) is other[s] for s in STATED)
    assert [named_pairs(*s) for s in STATED] == [known[s] for s in STATED]


def test_the_memo_starts_again_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(names, "_NAMED", {})
    monkeypatch.setattr(names, "NAMED_LIMIT", 3)
    adopt(known_pairs(STATED[:2]))
    named_pairs(*STATED[2])
    assert len(names._NAMED) == 3
    named_pairs(*STATED[3])
    assert list(names._NAMED) == [STATED[3]]
    adopt(known_pairs(STATED[:3]))
    assert list(names._NAMED) == STATED[:3]
