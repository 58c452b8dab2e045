"""clients/<id>.yml -> validated, frozen `Client` records.

One YAML file per client in a clients folder (`--clients PATH`, env `TECHWATCH_CLIENTS`, default
`clients/` in the home), read and validated like sources.yml (see `techwatch.config.yamldoc`):
every problem of every file at once, each naming file, line, entry and field, such as
`clients/dental.yml:12: assets[2] (name "NAS"): field "criticality": must be 1-4`.

Schema:

    id: dental-lausanne            # optional; a slug equal to the file name without .yml
    name: Cabinet dentaire du Lac
    sectors: [health]              # taxonomy sector labels (not `all`), at least one
    language: fr                   # fr, de or en; default fr
    cadence: weekly monday         # see below; default weekly monday
    min_priority_to_mail: act_soon # act_now, act_soon, plan or watch; default act_soon
    contacts:
      - name: Dre Claire Exemple
        email: claire@dental.example
        role: practice owner       # optional
        receives_summary: true     # default true
    assets:
      - name: Firewall             # as the client knows it; unique in the file
        vendor: Fortinet           # as advisories name it (CISA KEV vendorProject, CVE vendor)
        product: FortiOS           # as advisories name it
        version: "7.2.3"           # optional; quote versions, 7.10 unquoted is a number
        cpe: cpe:2.3:o:fortinet:fortios:7.2.3:*:*:*:*:*:*:*   # optional, CPE 2.3 formatted
        purl: pkg:composer/woocommerce/woocommerce@8.5.1        # optional, a package URL
        aliases: [FortiGate]       # other names used by people and news
        kind: device               # saas, software, device, website, service_provider
        criticality: 4             # 1 (convenience) to 4 (the business stops without it)
        exposure: exposed          # exposed (reachable from the internet) or internal
        data: [health, personal]   # personal, health, financial, legal, children, credentials...
        owner: IT partner          # optional
    providers:
      - name: Infomaniak
        service: hosting and email
        aliases: []
        criticality: 3             # default 3
        data: [personal]
    keywords: [tarmed]             # watch terms: an item naming one concerns the client
    exclusions: [dentifrice]       # an item naming one never reaches the client

Cadence is one short phrase: `daily`; `weekly` or `weekly <day>` with an English weekday name
or its three-letter abbreviation (`weekly friday`, `weekly fri`; `weekly` alone is Monday);
`monthly` or `monthly <day of month 1-28>` (`monthly 15`; `monthly` alone is the 1st: 28 is
the last day every month has).

YAML 1.2 only: `language: no` is the text "no" (then refused: not fr, de or en), `exposure: yes`
is the text "yes" (refused with a hint), `version: 7.10` is a number (refused: quote it),
`version: 1:30` stays text; duplicate keys are errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, cast, get_args

from email_validator import EmailNotValidError, validate_email
from packageurl import PackageURL
from pydantic import AfterValidator, Field, PlainValidator
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from techwatch.clients.profile import (
    PRIORITIES,
    Asset,
    AssetKind,
    Cadence,
    Client,
    Contact,
    DataKind,
    Exposure,
    Language,
    Priority,
    Provider,
)
from techwatch.config.values import SLUG, Flag, Text, invalid, one_of, parse_slug, parse_text
from techwatch.config.yamldoc import (
    Problems,
    StrictModel,
    describe,
    line_of,
    load_yaml,
    place,
    read_text,
    validate,
)
from techwatch.errors import ConfigError
from techwatch.taxonomy import SECTOR_KEYS

__all__ = [
    "SUFFIXES",
    "client_file",
    "client_files",
    "format_cadence",
    "load_client",
    "load_client_file",
    "load_clients",
    "parse_cadence",
    "parse_client",
    "parse_cpe",
    "parse_criticality",
    "parse_data_kind",
    "parse_email",
    "parse_exposure",
    "parse_kind",
    "parse_purl",
]

DOCUMENT = "client profiles"
SUFFIXES = (".yml", ".yaml")
MAX_CLIENT_FILES = 5_000

LANGUAGES = ("fr", "de", "en")
KINDS: tuple[str, ...] = get_args(AssetKind)
EXPOSURES: tuple[str, ...] = get_args(Exposure)
DATA_KINDS: tuple[str, ...] = get_args(DataKind)
CLIENT_SECTORS = tuple(s for s in SECTOR_KEYS if s != "all")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
LAST_DAY_OF_EVERY_MONTH = 28

# CPE 2.3 formatted string binding (NISTIR 7695, section 6.2): 13 colon-separated parts.
_CPE_VALUE = (
    r"""(?:(?:\?*|\*?)(?:[a-zA-Z0-9\-._]|\\[\\*?!"#$%&'()+,/:;<=>@\[\]^`{|}~])+(?:\?*|\*?)|[*\-])"""
)
_CPE_LANG = r"(?:[a-zA-Z]{2,3}(?:-(?:[a-zA-Z]{2}|[0-9]{3}))?|[*\-])"
CPE_23 = re.compile(rf"cpe:2\.3:[aho*\-](?::{_CPE_VALUE}){{5}}:{_CPE_LANG}(?::{_CPE_VALUE}){{4}}")
CPE_EXAMPLE = "cpe:2.3:o:fortinet:fortios:7.2.3:*:*:*:*:*:*:*"

# Words people write for exposure that YAML 1.1 read as booleans, or that mean the same thing.
_EXPOSURE_HINTS = {
    "yes": "exposed",
    "true": "exposed",
    "on": "exposed",
    "public": "exposed",
    "internet": "exposed",
    "no": "internal",
    "false": "internal",
    "off": "internal",
    "private": "internal",
    "lan": "internal",
}


# --- value parsers (pure; raise PydanticCustomError worded for `field "x": `) --------------


def parse_optional_text(value: Any) -> str | None:
    """Text, or None when the key is left empty."""
    return None if value is None else parse_text(value)


def parse_optional_slug(value: Any) -> str | None:
    """A client id, or None when left empty (the file name is then the id)."""
    return None if value is None else parse_slug(value)


def parse_criticality(value: Any) -> int:
    """1 (convenience) to 4 (the business stops without it)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid("criticality", "expected a whole number 1-4")
    if not 1 <= value <= 4:
        raise invalid("criticality", "must be 1-4")
    return value


def parse_exposure(value: Any) -> str:
    """exposed or internal; yes/no and friends get a hint instead of a guess."""
    if isinstance(value, bool):
        hint = "exposed" if value else "internal"
        raise invalid("exposure", "must be exposed or internal (did you mean {hint}?)", hint=hint)
    text = parse_text(value)
    if text in EXPOSURES:
        return text
    hint = _EXPOSURE_HINTS.get(text.lower())
    if hint is not None:
        raise invalid(
            "exposure",
            'must be exposed or internal, got "{text}" (did you mean {hint}?)',
            text=text,
            hint=hint,
        )
    raise invalid("exposure", "must be exposed (reachable from the internet) or internal")


parse_kind = one_of("kind", KINDS)
parse_data_kind = one_of("data", DATA_KINDS)


def parse_sector(value: Any) -> str:
    """A taxonomy sector label; `all` describes items, never a client."""
    text = parse_text(value)
    if text == "all":
        raise invalid(
            "sector", 'must be the client\'s own sectors, not "all" (one of: {allowed})',
            allowed=", ".join(CLIENT_SECTORS),
        )  # fmt: skip
    if text not in CLIENT_SECTORS:
        raise invalid("sector", "must be one of: {allowed}", allowed=", ".join(CLIENT_SECTORS))
    return text


def _at_least_one_sector(sectors: list[str]) -> list[str]:
    if not sectors:
        raise invalid("sectors", "needs at least one sector, such as [health]")
    return list(dict.fromkeys(sectors))


def parse_email(value: Any) -> str:
    """A syntactically valid address (no DNS lookup); normalised as email-validator does."""
    text = parse_text(value)
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as e:
        raise invalid(
            "email", 'invalid email address "{text}": {reason}', text=text, reason=e
        ) from e


def parse_cpe(value: Any) -> str | None:
    """A CPE 2.3 formatted string; a CPE 2.2 URI gets the 2.3 form to write instead."""
    if value is None:
        return None
    text = parse_text(value)
    if CPE_23.fullmatch(text):
        return text
    if text.lower().startswith("cpe:/"):
        raise invalid(
            "cpe",
            "this is a CPE 2.2 URI; write the CPE 2.3 formatted string, such as {example}",
            example=CPE_EXAMPLE,
        )
    parts = len(re.split(r"(?<!\\):", text))
    count = f" (found {parts} parts, a CPE 2.3 name has 13)" if parts != 13 else ""
    raise invalid(
        "cpe",
        "expected a CPE 2.3 formatted string cpe:2.3:part:vendor:product:version:update:"
        "edition:language:sw_edition:target_sw:target_hw:other{count}, such as {example}",
        count=count,
        example=CPE_EXAMPLE,
    )


def parse_purl(value: Any) -> str | None:
    """A package URL (pkg:type/namespace/name@version), checked by packageurl-python."""
    if value is None:
        return None
    text = parse_text(value)
    try:
        PackageURL.from_string(text)
    except ValueError as e:
        raise invalid(
            "purl",
            "expected a package URL such as pkg:composer/woocommerce/woocommerce@8.5.1 ({reason})",
            reason=str(e).rstrip("."),
        ) from e
    return text


def parse_cadence(value: Any) -> Cadence:
    """`daily`, `weekly [day]` or `monthly [1-28]` -> Cadence (see the module docstring)."""
    if not isinstance(value, str) or not value.strip():
        raise invalid(
            "cadence", "expected daily, weekly [day] or monthly [day], such as weekly monday"
        )
    words = value.lower().split()
    kind, rest = words[0], words[1:]
    if kind == "daily" and not rest:
        return Cadence(kind="daily")
    if kind == "weekly" and len(rest) <= 1:
        return Cadence(kind="weekly", weekday=_weekday(rest[0]) if rest else 0)
    if kind == "monthly" and len(rest) <= 1:
        return Cadence(kind="monthly", day=_month_day(rest[0]) if rest else 1)
    raise invalid(
        "cadence",
        'expected daily, weekly [day] or monthly [day], such as "weekly monday" or "monthly 1"',
    )


def _weekday(word: str) -> int:
    for number, name in enumerate(WEEKDAYS):
        if word in (name, name[:3]):
            return number
    raise invalid("cadence", "unknown weekday; write monday to sunday, or mon to sun")


def _month_day(word: str) -> int:
    if not word.isdigit() or not 1 <= int(word) <= LAST_DAY_OF_EVERY_MONTH:
        raise invalid("cadence", "the day of the month must be 1-28, so that every month has it")
    return int(word)


# --- models --------------------------------------------------------------------------------

OptText = Annotated[str | None, PlainValidator(parse_optional_text)]
Criticality = Annotated[int, PlainValidator(parse_criticality)]
DataItem = Annotated[str, PlainValidator(parse_data_kind)]


class _ContactModel(StrictModel):
    name: Text
    email: Annotated[str, PlainValidator(parse_email)]
    role: OptText = None
    receives_summary: Flag = True

    def build(self) -> Contact:
        return Contact(self.name, self.email, self.role, self.receives_summary)


class _AssetModel(StrictModel):
    name: Text
    vendor: Text
    product: Text
    kind: Annotated[str, PlainValidator(parse_kind)]
    criticality: Criticality
    exposure: Annotated[str, PlainValidator(parse_exposure)]
    version: OptText = None
    cpe: Annotated[str | None, PlainValidator(parse_cpe)] = None
    purl: Annotated[str | None, PlainValidator(parse_purl)] = None
    aliases: list[Text] = Field(default_factory=list)
    data: list[DataItem] = Field(default_factory=list)
    owner: OptText = None

    def build(self) -> Asset:
        fields = self.model_dump()
        fields["aliases"] = tuple(dict.fromkeys(self.aliases))
        fields["data"] = tuple(dict.fromkeys(self.data))
        return Asset(**fields)


class _ProviderModel(StrictModel):
    name: Text
    service: Text
    aliases: list[Text] = Field(default_factory=list)
    criticality: Criticality = 3
    data: list[DataItem] = Field(default_factory=list)

    def build(self) -> Provider:
        aliases, data = tuple(dict.fromkeys(self.aliases)), tuple(dict.fromkeys(self.data))
        return Provider(self.name, self.service, aliases, self.criticality, data)


class _ClientModel(StrictModel):
    """The top level; the three lists are checked entry by entry, to name each entry."""

    id: Annotated[str | None, PlainValidator(parse_optional_slug)] = None
    name: Text
    sectors: Annotated[
        list[Annotated[str, PlainValidator(parse_sector)]], AfterValidator(_at_least_one_sector)
    ]
    language: Annotated[str, PlainValidator(one_of("language", LANGUAGES))] = "fr"
    contacts: Any = None
    cadence: Annotated[Cadence, PlainValidator(parse_cadence)] = Cadence()
    min_priority_to_mail: Annotated[str, PlainValidator(one_of("priority", PRIORITIES))] = (
        "act_soon"
    )
    assets: Any = None
    providers: Any = None
    keywords: list[Text] = Field(default_factory=list)
    exclusions: list[Text] = Field(default_factory=list)


# --- loading -------------------------------------------------------------------------------


def load_clients(folder: Path) -> tuple[Client, ...]:
    """Every client of the folder, sorted by id; the problems of all files in one ConfigError."""
    folder = Path(folder)
    files = client_files(folder)
    clients: list[Client] = []
    failures: dict[Path, list[str]] = {}
    for path in files:
        try:
            clients.append(load_client_file(path))
        except ConfigError as e:
            failures.setdefault(path, []).append(str(e))
    for path, message in _duplicate_ids(files):
        failures.setdefault(path, []).append(message)
    if failures:
        count = f"{len(failures)} of {len(files)} client files"
        lines = [f"{folder}: {count} have errors:", *(m for ms in failures.values() for m in ms)]
        raise ConfigError("\n".join(lines))
    return tuple(sorted(clients, key=lambda c: c.id))


def load_client(folder: Path, client_id: str) -> Client:
    """One client by id, reading only its own file."""
    return load_client_file(client_file(folder, client_id))


def load_client_file(path: Path) -> Client:
    """Read and validate one client file; every failure is a `ConfigError` naming the file."""
    path = Path(path)
    return parse_client(read_text(path), path=path)


def parse_client(text: str, *, path: Path) -> Client:
    """Validate the text of one client file; `path` names it in messages and gives the id."""
    path = Path(path)
    text = text.removeprefix("\ufeff")
    document = load_yaml(text, path)
    problems = Problems(path, re.split(r"\r\n|\r|\n", text), document=DOCUMENT)
    client = _check_client(document, path, problems)
    problems.raise_if_any()
    assert client is not None  # no problem recorded means the client was built
    return client


def client_files(folder: Path) -> list[Path]:
    """The client files of a folder, sorted; hidden files (editors' and our temp files) skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        state = "is not a folder" if folder.exists() else "clients folder not found"
        raise ConfigError(
            f"{folder}: {state}; create it with one <id>.yml per client, or point to the "
            "clients folder with --clients PATH or the TECHWATCH_CLIENTS environment variable"
        )
    files = sorted(
        p
        for p in folder.iterdir()
        if p.suffix in SUFFIXES and not p.name.startswith(".") and p.is_file()
    )
    if len(files) > MAX_CLIENT_FILES:
        raise ConfigError(f"{folder}: {len(files)} client files, at most {MAX_CLIENT_FILES}")
    return files


def client_file(folder: Path, client_id: str) -> Path:
    """The file of one client: <id>.yml or <id>.yaml in the folder."""
    folder = Path(folder)
    if not SLUG.match(client_id):
        raise ConfigError(
            f'"{client_id}" is not a client id: ids are slugs such as dental-lausanne'
        )
    found = [folder / f"{client_id}{suffix}" for suffix in SUFFIXES]
    found = [p for p in found if p.is_file()]
    if len(found) > 1:
        raise ConfigError(f'{found[1]}: duplicate client id "{client_id}", also in {found[0]}')
    if found:
        return found[0]
    known = ", ".join(p.stem for p in client_files(folder)) or "none"
    raise ConfigError(f'{folder}: no client "{client_id}" ({client_id}.yml); known: {known}')


def _duplicate_ids(files: list[Path]) -> list[tuple[Path, str]]:
    """dental.yml and dental.yaml would be two clients with one id."""
    first: dict[str, Path] = {}
    duplicates: list[tuple[Path, str]] = []
    for path in files:
        if path.stem in first:
            message = (
                f'{path}: duplicate client id "{path.stem}", already used by {first[path.stem]}'
            )
            duplicates.append((path, message))
        else:
            first[path.stem] = path
    return duplicates


# --- checks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Section:
    """One list of the file: its key, the model of an entry, and what must be unique in it."""

    key: str
    model: type[_ContactModel] | type[_AssetModel] | type[_ProviderModel]
    unique: str
    shape: str


SECTIONS = (
    _Section("contacts", _ContactModel, "email", "name and email"),
    _Section("assets", _AssetModel, "name", "name, vendor, product, kind, criticality, exposure"),
    _Section("providers", _ProviderModel, "name", "name and service"),
)


def _check_client(document: Any, path: Path, problems: Problems) -> Client | None:
    if document is None:
        problems.add(1, "", "the file is empty; a client needs at least name and sectors")
        return None
    if not isinstance(document, CommentedMap):
        problems.add(
            line_of(document) + 1,
            "",
            f"expected a mapping with name, sectors, assets..., got {describe(document)}",
        )
        return None
    model = validate(_ClientModel, document, "", problems)
    lists = {section.key: _check_section(document, section, problems) for section in SECTIONS}
    for section in SECTIONS:
        _check_unique(document, section, problems)
    client_id = _check_id(document, model, path, problems)
    if model is None or problems.items:
        return None
    return Client(
        id=client_id,
        name=model.name,
        sectors=tuple(model.sectors),
        language=cast("Language", model.language),  # checked by one_of
        contacts=tuple(lists["contacts"]),
        cadence=model.cadence,
        min_priority_to_mail=cast("Priority", model.min_priority_to_mail),
        assets=tuple(lists["assets"]),
        providers=tuple(lists["providers"]),
        keywords=tuple(dict.fromkeys(model.keywords)),
        exclusions=tuple(dict.fromkeys(model.exclusions)),
    )


def _check_id(
    document: CommentedMap, model: _ClientModel | None, path: Path, problems: Problems
) -> str:
    """The id is the file name: a file found by id must hold that client, and only that one."""
    stem = path.stem
    if not SLUG.match(stem):
        problems.add(
            1,
            "",
            f'the file name "{path.name}" is not a client id; name the file after the id, '
            "a slug such as dental-lausanne.yml",
        )
    elif model is not None and model.id is not None and model.id != stem:
        problems.add(
            place(document, "id")[0] + 1,
            "",
            f'field "id": "{model.id}" must equal the file name "{stem}"; rename the file to '
            f"{model.id}{path.suffix}, or remove the id",
        )
    return stem


def _check_section(document: CommentedMap, section: _Section, problems: Problems) -> list[Any]:
    """Validate each entry of one list, naming it by index and name."""
    entries = document.get(section.key)
    if entries is None:
        return []  # absent, or left empty
    if not isinstance(entries, CommentedSeq):
        problems.add(
            place(document, section.key)[0] + 1,
            section.key,
            f"expected a list of {section.key}, got {describe(entries)}",
        )
        return []
    built: list[Any] = []
    for index, entry in enumerate(entries):
        where = _entry_name(section.key, index, entry)
        if not isinstance(entry, CommentedMap):
            line = entries.lc.item(index)[0] + 1
            problems.add(
                line, where, f"expected a mapping with {section.shape}, got {describe(entry)}"
            )
            continue
        model: Any = validate(section.model, entry, where, problems)
        if model is not None:
            built.append(model.build())
    return built


def _check_unique(document: CommentedMap, section: _Section, problems: Problems) -> None:
    """Names (and contact emails) identify entries in matches and imports: one of each."""
    entries = document.get(section.key)
    if not isinstance(entries, CommentedSeq):
        return
    first: dict[str, tuple[int, int]] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, CommentedMap) or not isinstance(entry.get(section.unique), str):
            continue
        value = str(entry[section.unique]).strip()
        line = place(entry, section.unique)[0] + 1
        other = first.setdefault(value.casefold(), (index, line))
        if other != (index, line):
            problems.add(
                line,
                _entry_name(section.key, index, entry),
                f'field "{section.unique}": duplicate {section.unique} "{value}", already used '
                f"by {section.key}[{other[0]}] on line {other[1]}",
            )


def _entry_name(key: str, index: int, entry: Any) -> str:
    name = entry.get("name") if isinstance(entry, dict) else None
    return f'{key}[{index}] (name "{name}")' if isinstance(name, str) else f"{key}[{index}]"


def format_cadence(cadence: Cadence) -> str:
    """The phrase that `parse_cadence` reads back: "daily", "weekly friday", "monthly 15"."""
    if cadence.kind == "weekly":
        return f"weekly {WEEKDAYS[cadence.weekday]}"
    if cadence.kind == "monthly":
        return f"monthly {cadence.day}"
    return "daily"
