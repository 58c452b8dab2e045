"""Which parser reads which kind of source: the `kind` of a sources.yml entry picks it.

Every parser is pure and returns a ParsedFeed, so the worker pool, the store and the run report
treat a KEV catalog like an RSS feed: items, warnings, and (for advisories) per-CVE facts.

The feed and page parsers are imported on first use: with feedparser and BeautifulSoup they
are two thirds of the parsers' import (~0.25 s of CPU), which a pool that parses only
advisories (an import) never needs. Pools that parse feeds preload them (see pool.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Final

import techwatch
from techwatch.parse.certfr import parse_certfr
from techwatch.parse.csaf import parse_csaf
from techwatch.parse.cve_json5 import parse_cve_json5
from techwatch.parse.epss import parse_epss
from techwatch.parse.kev import parse_kev
from techwatch.parse.nvd import parse_nvd
from techwatch.parse.osv import parse_osv
from techwatch.types import HtmlSelectors, ParsedFeed

AdvisoryParser = Callable[..., ParsedFeed]

ADVISORY_PARSERS: Final[Mapping[str, AdvisoryParser]] = {
    "cisa-kev": parse_kev,
    "cve-json5": parse_cve_json5,
    "csaf": parse_csaf,
    "certfr-json": parse_certfr,
    "osv": parse_osv,
    "epss": parse_epss,
    "nvd-api": parse_nvd,  # one page of the API; techwatch.crawl fetches the pages
}


def parse_document(
    kind: str,
    source_id: str,
    body: bytes,
    *,
    url: str,
    content_type: str | None = None,
    declared_language: str | None = None,
    fetched_at: datetime,
    selectors: HtmlSelectors | None = None,
) -> ParsedFeed:
    """Parse `body` with the parser of `kind`; an unknown kind is a bug in the caller.

    `selectors` are the CSS selectors of a kind html source (its `html:` block).
    """
    if kind == "feed":
        from techwatch.parse.feeds import parse_feed

        return parse_feed(
            source_id,
            body,
            url=url,
            content_type=content_type,
            declared_language=declared_language,
            fetched_at=fetched_at,
        )
    if kind == "html":
        from techwatch.parse.html_page import parse_html_page

        return parse_html_page(
            source_id,
            body,
            url=url,
            selectors=selectors,
            content_type=content_type,
            declared_language=declared_language,
            fetched_at=fetched_at,
        )
    parser = ADVISORY_PARSERS.get(kind)
    if parser is None:  # config validation allows only registered kinds: this is a bug
        raise ValueError(f"no parser for kind {kind!r}")
    return parser(
        source_id, body, url=url, fetched_at=fetched_at, declared_language=declared_language
    )


#: The code whose changes can change what a file parses into: the parsers, their cleaning
#: helpers and the records they build.
_PARSER_CODE: Final = ("parse/*.py", "clean.py", "types.py", "dedupe.py")


@cache
def parsers_fingerprint() -> str:
    """A digest of techwatch's version and the parser code: an import skips a file it stored
    before only when the same code would read it (a fix to a parser re-reads every file)."""
    root = Path(techwatch.__file__).parent
    digest = hashlib.sha256(techwatch.__version__.encode())
    for path in sorted(p for pattern in _PARSER_CODE for p in root.glob(pattern)):
        digest.update(path.relative_to(root).as_posix().encode() + b"\x00")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:32]
