"""sources.yml -> validated, frozen `FetchSettings` and `Source` records.

The file is read once, at start, with ruamel.yaml's round-trip loader so that every value keeps
its line: errors then read `sources.yml:42: sources[3] (id "cert-fr"): field "url": ...`.
YAML 1.2 only (`NO`, `yes`, `on` stay text), duplicate keys are errors, and pydantic validates
in strict mode, so that a number, a date or a boolean is never quietly turned into text.
Every problem of the file is reported at once, one per line, the first line giving the count.

Schema (keys of the settings block are the `FetchSettings` field names):

    settings:                        # optional; operator settings, defaults in FetchSettings
      user_agent: "techwatch/0.1 (+https://...)"
      connect_timeout_s: 10s         # *_s: seconds as a number, or a duration 30s / 15m / 6h / 1d
      max_bytes: 10MiB               # bytes, or a size in B, KB, MB, GB, KiB, MiB or GiB
      max_redirects: 5
      concurrency: 20
      allow_private_networks: false
      ...
    sources:
      - id: cert-fr-alertes          # slug: a-z, 0-9 and dashes; unique
        name: CERT-FR, alertes
        kind: feed                   # the only kind for now
        url: https://www.cert.ssi.gouv.fr/alerte/feed/
        category: advisory           # advisory, vendor, press, regulation, status, blog
        language: fr                 # ISO 639-1, optional
        vendors: [microsoft]         # optional tags
        products: [exchange]
        enabled: true                # default true
        poll_interval: 1h            # default 6h, at least 5m
        confirmed: true              # URL confirmed from a public reference; default false

Secrets never go in this file: there is no field for them, and a key that looks like one gets
a message pointing to environment variables.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_args
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from techwatch.errors import ConfigError
from techwatch.types import Category, FetchSettings, Source, SourceKind

__all__ = ["SourcesConfig", "load_sources", "parse_sources"]

MAX_FILE_BYTES = 2 * 1024 * 1024
# Aliases can make a small file expand into a huge tree ("billion laughs"): cap the nodes.
MAX_NODES = 200_000

KINDS: tuple[str, ...] = get_args(SourceKind)
CATEGORIES: tuple[str, ...] = get_args(Category)
MIN_POLL_INTERVAL_S = 5 * 60
DEFAULT_POLL_INTERVAL_S = 6 * 3600

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[_-]?key|credential|private[_-]?key|bearer",
    re.IGNORECASE,
)
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)\s*$", re.IGNORECASE)
SIZE_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
}
# ISO 639-1: a typo such as "ge" or "sp" is caught instead of being stored as a language.
_ISO_639_1_CODES = """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht
    hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la
    lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj
    om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv
    sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh
    zu"""
ISO_639_1 = frozenset(_ISO_639_1_CODES.split())


@dataclass(frozen=True)
class SourcesConfig:
    """The validated content of one sources.yml."""

    settings: FetchSettings
    sources: tuple[Source, ...]
    path: Path


def load_sources(path: Path) -> SourcesConfig:
    """Read and validate a sources.yml; every failure is a `ConfigError` naming the file."""
    path = Path(path)
    data = _read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: the file is not valid UTF-8 (byte 0x{data[e.start]:02x}); "
            "save it as UTF-8"
        ) from e
    return parse_sources(text, path=path)


def parse_sources(text: str, *, path: Path) -> SourcesConfig:
    """Validate sources.yml text; `path` only names the file in messages and in the result."""
    path = Path(path)
    text = text.removeprefix("\ufeff")
    document = _load_yaml(text, path)
    problems = _Problems(path, re.split(r"\r\n|\r|\n", text))
    settings = _check_settings(document, problems)
    sources = _check_sources(document, problems)
    problems.raise_if_any()
    assert settings is not None  # no problem recorded means settings were built
    return SourcesConfig(settings=settings, sources=tuple(sources), path=path)


# --- reading -------------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    """Read the file with messages a person can act on (missing, a folder, no permission)."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError(f"{path}: file too large ({size} bytes, at most {MAX_FILE_BYTES})")
        return path.read_bytes()
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: file not found") from e
    except IsADirectoryError as e:
        raise ConfigError(f"{path}: is a folder, not a file") from e
    except PermissionError as e:
        raise ConfigError(f"{path}: cannot read the file (permission denied)") from e
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the file ({e.strerror or e})") from e


