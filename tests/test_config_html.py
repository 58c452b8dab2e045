"""The `html:` block of sources.yml: CSS selectors checked at load, with file, line and field."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from techwatch.config import parse_sources
from techwatch.errors import ConfigError
from techwatch.types import HtmlSelectors

FILE = Path("sources.yml")

# Line numbers below are the file's: the html block starts on line 8.
PAGE = """\
sources:
  - id: edoeb-news
    name: EDÖB news
    kind: html
    url: https://www.edoeb.admin.ch/news
    category: regulation
    language: de
    html:
      entry: "div.news-list article"
      title: "h3"
"""


def errors(text: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_sources(text, path=FILE)
    first, *rest = str(raised.value).splitlines()
    assert re.fullmatch(rf"{FILE}: {len(rest)} errors? in the configuration:", first), first
    return rest


def test_a_full_block_becomes_frozen_selectors() -> None:
    text = PAGE + (
        '      link: "a[href]"\n'
        '      date: "time[datetime]"\n'
        '      summary: "p.teaser"\n'
        '      date_format: "%d.%m.%Y"\n'
    )
    (source,) = parse_sources(text, path=FILE).sources
    assert source.kind == "html"
    assert source.html == HtmlSelectors(
        entry="div.news-list article",
        title="h3",
        link="a[href]",
        date="time[datetime]",
        summary="p.teaser",
        date_format="%d.%m.%Y",
    )


def test_a_feed_has_no_selectors() -> None:
    text = PAGE.replace("kind: html", "kind: feed").split("    html:")[0]
    (source,) = parse_sources(text, path=FILE).sources
    assert source.html is None


# (case, document, line, expected fragment)
CASES = [
    (
        "bad-entry-selector",
        PAGE.replace('"div.news-list article"', '"div.news-list article["'),
        9,
        'sources[0] (id "edoeb-news"), html: field "entry": invalid CSS selector (Malformed',
    ),
    (
        "bad-optional-selector",
        PAGE + '      summary: "p:::teaser"\n',
        11,
        'sources[0] (id "edoeb-news"), html: field "summary": invalid CSS selector',
    ),
    (
        "missing-title",
        PAGE.replace('      title: "h3"\n', ""),
        9,  # where the block's mappings start
        'sources[0] (id "edoeb-news"), html: missing required field "title"',
    ),
    (
        "unknown-key",
        PAGE + '      tittle: "h2"\n',
        11,
        "html: unknown field 'tittle' (did you mean 'title'?)",
    ),
    (
        "empty-selector",
        PAGE.replace('title: "h3"', 'title: ""'),
        10,
        'html: field "title": must not be empty',
    ),
    (
        "date-format-without-directive",
        PAGE + '      date_format: "dd.mm.yyyy"\n',
        11,
        'html: field "date_format": has no % directive',
    ),
    (
        "date-format-unusable",
        PAGE + '      date_format: "%Q"\n',
        11,
        'html: field "date_format": not a usable date format',
    ),
    (
        "block-missing",
        PAGE.split("    html:")[0],
        4,
        'sources[0] (id "edoeb-news"): kind html needs an "html:" block',
    ),
    (
        "block-not-a-mapping",
        PAGE.split("    html:")[0] + '    html: "div.news"\n',
        8,
        'field "html": expected a mapping of CSS selectors, got "div.news"',
    ),
    (
        "block-on-a-feed",
        PAGE.replace("kind: html", "kind: feed"),
        8,
        'field "html": only for kind html (this source is kind feed); remove it',
    ),
]


@pytest.mark.parametrize(
    ("document", "line", "fragment"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_mistake_names_file_line_entry_and_field(
    document: str, line: int, fragment: str
) -> None:
    (problem,) = errors(document)
    assert problem.startswith(f"{FILE}:{line}: "), problem
    assert fragment in problem, problem


def test_mistakes_in_the_block_and_the_entry_are_reported_together() -> None:
    text = PAGE.replace("category: regulation", "category: news").replace('"h3"', '"h3["')
    problems = errors(text)
    assert len(problems) == 2
    assert 'field "category"' in problems[0]
    assert 'html: field "title"' in problems[1]


# A fresh interpreter: this test process has imported soupsieve already.
_FEEDS_ONLY = """
import sys
from pathlib import Path
import pipelines.ingest
from techwatch.config import parse_sources
parse_sources(
    "sources:\\n  - id: a\\n    name: A\\n    kind: feed\\n    url: https://a.example/feed\\n"
    "    category: advisory\\n    language: en\\n",
    path=Path("sources.yml"),
)
print(sorted(m for m in ("soupsieve", "bs4", "lxml") if m in sys.modules))
"""


def test_a_run_without_html_sources_never_loads_the_selector_engine() -> None:
    """soupsieve brings bs4 and lxml (~7 MiB of the ingestion's main process), which only a
    source with selectors needs there; the parse workers load them on their own."""
    done = subprocess.run(
        [sys.executable, "-c", _FEEDS_ONLY], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
