"""CSV inventory import: Swiss Excel exports in three languages, bad rows, and a merge that keeps
the client file as its author wrote it (comments, order), written atomically or not at all."""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path

import pytest

from techwatch.clients.config import load_client_file
from techwatch.clients.inventory import (
    MAX_BYTES,
    MAX_ROWS,
    decode,
    import_inventory,
    parse_inventory,
    read_inventory,
)
from techwatch.errors import ConfigError

CSV = Path("inventaire.csv")

CLIENT = """\
# Cabinet de test: this comment must survive every import.
name: Cabinet test
sectors: [health]
assets:
  # the firewall is managed by the IT partner
  - name: Pare-feu
    vendor: Fortinet
    product: FortiOS
    version: "7.2.3"   # upgrade planned
    kind: device
    criticality: 4
    exposure: exposed
  - name: NAS
    vendor: Synology
    product: DiskStation Manager
    aliases: [DSM]
    kind: device
    criticality: 3
    exposure: internal
providers:
  - name: Swisscom    # internet access
    service: internet
keywords: [cabinet]
"""

GERMAN = (
    "Bezeichnung;Hersteller;Produkt;Version;Kritikalität;Exponiert;Typ;Daten;Seriennummer\r\n"
    "Pare-feu;Fortinet;FortiOS;7.2.5;4;ja;Gerät;Zugangsdaten;FGT60F\r\n"
    "Drucker Empfang;HP;LaserJet Pro;;2 - mittel;nein;Gerät;;CN123\r\n"
    "Praxissoftware;Dentalis Software;Dentalis Praxis;2024.3;kritisch;intern;Anwendung;"
    "Gesundheit, personenbezogen;\r\n"
)


def client_file(tmp_path: Path, text: str = CLIENT) -> Path:
    folder = tmp_path / "clients"
    folder.mkdir(exist_ok=True)
    path = folder / "cabinet.yml"
    path.write_text(text, encoding="utf-8")
    return path


def csv_file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "inventaire.csv"
    path.write_bytes(data)
    return path


def problems(data: bytes) -> list[str]:
    """The error lines for a CSV, the count line checked."""
    with pytest.raises(ConfigError) as raised:
        parse_inventory(data, path=CSV)
    first, *rest = str(raised.value).splitlines()
    plural = "s" if len(rest) > 1 else ""
    assert first == f"{CSV}: {len(rest)} error{plural} in the inventory, nothing imported:"
    return rest


# --- decoding and dialects -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ("Nom;Éditeur".encode(), "Nom;Éditeur"),
        (codecs.BOM_UTF8 + "Nom;Éditeur".encode(), "Nom;Éditeur"),
        ("Nom;Éditeur;Kritikalität".encode("cp1252"), "Nom;Éditeur;Kritikalität"),
        ("Name\tHersteller\tKritikalität".encode("utf-16"), "Name\tHersteller\tKritikalität"),
        ("Name;Preis €".encode("cp1252"), "Name;Preis €"),
    ],
    ids=["utf-8", "utf-8-bom", "cp1252", "utf-16-bom", "cp1252-euro"],
)
def test_encodings_of_swiss_exports(data: bytes, text: str) -> None:
    assert decode(data, CSV) == text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04rest-of-a-workbook", "this is an Excel workbook or a zip file"),
        (b"Name;Vendor\x00\x00", "contains NUL characters"),
        (b"Name;\x81\x8d", "not valid cp1252 text (byte 0x81 at offset 5)"),
    ],
)
def test_binary_input_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        decode(data, CSV)


def test_german_headers_semicolons_and_windows_1252() -> None:
    inventory = parse_inventory(GERMAN.encode("cp1252"), path=CSV)
    assert inventory.columns["criticality"] == "Kritikalität"
    assert inventory.ignored == ("Seriennummer",)
    firewall, printer, software = (a.fields for a in inventory.assets)
    assert firewall == {
        "name": "Pare-feu",
        "vendor": "Fortinet",
        "product": "FortiOS",
        "version": "7.2.5",
        "criticality": 4,
        "exposure": "exposed",
        "kind": "device",
        "data": ["credentials"],
    }
    assert "version" not in printer and printer["criticality"] == 2
    assert printer["exposure"] == "internal"
    assert software["criticality"] == 4 and software["kind"] == "software"
    assert software["data"] == ["health", "personal"]
    assert [a.row for a in inventory.assets] == [2, 3, 4]