def _load_yaml(text: str, path: Path) -> Any:
    """Parse YAML 1.2 with line information; syntax errors and duplicate keys are fatal."""
    directive = re.search(r"^%YAML\s+(\S+)", text, re.MULTILINE)
    if directive and directive.group(1) != "1.2":
        line = text.count("\n", 0, directive.start()) + 1
        raise ConfigError(
            f"{path}:{line}: only YAML 1.2 is accepted (found %YAML {directive.group(1)}); "
            "remove the directive"
        )
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text)
    except DuplicateKeyError as e:
        raise ConfigError(_duplicate_key_message(e, text, path)) from e
    except MarkedYAMLError as e:
        raise ConfigError(_syntax_message(e, path)) from e
    except YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}") from e


def _syntax_message(error: MarkedYAMLError, path: Path) -> str:
    mark = error.problem_mark or error.context_mark
    where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
    problem = error.problem or error.context or "invalid YAML"
    if "'\\t'" in problem:
        return f"{where}: a tab character is not allowed here; indent YAML with spaces"
    return f"{where}: invalid YAML: {problem}"


def _duplicate_key_message(error: DuplicateKeyError, text: str, path: Path) -> str:
    """Name the duplicated key, where it appears again and where it first appeared."""
    mark = error.problem_mark
    found = re.search(r'duplicate key "(.*?)" with value', error.problem or "")
    key = found.group(1) if found else "?"
    if mark is None:
        return f"{path}: duplicate key {key!r}"
    first = _first_key_line(text.splitlines(), key, mark.line, mark.column)
    before = f" (first on line {first})" if first else ""
    return f"{path}:{mark.line + 1}: duplicate key {key!r}{before}; each key may appear once"


def _first_key_line(lines: list[str], key: str, line: int, column: int) -> int | None:
    """The earlier line, at the same indentation, that holds the same key (1-based)."""
    pattern = re.compile(rf"^[\s-]{{{column}}}['\"]?{re.escape(key)}['\"]?\s*:")
    for number in range(line - 1, -1, -1):
        if pattern.match(lines[number]):
            return number + 1
    return None


# --- problems and their places -------------------------------------------------------------


@dataclass(frozen=True, order=True)
class _Problem:
    line: int
    text: str


class _Problems:
    """Collects every problem of the file, each with its line, then raises them together."""

    def __init__(self, path: Path, lines: list[str]) -> None:
        self.path = path
        self.lines = lines
        self.items: list[_Problem] = []

    def add(self, line: int, where: str, message: str) -> None:
        prefix = f"{where}: " if where else ""
        self.items.append(_Problem(line, f"{self.path}:{line}: {prefix}{message}"))

    def raw(self, position: tuple[int, int] | None) -> str | None:
        """The text of a scalar as written in the file, to quote it back to the reader."""
        if position is None or position[0] >= len(self.lines):
            return None
        line, column = position
        found = re.match(r"[^,\]}#]*", self.lines[line][column:])
        written = found.group(0).strip() if found else ""
        return written or None

    def raise_if_any(self) -> None:
        if not self.items:
            return
        items = sorted(set(self.items))
        count = f"{len(items)} error" + ("s" if len(items) > 1 else "")
        lines = [f"{self.path}: {count} in the configuration:", *(p.text for p in items)]
        raise ConfigError("\n".join(lines))


