"""What all items state about one CVE -> its row in the CVE table (enrich.cves)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from techwatch.enrich.cves import (
    CveFact,
    CveRecord,
    ProductsMemo,
    Sightings,
    Stated,
    affected_products,
    aggregate,
    best_cwes,
    best_kev,
)
from techwatch.types import CvssScore, KevEntry

CVE = "CVE-2024-3400"
T1 = datetime(2026, 11, 1, tzinfo=UTC)
T2 = datetime(2026, 11, 5, tzinfo=UTC)
T3 = datetime(2026, 11, 9, tzinfo=UTC)


def fact(kind: str | None, source: str = "", **fields: object) -> CveFact:
    return CveFact(CVE, f"item-{source or kind}", source or str(kind), kind, **fields)  # type: ignore[arg-type]


def kev(**fields: object) -> KevEntry:
    values: dict[str, object] = {
        "date_added": date(2024, 4, 12),
        "due_date": date(2024, 4, 19),
        "required_action": "Apply mitigations per vendor instructions.",
        "ransomware": None,
        "vendor": "Palo Alto Networks",
        "product": "PAN-OS",
        "name": "Palo Alto Networks PAN-OS Command Injection Vulnerability",
    }
    values.update(fields)
    return KevEntry(**values)  # type: ignore[arg-type]


ONE = Sightings(T1, T1, ("a",), ("kev",))


def test_a_cve_no_item_mentions_any_more_has_no_row() -> None:
    assert aggregate(CVE, [fact("cve-json5", description="x")], None) is None


@pytest.mark.parametrize(
    ("facts", "description", "source"),
    [
        (
            [
                fact("cisa-kev", "kev", description="KEV short text."),
                fact("nvd-api", "nvd", description="NVD text."),
                fact("cve-json5", "cvelist", description="The CNA's text."),
            ],
            "The CNA's text.",
            "cvelist",
        ),
        (
            [
                fact("cisa-kev", "kev", description="KEV short text."),
                fact("nvd-api", "nvd", description="NVD text."),
            ],
            "NVD text.",
            "nvd",
        ),
        (
            [
                fact("certfr-json", "certfr", description="Texte en français."),
                fact("cisa-kev", "kev", description="KEV short text."),
            ],
            "KEV short text.",
            "kev",
        ),
        (
            [
                fact("cve-json5", "cvelist", description="   "),
                fact("feed", "press", description="From the press."),
            ],
            "From the press.",
            "press",
        ),
        (
            [
                fact("cve-json5", "old", description="Older CNA text.", modified=T1),
                fact("cve-json5", "new", description="Updated CNA text.", modified=T2),
            ],
            "Updated CNA text.",
            "new",
        ),
        ([], None, None),
    ],
)
def test_the_cna_description_is_preferred_then_nvd_then_others(
    facts: list[CveFact], description: str | None, source: str | None
) -> None:
    row = aggregate(CVE, facts, ONE)
    assert row is not None
    assert (row.description, row.description_from) == (description, source)


def test_the_title_is_kev_s_vulnerability_name_first() -> None:
    facts = [fact("cve-json5", title="CNA title"), fact("cisa-kev", kev=kev())]
    row = aggregate(CVE, facts, ONE)
    assert row is not None and row.title == kev().name
    row = aggregate(CVE, facts[:1], ONE)
    assert row is not None and row.title == "CNA title"


def test_the_best_cvss_is_the_newest_version_with_a_score() -> None:
    v2 = CvssScore("2.0", "AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0, "HIGH")
    v31 = CvssScore("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL", "CNA")
    broken = CvssScore("4.0", "CVSS:4.0/garbage", None, None, problem="unreadable")
    row = aggregate(CVE, [fact("nvd-api", cvss=(v2, broken)), fact("cve-json5", cvss=(v31,))], ONE)
    assert row is not None and row.cvss == v31


@pytest.mark.parametrize(
    ("stated", "expected"),
    [
        ((("CWE-77",), ("NVD-CWE-Other", "CWE-78")), ("CWE-77", "CWE-78")),
        ((("NVD-CWE-noinfo",),), ("NVD-CWE-noinfo",)),
        ((("CWE-20", "CWE-20"), ("CWE-20",)), ("CWE-20",)),
        ((), ()),
    ],
)
def test_cwes_are_merged_and_nvd_placeholders_only_kept_alone(
    stated: tuple[tuple[str, ...], ...], expected: tuple[str, ...]
) -> None:
    assert best_cwes([fact("cve-json5", cwes=cwes) for cwes in stated]) == expected


def test_kev_takes_the_catalog_entry_and_the_earliest_date() -> None:
    adp = KevEntry(date(2024, 4, 11), None, "", None, "", "", "")
    catalog = kev(ransomware=True)
    entry = best_kev([fact("cve-json5", kev=adp), fact("cisa-kev", kev=catalog), fact("feed")])
    assert entry == KevEntry(
        date_added=date(2024, 4, 11),
        due_date=catalog.due_date,
        required_action=catalog.required_action,
        ransomware=True,
        vendor=catalog.vendor,
        product=catalog.product,
        name=catalog.name,
    )
    assert best_kev([fact("feed")]) is None


@pytest.mark.parametrize(
    ("values", "worst"),
    [(["none", "poc"], "poc"), (["Active", "none"], "active"), (["weird"], None), ([], None)],
)
def test_exploitation_is_the_worst_stated(values: list[str], worst: str | None) -> None:
    row = aggregate(CVE, [fact("cve-json5", exploitation=v) for v in values], ONE)
    assert row is not None and row.exploitation == worst


def test_affected_products_are_canonical_and_deduplicated() -> None:
    facts = [
        fact("cisa-kev", kev=kev(vendor="Palo Alto Networks", product="PAN-OS")),
        fact(
            "cve-json5",
            products=(
                ("paloaltonetworks", "pan-os"),
                ("Palo Alto Networks", "PAN-OS 11.1"),
                ("n/a", "n/a"),
            ),
        ),
        fact("osv", products=(("Go", "github.com/hashicorp/vault"),)),
    ]
    row = aggregate(CVE, facts, ONE)
    assert row is not None
    assert row.products == (("hashicorp", "vault"), ("Palo Alto Networks", "PAN-OS"))
    assert row.vendors == ("hashicorp", "Palo Alto Networks")


PAN_OS = (("paloaltonetworks", "pan-os"),)
#: CVEs in a refresh's order: statements met again, spelt otherwise with the same canonical
#: pairs, the same pairs as packages (OSV), with KEV's vendor and product added.
STATED = [
    [fact("certfr-json", products=PAN_OS)],
    [fact("certfr-json", products=(("Palo Alto Networks", "PAN-OS"),))],
    [fact("certfr-json", products=PAN_OS)],
    [fact("osv", products=PAN_OS)],
    [fact("cve-json5", products=PAN_OS, kev=kev(vendor="Ivanti", product="EPMM"))],
    [fact("cve-json5", products=PAN_OS), fact("osv", products=(("Go", "golang.org/x/net"),))],
    [fact("cve-json5", products=PAN_OS, kev=kev())],
    [],
]


@pytest.mark.parametrize("display", [None, {("ivanti", "epmm"): ("Ivanti", "EPMM (MDM)")}.get])
def test_a_memo_shared_by_cves_gives_what_each_alone_gives(display: object) -> None:
    memo: ProductsMemo = {}
    for facts in STATED:
        alone = affected_products(facts, display)  # type: ignore[arg-type]
        assert affected_products(facts, display, memo) == alone  # type: ignore[arg-type]
    assert len(memo) == len(STATED) - 1  # the third CVE is stated as the first


def test_a_display_function_names_products_as_the_dictionary_does() -> None:
    shown = {("palo alto networks", "pan os"): ("Palo Alto Networks", "PAN-OS (firewalls)")}
    row = aggregate(
        CVE, [fact("cve-json5", products=(("paloaltonetworks", "pan-os"),))], ONE, shown.get
    )
    assert row is not None and row.products == (("Palo Alto Networks", "PAN-OS (firewalls)"),)


def test_a_cve_row_takes_its_sightings_as_they_are() -> None:
    seen = Sightings(T1, T3, ("c", "b", "a"), ("kev", "press"))
    row = aggregate(CVE, [], seen)
    assert row is not None
    assert (row.first_seen, row.last_seen, row.item_ids, row.sources) == (
        T1,
        T3,
        ("c", "b", "a"),
        ("kev", "press"),
    )
    assert row.description is None and row.cvss is None and row.kev is None


def test_a_record_is_its_id_then_the_stated_fields_then_the_sightings() -> None:
    # aggregate builds CveRecord(cve_id, *stated, *sightings) by position: the three tuples
    # must keep the same fields in the same order (and the same types) for that to hold.
    assert CveRecord._fields == ("cve_id", *Stated._fields, *Sightings._fields)
    stated_and_seen = {**Stated.__annotations__, **Sightings.__annotations__}
    assert {k: v for k, v in CveRecord.__annotations__.items() if k != "cve_id"} == stated_and_seen