def test_french_headers_commas_bom_and_quoted_lists() -> None:
    text = (
        "Nom,Éditeur,Produit,Criticité,Exposition,Type,Alias,Données,Responsable,CPE\n"
        'Messagerie,Microsoft,Microsoft 365 Apps,élevée,oui,SaaS,"M365; Office 365|Outlook",'
        '"santé, personnelles",Dre Exemple,\n'
        "Pare-feu,Fortinet,FortiOS,4,Internet,Appareil,FortiGate,,,"
        "cpe:2.3:o:fortinet:fortios:7.2.3:*:*:*:*:*:*:*\n"
    )
    inventory = parse_inventory(codecs.BOM_UTF8 + text.encode(), path=CSV)
    mail, firewall = (a.fields for a in inventory.assets)
    assert mail["aliases"] == ["M365", "Office 365", "Outlook"]
    assert mail["data"] == ["health", "personal"]
    assert (mail["criticality"], mail["exposure"], mail["kind"]) == (3, "exposed", "saas")
    assert mail["owner"] == "Dre Exemple"
    assert firewall["cpe"] == "cpe:2.3:o:fortinet:fortios:7.2.3:*:*:*:*:*:*:*"


def test_tabs_english_headers_and_excel_sep_line() -> None:
    tabbed = "Name\tVendor\tProduct\tKind\nSite\tWordPress\tWordPress\twebsite\n"
    assert parse_inventory(tabbed.encode(), path=CSV).assets[0].fields["kind"] == "website"
    excel = "sep=,\nName,Vendor;Brand,Product\nSite,Automattic,WooCommerce\n"
    inventory = parse_inventory(excel.encode(), path=CSV)
    assert inventory.assets[0].row == 3, "the sep= line is row 1"
    assert inventory.assets[0].fields["product"] == "WooCommerce"


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("NAME", "name"), ("Nom", "name"), ("Bezeichnung", "name"),
        ("Fabricant", "vendor"), ("Éditeur", "vendor"), ("hersteller", "vendor"),
        ("Produit", "product"), ("Produkt", "product"),
        ("Criticité", "criticality"), ("Kritikalitaet", "criticality"),
        ("Exposition", "exposure"), ("Type", "kind"), ("Typ", "kind"),
        ("Responsable", "owner"), ("Verantwortlich", "owner"), ("Package URL", "purl"),
        ("Data sensitivity", "data"), ("Données", "data"),
    ],
)  # fmt: skip
def test_header_names_in_three_languages(header: str, field: str) -> None:
    data = f"Name;{header}\nX;\n" if field != "name" else f"{header};Other\nX;\n"
    inventory = parse_inventory(data.encode(), path=CSV)
    assert inventory.columns[field] == header


# --- bad rows ------------------------------------------------------------------------------