def _line_of(node: Any, default: int = 0) -> int:
    """0-based line where a mapping or list starts."""
    lc = getattr(node, "lc", None)
    return lc.line if lc is not None and lc.line is not None else default


def _place(mapping: CommentedMap, key: Any, *, key_only: bool = False) -> tuple[int, int]:
    """Where a key's value is; an empty value has no place of its own, so its key's place."""
    line, column = (
        mapping.lc.key(key) if key_only or mapping[key] is None else mapping.lc.value(key)
    )
    return int(line), int(column)


def _position(node: Any, loc: tuple[int | str, ...], *, key: bool) -> tuple[int, int] | None:
    """Follow a validation path into the YAML tree: the place of the deepest part that exists.

    With `key`, the last part is a key (an unknown field) and its own position is returned.
    """
    position: tuple[int, int] | None = None
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        try:
            if isinstance(node, CommentedMap) and part in node:
                position = _place(node, part, key_only=last and key)
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                position = node.lc.item(part)
                node = node[part]
            else:
                break
        except (KeyError, IndexError, TypeError):
            break  # merged keys (<<:) have no position of their own
    return position


# --- plain data for pydantic ---------------------------------------------------------------


def _plain(node: Any, budget: list[int], path: tuple[int, ...] = ()) -> Any:
    """ruamel's commented containers and scalar subclasses -> plain Python values.

    Strict validation should see `int`, `str`, `list`... and nothing else; aliases are followed,
    but a cycle or an explosion of aliases is refused.
    """
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooLarge()
    if isinstance(node, dict | list):
        if id(node) in path:
            raise _TooLarge()
        inner = (*path, id(node))
        if isinstance(node, dict):
            return {str(k): _plain(v, budget, inner) for k, v in node.items()}
        return [_plain(v, budget, inner) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


class _TooLarge(Exception):
    """The document expands beyond MAX_NODES, or refers to itself."""


# --- value types ---------------------------------------------------------------------------


def _custom(kind: str, message: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError(kind, message, context)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _duration(value: Any) -> float:
    """A number of seconds, or a string such as 30s, 15m, 6h, 1d; never .nan or .inf."""
    if _is_number(value) and math.isfinite(value):
        return float(value)
    if isinstance(value, str) and (found := DURATION.match(value)):
        return float(found.group(1)) * DURATION_UNITS[found.group(2)]
    raise _custom("duration", "expected a duration such as 30s, 15m, 6h or 1d, or seconds")


def _positive_duration(value: Any) -> float:
    seconds = _duration(value)
    if seconds <= 0:
        raise _custom("duration", "must be more than zero")
    return seconds


def _poll_interval(value: Any) -> int:
    seconds = _duration(value)
    if seconds < MIN_POLL_INTERVAL_S:
        raise _custom("duration", "must be at least 5m, out of courtesy to the publisher")
    return round(seconds)


def _size(value: Any) -> int:
    """Bytes as a whole number, or a string such as 10MiB or 512KB."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and (found := SIZE.match(value)):
        number = float(found.group(1)) * SIZE_UNITS[found.group(2).lower()]
    else:
        raise _custom("size", "expected a size such as 10MiB or 512KB, or a whole number of bytes")
    if number < 1:
        raise _custom("size", "must be at least one byte")
    return int(number)


def _whole(minimum: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _custom("int_type", "expected a whole number")
        if value < minimum:
            raise _custom("int_range", "must be at least {minimum}", minimum=minimum)
        return value

    return check


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _custom("string_type", "expected text")
    if not value.strip():
        raise _custom("string_empty", "must not be empty")
    if any(ord(c) < 32 for c in value):
        raise _custom("string_control", "must be a single line without control characters")
    return value.strip()


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _custom("bool_type", "expected true or false")
    return value


def _slug(value: Any) -> str:
    text = _text(value)
    if not SLUG.match(text):
        raise _custom(
            "slug",
            "must be a slug: lowercase letters, digits and single dashes, such as cert-fr-avis",
        )
    return text


def _kind(value: Any) -> str:
    text = _text(value)
    if text not in KINDS:
        raise _custom("kind", "must be one of: {allowed}", allowed=", ".join(KINDS))
    return text


def _category(value: Any) -> str:
    text = _text(value)
    if text not in CATEGORIES:
        raise _custom("category", "must be one of: {allowed}", allowed=", ".join(CATEGORIES))
    return text


def _language(value: Any) -> str | None:
    if value is None:
        return None  # `language:` left empty, or ~: not known
    text = _text(value)
    if text not in ISO_639_1:
        raise _custom(
            "language", "must be a lowercase two-letter ISO 639-1 code such as fr, de, en or it"
        )
    return text


def _url(value: Any) -> str:
    """http and https only, with a host and without credentials (case 9 of RELIABILITY.md)."""
    text = _text(value)
    if any(c.isspace() for c in text):
        raise _custom("url", "must not contain spaces")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        hint = f'; did you mean "https://{text}"?' if not parts.scheme else ""
        raise _custom(
            "url",
            'only http and https URLs are allowed, got "{url}"{hint}',
            url=text,
            hint=hint,
        )
    try:
        host, _port = parts.hostname, parts.port
    except ValueError as e:
        raise _custom("url", 'invalid port in "{url}"', url=text) from e
    if not host:
        raise _custom("url", 'the URL has no host: "{url}"', url=text)
    if parts.username is not None or parts.password is not None:
        raise _custom(
            "url_credentials",
            "must not carry a user name or password; secrets come from environment variables",
        )
    return text


Text = Annotated[str, PlainValidator(_text)]
Flag = Annotated[bool, PlainValidator(_flag)]
Duration = Annotated[float, PlainValidator(_positive_duration)]
Whole0 = Annotated[int, PlainValidator(_whole(0))]
Whole1 = Annotated[int, PlainValidator(_whole(1))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


_DEFAULTS = FetchSettings()


class _SettingsModel(_Strict):
    """The `settings:` block: FetchSettings field names, durations and sizes readable."""

    user_agent: Text = _DEFAULTS.user_agent
    connect_timeout_s: Duration = _DEFAULTS.connect_timeout_s
    read_timeout_s: Duration = _DEFAULTS.read_timeout_s
    total_timeout_s: Duration = _DEFAULTS.total_timeout_s
    max_bytes: Annotated[int, PlainValidator(_size)] = _DEFAULTS.max_bytes
    max_redirects: Whole0 = _DEFAULTS.max_redirects
    concurrency: Whole1 = _DEFAULTS.concurrency
    allow_private_networks: Flag = _DEFAULTS.allow_private_networks
    parse_timeout_s: Duration = _DEFAULTS.parse_timeout_s
    parse_workers: Whole1 = _DEFAULTS.parse_workers
    degraded_after: Whole1 = _DEFAULTS.degraded_after
    backoff_base_s: Duration = _DEFAULTS.backoff_base_s
    backoff_max_s: Duration = _DEFAULTS.backoff_max_s
    retry_after_max_s: Duration = _DEFAULTS.retry_after_max_s

    def build(self) -> FetchSettings:
        return FetchSettings(**self.model_dump())


class _SourceModel(_Strict):
    """One entry of `sources:`."""

    id: Annotated[str, PlainValidator(_slug)]
    name: Text
    kind: Annotated[str, PlainValidator(_kind)]
    url: Annotated[str, PlainValidator(_url)]
    category: Annotated[str, PlainValidator(_category)]
    language: Annotated[str | None, PlainValidator(_language)] = None
    vendors: list[Text] = []
    products: list[Text] = []
    enabled: Flag = True
    poll_interval: Annotated[int, PlainValidator(_poll_interval)] = DEFAULT_POLL_INTERVAL_S
    confirmed: Flag = False

    def build(self) -> Source:
        fields = self.model_dump()
        fields["poll_interval_s"] = fields.pop("poll_interval")
        fields["vendors"] = tuple(fields["vendors"])
        fields["products"] = tuple(fields["products"])
        return Source(**fields)


TOP_LEVEL = ("settings", "sources")
# pydantic's own checks that our validators do not replace, in the words of this file.
MESSAGES = {"list_type": "expected a list, such as [microsoft, exchange]"}
# Errors whose input must not be repeated: it may hold a password.
NO_ECHO = frozenset({"url_credentials"})


# --- checks --------------------------------------------------------------------------------


def _check_settings(document: Any, problems: _Problems) -> FetchSettings | None:
    """Validate the top level and the `settings:` block; None when it has problems."""
    if document is None:
        problems.add(
            1, "", "the file is empty; it needs a `sources:` list, `settings:` is optional"
        )
        return None
    if not isinstance(document, CommentedMap):
        problems.add(
            _line_of(document) + 1,
            "",
            f"expected `settings:` and `sources:` at the top level, got {_describe(document)}",
        )
        return None
    for key in document:
        if str(key) not in TOP_LEVEL:
            line = _key_line(document, key)
            problems.add(line, "", _unknown_field(str(key), TOP_LEVEL))
    block = document.get("settings")
    if block is None:
        return FetchSettings()  # no block, or `settings:` left empty: all defaults
    if not isinstance(block, CommentedMap):
        problems.add(
            _place(document, "settings")[0] + 1,
            "settings",
            f"expected a mapping of settings, got {_describe(block)}",
        )
        return None
    model = _validate(_SettingsModel, block, "settings", problems)
    return model.build() if model is not None else None


def _check_sources(document: Any, problems: _Problems) -> list[Source]:
    """Validate every entry of `sources:`, then the uniqueness of ids."""
    if not isinstance(document, CommentedMap):
        return []
    if "sources" not in document:
        problems.add(
            _line_of(document) + 1, "", "no `sources:` list; add one with at least one source"
        )
        return []
    entries = document["sources"]
    line = _place(document, "sources")[0] + 1
    if not isinstance(entries, CommentedSeq):
        problems.add(line, "sources", f"expected a list of sources, got {_describe(entries)}")
        return []
    if not entries:
        problems.add(line, "sources", "the list is empty; add at least one source")
        return []
    sources: list[Source] = []
    for index, entry in enumerate(entries):
        source = _check_entry(entries, index, entry, problems)
        if source is not None:
            sources.append(source)
    _check_unique_ids(entries, problems)
    return sources


def _check_entry(
    entries: CommentedSeq, index: int, entry: Any, problems: _Problems
) -> Source | None:
    where = _entry_name(index, entry)
    if not isinstance(entry, CommentedMap):
        line = entries.lc.item(index)[0] + 1
        problems.add(
            line, where, f"expected a mapping with id, name, url..., got {_describe(entry)}"
        )
        return None
    model = _validate(_SourceModel, entry, where, problems)
    return model.build() if model is not None else None


def _check_unique_ids(entries: CommentedSeq, problems: _Problems) -> None:
    """Ids name sources in the database and in reports: a repeated id is an error on both."""
    first: dict[str, tuple[int, int]] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, CommentedMap) or not isinstance(entry.get("id"), str):
            continue
        ident = str(entry["id"])
        line = _place(entry, "id")[0] + 1
        if ident not in first:
            first[ident] = (index, line)
            continue
        other, other_line = first[ident]
        problems.add(
            line,
            _entry_name(index, entry),
            f'field "id": duplicate id "{ident}", already used by sources[{other}] '
            f"on line {other_line}",
        )


M = TypeVar("M", bound=_Strict)


def _validate(model: type[M], node: CommentedMap, where: str, problems: _Problems) -> M | None:
    """Validate one mapping; translate each pydantic error into a located, readable line."""
    try:
        data = _plain(node, [MAX_NODES])
    except _TooLarge:
        problems.add(
            _line_of(node) + 1, where, "too many values, or an alias that refers to itself"
        )
        return None
    try:
        return model.model_validate(data)
    except ValidationError as e:
        fields = tuple(model.model_fields)
        details = e.errors(include_url=False)
        # `categry: press` is one mistake: say "did you mean", not also "missing category".
        misspelt = {
            name
            for error in details
            if error["type"] == "extra_forbidden"
            for name in _close_names(str(error["loc"][-1]), fields)
        }
        for error in details:
            if error["type"] == "missing" and error["loc"][0] in misspelt:
                continue
            _report(error, node, where, fields, problems)
        return None


def _report(
    error: ErrorDetails,
    node: CommentedMap,
    where: str,
    fields: tuple[str, ...],
    problems: _Problems,
) -> None:
    loc = tuple(error["loc"])
    unknown = error["type"] == "extra_forbidden"
    position = _position(node, loc, key=unknown)
    line = (position[0] if position else _line_of(node)) + 1
    field = ".".join(str(p) for p in loc[:1]) + "".join(f"[{p}]" for p in loc[1:])
    if unknown:
        problems.add(line, where, _unknown_field(str(loc[-1]), fields))
        return
    if error["type"] == "missing":
        problems.add(line, where, f'missing required field "{field}"')
        return
    raw = problems.raw(position)
    problems.add(line, where, f'field "{field}": {_explain(error, raw)}')


def _explain(error: ErrorDetails, raw: str | None) -> str:
    """The pydantic message, plus what was found, plus the YAML trap it probably is."""
    value = error.get("input")
    message = MESSAGES.get(error["type"], error["msg"])
    if error["type"] in NO_ECHO:
        return message
    got = ", got" if message.startswith("expected") else "; got"
    if error["type"] == "string_type" and _is_scalar(value) and raw:
        return f'{message}{got} {_describe(value, raw)}; quote it to keep it as written: "{raw}"'
    if error["type"] == "bool_type" and isinstance(value, str):
        return f'{message}{got} "{value}" (text: YAML 1.2 reads only true and false as booleans)'
    if isinstance(value, str):
        return message if f'"{value}"' in message else f'{message}{got} "{value}"'
    return f"{message}{got} {_describe(value, raw)}"


def _is_scalar(value: Any) -> bool:
    return isinstance(value, bool | int | float | date)


def _describe(value: Any, raw: str | None = None) -> str:
    shown = f" ({raw})" if raw else ""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"a boolean{shown}"
    if isinstance(value, int | float):
        return f"a number{shown or f' ({value})'}"
    if isinstance(value, date):
        return f"a date{shown}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f'"{value}"' if isinstance(value, str) else type(value).__name__


def _unknown_field(key: str, allowed: tuple[str, ...]) -> str:
    """Unknown keys are errors; the message suggests the closest names and guards secrets."""
    if SECRET_KEY.search(key):
        return (
            f"field {key!r} is not allowed: secrets never go in sources.yml; "
            "provide them through environment variables"
        )
    close = _close_names(key, allowed)
    if close:
        names = " or ".join(repr(c) for c in close)
        return f"unknown field {key!r} (did you mean {names}?)"
    return f"unknown field {key!r} (allowed: {', '.join(allowed)})"


def _close_names(key: str, allowed: tuple[str, ...]) -> list[str]:
    return difflib.get_close_matches(key, allowed, n=2, cutoff=0.6)


def _entry_name(index: int, entry: Any) -> str:
    ident = entry.get("id") if isinstance(entry, dict) else None
    return f'sources[{index}] (id "{ident}")' if isinstance(ident, str) else f"sources[{index}]"


def _key_line(mapping: CommentedMap, key: Any) -> int:
    try:
        return int(mapping.lc.key(key)[0]) + 1
    except (KeyError, TypeError):
        return _line_of(mapping) + 1
