"""A spreadsheet or CMDB export (CSV) -> the assets of a client file, merged in place.

The CSV is hostile input: at most MAX_BYTES and MAX_ROWS; text is UTF-8 (with or without BOM),
UTF-16 with a BOM (Excel's "Unicode text"), else Windows-1252 (older Swiss Excel exports); the
delimiter (`;`, `,` or tab) is read from the header line, or from Excel's `sep=;` first line.
Headers and values are matched without regard to case, accents or punctuation, in French,
German and English: `Fabricant`, `Éditeur` and `Hersteller` are the vendor, `oui`, `ja` and
`internet` mean exposed, `élevée` and `hoch` are criticality 3. Columns that mean nothing here
(serial numbers, locations...) are ignored and listed.

Every bad cell is reported (file, row as the spreadsheet numbers it, column as written) and
nothing is written when any row is bad. Merging keeps the client file as its author wrote it:
ruamel's round trip keeps comments, order and quotes; an asset with the same name (ignoring
case) gets the non-empty cells of its row, other rows are appended as new assets (which need
vendor, product, kind, criticality and exposure). The result is validated by the client loader
before it replaces the file atomically (a temporary file, then a rename).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic_core import PydanticCustomError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.util import load_yaml_guess_indent

from techwatch.clients.config import parse_client, parse_cpe, parse_purl
from techwatch.config.values import parse_text
from techwatch.config.yamldoc import read_text
from techwatch.errors import ConfigError, TerminalError
from techwatch.files import write_atomically

__all__ = [
    "MAX_BYTES",
    "MAX_ROWS",
    "Change",
    "ImportResult",
    "Inventory",
    "InventoryAsset",
    "decode",
    "describe_change",
    "import_inventory",
    "merge_assets",
    "parse_inventory",
    "read_inventory",
]

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2_000  # a small organisation's inventory; merging 2000 rows takes about 6 s
MAX_CELL = 500
DELIMITERS = (";", ",", "\t")
LIST_SEPARATORS = re.compile(r"[;|,]")
FIELD_ORDER = (
    "name", "vendor", "product", "version", "cpe", "purl", "aliases", "kind", "criticality",
    "exposure", "data", "owner",
)  # fmt: skip
REQUIRED_FOR_NEW = ("vendor", "product", "kind", "criticality", "exposure")


def _key(text: str) -> str:
    """Case, accents, spaces and punctuation removed: "Kritikalität" -> "kritikalitat"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isalnum()).casefold()


def _table(words: dict[Any, str]) -> dict[str, Any]:
    """{value: "word word ..."} -> {normalised word: value}."""
    return {_key(word): value for value, line in words.items() for word in line.split()}


HEADERS = _table({
    "name": "name nom bezeichnung asset actif designation assetname nomdelactif",
    "vendor": "vendor manufacturer publisher fabricant editeur éditeur constructeur marque "
              "hersteller anbieter",
    "product": "product produit produkt modele modèle model modell",
    "version": "version versionsnummer numerodeversion release",
    "criticality": "criticality criticite criticité kritikalitat kritikalität kritikalitaet "
                   "importance wichtigkeit",
    "exposure": "exposure exposition exponiert exponierung exposed exposé internet",
    "kind": "kind type typ art category categorie catégorie kategorie",
    "cpe": "cpe",
    "purl": "purl packageurl",
    "aliases": "aliases alias aliasnamen synonyms synonymes othernames autresnoms",
    "data": "data donnees données daten datasensitivity sensitivity sensibilite sensibilité "
            "datenkategorien datensensibilitat typesdedonnees",
    "owner": "owner responsable verantwortlich verantwortliche proprietaire propriétaire "
             "besitzer",
})  # fmt: skip
KINDS = _table({
    "saas": "saas cloud softwareasaservice enligne online",
    "software": "software logiciel application app anwendung applikation programm progiciel",
    "device": "device appareil materiel matériel hardware gerat gerät geraet equipement "
              "équipement peripherique périphérique appliance",
    "website": "website siteweb site siteinternet webseite internetseite homepage web",
    "service_provider": "serviceprovider service_provider prestataire fournisseur dienstleister "
                        "provider",
})  # fmt: skip
EXPOSURES = _table({
    "exposed": "exposed exposé exposée oui ja yes y true vrai wahr 1 x internet public publique "
               "exponiert öffentlich offentlich extern externe external",
    "internal": "internal interne intern non nein no n false faux falsch 0 lan privé privée "
                "private lokal local",
})  # fmt: skip
CRITICALITIES = _table({
    1: "low faible basse bas niedrig gering",
    2: "medium moyenne moyen mittel normal normale",
    3: "high haute haut élevée élevé hoch important importante wichtig",
    4: "critical critique kritisch vital vitale essential essentiel essentielle",
})  # fmt: skip
DATA = _table({
    "personal": "personal personnel personnelle personnels personnelles personnes "
                "donneespersonnelles personenbezogen personenbezogene personendaten pii",
    "health": "health santé medical médical médicale médicales gesundheit gesundheitsdaten "
              "patient patients patientendaten",
    "financial": "financial finance finances financier financière financières finanziell "
                 "finanzen finanzdaten bancaire bancaires comptable comptables buchhaltung",
    "legal": "legal juridique juridiques recht rechtlich rechtliche",
    "children": "children enfants kinder mineurs minors élèves schüler",
    "credentials": "credentials identifiants motsdepasse motdepasse passwords password "
                   "zugangsdaten passwörter passwoerter secrets",
    "other": "other autre autres andere sonstige divers",
})  # fmt: skip
CRITICALITY_NUMBER = re.compile(r"([1-4])(?:[.,]0+)?(?:\s*[-–:(/].*)?")


