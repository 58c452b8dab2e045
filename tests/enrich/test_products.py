"""The product dictionary and its recognition in free text (enrich.products)."""

from __future__ import annotations

import pickle
import time
import unicodedata

import pytest

from techwatch.enrich.names import canonical_pairs, known_pairs
from techwatch.enrich.products import (
    MAX_NAMES,
    Dictionary,
    Entry,
    Mention,
    learn,
    merge,
    offloaded_relearn,
    relearn,
    without_accents,
)

STATEMENTS = [
    ("Microsoft", "Windows", False),
    ("Microsoft", "Exchange Server", False),
    ("Fortinet, Inc.", "FortiOS", False),
    ("Citrix", "ADC and Gateway", False),
    ("Synology", "DSM", False),
    ("Apple", "iOS", False),
    ("Cisco", "IOS", False),
    ("Cisco", "IOS XE Software", False),
    ("Linux", "Kernel", False),
    ("Qlik", "Sense", False),
    ("Acme", "Portal", False),
    ("Acme", "Web Server", False),
    ("Progress", "MOVEit Transfer", False),
    ("Électro Sàrl", "Télé-Gestion Pro", False),
    ("PyPI", "requests", True),
    ("Siemens", "LOGO! 8", False),
    ("Jenkins", "Jenkins", False),
]


@pytest.fixture(scope="module")
def dictionary() -> Dictionary:
    return Dictionary(learn(STATEMENTS))


def named(dictionary: Dictionary, text: str) -> set[tuple[str, str]]:
    return {(m.vendor, m.product) for m in dictionary.recognise([("text", text)])}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Microsoft patches an Exchange Server flaw", {("Microsoft", "Exchange Server")}),
        ("Microsoft Exchange: patch now", {("Microsoft", "Exchange Server")}),
        ("Microsoft announces results", {("Microsoft", "")}),
        ("Exchange is down again", set()),  # an ordinary word: needs the vendor
        ("The stock exchange rallied", set()),
        ("FortiGate firewalls under attack", {("Fortinet", "FortiOS")}),
        ("fortios 7.2.5 is vulnerable", {("Fortinet", "FortiOS")}),
        ("FortiOSX is not FortiOS's name", {("Fortinet", "FortiOS")}),
        ("Windowsill gardening", set()),  # whole words only
        ("Windows 11 update breaks printing", {("Microsoft", "Windows")}),
        ("open the windows at night", set()),  # not capitalised: the word, not the product
        (
            "NetScaler ADC and NetScaler Gateway",
            {("Citrix", "NetScaler ADC"), ("Citrix", "NetScaler Gateway")},
        ),
        ("Citrix ADC flaw", {("Citrix", "NetScaler ADC")}),
        ("Synology DSM 7.2 update", {("Synology", "DiskStation Manager")}),
        ("DSM-5 diagnostic manual", set()),  # short: needs the vendor
        ("Apple fixes an iOS bug", {("Apple", "iOS")}),
        ("Cisco IOS XE web UI exploited", {("Cisco", "IOS XE")}),
        ("iOS 17 released", set()),  # Apple's and Cisco's: needs the vendor
        ("Cisco routers running IOS", {("Cisco", "IOS")}),
        ("A survey of web server and portal security", set()),  # generic words
        ("Acme Portal breach", {("Acme", "Portal")}),
        ("It makes sense to patch", set()),
        ("Makes Sense: a new framework", set()),  # capitalised, but no Qlik
        ("Qlik Sense Enterprise flaw", {("Qlik", "Sense")}),
        ("Linux kernel 6.8 fixes", {("Linux", "Kernel")}),
        ("kernel panic on boot", set()),
        ("MOVEit breach spreads", {("Progress", "MOVEit Transfer")}),
        ("Progress report for Q3", set()),  # a vendor that is an ordinary word
        ("Faille dans Télé-Gestion Pro", {("Électro", "Télé-Gestion Pro")}),
        ("TELE GESTION PRO est touché", {("Électro", "Télé-Gestion Pro")}),
        ("Electro publie un correctif", {("Électro", "")}),
        ("Électro publie un correctif", {("Électro", "")}),
        ("Siemens LOGO! 8 controllers exposed", {("Siemens", "LOGO!")}),
        ("Apache bekommt ein neues Logo", set()),  # an all-capitals name, in lower case
        ("Senator Jenkins said on Monday", set()),  # a vendor that is also a surname
        ("the requests library", set()),  # a package name alone
        ("PyPI package requests compromised", {("PyPI", "requests")}),
    ],
)
def test_recognition(dictionary: Dictionary, text: str, expected: set[tuple[str, str]]) -> None:
    assert named(dictionary, text) == expected


def test_mentions_say_where_and_by_which_term(dictionary: Dictionary) -> None:
    found = dictionary.recognise(
        [("title", "FortiGate under attack"), ("text", "Fortinet FortiOS 7.2 and FortiGate")]
    )
    assert found == [
        Mention("Fortinet", "FortiOS", "fortigate", "title"),
        Mention("Fortinet", "FortiOS", "fortinet fortios", "text"),
    ]


def test_an_empty_dictionary_finds_nothing() -> None:
    assert Dictionary([]).recognise([("text", "Microsoft Windows")]) == []


def test_learning_merges_spellings_of_one_product() -> None:
    entries = learn(
        [
            ("microsoft", "teams", False),
            ("Microsoft", "Windows Server 2019", False),
            ("Microsoft Corporation", "Microsoft Teams 2.1", False),
        ]
    )
    by_key = {e.key: e for e in entries}
    teams = by_key[("microsoft", "teams")]
    assert (teams.vendor, teams.product) == ("Microsoft", "Microsoft Teams")
    assert set(teams.names) == {"teams", "Microsoft Teams"}
    assert ("microsoft", "windows server") in by_key