def test_every_bad_cell_is_reported_with_row_and_column() -> None:
    data = (
        "Nom;Fabricant;Produit;Criticité;Exposition;Type;CPE;PURL;Données\n"
        "Pare-feu;Fortinet;FortiOS;5;oui;appareil;;;\n"
        "NAS;Synology;DSM;3;peut-être;appareil;cpe:/o:synology:dsm;;\n"
        "Site;WordPress;WordPress;2;oui;gadget;;npm/foo;santé\n"
        ";Microsoft;Windows 10;3;non;logiciel;;;\n"
        "Scanner;Canon;{x} scan\x07;3;non;appareil;;;geheim\n"
    ).encode()
    found = problems(data)
    assert found == [
        f'{CSV}: row 2: column "Criticité": "5" is not a criticality: write 1-4, or low, '
        "medium, high, critical (faible, moyenne, élevée, critique; niedrig, mittel, hoch, "
        "kritisch)",
        f'{CSV}: row 3: column "Exposition": "peut-être" is not an exposure: exposed (yes, oui, '
        "ja) or internal (no, non)",
        f'{CSV}: row 3: column "CPE": this is a CPE 2.2 URI; write the CPE 2.3 formatted '
        "string, such as cpe:2.3:o:fortinet:fortios:7.2.3:*:*:*:*:*:*:*",
        f'{CSV}: row 4: column "Type": "gadget" is not a kind: saas, software, device, website '
        "or service provider",
        f'{CSV}: row 4: column "PURL": expected a package URL such as '
        'pkg:composer/woocommerce/woocommerce@8.5.1 (purl is missing the required "pkg" '
        "scheme component: 'npm/foo')",
        f'{CSV}: row 5: column "Nom": empty; every row needs the asset\'s name',
        f'{CSV}: row 6: column "Produit": must be a single line without control characters, '
        'got "{x} scan\\x07"',
        f'{CSV}: row 6: column "Données": "geheim" is not a kind of data: personal, health, '
        "financial, legal, children, credentials or other",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("Fabricant;Produit\nFortinet;FortiOS\n",
         'row 1: no name column (such as name, nom or Bezeichnung); columns found: "Fabricant", '
         '"Produit"'),
        ("Nom;Type;Typ\nX;device;device\n", 'row 1: column "Typ": means kind, like column "Type"'),
        ("Nom;Produit\nNAS;DSM\nnas;DSM 7\n", 'row 3: column "Nom": "nas" is already on row 2'),
        ("Nom;Produit\nNAS;DSM;extra\n", "row 2: 3 cells but 2 columns in the header"),
        ('Nom;Produit\n"NAS;DSM\nPare-feu;FortiOS\n', "row 2: unreadable CSV (unexpected end"),
    ],
)  # fmt: skip
def test_structural_problems(data: str, message: str) -> None:
    found = problems(data.encode())
    assert any(m.startswith(f"{CSV}: {message}") for m in found), found


def test_empty_files_and_headers_without_rows() -> None:
    with pytest.raises(ConfigError, match="no header row: the file is empty"):
        parse_inventory(b"\n\n", path=CSV)
    with pytest.raises(ConfigError, match="no rows under the header: nothing to import"):
        parse_inventory(b"Nom;Produit\n;\n", path=CSV)