# --- records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InventoryAsset:
    """One row: the asset fields it gives (non-empty cells only), ready for YAML."""

    row: int
    fields: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.fields["name"])


@dataclass(frozen=True)
class Inventory:
    path: Path
    columns: dict[str, str]  # asset field -> header as written in the file
    assets: tuple[InventoryAsset, ...]
    ignored: tuple[str, ...] = ()  # headers that map to no field


@dataclass(frozen=True)
class Change:
    """What the import does to one asset; `fields` holds (field, old, new) triples."""

    name: str
    action: Literal["added", "updated", "unchanged"]
    fields: tuple[tuple[str, Any, Any], ...] = ()


@dataclass(frozen=True)
class ImportResult:
    client_file: Path
    inventory: Inventory
    changes: tuple[Change, ...]
    written: bool

    def named(self, action: str) -> list[Change]:
        return [c for c in self.changes if c.action == action]


@dataclass
class _Errors:
    """Problems of the CSV, each with its row; raised together, the count first."""

    path: Path
    items: list[tuple[int, str]] = field(default_factory=list)

    def add(self, row: int, column: str | None, message: str) -> None:
        where = f'row {row}: column "{column}": ' if column else f"row {row}: "
        self.items.append((row, f"{self.path}: {where}{message}"))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        count = f"{len(self.items)} error" + ("s" if len(self.items) > 1 else "")
        lines = [f"{self.path}: {count} in the inventory, nothing imported:"]
        lines += [text for _, text in sorted(self.items, key=lambda item: item[0])]
        raise ConfigError("\n".join(lines))


# --- reading -------------------------------------------------------------------------------


