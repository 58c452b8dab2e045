"""A YAML configuration file -> located problems, or models validated by pydantic.

The generic half of every configuration file: the file is read with size and encoding checks,
parsed with ruamel.yaml's round-trip loader so that every value keeps its line, and validated
in strict mode, so that a number, a date or a boolean is never quietly turned into text.
YAML 1.2 only (`NO`, `yes`, `on` stay text) and duplicate keys are errors. Every problem is
collected with its line, entry and field, then all are raised at once in one `ConfigError`:

    problems = Problems(path, lines, document="sources.yml")
    model = validate(SourceModel, entry, 'sources[3] (id "cert-fr")', problems)
    problems.raise_if_any()   # sources.yml:42: sources[3] (id "cert-fr"): field "url": ...
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import yaml as pyyaml
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.resolver import VersionedResolver
from yaml.cyaml import CParser

from techwatch.errors import ConfigError

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "Problems",
    "StrictModel",
    "describe",
    "key_line",
    "line_of",
    "load_yaml",
    "load_yaml_fast",
    "place",
    "read_text",
    "unknown_field",
    "validate",
]

MAX_FILE_BYTES = 2 * 1024 * 1024
# Aliases can make a small file expand into a huge tree ("billion laughs"): cap the nodes.
MAX_NODES = 200_000

SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[_-]?key|credential|private[_-]?key|bearer",
    re.IGNORECASE,
)
# pydantic's own checks that our validators do not replace, in the words of this file.
MESSAGES = {"list_type": "expected a list, such as [microsoft, exchange]"}
# Errors whose input must not be repeated: it may hold a password (see values.parse_url).
NO_ECHO = frozenset({"url_credentials"})


# --- reading -------------------------------------------------------------------------------


def read_text(path: Path) -> str:
    """Read a configuration file as UTF-8; every failure is a `ConfigError` naming the file."""
    data = _read_bytes(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: the file is not valid UTF-8 (byte 0x{data[e.start]:02x}); "
            "save it as UTF-8"
        ) from e


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


def load_yaml(text: str, path: Path) -> Any:
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


class Problems:
    """Collects every problem of the file, each with its line, then raises them together.

    `document` names the kind of file in messages, such as "sources.yml".
    """

    def __init__(self, path: Path, lines: list[str], *, document: str) -> None:
        self.path = path
        self.lines = lines
        self.document = document
        self.items: list[_Problem] = []

    def add(self, line: int, where: str, message: str) -> None:
        """Record one problem at a 1-based line; `where` names the entry, or is empty."""
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
        """Raise one `ConfigError` with the count, then every problem sorted by line."""
        if not self.items:
            return
        items = sorted(set(self.items))
        count = f"{len(items)} error" + ("s" if len(items) > 1 else "")
        lines = [f"{self.path}: {count} in the configuration:", *(p.text for p in items)]
        raise ConfigError("\n".join(lines))


def line_of(node: Any, default: int = 0) -> int:
    """0-based line where a mapping or list starts."""
    lc = getattr(node, "lc", None)
    return lc.line if lc is not None and lc.line is not None else default


def place(mapping: CommentedMap, key: Any, *, key_only: bool = False) -> tuple[int, int]:
    """Where a key's value is; an empty value has no place of its own, so its key's place."""
    line, column = (
        mapping.lc.key(key) if key_only or mapping[key] is None else mapping.lc.value(key)
    )
    return int(line), int(column)


def key_line(mapping: CommentedMap, key: Any) -> int:
    """1-based line of a key; the mapping's own line when the key has none (merged keys)."""
    try:
        return int(mapping.lc.key(key)[0]) + 1
    except (KeyError, TypeError):
        return line_of(mapping) + 1


def _position(node: Any, loc: tuple[int | str, ...], *, key: bool) -> tuple[int, int] | None:
    """Follow a validation path into the YAML tree: the place of the deepest part that exists.

    With `key`, the last part is a key (an unknown field) and its own position is returned.
    """
    position: tuple[int, int] | None = None
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        try:
            if isinstance(node, CommentedMap) and part in node:
                position = place(node, part, key_only=last and key)
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


