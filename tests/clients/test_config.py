"""Client files: every mistake is reported with file, line, entry and field, all at once.

Cases 39-41 of RELIABILITY.md for clients/<id>.yml: misspelt keys, YAML 1.1 traps, duplicate
keys; and the demo clients, which must load and together exercise every feature.
"""

from __future__ import annotations

import json
import re
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import get_args

import pytest

from techwatch.clients.config import (
    client_file,
    format_cadence,
    load_client,
    load_client_file,
    load_clients,
    parse_cadence,
    parse_client,
    parse_cpe,
)
from techwatch.clients.profile import (
    PRIORITIES,
    AssetKind,
    Cadence,
    CadenceKind,
    Exposure,
)
from techwatch.errors import ConfigError
from techwatch.settings import resolve_paths

REPO = Path(__file__).resolve().parents[2]
DEMO = Path(str(files("techwatch.demo") / "clients"))
FILE = Path("clients/dental.yml")

# Line numbers matter: the cases below name them.
BASE = """\
name: Cabinet test
sectors: [health]
contacts:
  - name: Dre Test
    email: test@cabinet.example
assets:
  - name: Firewall
    vendor: Fortinet
    product: FortiOS
    kind: device
    criticality: 4
    exposure: exposed
  - name: NAS
    vendor: Synology
    product: DiskStation Manager
    kind: device
    criticality: 3
    exposure: internal
providers:
  - name: Swisscom
    service: internet
"""
NAS = 'assets[1] (name "NAS"): '
FIREWALL = 'assets[0] (name "Firewall"): '


def replacing(old: str, new: str) -> str:
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


def with_nas(line: str) -> str:
    """BASE with one more line in the NAS entry, at line 19."""
    return replacing("    exposure: internal\n", f"    exposure: internal\n    {line}\n")


def errors(text: str, path: Path = FILE) -> list[str]:
    """The problem lines of the ConfigError raised for `text`, the count line checked."""
    with pytest.raises(ConfigError) as raised:
        parse_client(text, path=path)
    first, *rest = str(raised.value).splitlines()
    assert re.fullmatch(rf"{path}: {len(rest)} errors? in the configuration:", first), first
    return rest


