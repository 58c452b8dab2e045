"""The crawl kinds in sources.yml: an optional `crawl:` block, checked with file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from techwatch.config import parse_sources
from techwatch.errors import ConfigError
from techwatch.types import CrawlSettings

FILE = Path("sources.yml")

NVD = """\
sources:
  - id: nvd-cves
    name: NVD
    kind: nvd-api
    url: https://services.nvd.nist.gov/rest/json/cves/2.0
    category: advisory
"""


def errors(text: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_sources(text, path=FILE)
    return str(raised.value).splitlines()[1:]


def test_a_crawl_kind_without_a_block_gets_the_defaults_later() -> None:
    [source] = parse_sources(NVD, path=FILE).sources
    assert (source.kind, source.crawl) == ("nvd-api", None)


def test_a_crawl_block_becomes_frozen_settings() -> None:
    text = NVD + "    crawl:\n      initial_days: 30\n      max_documents: 50\n"
    [source] = parse_sources(text, path=FILE).sources
    assert source.crawl == CrawlSettings(initial_days=30, max_documents=50, concurrency=4)


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            "    crawl:\n      pages: 3\n",
            "sources.yml:8: sources[0] (id \"nvd-cves\"), crawl: unknown field 'pages'",
        ),
        (
            "    crawl:\n      initial_days: 0\n",
            'sources.yml:8: sources[0] (id "nvd-cves"), crawl: field "initial_days": '
            "must be at least 1",
        ),
        (
            "    crawl: 7\n",
            'sources.yml:7: sources[0] (id "nvd-cves"): field "crawl": expected a mapping',
        ),
    ],
)
def test_a_bad_crawl_block_names_line_and_field(block: str, expected: str) -> None:
    [error] = errors(NVD + block)
    assert error.startswith(expected), error


def test_a_crawl_block_on_a_plain_feed_is_refused() -> None:
    text = NVD.replace("kind: nvd-api", "kind: feed") + "    crawl:\n      max_documents: 5\n"
    [error] = errors(text)
    assert error.startswith('sources.yml:7: sources[0] (id "nvd-cves"): field "crawl": only for')