def read_inventory(path: Path) -> Inventory:
    """Read and parse a CSV inventory; every failure is a `ConfigError` naming the file."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ConfigError(f"{path}: file too large ({size} bytes, at most {MAX_BYTES})")
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: file not found") from e
    except IsADirectoryError as e:
        raise ConfigError(f"{path}: is a folder, not a CSV file") from e
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the file ({e.strerror or e})") from e
    return parse_inventory(data, path=path)


def decode(data: bytes, path: Path) -> str:
    """UTF-8 (BOM or not), UTF-16 with BOM, else Windows-1252; binary files refused."""
    if data.startswith(b"PK\x03\x04"):
        raise ConfigError(f"{path}: this is an Excel workbook or a zip file; save it as CSV first")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _decoded(data, "utf-16", path)
    elif data.startswith(codecs.BOM_UTF8):
        text = _decoded(data[len(codecs.BOM_UTF8) :], "utf-8", path)
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _decoded(data, "cp1252", path)
    if "\x00" in text:
        raise ConfigError(f"{path}: contains NUL characters: not a CSV text file")
    return text


def _decoded(data: bytes, encoding: str, path: Path) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{path}: not valid {encoding} text (byte 0x{data[e.start]:02x} at offset "
            f"{e.start}); export the file as CSV UTF-8"
        ) from e


def parse_inventory(data: bytes, *, path: Path) -> Inventory:
    """CSV bytes -> validated inventory rows; all bad cells in one `ConfigError`."""
    path = Path(path)
    text = decode(data, path)
    lines = text.splitlines()
    first_row = 1
    delimiter = None
    if lines and (sep := re.fullmatch(r"\s*sep=(.)\s*", lines[0])):
        rest = text.split("\n", 1)[1] if "\n" in text else ""
        delimiter, text, first_row = sep.group(1), rest, 2
    header_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = delimiter or _sniff_delimiter(header_line)
    errors = _Errors(path)
    records = _records(text, delimiter, first_row, errors)
    if not records:
        errors.raise_if_any()
        raise ConfigError(f"{path}: no header row: the file is empty")
    (header_row, header), *rows = records
    columns, ignored = _map_headers(header, header_row, errors)
    if "name" not in columns.values():
        errors.add(header_row, None, _missing_name_message(header))
    errors.raise_if_any()
    assets = _rows(rows, header, columns, errors)
    errors.raise_if_any()
    if not assets:
        raise ConfigError(f"{path}: no rows under the header: nothing to import")
    return Inventory(
        path=path,
        columns={name: header[index] for index, name in columns.items()},
        assets=tuple(assets),
        ignored=tuple(ignored),
    )


def _sniff_delimiter(header: str) -> str:
    """The candidate that splits the header into the most columns; `;` when none does."""
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ";"


def _records(
    text: str, delimiter: str, first_row: int, errors: _Errors
) -> list[tuple[int, list[str]]]:
    """Non-blank records with their spreadsheet row number; capped at MAX_ROWS."""
    records: list[tuple[int, list[str]]] = []
    # strict: an unclosed quote is an error, not the rest of the file swallowed into a cell
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    row = first_row - 1
    try:
        for row, cells in enumerate(reader, start=first_row):
            if row - first_row > MAX_ROWS:
                errors.add(row, None, f"more than {MAX_ROWS} rows; split the file")
                break
            if any(c.strip() for c in cells):
                records.append((row, cells))
    except csv.Error as e:
        errors.add(row + 1, None, f"unreadable CSV ({e})")
    return records


def _map_headers(header: list[str], row: int, errors: _Errors) -> tuple[dict[int, str], list[str]]:
    """Column index -> asset field; a field named by two columns is an error."""
    columns: dict[int, str] = {}
    ignored: list[str] = []
    seen: dict[str, str] = {}
    for index, title in enumerate(header):
        name = HEADERS.get(_key(title))
        if name is None:
            if title.strip():
                ignored.append(title.strip())
            continue
        if name in seen:
            errors.add(row, title, f'means {name}, like column "{seen[name]}"; keep one')
            continue
        seen[name] = title
        columns[index] = name
    return columns, ignored


def _missing_name_message(header: list[str]) -> str:
    found = ", ".join(f'"{h}"' for h in header if h.strip()) or "none"
    return f"no name column (such as name, nom or Bezeichnung); columns found: {found}"


def _rows(
    rows: list[tuple[int, list[str]]],
    header: list[str],
    columns: dict[int, str],
    errors: _Errors,
) -> list[InventoryAsset]:
    assets: list[InventoryAsset] = []
    first: dict[str, int] = {}
    for row, cells in rows:
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            errors.add(row, None, f"{len(cells)} cells but {len(header)} columns in the header")
            continue
        fields = _cells(row, cells, header, columns, errors)
        if fields is None:
            continue
        name = str(fields["name"])
        if name.casefold() in first:
            name_column = header[next(i for i, f in columns.items() if f == "name")]
            errors.add(row, name_column, f'"{name}" is already on row {first[name.casefold()]}')
            continue
        first[name.casefold()] = row
        assets.append(InventoryAsset(row, fields))
    return assets


def _cells(
    row: int, cells: list[str], header: list[str], columns: dict[int, str], errors: _Errors
) -> dict[str, Any] | None:
    """One row -> {field: value} for its non-empty cells, or None when a cell is bad."""
    fields: dict[str, Any] = {}
    bad = False
    for index, name in columns.items():
        raw = cells[index].strip() if index < len(cells) else ""
        if not raw:
            continue
        try:
            fields[name] = CELL_PARSERS[name](raw)
        except PydanticCustomError as e:
            errors.add(row, header[index], e.message())
            bad = True
    if "name" not in fields and not bad:
        name_column = header[next(i for i, f in columns.items() if f == "name")]
        errors.add(row, name_column, "empty; every row needs the asset's name")
        return None
    return None if bad else fields


# --- cell parsers (pure; raise PydanticCustomError like the client file's parsers) ----------


def _problem(kind: str, message: str) -> PydanticCustomError:
    """An error whose message may quote the cell: never a template, whatever braces it holds."""
    return PydanticCustomError(kind, "{message}", {"message": message})


def _text(raw: str) -> str:
    if len(raw) > MAX_CELL:
        raise _problem("too_long", f"longer than {MAX_CELL} characters")
    try:
        return parse_text(raw)
    except PydanticCustomError as e:
        raise _problem(e.type, f'{e.message()}, got "{_shown(raw)}"') from e


def _shown(raw: str) -> str:
    """The cell as written, control characters escaped, cut short."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in raw)[:60]


