"""Feed autodiscovery in an HTML page: when a source URL points at a web page instead of its
feed, the run report can say which feed the page advertises, so the fix in sources.yml is a
copy and paste. Only runs on that failure path, so beautifulsoup4's comfort costs nothing.
"""

from __future__ import annotations

from typing import Final

from bs4 import BeautifulSoup, SoupStrainer

from techwatch.clean import resolve_http_url

FEED_TYPES: Final = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml",
     "text/xml"}
)  # fmt: skip
# Feed links live in <head>; the rest of a large page is not worth parsing.
MAX_HEAD_BYTES: Final = 256 * 1024


def advertised_feeds(page: bytes, base_url: str, *, limit: int = 3) -> list[str]:
    """Absolute http(s) URLs of the feeds a page declares with <link rel="alternate">."""
    links = BeautifulSoup(page[:MAX_HEAD_BYTES], "lxml", parse_only=SoupStrainer("link"))
    found: list[str] = []
    for link in links.find_all("link"):
        rel = {value.lower() for value in link.get_attribute_list("rel") if value}
        kind = str(link.get("type") or "").split(";")[0].strip().lower()
        if "alternate" not in rel or kind not in FEED_TYPES:
            continue
        url = resolve_http_url(str(link.get("href") or ""), base_url)
        if url and url not in found:
            found.append(url)
    return found[:limit]
