"""sources.yml -> validated, frozen `FetchSettings` and `Source` records.

The file is read once, at start (see `yamldoc` for reading, line numbers and messages): errors
read `sources.yml:42: sources[3] (id "cert-fr"): field "url": ...`, all of them at once, one per
line, the first line giving the count.

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
        kind: feed                   # feed, cisa-kev, cve-json5, csaf, certfr-json, osv, epss,
                                     # html, nvd-api, csaf-rolie, certfr-feed (crawls: below)
        url: https://www.cert.ssi.gouv.fr/alerte/feed/
        category: advisory           # advisory, vendor, press, regulation, status, blog
        language: fr                 # ISO 639-1, optional
        vendors: [microsoft]         # optional tags
        products: [exchange]
        enabled: true                # default true
        poll_interval: 1h            # default 6h, at least 5m
        confirmed: true              # URL confirmed from a public reference; default false
      - id: edoeb-news               # kind html: a page without a feed, read with CSS selectors
        kind: html
        ...
        html:                        # required for kind html, refused for the others
          entry: "div.news article"  # required: one element per entry
          title: "h3"                # required, relative to the entry
          link: "a[href]"            # optional: href of the first match, else the title's link
          date: "time"               # optional: its datetime attribute, else its text
          summary: "p.teaser"        # optional
          date_format: "%d.%m.%Y"    # optional; else ISO and common fr/de/en forms
      - id: nvd-cves                 # crawl kinds make several requests (techwatch.crawl):
        kind: nvd-api                # nvd-api: CVE API 2.0 by lastModified window and page
        ...                          # csaf-rolie: a ROLIE feed, then its changed CSAF documents
        crawl:                       # certfr-feed: a CERT-FR RSS, then each new entry's json/
          initial_days: 7            # first run: how far back (nvd-api, csaf-rolie); default 7
          max_documents: 200         # documents a run (csaf-rolie, certfr-feed); default 200
          concurrency: 4             # documents at once (csaf-rolie, certfr-feed); default 4

Secrets never go in this file: there is no field for them, and a key that looks like one gets
a message pointing to environment variables.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, get_args

from pydantic import Field, PlainValidator
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from techwatch.config.values import (
    Duration,
    Flag,
    Language,
    PollInterval,
    Size,
    Slug,
    Text,
    Url,
    Whole0,
    Whole1,
    invalid,
    one_of,
    parse_text,
)
from techwatch.config.yamldoc import (
    Problems,
    StrictModel,
    describe,
    key_line,
    line_of,
    load_yaml,
    load_yaml_fast,
    place,
    read_text,
    unknown_field,
    validate,
)
from techwatch.crawl import CRAWL_KINDS
from techwatch.types import (
    Category,
    CrawlSettings,
    FetchSettings,
    HtmlSelectors,
    Source,
    SourceKind,
)

__all__ = ["SourcesConfig", "load_sources", "parse_sources"]

DOCUMENT = "sources.yml"
KINDS: tuple[str, ...] = get_args(SourceKind)
CATEGORIES: tuple[str, ...] = get_args(Category)
DEFAULT_POLL_INTERVAL_S = 6 * 3600
TOP_LEVEL = ("settings", "sources")


@dataclass(frozen=True)
class SourcesConfig:
    """The validated content of one sources.yml."""

    settings: FetchSettings
    sources: tuple[Source, ...]
    path: Path


def load_sources(path: Path) -> SourcesConfig:
    """Read and validate a sources.yml; every failure is a `ConfigError` naming the file."""
    path = Path(path)
    return parse_sources(read_text(path), path=path)


def parse_sources(text: str, *, path: Path) -> SourcesConfig:
    """Validate sources.yml text; `path` only names the file in messages and in the result."""
    path = Path(path)
    text = text.removeprefix("\ufeff")
    lines = re.split(r"\r\n|\r|\n", text)
    # A valid file is read by libyaml (10x faster on 500 sources); a file with a problem is read
    # again by ruamel's round-trip loader, whose line numbers the messages need.
    fast = load_yaml_fast(text)
    if fast is not None:
        config, problems = _check(fast, path, lines)
        if config is not None:
            return config
    config, problems = _check(load_yaml(text, path), path, lines)
    problems.raise_if_any()
    assert config is not None  # no problem recorded means the config was built
    return config


def _check(document: Any, path: Path, lines: list[str]) -> tuple[SourcesConfig | None, Problems]:
    """The config, or None and the problems found in the document."""
    problems = Problems(path, lines, document=DOCUMENT)
    settings = _check_settings(document, problems)
    sources = _check_sources(document, problems)
    if problems.items or settings is None:
        return None, problems
    return SourcesConfig(settings=settings, sources=tuple(sources), path=path), problems


# --- models --------------------------------------------------------------------------------

_DEFAULTS = FetchSettings()


class _SettingsModel(StrictModel):
    """The `settings:` block: FetchSettings field names, durations and sizes readable."""

    user_agent: Text = _DEFAULTS.user_agent
    connect_timeout_s: Duration = _DEFAULTS.connect_timeout_s
    read_timeout_s: Duration = _DEFAULTS.read_timeout_s
    total_timeout_s: Duration = _DEFAULTS.total_timeout_s
    max_bytes: Size = _DEFAULTS.max_bytes
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


class _SourceModel(StrictModel):
    """One entry of `sources:`."""

    id: Slug
    name: Text
    kind: Annotated[str, PlainValidator(one_of("kind", KINDS))]
    url: Url
    category: Annotated[str, PlainValidator(one_of("category", CATEGORIES))]
    language: Language = None
    vendors: list[Text] = Field(default_factory=list)
    products: list[Text] = Field(default_factory=list)
    enabled: Flag = True
    poll_interval: PollInterval = DEFAULT_POLL_INTERVAL_S
    confirmed: Flag = False
    html: Any = None  # checked on its own by _check_html, so its messages name its fields
    crawl: Any = None  # checked on its own by _check_crawl

    def build(
        self, html: HtmlSelectors | None = None, crawl: CrawlSettings | None = None
    ) -> Source:
        fields = self.model_dump()
        fields["poll_interval_s"] = fields.pop("poll_interval")
        fields["vendors"] = tuple(fields["vendors"])
        fields["products"] = tuple(fields["products"])
        fields["html"] = html
        fields["crawl"] = crawl
        return Source(**fields)


def parse_selector(value: Any) -> str:
    """A CSS selector soupsieve compiles: a typo fails at start, not every night at parse."""
    import soupsieve  # here: it imports bs4 and lxml (~7 MiB), which only html sources need

    text = parse_text(value)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated pseudo-classes still work
            soupsieve.compile(text)
    except soupsieve.SelectorSyntaxError as e:
        reason = str(e).splitlines()[0]
        raise invalid("css_selector", "invalid CSS selector ({reason})", reason=reason) from e
    return text


def parse_date_format(value: Any) -> str:
    """A strptime format that can read back a date it wrote, such as %d.%m.%Y."""
    text = parse_text(value)
    sample = datetime(2024, 11, 28, 13, 45, 30)
    try:
        datetime.strptime(sample.strftime(text), text)
    except ValueError as e:
        raise invalid(
            "date_format", "not a usable date format; write it like %d.%m.%Y or %Y-%m-%d"
        ) from e
    if "%" not in text:
        raise invalid("date_format", "has no % directive; write it like %d.%m.%Y")
    return text


Selector = Annotated[str, PlainValidator(parse_selector)]


class _HtmlModel(StrictModel):
    """The `html:` block of a kind html source: CSS selectors relative to each entry."""

    entry: Selector
    title: Selector
    link: Selector | None = None
    date: Selector | None = None
    summary: Selector | None = None
    date_format: Annotated[str, PlainValidator(parse_date_format)] | None = None

    def build(self) -> HtmlSelectors:
        return HtmlSelectors(**self.model_dump())


_CRAWL_DEFAULTS = CrawlSettings()


class _CrawlModel(StrictModel):
    """The `crawl:` block of a crawl kind: how far one run reaches."""

    initial_days: Whole1 = _CRAWL_DEFAULTS.initial_days
    max_documents: Whole1 = _CRAWL_DEFAULTS.max_documents
    concurrency: Whole1 = _CRAWL_DEFAULTS.concurrency

    def build(self) -> CrawlSettings:
        return CrawlSettings(**self.model_dump())


# --- checks --------------------------------------------------------------------------------


def _check_settings(document: Any, problems: Problems) -> FetchSettings | None:
    """Validate the top level and the `settings:` block; None when it has problems."""
    if document is None:
        problems.add(
            1, "", "the file is empty; it needs a `sources:` list, `settings:` is optional"
        )
        return None
    if not isinstance(document, CommentedMap):
        problems.add(
            line_of(document) + 1,
            "",
            f"expected `settings:` and `sources:` at the top level, got {describe(document)}",
        )
        return None
    for key in document:
        if str(key) not in TOP_LEVEL:
            line = key_line(document, key)
            problems.add(line, "", unknown_field(str(key), TOP_LEVEL, problems.document))
    block = document.get("settings")
    if block is None:
        return FetchSettings()  # no block, or `settings:` left empty: all defaults
    if not isinstance(block, CommentedMap):
        problems.add(
            place(document, "settings")[0] + 1,
            "settings",
            f"expected a mapping of settings, got {describe(block)}",
        )
        return None
    model = validate(_SettingsModel, block, "settings", problems)
    return model.build() if model is not None else None


def _check_sources(document: Any, problems: Problems) -> list[Source]:
    """Validate every entry of `sources:`, then the uniqueness of ids."""
    if not isinstance(document, CommentedMap):
        return []
    if "sources" not in document:
        problems.add(
            line_of(document) + 1, "", "no `sources:` list; add one with at least one source"
        )
        return []
    entries = document["sources"]
    line = place(document, "sources")[0] + 1
    if not isinstance(entries, CommentedSeq):
        problems.add(line, "sources", f"expected a list of sources, got {describe(entries)}")
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
    entries: CommentedSeq, index: int, entry: Any, problems: Problems
) -> Source | None:
    where = _entry_name(index, entry)
    if not isinstance(entry, CommentedMap):
        line = entries.lc.item(index)[0] + 1
        problems.add(
            line, where, f"expected a mapping with id, name, url..., got {describe(entry)}"
        )
        return None
    model = validate(_SourceModel, entry, where, problems)
    html = _check_html(entry, where, problems)
    crawl = _check_crawl(entry, where, problems)
    return model.build(html, crawl) if model is not None else None


def _check_html(entry: CommentedMap, where: str, problems: Problems) -> HtmlSelectors | None:
    """The `html:` block: required for kind html, refused for every other kind."""
    kind, block = entry.get("kind"), entry.get("html")
    if kind != "html":
        if "html" in entry and kind in KINDS:
            problems.add(
                key_line(entry, "html"),
                where,
                f'field "html": only for kind html (this source is kind {kind}); remove it',
            )
        return None
    if block is None:
        line = key_line(entry, "html") if "html" in entry else key_line(entry, "kind")
        problems.add(
            line,
            where,
            'kind html needs an "html:" block with at least "entry" and "title" CSS selectors',
        )
        return None
    return _check_block(entry, "html", _HtmlModel, "a mapping of CSS selectors", where, problems)


def _check_crawl(entry: CommentedMap, where: str, problems: Problems) -> CrawlSettings | None:
    """The optional `crawl:` block: only for crawl kinds; absent means the defaults."""
    kind, block = entry.get("kind"), entry.get("crawl")
    if "crawl" not in entry:
        return None
    if kind not in CRAWL_KINDS:
        if kind in KINDS:
            problems.add(
                key_line(entry, "crawl"),
                where,
                f'field "crawl": only for kinds {", ".join(sorted(CRAWL_KINDS))} '
                f"(this source is kind {kind}); remove it",
            )
        return None
    if block is None:
        return None
    return _check_block(entry, "crawl", _CrawlModel, "a mapping of crawl settings", where, problems)


def _check_block(
    entry: CommentedMap, key: str, model_type: type, expected: str, where: str, problems: Problems
) -> Any:
    """A nested settings block: a mapping validated by its model, or an error naming the field."""
    block = entry[key]
    if not isinstance(block, CommentedMap):
        got = describe(block)
        problems.add(key_line(entry, key), where, f'field "{key}": expected {expected}, got {got}')
        return None
    model = validate(model_type, block, f"{where}, {key}", problems)
    return model.build() if model is not None else None


def _check_unique_ids(entries: CommentedSeq, problems: Problems) -> None:
    """Ids name sources in the database and in reports: a repeated id is an error on both."""
    first: dict[str, tuple[int, int]] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, CommentedMap) or not isinstance(entry.get("id"), str):
            continue
        ident = str(entry["id"])
        line = place(entry, "id")[0] + 1
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


def _entry_name(index: int, entry: Any) -> str:
    ident = entry.get("id") if isinstance(entry, dict) else None
    return f'sources[{index}] (id "{ident}")' if isinstance(ident, str) else f"sources[{index}]"