def _word(table: dict[str, Any], allowed: str) -> Callable[[str], Any]:
    def parse(raw: str) -> Any:
        value = table.get(_key(raw))
        if value is None:
            raise _problem("value", f'"{_shown(raw)}" is not {allowed}')
        return value

    return parse


def _criticality(raw: str) -> int:
    if found := CRITICALITY_NUMBER.fullmatch(raw.strip()):
        return int(found.group(1))
    value = CRITICALITIES.get(_key(raw))
    if value is None:
        raise _problem(
            "criticality", f'"{_shown(raw)}" is not a criticality: write 1-4, or low, medium, '
            "high, critical (faible, moyenne, élevée, critique; niedrig, mittel, hoch, kritisch)",
        )  # fmt: skip
    return int(value)


def _words(parse: Callable[[str], Any]) -> Callable[[str], list[Any]]:
    """A cell holding several values separated by `;`, `|` or `,`."""

    def parse_list(raw: str) -> list[Any]:
        values = [parse(part.strip()) for part in LIST_SEPARATORS.split(raw) if part.strip()]
        return list(dict.fromkeys(values))

    return parse_list


def _optional(parse: Callable[[Any], str | None]) -> Callable[[str], str]:
    def check(raw: str) -> str:
        value = parse(_text(raw))
        assert value is not None  # the cell is not empty
        return value

    return check


CELL_PARSERS: dict[str, Callable[[str], Any]] = {
    "name": _text,
    "vendor": _text,
    "product": _text,
    "version": _text,
    "owner": _text,
    "cpe": _optional(parse_cpe),
    "purl": _optional(parse_purl),
    "aliases": _words(_text),
    "kind": _word(KINDS, "a kind: saas, software, device, website or service provider"),
    "criticality": _criticality,
    "exposure": _word(EXPOSURES, "an exposure: exposed (yes, oui, ja) or internal (no, non)"),
    "data": _words(_word(DATA, "a kind of data: personal, health, financial, legal, children, "
                                "credentials or other")),
}  # fmt: skip


# --- merging -------------------------------------------------------------------------------


def merge_assets(document: CommentedMap, inventory: Inventory, client: Path) -> tuple[Change, ...]:
    """Update assets named in the inventory, append the others; `document` is changed in place.

    A new asset needs every field of REQUIRED_FOR_NEW: rows lacking one are errors, all at once.
    """
    assets = _assets_list(document, client)
    by_name = {
        str(entry["name"]).strip().casefold(): entry
        for entry in assets
        if isinstance(entry, CommentedMap) and isinstance(entry.get("name"), str)
    }
    errors = _Errors(inventory.path)
    changes: list[Change] = []
    for asset in inventory.assets:
        existing = by_name.get(asset.name.casefold())
        if existing is not None:
            changes.append(_update(existing, asset))
            continue
        missing = [f for f in REQUIRED_FOR_NEW if f not in asset.fields]
        for name in missing:
            column = inventory.columns.get(name)
            what = f'column "{column}"' if column else f"no {name} column"
            errors.add(
                asset.row,
                None,
                f'{what}: a new asset ("{asset.name}" is not in {client.name}) needs the field '
                f'"{name}"',
            )
        if not missing:
            assets.append(_new_entry(asset.fields))
            changes.append(Change(asset.name, "added", _triples({}, asset.fields)))
    errors.raise_if_any()
    return tuple(changes)