# --- validation and its messages -----------------------------------------------------------


class StrictModel(BaseModel):
    """Base of every configuration model: unknown keys refused, no coercion, frozen."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


M = TypeVar("M", bound=StrictModel)


def validate(model: type[M], node: CommentedMap, where: str, problems: Problems) -> M | None:
    """Validate one mapping; translate each pydantic error into a located, readable line."""
    try:
        data = _plain(node, [MAX_NODES])
    except _TooLarge:
        problems.add(line_of(node) + 1, where, "too many values, or an alias that refers to itself")
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
    problems: Problems,
) -> None:
    loc = tuple(error["loc"])
    unknown = error["type"] == "extra_forbidden"
    position = _position(node, loc, key=unknown)
    line = (position[0] if position else line_of(node)) + 1
    field = ".".join(str(p) for p in loc[:1]) + "".join(f"[{p}]" for p in loc[1:])
    if unknown:
        problems.add(line, where, unknown_field(str(loc[-1]), fields, problems.document))
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
        return f'{message}{got} {describe(value, raw)}; quote it to keep it as written: "{raw}"'
    if error["type"] == "bool_type" and isinstance(value, str):
        return f'{message}{got} "{value}" (text: YAML 1.2 reads only true and false as booleans)'
    if isinstance(value, str):
        return message if f'"{value}"' in message else f'{message}{got} "{value}"'
    return f"{message}{got} {describe(value, raw)}"


def _is_scalar(value: Any) -> bool:
    return isinstance(value, bool | int | float | date)


def describe(value: Any, raw: str | None = None) -> str:
    """What a value is, in words: "a boolean (yes)", "a list", "an empty value"..."""
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


def unknown_field(key: str, allowed: tuple[str, ...], document: str) -> str:
    """Unknown keys are errors; the message suggests the closest names and guards secrets."""
    if SECRET_KEY.search(key):
        return (
            f"field {key!r} is not allowed: secrets never go in {document}; "
            "provide them through environment variables"
        )
    close = _close_names(key, allowed)
    if close:
        names = " or ".join(repr(c) for c in close)
        return f"unknown field {key!r} (did you mean {names}?)"
    return f"unknown field {key!r} (allowed: {', '.join(allowed)})"


def _close_names(key: str, allowed: tuple[str, ...]) -> list[str]:
    return difflib.get_close_matches(key, allowed, n=2, cutoff=0.6)


# --- fast path for valid files -------------------------------------------------------------

# Directives and tabs: libyaml and ruamel do not judge them alike (a tab after `key:`...).
_ROUND_TRIP_ONLY = re.compile(r"\t|^%", re.MULTILINE)
_PLAIN_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_PLAIN_FLOAT = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")
_TRUE = frozenset({"true", "True", "TRUE"})


class _NotFast(Exception):
    """Something in the document that the fast loader will not interpret: use ruamel."""


def load_yaml_fast(text: str) -> Any | None:
    """The document parsed by libyaml, as ruamel's commented containers without line numbers,
    or None when only the round-trip loader (`load_yaml`) may read it.

    The round-trip loader costs ~1 ms per source entry, most of a night's start-up when nothing
    changed. This one returns the values `load_yaml` would (YAML 1.2 types through ruamel's own
    resolver; only plain decimal numbers, booleans, nulls and strings), and gives up on anything
    else: duplicate keys, anchors, aliases, tags, merge keys, block scalars, tabs, directives,
    a second document, a syntax error. Its containers carry no lines, so a caller re-reads with
    `load_yaml` when a check fails, for the messages.
    """
    if _ROUND_TRIP_ONLY.search(text) or not getattr(pyyaml, "__with_libyaml__", False):
        return None
    try:
        parser = CParser(text)
        try:
            plain = _document(parser)
        finally:
            parser.dispose()
        return _commented(plain)
    except (_NotFast, pyyaml.YAMLError, RecursionError, TypeError, ValueError):
        return None


def _document(parser: CParser) -> Any:
    """The stream's single document as plain containers, built from libyaml's events: 3x
    faster on 500 sources than composing its nodes first, then constructing them."""
    top: list[Any] = []
    # Open containers, each with the key read and awaiting its value (mappings).
    open_: list[tuple[dict[Any, Any] | list[Any], list[Any]]] = []
    documents = 0
    while True:
        event = parser.get_event()
        kind = type(event)
        if kind is pyyaml.ScalarEvent:
            _refuse_marks(event)
            if event.style in ("|", ">"):
                raise _NotFast("a block scalar")
            _add(top, open_, _resolve_scalar(event.value, event.implicit[0]))
        elif kind is pyyaml.MappingStartEvent or kind is pyyaml.SequenceStartEvent:
            _refuse_marks(event)
            container: dict[Any, Any] | list[Any] = {} if kind is pyyaml.MappingStartEvent else []
            _add(top, open_, container)
            open_.append((container, []))
        elif kind is pyyaml.MappingEndEvent or kind is pyyaml.SequenceEndEvent:
            open_.pop()
        elif kind is pyyaml.AliasEvent:
            raise _NotFast("an alias")
        elif kind is pyyaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _NotFast("a second document")
        elif kind is pyyaml.StreamEndEvent:
            return top[0] if top else None


def _refuse_marks(event: Any) -> None:
    """Tags and anchors are the round-trip loader's to interpret."""
    if event.tag is not None or event.anchor is not None:
        raise _NotFast("a tag or an anchor")