# (case, document, line, entry, field, fragment): the message is
# `clients/dental.yml:<line>: <entry>field "<field>": ...<fragment>...`.
FIELD_CASES = [
    ("criticality-5", replacing("criticality: 3", "criticality: 5"), 17, NAS, "criticality",
     "must be 1-4; got a number (5)"),
    ("criticality-quoted", replacing("criticality: 3", 'criticality: "3"'), 17, NAS,
     "criticality", 'expected a whole number 1-4, got "3"'),
    ("criticality-boolean", replacing("criticality: 3", "criticality: true"), 17, NAS,
     "criticality", "expected a whole number 1-4, got a boolean (true)"),
    ("exposure-yes-is-text", replacing("exposure: internal", "exposure: yes"), 18, NAS,
     "exposure", 'must be exposed or internal, got "yes" (did you mean exposed?)'),
    ("exposure-NO-is-text", replacing("exposure: internal", "exposure: NO"), 18, NAS,
     "exposure", 'got "NO" (did you mean internal?)'),
    ("exposure-boolean", replacing("exposure: internal", "exposure: false"), 18, NAS,
     "exposure", "must be exposed or internal (did you mean internal?)"),
    ("exposure-other", replacing("exposure: internal", "exposure: dmz"), 18, NAS,
     "exposure", 'must be exposed (reachable from the internet) or internal; got "dmz"'),
    ("kind-unknown", replacing("kind: device\n    criticality: 3", "kind: nas\n    criticality: 3"),
     16, NAS, "kind",
     'must be one of: saas, software, device, website, service_provider; got "nas"'),
    ("version-7.10-is-a-number", with_nas("version: 7.10"), 19, NAS, "version",
     'expected text, got a number (7.10); quote it to keep it as written: "7.10"'),
    ("version-0587-is-a-number", with_nas("version: 0587"), 19, NAS, "version",
     'got a number (0587); quote it to keep it as written: "0587"'),
    ("version-date", with_nas("version: 2024-01-15"), 19, NAS, "version",
     'got a date (2024-01-15); quote it to keep it as written: "2024-01-15"'),
    ("cpe-2.2-uri", with_nas("cpe: cpe:/o:synology:diskstation_manager:7.2"), 19, NAS, "cpe",
     "this is a CPE 2.2 URI; write the CPE 2.3 formatted string"),
    ("cpe-short", with_nas("cpe: cpe:2.3:o:synology:diskstation_manager:7.2"), 19, NAS, "cpe",
     "(found 6 parts, a CPE 2.3 name has 13)"),
    ("cpe-bad-part", with_nas("cpe: cpe:2.3:x:synology:dsm:7.2:*:*:*:*:*:*:*"), 19, NAS, "cpe",
     "expected a CPE 2.3 formatted string"),
    ("purl-without-scheme", with_nas("purl: npm/left-pad@1.3.0"), 19, NAS, "purl",
     'missing the required "pkg" scheme component'),
    ("purl-without-name", with_nas("purl: pkg:npm/"), 19, NAS, "purl",
     "missing the required name component"),
    ("data-unknown", with_nas("data: [health, secrets]"), 19, NAS, "data[1]",
     "must be one of: personal, health, financial, legal, children, credentials, other; "
     'got "secrets"'),
    ("aliases-not-a-list", with_nas("aliases: DSM"), 19, NAS, "aliases",
     "expected a list, such as [microsoft, exchange]"),
    ("alias-NO-kept-as-text-but-number-refused", with_nas("aliases: [NO, 1e3]"), 19, NAS,
     "aliases[1]", 'got a number (1e3); quote it to keep it as written: "1e3"'),
    ("owner-empty-is-fine-but-date-is-not", with_nas("owner: 2026-01-01"), 19, NAS, "owner",
     "got a date (2026-01-01)"),
    ("email-invalid", replacing("test@cabinet.example", "test@@cabinet.example"), 5,
     'contacts[0] (name "Dre Test"): ', "email",
     'invalid email address "test@@cabinet.example"'),
    ("email-without-domain-dot", replacing("test@cabinet.example", "test@localhost"), 5,
     'contacts[0] (name "Dre Test"): ', "email", "It should have a period"),
    ("receives-summary-yes-is-text",
     replacing("    email: test@cabinet.example\n",
               "    email: test@cabinet.example\n    receives_summary: yes\n"),
     6, 'contacts[0] (name "Dre Test"): ', "receives_summary",
     'expected true or false, got "yes" (text: YAML 1.2 reads only true and false'),
    ("language-no-stays-text", BASE + "language: no\n", 22, "", "language",
     'must be one of: fr, de, en; got "no"'),
    ("language-not-a-client-language", BASE + "language: it\n", 22, "", "language",
     'must be one of: fr, de, en; got "it"'),
    ("sector-all", replacing("sectors: [health]", "sectors: [health, all]"), 2, "", "sectors[1]",
     'must be the client\'s own sectors, not "all"'),
    ("sector-unknown", replacing("sectors: [health]", "sectors: [dentistry]"), 2, "",
     "sectors[0]", 'must be one of: health, finance, legal, public_admin'),
    ("sectors-empty", replacing("sectors: [health]", "sectors: []"), 2, "", "sectors",
     "needs at least one sector, such as [health]"),
    ("sectors-not-a-list", replacing("sectors: [health]", "sectors: health"), 2, "", "sectors",
     "expected a list"),
    ("cadence-unknown-day", BASE + "cadence: weekly funday\n", 22, "", "cadence",
     'unknown weekday; write monday to sunday, or mon to sun; got "weekly funday"'),
    ("cadence-day-31", BASE + "cadence: monthly 31\n", 22, "", "cadence",
     "the day of the month must be 1-28, so that every month has it"),
    ("cadence-unknown-kind", BASE + "cadence: fortnightly\n", 22, "", "cadence",
     'expected daily, weekly [day] or monthly [day], such as "weekly monday"'),
    ("cadence-number", BASE + "cadence: 7\n", 22, "", "cadence", "got a number (7)"),
    ("cadence-sexagesimal-stays-text", BASE + "cadence: 08:30\n", 22, "", "cadence",
     'got "08:30"'),
    ("priority-unknown", BASE + "min_priority_to_mail: urgent\n", 22, "",
     "min_priority_to_mail", 'must be one of: act_now, act_soon, plan, watch; got "urgent"'),
    ("keyword-number", BASE + "keywords: [tarmed, 0587]\n", 22, "", "keywords[1]",
     'quote it to keep it as written: "0587"'),
    ("exclusions-not-a-list", BASE + "exclusions: spam\n", 22, "", "exclusions",
     "expected a list"),
    ("name-empty", replacing("name: Cabinet test", "name:"), 1, "", "name",
     "expected text, got an empty value"),
    ("id-not-a-slug", "id: Dental_Lausanne\n" + BASE, 1, "", "id",
     "must be a slug: lowercase letters, digits and single dashes"),
    ("provider-criticality-0",
     replacing("    service: internet\n", "    service: internet\n    criticality: 0\n"), 22,
     'providers[0] (name "Swisscom"): ', "criticality", "must be 1-4"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("document", "line", "entry", "field", "fragment"),
    [case[1:] for case in FIELD_CASES],
    ids=[case[0] for case in FIELD_CASES],
)
def test_a_bad_field_is_named_with_file_line_and_entry(
    document: str, line: int, entry: str, field: str, fragment: str
) -> None:
    (message,) = errors(document)
    assert message.startswith(f'{FILE}:{line}: {entry}field "{field}": '), message
    assert fragment in message


# (case, document, line, entry, message)
OTHER_CASES = [
    ("unknown-top-level-key", replacing("sectors:", "sector:"), 2, "",
     "unknown field 'sector' (did you mean 'sectors'?)"),
    ("unknown-asset-key-is-one-error", replacing("vendor: Synology", "vendr: Synology"), 14, NAS,
     "unknown field 'vendr' (did you mean 'vendor'?)"),
    ("unknown-key-without-suggestion", with_nas("serial: X1"), 19, NAS,
     "unknown field 'serial' (allowed: name, vendor, product, kind, criticality, exposure, "
     "version, cpe, purl, aliases, data, owner)"),
    ("secret-key", replacing("    email: test@cabinet.example\n",
                             "    email: test@cabinet.example\n    password: hunter2\n"), 6,
     'contacts[0] (name "Dre Test"): ',
     "field 'password' is not allowed: secrets never go in client profiles"),
    ("missing-exposure", replacing("    exposure: internal\n", ""), 13, NAS,
     'missing required field "exposure"'),
    ("missing-sectors", replacing("sectors: [health]\n", ""), 1, "",
     'missing required field "sectors"'),
    ("contact-missing-email", replacing("    email: test@cabinet.example\n", ""), 4,
     'contacts[0] (name "Dre Test"): ', 'missing required field "email"'),
    ("asset-not-a-mapping", replacing("providers:", "  - NAS\nproviders:"), 19,
     "assets[2]: ", "expected a mapping with name, vendor, product, kind, criticality, "
     "exposure, got \"NAS\""),
    ("providers-not-a-list", replacing("providers:\n  - name: Swisscom\n    service: internet\n",
                                       "providers: yes\n"), 19, "providers: ",
     'expected a list of providers, got "yes"'),
    ("duplicate-asset-name-ignoring-case", replacing("name: NAS", "name: firewall"), 13,
     'assets[1] (name "firewall"): ',
     'field "name": duplicate name "firewall", already used by assets[0] on line 7'),
    ("duplicate-contact-email",
     replacing("assets:\n", "  - name: Other\n    email: TEST@cabinet.example\nassets:\n"), 7,
     'contacts[1] (name "Other"): ', 'field "email": duplicate email "TEST@cabinet.example"'),
    ("duplicate-provider",
     BASE + "  - name: swisscom\n    service: phone\n", 22, 'providers[1] (name "swisscom"): ',
     'field "name": duplicate name "swisscom", already used by providers[0] on line 20'),
    ("id-is-not-the-file-name", "id: other-client\n" + BASE, 1, "",
     'field "id": "other-client" must equal the file name "dental"; rename the file to '
     "other-client.yml, or remove the id"),
    ("empty-file", "", 1, "", "the file is empty; a client needs at least name and sectors"),
    ("top-level-list", "- name: x\n", 1, "", "expected a mapping with name, sectors, assets..."),
]  # fmt: skip


@pytest.mark.parametrize(
    ("document", "line", "entry", "fragment"),
    [case[1:] for case in OTHER_CASES],
    ids=[case[0] for case in OTHER_CASES],
)
def test_structural_mistakes_are_located(
    document: str, line: int, entry: str, fragment: str
) -> None:
    (message,) = errors(document)
    assert message.startswith(f"{FILE}:{line}: {entry}"), message
    assert fragment in message


def test_every_problem_is_reported_at_once_sorted_by_line() -> None:
    document = (
        replacing("criticality: 3", "criticality: 9").replace("sectors: [health]", "sectors: []")
        + "language: no\n"
    )
    found = errors(document)
    assert [m.split(":")[1] for m in found] == ["2", "17", "22"]
    assert 'field "criticality": must be 1-4' in found[1]


def test_duplicate_yaml_keys_are_an_error() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_client(BASE + "name: Again\n", path=FILE)
    assert str(raised.value) == (
        f"{FILE}:22: duplicate key 'name' (first on line 1); each key may appear once"
    )


def test_yaml_11_values_are_kept_as_written_where_text_is_expected() -> None:
    document = with_nas('version: 1:30\n    aliases: [NO, "on", "0587"]\n    owner: 08:30')
    nas = parse_client(document, path=FILE).assets[1]
    assert nas.version == "1:30", "YAML 1.1 would read a sexagesimal 90"
    assert nas.aliases == ("NO", "on", "0587")
    assert nas.owner == "08:30"


def test_a_yaml_11_directive_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"only YAML 1.2 is accepted"):
        parse_client("%YAML 1.1\n---\n" + BASE, path=FILE)