def _assets_list(document: CommentedMap, client: Path) -> CommentedSeq:
    assets = document.get("assets")
    if assets is None:
        document["assets"] = assets = CommentedSeq()
    if not isinstance(assets, CommentedSeq):
        raise ConfigError(f"{client}: `assets` is not a list; fix the file first")
    if not assets:
        assets.fa.set_block_style()  # `assets: []` becomes one entry per block, not [{...}]
    return assets


def _update(entry: CommentedMap, asset: InventoryAsset) -> Change:
    old = {name: _plain(entry.get(name)) for name in asset.fields}
    triples = tuple(t for t in _triples(old, asset.fields) if t[0] != "name")
    for name, _, new in triples:
        entry[name] = _yaml_value(new)
    return Change(str(entry["name"]), "updated" if triples else "unchanged", triples)


def _triples(old: dict[str, Any], new: dict[str, Any]) -> tuple[tuple[str, Any, Any], ...]:
    ordered = sorted(new, key=FIELD_ORDER.index)
    return tuple((name, old.get(name), new[name]) for name in ordered if old.get(name) != new[name])


def _new_entry(fields: dict[str, Any]) -> CommentedMap:
    entry = CommentedMap()
    for name in sorted(fields, key=FIELD_ORDER.index):
        entry[name] = _yaml_value(fields[name])
    return entry


def _yaml_value(value: Any) -> Any:
    """Lists as [a, b] on one line, the way people write aliases and data by hand."""
    if isinstance(value, list):
        seq = CommentedSeq(value)
        seq.fa.set_flow_style()
        return seq
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


# --- the import, with its I/O --------------------------------------------------------------


def import_inventory(csv_path: Path, client_path: Path, *, dry_run: bool = False) -> ImportResult:
    """Merge a CSV inventory into a client file; write it (atomically) unless `dry_run`."""
    client_path = Path(client_path)
    inventory = read_inventory(csv_path)
    text = read_text(client_path).removeprefix("\ufeff")
    parse_client(text, path=client_path)  # the file must be valid before we touch it
    yaml, document = _round_trip(text)
    changes = merge_assets(document, inventory, client_path)
    merged = _dump(yaml, document, crlf="\r\n" in text)
    try:
        parse_client(merged, path=client_path)
    except ConfigError as e:
        raise ConfigError(f"the merged client file would be invalid, nothing written:\n{e}") from e
    changed = any(c.action != "unchanged" for c in changes)
    if changed and not dry_run:
        _write_atomically(client_path, merged)
    return ImportResult(client_path, inventory, changes, written=changed and not dry_run)


def _round_trip(text: str) -> tuple[YAML, Any]:
    """Load for editing, with the file's own indentation so that the diff stays small."""
    _, indent, block_seq_indent = load_yaml_guess_indent(text)
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long values
    if indent is None:
        yaml.indent(mapping=2, sequence=4, offset=2)
    else:
        yaml.indent(mapping=2, sequence=indent, offset=block_seq_indent or 0)
    return yaml, yaml.load(text)


def _dump(yaml: YAML, document: Any, *, crlf: bool) -> str:
    stream = io.StringIO()
    yaml.dump(document, stream)
    text = stream.getvalue()
    return text.replace("\n", "\r\n") if crlf else text


def _write_atomically(path: Path, text: str) -> None:
    """A reader sees the old file or the new one, never half of one; the mode is kept."""
    try:
        write_atomically(path, text, mode=path.stat().st_mode & 0o777)
    except OSError as e:
        raise TerminalError(f"{path}: cannot write the client file ({e.strerror or e})") from e


def describe_change(change: Change) -> Iterable[str]:
    """Human lines for one change: "version: 7.2.3 -> 7.2.5"."""
    for name, old, new in change.fields:
        yield (
            f"{name}: {_shown_value(new)}"
            if old is None
            else (f"{name}: {_shown_value(old)} -> {_shown_value(new)}")
        )


def _shown_value(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