def test_hostile_sizes_are_capped(tmp_path: Path) -> None:
    rows = "Nom;Produit\n" + "".join(f"A{n};P\n" for n in range(MAX_ROWS + 5))
    found = problems(rows.encode())
    assert found == [f"{CSV}: row {MAX_ROWS + 2}: more than {MAX_ROWS} rows; split the file"]
    big = csv_file(tmp_path, b"Nom;Produit\n" + b"x;y\n" * (MAX_BYTES // 4 + 1))
    with pytest.raises(ConfigError, match=rf"file too large \(\d+ bytes, at most {MAX_BYTES}\)"):
        read_inventory(big)


# --- merging -------------------------------------------------------------------------------


def test_import_updates_adds_and_keeps_comments(tmp_path: Path) -> None:
    target = client_file(tmp_path)
    source = csv_file(tmp_path, GERMAN.encode("cp1252"))
    result = import_inventory(source, target)
    assert result.written
    assert [(c.name, c.action) for c in result.changes] == [
        ("Pare-feu", "updated"),
        ("Drucker Empfang", "added"),
        ("Praxissoftware", "added"),
    ]
    assert result.changes[0].fields == (
        ("version", "7.2.3", "7.2.5"),
        ("data", None, ["credentials"]),
    )
    text = target.read_text(encoding="utf-8")
    for line in CLIENT.splitlines():
        if "#" in line:
            assert line.split("#")[1] in text, f"comment lost: {line}"
    assert "    aliases: [DSM]\n" in text, "untouched entries keep their flow lists"
    assert "    data: [health, personal]\n" in text, "new lists are written [a, b]"
    client = load_client_file(target)
    names = [a.name for a in client.assets]
    assert names == ["Pare-feu", "NAS", "Drucker Empfang", "Praxissoftware"]
    firewall = client.assets[0]
    assert (firewall.version, firewall.data, firewall.criticality) == ("7.2.5", ("credentials",), 4)
    assert client.assets[3].version == "2024.3"
    assert client.keywords == ("cabinet",) and client.providers[0].name == "Swisscom"
    assert sorted(p.name for p in target.parent.iterdir()) == ["cabinet.yml"], "no temp file left"


def test_versions_that_look_like_numbers_stay_text(tmp_path: Path) -> None:
    target = client_file(tmp_path)
    source = csv_file(tmp_path, b"Name;Version\nNAS;7.10\nPare-feu;0587\n")
    import_inventory(source, target)
    client = load_client_file(target)
    assert {a.name: a.version for a in client.assets} == {"Pare-feu": "0587", "NAS": "7.10"}


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    target = client_file(tmp_path)
    before = target.read_bytes()
    source = csv_file(tmp_path, GERMAN.encode("cp1252"))
    result = import_inventory(source, target, dry_run=True)
    assert not result.written
    assert [c.action for c in result.changes] == ["updated", "added", "added"]
    assert target.read_bytes() == before


def test_an_import_without_changes_does_not_rewrite(tmp_path: Path) -> None:
    target = client_file(tmp_path)
    os.utime(target, (1_000_000_000, 1_000_000_000))
    source = csv_file(tmp_path, b"Nom;Version;Alias\nPare-feu;7.2.3;\nNAS;;DSM\n")
    result = import_inventory(source, target)
    assert [c.action for c in result.changes] == ["unchanged", "unchanged"]
    assert not result.written
    assert target.stat().st_mtime == 1_000_000_000


def test_a_new_asset_needs_every_required_field(tmp_path: Path) -> None:
    target = client_file(tmp_path)
    before = target.read_bytes()
    source = csv_file(tmp_path, b"Nom;Fabricant;Produit;Criticite\nImprimante;HP;LaserJet;2\n")
    with pytest.raises(ConfigError) as raised:
        import_inventory(source, target)
    assert str(raised.value).splitlines() == [
        f"{source}: 2 errors in the inventory, nothing imported:",
        f'{source}: row 2: no kind column: a new asset ("Imprimante" is not in cabinet.yml) '
        'needs the field "kind"',
        f'{source}: row 2: no exposure column: a new asset ("Imprimante" is not in '
        'cabinet.yml) needs the field "exposure"',
    ]
    assert target.read_bytes() == before


def test_one_bad_row_means_nothing_is_written(tmp_path: Path) -> None:
    target = client_file(tmp_path)
    before = target.read_bytes()
    bad = GERMAN + "Kaputt;X;Y;;9;ja;Gerät;;\r\n"
    with pytest.raises(ConfigError, match=r'row 5: column "Kritikalität": "9" is not'):
        import_inventory(csv_file(tmp_path, bad.encode("cp1252")), target)
    assert target.read_bytes() == before


def test_an_invalid_client_file_is_not_touched(tmp_path: Path) -> None:
    target = client_file(tmp_path, CLIENT.replace("criticality: 3", "criticality: 9"))
    before = target.read_bytes()
    with pytest.raises(ConfigError, match=r'cabinet.yml:18: assets\[1\] \(name "NAS"\)'):
        import_inventory(csv_file(tmp_path, GERMAN.encode("cp1252")), target)
    assert target.read_bytes() == before


def test_line_endings_mode_and_missing_assets_list(tmp_path: Path) -> None:
    target = client_file(tmp_path, "name: Verein\r\nsectors: [nonprofit]\r\nlanguage: de\r\n")
    target.chmod(0o640)
    source = csv_file(
        tmp_path,
        b"Name,Hersteller,Produkt,Typ,Kritikalitaet,Exponiert\n"
        b"Website,WordPress,WordPress,Webseite,2,ja\n",
    )
    import_inventory(source, target)
    raw = target.read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert target.stat().st_mode & 0o777 == 0o640
    (asset,) = load_client_file(target).assets
    assert (asset.kind, asset.exposure, asset.criticality) == ("website", "exposed", 2)


def test_an_empty_flow_list_of_assets_becomes_a_block_list(tmp_path: Path) -> None:
    target = client_file(tmp_path, "name: Shop\nsectors: [retail_hospitality]\nassets: []\n")
    source = csv_file(
        tmp_path,
        b"Name;Vendor;Product;Kind;Criticality;Exposure;Aliases\n"
        b"Terminal;SumUp;SumUp Solo;device;3;internal;SumUp|Solo\n",
    )
    import_inventory(source, target)
    assert target.read_text(encoding="utf-8") == (
        "name: Shop\n"
        "sectors: [retail_hospitality]\n"
        "assets:\n"
        "  - name: Terminal\n"
        "    vendor: SumUp\n"
        "    product: SumUp Solo\n"
        "    aliases: [SumUp, Solo]\n"
        "    kind: device\n"
        "    criticality: 3\n"
        "    exposure: internal\n"
    )