def test_defaults_and_built_records() -> None:
    client = parse_client(BASE, path=FILE)
    assert client.id == "dental", "the id defaults to the file name"
    assert (client.language, client.min_priority_to_mail) == ("fr", "act_soon")
    assert client.cadence == Cadence("weekly", weekday=0)
    assert client.contacts[0].receives_summary is True
    assert client.contacts[0].role is None
    assert client.providers[0].criticality == 3
    assert [a.name for a in client.assets] == ["Firewall", "NAS"]
    assert client.assets[1].version is None and client.assets[1].aliases == ()


def test_full_asset_and_normalised_lists() -> None:
    document = (
        with_nas(
            'version: "7.2.1"\n'
            '    cpe: "cpe:2.3:o:synology:diskstation_manager:7.2.1:*:*:*:*:*:*:*"\n'
            "    purl: pkg:generic/synology/dsm@7.2.1\n"
            "    aliases: [DSM, DSM, DiskStation]\n"
            "    data: [health, personal, health]\n"
            "    owner: IT partner"
        )
        + "keywords: [LAMal, LAMal]\ncadence: monthly 15\nid: dental\n"
    )
    client = parse_client(document, path=FILE)
    nas = client.assets[1]
    assert nas.version == "7.2.1"
    assert nas.cpe == "cpe:2.3:o:synology:diskstation_manager:7.2.1:*:*:*:*:*:*:*"
    assert nas.purl == "pkg:generic/synology/dsm@7.2.1"
    assert nas.aliases == ("DSM", "DiskStation")
    assert nas.data == ("health", "personal")
    assert client.keywords == ("LAMal",)
    assert client.cadence == Cadence("monthly", day=15)