def every_statement_merged(statements: list[tuple[str, str, bool]]) -> list[Entry]:
    """Learning as it was before repeated statements were skipped: each one merged."""
    found: dict[tuple[str, str], Entry] = {}
    for vendor, product, package in statements:
        for name_vendor, name in canonical_pairs(vendor, product, package=package):
            entry = Entry(name_vendor, name, (name,), package)
            found[entry.key] = merge(found.get(entry.key), entry)
    return list(found.values())


def test_a_repeated_statement_teaches_nothing_more() -> None:
    # Ten spellings of one product (more than MAX_NAMES are kept), the vendor written three
    # ways, a package later named as a product, each statement repeated after the others.
    spellings = [("acme corp", f"Widget{sep}Pro", False) for sep in "-+/:.~=!*@"]
    statements = [
        ("ACME", "widget pro", False),
        *[("Acme Corp", f"WidgetPro{n}", False) for n in range(10)],
        ("npm", "left-pad", True),
        *spellings,
        ("npm", "left-pad", False),
    ]
    repeated = [*statements, *reversed(statements), *statements]
    assert learn(repeated) == every_statement_merged(repeated) == learn(statements)
    assert max(len(e.names) for e in learn(repeated)) == MAX_NAMES


def test_relearning_lists_only_the_new_and_changed_entries() -> None:
    known = learn([("Microsoft", "Windows", False), ("Cisco", "IOS XE Software", False)])
    entries, changed, _ = relearn(
        known,
        [("Microsoft", "Windows", False), ("cisco", "IOS XE", False), ("Zyxel", "ATP", False)],
    )
    assert [(e.vendor, e.product) for e in changed.values()] == [("Zyxel", "ATP")]
    assert list(entries.values())[: len(known)] == known
    assert entries[("zyxel", "atp")] == changed[("zyxel", "atp")]
    # A spelling already known changes nothing; a new one changes its entry.
    assert relearn(entries.values(), [("Microsoft", "Windows 11 Version 23H2", False)])[1] == {}
    changed = relearn(entries.values(), [("ZYXEL", "atp", False)]).changed
    assert [(e.vendor, e.product, e.names) for e in changed.values()] == [
        ("Zyxel", "ATP", ("ATP", "atp"))
    ]


def test_a_package_stops_being_one_once_an_advisory_names_the_product() -> None:
    package = Entry("grafana", "grafana", ("grafana",), package=True)
    product = Entry("Grafana", "Grafana", ("Grafana",), package=False)
    merged = merge(package, product)
    assert (merged.vendor, merged.package) == ("Grafana", False)


@pytest.mark.parametrize(
    "text",
    ["qualcomm chipsets are affected", "Qualcomm patches its modems", "QUALCOMM Snapdragon"],
)
def test_recognition_does_not_depend_on_the_entries_order(text: str) -> None:
    """A store returns its entries in another order than an import learnt them: a full
    refresh must find the same mentions (the vendor's spelling, hence its case rule, was the
    first entry's)."""
    entries = [
        Entry("qualcomm", "fastconnect", ("fastconnect",), package=False),
        Entry("Qualcomm", "Snapdragon", ("Snapdragon",), package=False),
    ]
    fields = [("text", text)]
    found = Dictionary(entries).recognise(fields)
    assert found == Dictionary(entries[::-1]).recognise(fields)
    assert {m.vendor for m in found if not m.product} <= {"Qualcomm"}


def test_recognition_is_fast_on_a_large_dictionary() -> None:
    statements = [
        (f"Vendor{v}", f"Product{v}x{p} Suite", False) for v in range(500) for p in range(20)
    ]
    dictionary = Dictionary(learn(statements))
    text = " ".join(["Patch Tuesday brings fixes for Vendor42 Product42x7 Suite and more."] * 50)
    t0 = time.perf_counter()
    for _ in range(1000):
        found = dictionary.recognise([("title", "Vendor42 news"), ("text", text)])
    elapsed = time.perf_counter() - t0
    assert ("Vendor42", "Product42x7 Suite") in {(m.vendor, m.product) for m in found}
    assert elapsed < 10, f"{elapsed:.1f} s for 1000 items of {len(text)} characters"


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("FortiOS 7.2", "FortiOS 7.2"),
        ("Électro Sàrl Télé-Gestion", "Electro Sarl Tele-Gestion"),
        ("ﬁle Ⅻ ½", "file XII 1\u20442"),  # compatibility forms decompose (NFKD)
        ("Ærø ß Ø", "Ærø ß Ø"),  # letters without a combining mark stay
        ("日本語 Zürich", "日本語 Zurich"),
        ("a\u0301\u0327", "a"),  # stacked marks all go
        ("", ""),
    ],
)
def test_without_accents_drops_only_combining_marks(text: str, plain: str) -> None:
    reference = "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    )
    assert without_accents(text) == plain == reference


def test_a_worker_relearns_alike_and_hands_on_the_statements_canonical_pairs() -> None:
    known = learn(STATEMENTS[:3])
    offloaded = offloaded_relearn(known, STATEMENTS)
    assert offloaded[:2] == relearn(known, STATEMENTS)[:2]
    assert pickle.loads(offloaded.pairs) == known_pairs(STATEMENTS)
    assert relearn(known, STATEMENTS).pairs == b""  # in one process, nothing to hand on
