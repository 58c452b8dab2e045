"""Labelled examples and classify inputs: JSON Lines in, validated records out.

A labels line is a classify input line plus any subset of `topics`, `sectors` and `severity`.
A missing key means "unknown on that axis", so an example only teaches the axes it carries.
Every error names the file and the line, because the files are written by hand.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from techwatch.errors import ConfigError
from techwatch.taxonomy import (
    EXCLUSIVE_TOPIC,
    SECTOR_KEYS,
    SEVERITY_KEYS,
    TOPIC_KEYS,
    label_problems,
)

SEED_DIR: Final = Path(__file__).resolve().parent / "seed"
AXES: Final = ("topics", "sectors", "severity")


class CorpusError(ConfigError):
    """A bad input or labels line; a usage error (exit 2) that names file and line."""


@dataclass(frozen=True, slots=True)
class Document:
    """What the model reads: one classify input line."""

    id: str
    title: str
    text: str
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Example:
    """A document with the labels known for it; None on an axis means unknown, not negative.

    `weight` is how much the example counts when the severity axis is fitted (model.py): the
    tens of thousands of CVE rows count less than a hand-labelled news item, so that they teach
    CVSS wording without making every technical text sound medium or high.
    """

    document: Document
    topics: tuple[str, ...] | None = None
    sectors: tuple[str, ...] | None = None
    severity: str | None = None
    weight: float = 1.0

    def knows(self, axis: str) -> bool:
        """Whether this example teaches `axis` (topics, sectors or severity)."""
        return getattr(self, axis) is not None


def read_documents(path: Path) -> list[Document]:
    """Read a classify input file; stop at the first bad line with its number."""
    return [document for document, _ in _parse_file(path)]


def read_examples(paths: Iterable[Path]) -> list[Example]:
    """Read labels files in order; ids must be unique across all of them."""
    examples: list[Example] = []
    seen: dict[str, str] = {}
    for path in paths:
        for document, raw in _parse_file(path):
            where = f"{path}:{_line_of(raw)}"
            if document.id in seen:
                first = seen[document.id]
                raise CorpusError(f"{where}: id {document.id!r} already used at {first}")
            seen[document.id] = where
            examples.append(_example(document, raw, where))
    return examples


def seed_files(folder: Path = SEED_DIR) -> list[Path]:
    """The seed corpus files, in a stable order so that training is reproducible."""
    return sorted(folder.glob("*.jsonl"))


def counts(examples: Sequence[Example]) -> dict[str, Any]:
    """How many examples teach each axis and each label: what `model info` shows."""
    result: dict[str, Any] = {"examples": len(examples)}
    for axis in AXES:
        known = [e for e in examples if e.knows(axis)]
        per_label: dict[str, int] = {}
        for example in known:
            for label in _as_tuple(getattr(example, axis)):
                per_label[label] = per_label.get(label, 0) + 1
        result[axis] = {"examples": len(known), "labels": dict(sorted(per_label.items()))}
    return result


def _as_tuple(value: tuple[str, ...] | str) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else value


def _parse_file(path: Path) -> Iterator[tuple[Document, dict[str, Any]]]:
    """Yield (document, raw object) per non-blank line; raw carries its line number."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise CorpusError(f"{path}: cannot read: {e}") from e
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        raw = _json_object(line, f"{path}:{lineno}")
        document = _document(raw, f"{path}:{lineno}")
        raw["__line__"] = lineno
        yield document, raw


def _line_of(raw: dict[str, Any]) -> int:
    return int(raw["__line__"])


def _json_object(line: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as e:
        raise CorpusError(f"{where}: invalid JSON: {e.msg} (column {e.colno})") from e
    if not isinstance(value, dict):
        raise CorpusError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def _document(raw: dict[str, Any], where: str) -> Document:
    for key in ("id", "title"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise CorpusError(f"{where}: missing or empty {key!r} (a non-empty string)")
    for key in ("text", "language"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise CorpusError(f"{where}: {key!r} must be a string")
    return Document(
        id=raw["id"], title=raw["title"], text=raw.get("text") or "", language=raw.get("language")
    )


def _example(document: Document, raw: dict[str, Any], where: str) -> Example:
    topics = _label_list(raw, "topics", where)
    sectors = _label_list(raw, "sectors", where)
    severity = raw.get("severity")
    if severity is not None and not isinstance(severity, str):
        raise CorpusError(f"{where}: 'severity' must be a string")
    problems = _problems(topics, sectors, severity)
    if problems:
        raise CorpusError(f"{where}: id {document.id!r}: {'; '.join(problems)}")
    return Example(document, topics, sectors, severity)


def _label_list(raw: dict[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CorpusError(f"{where}: {key!r} must be a list of label strings")
    return tuple(dict.fromkeys(value))


def _problems(
    topics: tuple[str, ...] | None, sectors: tuple[str, ...] | None, severity: str | None
) -> list[str]:
    """The taxonomy's rules, applied only across the axes this example actually has."""
    if topics is not None and sectors is not None:
        return label_problems(list(topics), list(sectors), severity)
    problems: list[str] = []
    if topics is not None:
        problems += [f"unknown topic {t!r}" for t in topics if t not in TOPIC_KEYS]
        if not topics:
            problems.append("no topic")
        if EXCLUSIVE_TOPIC in topics and len(topics) > 1:
            problems.append("off_topic cannot be combined with another topic")
    if sectors is not None:
        problems += [f"unknown sector {s!r}" for s in sectors if s not in SECTOR_KEYS]
    if severity is not None and severity not in SEVERITY_KEYS:
        problems.append(f"unknown severity {severity!r}")
    return problems