@pytest.mark.parametrize(
    ("written", "cadence", "shown"),
    [
        ("daily", Cadence("daily"), "daily"),
        ("weekly", Cadence("weekly", weekday=0), "weekly monday"),
        ("weekly friday", Cadence("weekly", weekday=4), "weekly friday"),
        ("Weekly  Sun", Cadence("weekly", weekday=6), "weekly sunday"),
        ("monthly", Cadence("monthly", day=1), "monthly 1"),
        ("monthly 28", Cadence("monthly", day=28), "monthly 28"),
    ],
)
def test_cadence_phrases(written: str, cadence: Cadence, shown: str) -> None:
    assert parse_cadence(written) == cadence
    assert format_cadence(cadence) == shown
    assert parse_cadence(shown) == cadence, "the shown phrase reads back"


@pytest.mark.parametrize(
    "cpe",
    [
        "cpe:2.3:o:fortinet:fortios:7.2.3:*:*:*:*:*:*:*",
        "cpe:2.3:a:microsoft:exchange_server:2019:cumulative_update_13:*:*:*:*:*:*",
        "cpe:2.3:o:microsoft:windows_10_22h2:10.0.19045.3693:*:*:*:*:*:x64:*",
        r"cpe:2.3:a:foo\:bar:baz\!:1.0:*:*:fr-ch:*:*:*:*",
        "cpe:2.3:h:synology:ds920\\+:-:*:*:*:*:*:*:*",
    ],
)
def test_valid_cpe_23_names(cpe: str) -> None:
    assert parse_cpe(cpe) == cpe


