"""The libyaml fast path reads exactly what ruamel's round-trip loader reads, or steps aside.

parse_sources takes the fast path for a valid file; any doubt (a value typed unusually, a
construct only the round-trip loader interprets, a syntax libyaml and ruamel might judge
differently) must make load_yaml_fast return None, never a different document.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from techwatch.config import parse_sources, yamldoc
from techwatch.config.yamldoc import load_yaml, load_yaml_fast
from techwatch.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "techwatch/demo/sources.yml"

DOCUMENTS = [
    "a: yes\nb: no\nc: on\nd: off\ne: y",
    "a: true\nb: False\nc: TRUE\nd: tRuE",
    "a: 5\nb: -0\nc: +7\nd: 0777\ne: 0o17\nf: 0x1F\ng: 1_000\nh: 12:30",
    "a: 1.5\nb: .5\nc: 1.\nd: 1e5\ne: .inf\nf: .NaN\ng: -2.5e-3",
    "a: null\nb: ~\nc:\nd: Null\ne: NULL\nf: nULL",
    "a: 2026-01-01\nb: 2026-01-01T10:00:00Z\nc: '2026-01-01'",
    "a: '5'\nb: \"true\"\nc: 'it''s'\nd: \"tab\\there\"\ne: \"\\u00e9\"",
    "a: 1\na: 2",
    "a: &x 1\nb: *x",
    "base: &b {x: 1}\nc:\n  <<: *b\n  y: 2",
    "a: !!str 5\nb: !custom x",
    "a: |\n  line\n  two\nb: >\n  folded\n  text\n",
    "%YAML 1.1\n---\na: yes",
    "a: 1\n---\nb: 2",
    "? [a]\n: b",
    "? complex key\n: value",
    "a: b: c",
    "{",
    "a:\n\t- x",
    "a:\tb",
    "a: multi\n  line plain\n",
    "- [1, 2]\n- {x: y, z: [w]}",
    "1: x\n2.5: y\nnull: z\ntrue: w",
    "a: 'x' # comment\n# b: 1\n",
    "",
    "# only a comment\n",
    "a: https://example.org/?a=1&b=2",
    "a: x #not-a-comment\nb: x#y",
    "a: 'unterminated",
    "a: [1, 2",
    "- a\n  b: c",
    "a:\n  - x\n - y",
    "\ufeffa: 1",
    "a: \"\\x41\"\nb: '\\x41'",
    "a: -\nb: - x",
    "a: ---\nb: ...",
    "a: &anchor 1\nb: 2",
    "a: !!map {x: 1}",
    "<<: {x: 1}",
    "a: x\u00a0y\nb: \u00a0",
    "a: \u0085x",
    "a: x\x07y",
    "a: 'x\ty'",
    "a: 'line\n\n  folded'",
    "- &a [1]\n- *a",
    "a: 1\r\nb: 2\r\n",
    "a: [x, {y: z}, 'w']",
]


def typed(value: Any) -> Any:
    """A value with every container and scalar type spelt out, for an exact comparison."""
    if isinstance(value, dict):
        return ("map", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("seq", [typed(v) for v in value])
    plain = yamldoc._plain(value, [1000])
    return (type(plain).__name__, plain)


@pytest.mark.parametrize("text", DOCUMENTS)
def test_fast_path_reads_what_the_round_trip_loader_reads_or_steps_aside(text: str) -> None:
    fast = load_yaml_fast(text)
    try:
        slow = load_yaml(text, Path("t.yml"))
    except ConfigError:
        assert fast is None, "the round-trip loader refuses this document"
        return
    if fast is not None:
        assert typed(fast) == typed(slow)


@pytest.mark.parametrize(
    "text",
    ["a: 0777", "a: 2026-01-01", "a: 1\na: 2", "a: &x 1\nb: *x", "a: !!str 5", "a: 1_000"],
)
def test_unusual_values_and_constructs_step_aside(text: str) -> None:
    assert load_yaml_fast(text) is None


def test_plain_values_are_typed_as_yaml_1_2_types_them() -> None:
    doc = load_yaml_fast("a: yes\nb: true\nc: 50\nd: 1.5\ne:\nf: '50'")
    assert doc == {"a": "yes", "b": True, "c": 50, "d": 1.5, "e": None, "f": "50"}


def test_the_shipped_and_bench_sources_take_the_fast_path_with_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    from feedgen import sources_yaml

    texts = [
        DEMO.read_text().replace("{base_url}", "https://demo.example"),
        sources_yaml("http://127.0.0.1:8080", 50, 10),
    ]
    for text in texts:
        fast = load_yaml_fast(text)
        assert fast is not None
        assert typed(fast) == typed(load_yaml(text, tmp_path / "sources.yml"))


def test_an_invalid_file_keeps_its_line_numbers(tmp_path: Path) -> None:
    text = (
        "sources:\n"
        "  - id: a\n    name: A\n    kind: feed\n    url: https://a.example/feed\n"
        "    category: press\n"
        "  - id: b\n    name: B\n    kind: feed\n    url: https://b.example/feed\n"
        "    category: presse\n"
    )
    assert load_yaml_fast(text) is not None
    with pytest.raises(ConfigError) as raised:
        parse_sources(text, path=tmp_path / "sources.yml")
    assert f"{tmp_path / 'sources.yml'}:11: sources[1]" in str(raised.value)


def test_fast_and_round_trip_configs_are_equal(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    text = DEMO.read_text().replace("{base_url}", "https://demo.example")
    assert load_yaml_fast(text) is not None
    fast = parse_sources(text, path=tmp_path / "s.yml")
    monkeypatch.setattr("techwatch.config.sources.load_yaml_fast", lambda _text: None)
    assert parse_sources(text, path=tmp_path / "s.yml") == fast
