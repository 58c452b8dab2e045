"""Versions, the ranges advisories publish (shapes taken from real CVE 5, CSAF, OSV and CERT-FR
records), and the verdict for one asset version."""

from __future__ import annotations

import pytest

from techwatch.scoring.identifiers import product_forms
from techwatch.scoring.versions import assess, compare, contains, parse_range, parse_version
from techwatch.types import Affected


@pytest.mark.parametrize(
    "text",
    ["7.2.3", "10.0.19045.6937", "2024.1 build 5", "22.2R3-S3", "13.1-51.15", "V14.1.0.14",
     "15.2(4)E1", "2.0-beta9", "7.0.0rc3", "9.90_SP10", "6.1.159-1~deb11u1", "2019 CU13"],
)  # fmt: skip
def test_vendor_versions_are_read(text: str) -> None:
    assert parse_version(text) is not None


@pytest.mark.parametrize("text", ["", "22H2", "SDX55", "Snapdragon 480", "6AV2128-3GB70", "x"])
def test_names_are_not_versions(text: str) -> None:
    assert parse_version(text) is None


@pytest.mark.parametrize(
    ("asset", "bound", "expected"),
    [
        ("7.2.3", "7.2.5", -1),
        ("7.2.10", "7.2.9", 1),  # numbers, not text
        ("7.2", "7.2.0", 0),
        ("7.0.0rc3", "7.0.0", -1),  # pre-releases come first (packaging)
        ("2.0-beta9", "2.0", -1),
        ("2024.1 build 5", "2024.1 build 12", -1),  # lenient fallback
        ("22.2R3-S3", "22.2R3-S12", -1),
        ("13.1-49.13", "13.1-51.15", -1),
        ("V14.1.0.14", "14.1.0.9", 1),
        ("7.2", "7.2.5", None),  # too vague: which 7.2?
        ("10.0.19045", "10.0.19045.6937", None),
        ("2012", "6.3.9600.22968", None),  # a year is not a build number
        ("8", "7.2.5", 1),  # a prefix that differs is still comparable
    ],
)
def test_compare(asset: str, bound: str, expected: int | None) -> None:
    left, right = parse_version(asset), parse_version(bound)
    assert left is not None and right is not None
    assert compare(left, right) == expected


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("< 7.2.5", "7.2.4", "7.2.5"),
        ("<= 1.4", "1.4", "1.4.1"),
        (">= 2.0, < 2.15.0", "2.14.1", "1.9"),
        ("7.0.0 - 7.0.12", "7.0.12", "7.0.13"),
        ("2.4.1", "2.4.1", "2.4.2"),
        ("all versions", "1.0", None),
        ("vers:all/<V2.4", "2.3.9", "2.4"),
        (">=13.5.1|<=13.5.3", "13.5.2", "13.5.4"),
        ("<V14.1.0.14", "14.1.0.9", "14.1.0.14"),
        ("versions antérieures à 3.14", "3.13", "3.14"),
        ("versions 7.4.x antérieures à 7.4.9", "7.4.8", "7.2.11"),
        ("versions antérieures ou égales à 2.8.5", "2.8.5", "2.8.6"),
        ("toutes versions 7.2.x", "7.2.99", "7.4.0"),
        ("versions 8.0.0 à 8.0.44, 8.4.0 à 8.4.7 et 9.0.0 à 9.5.0", "8.4.3", "8.2.0"),
        ("ArubaOS 10.4.x.x: 10.4.0.2 and below", "10.4.0.1", "10.3.9"),
        ("versions antérieures à 6.2.9 sur Linux", "6.2.8", "6.2.9"),
        ("Junos OS versions 21.4R3 antérieures à 21.4R3-S12", "21.4R3-S5", "21.2R1"),
        ("< 1.7.1-0.20260421213846-34bc6724acc9", "1.7.0", "1.7.2"),
    ],
)
def test_published_ranges(text: str, inside: str, outside: str | None) -> None:
    ranges = parse_range(text)
    assert ranges, text
    inside_version = parse_version(inside)
    assert inside_version is not None
    assert any(contains(r, inside_version) for r in ranges)
    if outside is not None:
        outside_version = parse_version(outside)
        assert outside_version is not None
        assert not any(contains(r, outside_version) for r in ranges)


@pytest.mark.parametrize(
    "text",
    [
        "git >= 1da177e4c3f4, < f50733b45d86",
        "sans les derniers correctifs de sécurité",
        "versions 7.3.3 sans le correctif de sécurité IJ57128",
        "Tanzu Greenplum Command Center versions antérieures à 6.14.0 et 7.4.0",
        "< Vancouver Patch 8 Hot Fix 4",
        "Microsoft Office 2016 (édition 64 bits)",
        "10 Version 1809 for 32-bit Systems",
        ">= 14.1, < 12.35",  # upside down: read for Citrix only (see test below)
        ">= 1.0, < 2.0 and more",
        "",
    ],
)
def test_unreadable_ranges_are_refused_rather_than_guessed(text: str) -> None:
    assert parse_range(text) == ()


def test_words_before_the_versions_qualify_the_edition() -> None:
    (found,) = parse_range(
        "Windows 10 Version 1809 pour systèmes 32 bits versions antérieures à 10.0.17763.8389"
    )
    assert found.qualifier == ("windows", "10", "1809")
    assert (
        parse_range("Version 22H2 pour systèmes ARM64 versions antérieures à 10.0.19045.1")[
            0
        ].qualifier
        == ()
    )