# --- the folder ----------------------------------------------------------------------------


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_clients_sorted_skipping_hidden_and_other_files(tmp_path: Path) -> None:
    write(tmp_path, "zeta.yml", BASE)
    write(tmp_path, "alpha.yaml", BASE)
    write(tmp_path, ".zeta.yml.tmp", "not: yaml: at all")
    write(tmp_path, ".hidden.yml", "not: [valid")
    write(tmp_path, "notes.txt", "ignored")
    (tmp_path / "archive.yml").mkdir()
    assert [c.id for c in load_clients(tmp_path)] == ["alpha", "zeta"]
    assert load_client(tmp_path, "alpha").id == "alpha"


def test_errors_of_every_file_are_reported_together(tmp_path: Path) -> None:
    write(tmp_path, "good.yml", BASE)
    write(tmp_path, "bad-one.yml", replacing("criticality: 3", "criticality: 7"))
    write(tmp_path, "bad-two.yml", BASE + "languag: fr\n")
    with pytest.raises(ConfigError) as raised:
        load_clients(tmp_path)
    lines = str(raised.value).splitlines()
    assert lines[0] == f"{tmp_path}: 2 of 3 client files have errors:"
    assert f'{tmp_path}/bad-one.yml:17: {NAS}field "criticality": must be 1-4' in "\n".join(lines)
    assert f"{tmp_path}/bad-two.yml:22: unknown field 'languag' (did you mean 'language'?)" in lines


def test_the_same_id_in_yml_and_yaml_is_a_duplicate(tmp_path: Path) -> None:
    write(tmp_path, "dental.yml", BASE)
    write(tmp_path, "dental.yaml", BASE)
    with pytest.raises(ConfigError, match=r'duplicate client id "dental"'):
        load_clients(tmp_path)
    with pytest.raises(ConfigError, match=r'duplicate client id "dental"'):
        load_client(tmp_path, "dental")


def test_a_file_name_that_is_not_an_id(tmp_path: Path) -> None:
    path = write(tmp_path, "Dental Practice.yml", BASE)
    with pytest.raises(ConfigError) as raised:
        load_clients(tmp_path)
    assert f'{path}:1: the file name "Dental Practice.yml" is not a client id' in str(raised.value)


def test_a_missing_folder_names_the_path_and_how_to_set_it(tmp_path: Path) -> None:
    missing = tmp_path / "clients"
    with pytest.raises(ConfigError) as raised:
        load_clients(missing)
    message = str(raised.value)
    assert message.startswith(f"{missing}: clients folder not found")
    assert "--clients PATH" in message and "TECHWATCH_CLIENTS" in message
    write(tmp_path, "clients.yml", BASE)
    with pytest.raises(ConfigError, match="is not a folder"):
        load_clients(tmp_path / "clients.yml")


def test_unknown_and_unsafe_ids(tmp_path: Path) -> None:
    write(tmp_path, "dental.yml", BASE)
    with pytest.raises(ConfigError, match=r'no client "fidu" \(fidu.yml\); known: dental'):
        load_client(tmp_path, "fidu")
    write(tmp_path.parent, "outside.yml", BASE)
    with pytest.raises(ConfigError, match="is not a client id"):
        client_file(tmp_path, "../outside")


def test_file_level_failures_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.yml"
    path.write_bytes(BASE.replace("Cabinet test", "Cabinet élégant").encode("cp1252"))
    with pytest.raises(ConfigError, match=r"latin.yml:1: the file is not valid UTF-8"):
        load_client_file(path)
    big = tmp_path / "big.yml"
    big.write_text(BASE + "# " + "x" * (3 * 1024 * 1024) + "\n")
    with pytest.raises(ConfigError, match="file too large"):
        load_client_file(big)


