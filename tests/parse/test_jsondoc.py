"""RELIABILITY 25: hostile or broken JSON advisories fail as malformed_advisory, in bounded time."""

from __future__ import annotations

import time

import pytest

from techwatch.errors import ParseError
from techwatch.parse.jsondoc import load_json


def _load(body: bytes) -> object:
    return load_json(body, source_id="kev", url="https://example.org/kev.json")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nesting"),
        (b'{"a": ' * 5000 + b"1" + b"}" * 5000, "nesting"),
        (b'{"score": ' + b"9" * 5000 + b"}", "digits"),
        (b'{"score": NaN}', "NaN"),
        (b'{"score": -Infinity}', "Infinity"),
        (b'{"score": 1e999}', "out of range"),
        (b'{"vulnerabilities": [{"cveID": "CVE-2026-1"', "invalid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"", "invalid JSON"),
    ],
)
def test_hostile_documents_are_malformed_advisories(body: bytes, reason: str) -> None:
    started = time.monotonic()
    with pytest.raises(ParseError) as info:
        _load(body)
    assert time.monotonic() - started < 2.0
    assert info.value.kind == "malformed_advisory"
    assert info.value.source_id == "kev"
    assert reason in str(info.value)


def test_lone_surrogates_become_replacement_text_that_encodes() -> None:
    document = _load(b'{"desc\\udc00": "flaw \\ud800 here", "pair": "\\ud83d\\ude00"}')
    assert isinstance(document, dict)
    for key, value in document.items():
        key.encode("utf-8")
        value.encode("utf-8")
    assert document["pair"] == "\U0001f600", "a valid surrogate pair is kept"


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    assert _load(b'{"text": "' + b"[{" * 1000 + b'"}') == {"text": "[{" * 1000}


def test_ordinary_documents_load_unchanged() -> None:
    assert _load(b'\xef\xbb\xbf{"cvss": 9.8, "count": 3, "ok": true, "tags": []}') == {
        "cvss": 9.8,
        "count": 3,
        "ok": True,
        "tags": [],
    }


def _nested(depth: int, wide: bool) -> bytes:
    """`depth` levels of alternating objects and lists; `wide` puts shallow siblings first."""
    body = b"1"
    for level in range(depth):
        sibling = b'{"x": 1}, [], ' if wide and level else b""
        body = b'{"a": ' + body + b"}" if level % 2 else b"[" + sibling + body + b"]"
    return body


@pytest.mark.parametrize("wide", [False, True])
def test_nesting_limit_is_exact(wide: bool) -> None:
    assert _load(_nested(64, wide)) is not None
    with pytest.raises(ParseError, match="nesting deeper than 64"):
        _load(_nested(65, wide))