FORTIOS = product_forms("FortiOS", "Fortinet")
WINDOWS_10 = product_forms("Windows 10", "Microsoft")


def fortios(versions: tuple[str, ...] = (), fixed: tuple[str, ...] = (), cpes=()) -> Affected:
    return Affected("Fortinet", "FortiOS", versions=versions, fixed=fixed, cpes=cpes)


@pytest.mark.parametrize(
    ("version", "affected", "status", "why"),
    [
        ("7.2.3", fortios(("< 7.2.5",)), "affected", "in_range"),
        ("7.2.6", fortios(("< 7.2.5",)), "not_affected", "outside_ranges"),
        ("7.2.6", fortios(fixed=("7.2.5",)), "not_affected", "fixed"),
        ("7.2.3", fortios(fixed=("7.2.5",)), "affected", "below_fix"),
        ("7.0.3", fortios(fixed=("7.2.5",)), "unknown", "unclear"),  # other branch: unsure
        ("7.2.3", fortios(("7.0.0 - 7.0.13", "7.2.0 - 7.2.6")), "affected", "in_range"),
        ("7.2.7", fortios(("7.0.0 - 7.0.13", "7.2.0 - 7.2.6")), "not_affected", "outside_ranges"),
        ("7.2.3", fortios(("all other versions",), ("7.2.5",)), "affected", "all_versions"),
        ("7.2.5", fortios(("all other versions",), ("7.2.5",)), "not_affected", "fixed"),
        ("7.2.3", fortios(("all versions",)), "affected", "all_versions"),
        ("7.2", fortios(("< 7.2.5",)), "unknown", "unclear"),
        ("7.2.3", fortios(("< 7.2.5", "sans le correctif")), "affected", "in_range"),
        ("7.2.6", fortios(("< 7.2.5", "sans le correctif")), "unknown", "unclear"),
        (None, fortios(("< 7.2.5",)), "unknown", "no_version"),
        ("22H2", fortios(("< 7.2.5",)), "unknown", "unreadable_version"),
        ("7.2.3", fortios(), "unknown", "no_ranges"),
        # no range stated: the versions named by the CPEs are the affected ones
        ("7.2.3", fortios(cpes=("cpe:2.3:o:fortinet:fortios:7.2.3:*:*:*:*:*:*:*",)), "affected",
         "in_range"),
        ("7.2.4", fortios(cpes=("cpe:2.3:o:fortinet:fortios:7.2.3:*:*:*:*:*:*:*",)),
         "not_affected", "outside_ranges"),
    ],
)  # fmt: skip
def test_assess(version: str | None, affected: Affected, status: str, why: str) -> None:
    verdict = assess(version, affected, FORTIOS)
    assert (verdict.status, verdict.why) == (status, why)


def test_log4j_ranges_win_over_fixes_of_other_branches() -> None:
    log4j = Affected(
        "Apache", "Log4j", versions=(">= 2.13.0, < 2.15.0",), fixed=("2.12.2", "2.3.1", "2.15.0")
    )
    names = product_forms("Log4j", "Apache")
    assert assess("2.14.1", log4j, names).status == "affected"
    assert assess("2.12.2", log4j, names).why == "fixed"  # the 2.12 branch's fix


@pytest.mark.parametrize(
    ("version", "status"),
    [("10.0.17763.100", "affected"), ("10.0.19045.7000", "not_affected")],
)
def test_cert_fr_windows_ranges_apply_to_their_edition_only(version: str, status: str) -> None:
    windows = Affected(
        "Microsoft",
        "Windows",
        versions=(
            "Windows 10 Version 1809 pour systèmes 32 bits versions antérieures à 10.0.17763.8389",
            "Windows 10 Version 22H2 pour systèmes x64 versions antérieures à 10.0.19045.6937",
            "Windows 11 Version 23H2 pour systèmes x64 versions antérieures à 10.0.22631.6491",
        ),
    )
    assert assess(version, windows, WINDOWS_10).status == status


def test_a_range_about_another_edition_only_leaves_the_answer_open() -> None:
    windows_11 = Affected(
        "Microsoft",
        "Windows",
        versions=("Windows 11 Version 23H2 pour systèmes x64 versions antérieures à 10.0.22631.1",),
    )
    assert assess("10.0.19045.1", windows_11, WINDOWS_10).why == "other_edition"


@pytest.mark.parametrize(
    ("version", "status"),
    [("13.1-49.13", "affected"), ("13.1-51.15", "not_affected"), ("14.1-12.30", "affected"),
     ("14.1-12.40", "not_affected")],
)  # fmt: skip
def test_citrix_build_ranges(version: str, status: str) -> None:
    netscaler = Affected(
        "Cloud Software Group", "NetScaler ADC", versions=(">= 14.1, < 12.35", ">= 13.1, < 51.15")
    )
    assert assess(version, netscaler, product_forms("NetScaler ADC", "Citrix")).status == status


@pytest.mark.parametrize("text", ["9" * 5000, "1." * 3000 + "1", "< " + "7." * 2000 + "1"])
def test_hostile_sizes_are_refused_not_computed(text: str) -> None:
    assert parse_version(text) is None
    assert parse_range(text) == ()