def _add(top: list[Any], open_: list[tuple[Any, list[Any]]], value: Any) -> None:
    """Put a node's value where it belongs: the document, a list, a mapping's key or value."""
    if not open_:
        top.append(value)
        return
    container, key = open_[-1]
    if isinstance(container, list):
        container.append(value)
    elif key:
        container[key.pop()] = value
    elif isinstance(value, dict | list) or value in container:
        raise _NotFast("a duplicate or complex key")
    else:
        key.append(value)


def _resolve_scalar(value: str, plain: bool) -> Any:
    """A scalar's value as ruamel's YAML 1.2 loader types it, or _NotFast for the unusual."""
    if not plain:
        return value
    kind = _implicit_kind(value)
    if kind == "str":
        return value
    if kind == "null":
        return None
    if kind == "bool":
        return value in _TRUE
    if kind == "int" and _PLAIN_INT.fullmatch(value):
        return int(value)
    if kind == "float" and _PLAIN_FLOAT.fullmatch(value):
        return float(value)
    raise _NotFast(value)


def _implicit_kind(value: str) -> str:
    """The YAML 1.2 type ruamel's resolver gives a plain scalar ("str", "int", "bool"...).

    Its rules, looked up as its `resolve` does, by first character; `resolve` itself costs
    ~0.1 s for 500 sources, working out the YAML version twice per scalar.
    """
    rules = _implicit_rules()
    for tag, pattern in [*rules.get(value[:1], ()), *rules.get(None, ())]:
        if pattern.match(value):
            return str(tag).rsplit(":", 1)[-1]
    return "str"


@cache
def _implicit_rules() -> dict[str | None, list[tuple[str, re.Pattern[str]]]]:
    """ruamel's YAML 1.2 implicit typing rules, by first character (None: any)."""
    return dict(_RESOLVER.versioned_resolver)


def _commented(node: Any) -> Any:
    """Plain containers -> ruamel's commented ones, every place at line 0, column 0."""
    if isinstance(node, dict):
        mapping = CommentedMap()
        for key, value in node.items():
            mapping[key] = _commented(value)
            mapping.lc.add_kv_line_col(key, [0, 0, 0, 0])
        mapping.lc.line, mapping.lc.col = 0, 0
        return mapping
    if isinstance(node, list):
        seq = CommentedSeq(_commented(v) for v in node)
        for index in range(len(seq)):
            seq.lc.add_kv_line_col(index, [0, 0])
        seq.lc.line, seq.lc.col = 0, 0
        return seq
    return node


_RESOLVER = VersionedResolver(version=(1, 2))