def test_alias_bombs_are_refused() -> None:
    bomb = BASE + "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefgh":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [*{previous}, *{previous}, *{previous}, *{previous}, " + (
            f"*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"
        )
    found = errors(bomb)
    assert any("too many values, or an alias that refers to itself" in m for m in found)


def test_clients_path_option_over_environment_over_default(tmp_path: Path) -> None:
    assert resolve_paths(home=tmp_path, env={}).clients == tmp_path / "clients"
    env = {"TECHWATCH_CLIENTS": str(tmp_path / "env")}
    assert resolve_paths(home=tmp_path, env=env).clients == tmp_path / "env"
    chosen = resolve_paths(home=tmp_path, env=env, clients=tmp_path / "opt")
    assert chosen.clients == tmp_path / "opt"


# --- the demo clients ----------------------------------------------------------------------

RESERVED_DOMAIN = re.compile(
    r".*@(?:[\w.-]+\.)?(?:example|example\.com|example\.org|example\.net)$"
)


def test_each_demo_client_loads() -> None:
    paths = sorted(DEMO.glob("*.yml"))
    assert len(paths) == 5
    for path in paths:
        client = load_client_file(path)
        assert client.id == path.stem
        assert client.contacts, f"{path.name} has no contact"
        for contact in client.contacts:
            assert RESERVED_DOMAIN.match(contact.email), f"{contact.email} is not reserved"


def test_the_demo_clients_exercise_every_feature() -> None:
    clients = {c.id: c for c in load_clients(DEMO)}
    assets = [a for c in clients.values() for a in c.assets]
    assert {c.language for c in clients.values()} == {"fr", "de", "en"}
    assert {c.cadence.kind for c in clients.values()} == set(get_args(CadenceKind))
    assert {c.min_priority_to_mail for c in clients.values()} == set(PRIORITIES)
    assert {a.kind for a in assets} == set(get_args(AssetKind))
    assert {a.exposure for a in assets} == set(get_args(Exposure))
    assert {a.criticality for a in assets} >= {2, 3, 4}
    assert any(a.cpe for a in assets) and any(a.purl for a in assets)
    assert any(a.version for a in assets) and any(a.owner for a in assets)
    assert all(c.providers and c.keywords for c in clients.values())
    assert any(c.exclusions for c in clients.values())
    assert any(not p.receives_summary for c in clients.values() for p in c.contacts)
    sectors = {s for c in clients.values() for s in c.sectors}
    assert {"health", "finance", "public_admin", "nonprofit", "retail_hospitality"} <= sectors


def test_the_demo_inventories_use_the_names_advisories_use() -> None:
    pairs = {(a.vendor, a.product): a for c in load_clients(DEMO) for a in c.assets}
    for pair in [
        ("Fortinet", "FortiOS"),
        ("Citrix", "NetScaler ADC"),
        ("Microsoft", "Exchange Server"),
        ("Synology", "DiskStation Manager"),
        ("WordPress", "WordPress"),
        ("Microsoft", "Windows 10"),
    ]:
        assert pair in pairs, pair
    firewall = pairs[("Fortinet", "FortiOS")]
    assert firewall.version == "7.2.3" and firewall.cpe and "FortiGate" in firewall.aliases
    m365 = load_client(DEMO, "dental-lausanne").assets[1]
    assert {"M365", "Office 365", "Outlook", "Exchange Online"} <= set(m365.aliases)


@pytest.mark.realdata
def test_demo_vendor_and_products_appear_in_the_real_kev_catalog(realdata: Path) -> None:
    catalog = json.loads((realdata / "advisories/cisa-kev/known_exploited_vulnerabilities.json")
                         .read_text(encoding="utf-8"))  # fmt: skip
    kev = {(v["vendorProject"], v["product"]) for v in catalog["vulnerabilities"]}
    demo = {(a.vendor, a.product) for c in load_clients(DEMO) for a in c.assets}
    for vendor, product in [
        ("Fortinet", "FortiOS"),
        ("Microsoft", "Exchange Server"),
        ("Citrix", "NetScaler ADC"),
    ]:
        assert (vendor, product) in demo
        assert any(v == vendor and product in p for v, p in kev), (vendor, product)


def test_demo_clients_are_package_data() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "demo/clients/*.yml" in pyproject["tool"]["setuptools"]["package-data"]["techwatch"]
