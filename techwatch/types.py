"""Frozen records named by pipeline stage: Source -> Fetched -> ParsedItem -> stored item.

Every stage hands the next one plain immutable data, so each stage can be tested alone and
results can cross process boundaries (parse workers) by pickling.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from operator import attrgetter
from typing import Any, Literal, overload

Category = Literal["advisory", "vendor", "press", "regulation", "status", "blog"]
SourceKind = Literal[
    "feed",
    "cisa-kev",
    "cve-json5",
    "csaf",
    "certfr-json",
    "osv",
    "epss",
    "html",
    "nvd-api",
    "csaf-rolie",
    "certfr-feed",
]
OutcomeStatus = Literal["ok", "not_modified", "failed", "skipped"]


@dataclass(frozen=True, slots=True)
class HtmlSelectors:
    """CSS selectors that read a web page without a feed (kind html): one `entry` element per
    item, the other selectors relative to it."""

    entry: str
    title: str
    link: str | None = None
    date: str | None = None
    summary: str | None = None
    date_format: str | None = None  # strptime format; else ISO and common fr/de/en forms


@dataclass(frozen=True, slots=True)
class CrawlSettings:
    """How far a crawl kind (nvd-api, csaf-rolie, certfr-feed) reaches in one run: the
    `crawl:` block of its sources.yml entry."""

    initial_days: int = 7  # first run: how far back (NVD lastModified, ROLIE updated)
    max_documents: int = 200  # per run (ROLIE, CERT-FR); the rest the next run, oldest first
    concurrency: int = 4  # documents fetched at once for this source


@dataclass(frozen=True, slots=True)
class Source:
    """One entry of sources.yml, validated."""

    id: str
    name: str
    kind: SourceKind
    url: str
    category: Category
    language: str | None = None
    vendors: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    enabled: bool = True
    poll_interval_s: int = 6 * 3600
    confirmed: bool = False
    html: HtmlSelectors | None = None  # kind html only
    crawl: CrawlSettings | None = None  # crawl kinds only; None means the defaults


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """Operator settings for fetching and parsing (the `settings:` block of sources.yml)."""

    user_agent: str = "techwatch/0.1 (+https://github.com/techwatch/techwatch)"
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 20.0
    total_timeout_s: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    concurrency: int = 20
    allow_private_networks: bool = False
    parse_timeout_s: float = 20.0
    parse_workers: int = 2
    degraded_after: int = 5
    backoff_base_s: float = 15 * 60
    backoff_max_s: float = 24 * 3600
    retry_after_max_s: float = 24 * 3600


@dataclass(frozen=True, slots=True)
class SourceState:
    """What we remember about a source between runs: validators, health and back-off."""

    source_id: str
    url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_status: OutcomeStatus | None = None
    last_error_kind: str | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    next_attempt: datetime | None = None
    degraded: bool = False
    items_seen: int = 0
    cursor: str | None = None  # crawl kinds: JSON of where the next run starts (techwatch.crawl)


@dataclass(frozen=True, slots=True)
class Fetched:
    """An HTTP answer for one source: a body (200) or nothing new (304)."""

    source_id: str
    url: str
    final_url: str
    status: int
    body: bytes | None
    content_type: str | None
    etag: str | None
    last_modified: str | None
    fetched_at: datetime
    elapsed_s: float

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class CvssScore:
    """One CVSS assessment as published; unscored (base_score None) with the reason when its
    vector cannot be read (RELIABILITY 26)."""

    version: str  # "2.0", "3.0", "3.1", "4.0"
    vector: str | None
    base_score: float | None
    severity: str | None  # NONE, LOW, MEDIUM, HIGH, CRITICAL (v2: LOW, MEDIUM, HIGH)
    source: str | None = None  # who scored it: the CNA, CISA-ADP, NVD, a vendor...
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Affected:
    """A product a document says is affected, with versions as readable ranges."""

    vendor: str
    product: str
    versions: tuple[str, ...] = ()  # e.g. "< 7.2.5", "7.0.0 - 7.0.12", "2.4.1"
    fixed: tuple[str, ...] = ()  # first fixed versions, when stated
    cpes: tuple[str, ...] = ()
    purl: str | None = None


def product_label(vendor: str, product: str) -> str:
    """A product as people name it: 'Fortinet FortiOS', but 'WordPress' rather than
    'WordPress WordPress' and 'Apache HTTP Server' rather than 'Apache Apache HTTP Server'
    (KEV and CVE records often repeat the vendor in the product)."""
    if not vendor or product.lower().startswith(vendor.lower()):
        return product or vendor
    return f"{vendor} {product}" if product else vendor


@dataclass(frozen=True, slots=True)
class KevEntry:
    """CISA's Known Exploited Vulnerabilities catalog entry for one CVE."""

    date_added: date
    due_date: date | None
    required_action: str
    ransomware: bool | None  # "Known" -> True, "Unknown" -> None
    vendor: str
    product: str
    name: str
    notes: str = ""


@dataclass(frozen=True, slots=True)
class VulnFacts:
    """What one document states about one vulnerability (a CVE id when it has one)."""

    vuln_id: str
    aliases: tuple[str, ...] = ()
    title: str | None = None
    description: str | None = None
    published: datetime | None = None
    modified: datetime | None = None
    cvss: tuple[CvssScore, ...] = ()
    cwes: tuple[str, ...] = ()
    affected: tuple[Affected, ...] = ()
    kev: KevEntry | None = None
    ssvc: tuple[tuple[str, str], ...] = ()  # (decision point, value): ("Exploitation", "active")
    references: tuple[str, ...] = ()


def own_link(link: str | None, shared: Container[str]) -> str | None:
    """A CVE's own link when it leads its links (SharedFacts.references_of): present and not
    among the links its bulletin shares (a set, for a caller looping over many CVEs)."""
    return link if link and link not in shared else None


@dataclass(frozen=True, slots=True, eq=False)
class SharedFacts(Sequence[VulnFacts]):
    """The facts of a bulletin that states the same for every CVE it lists (a CERT-FR avis):
    `template` holds what they share (its vuln_id unused, its references the shared links);
    each CVE adds its id and its own link, put first unless absent or among the shared ones.

    Why: the 1,338 real CERT-FR avis list ~55k CVEs; as one VulnFacts each they were built,
    hashed, pickled to the parent and staged one by one. In this form a bulletin costs about
    one fact plus its ids and links; iterating gives the same facts, equal to their tuple.
    """

    template: VulnFacts
    vuln_ids: tuple[str, ...]
    links: tuple[str | None, ...]

    def __post_init__(self) -> None:
        if len(self.vuln_ids) != len(self.links):
            raise ValueError("SharedFacts: one link (or None) per vulnerability id")

    def references_of(self, link: str | None) -> tuple[str, ...]:
        """A CVE's links: its own first, unless absent or already among the shared ones."""
        shared = self.template.references
        own = own_link(link, shared)
        return shared if own is None else (own, *shared)

    def fact(self, vuln_id: str, link: str | None) -> VulnFacts:
        return replace(self.template, vuln_id=vuln_id, references=self.references_of(link))

    def __len__(self) -> int:
        return len(self.vuln_ids)

    def __iter__(self) -> Iterator[VulnFacts]:
        return map(self.fact, self.vuln_ids, self.links)

    @overload
    def __getitem__(self, index: int) -> VulnFacts: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[VulnFacts, ...]: ...
    def __getitem__(self, index: int | slice) -> VulnFacts | tuple[VulnFacts, ...]:
        if isinstance(index, slice):
            return tuple(self)[index]
        return self.fact(self.vuln_ids[index], self.links[index])

    def __eq__(self, other: object) -> bool:
        """Equal to the same facts as a tuple or in this form (ParsedItems compare alike)."""
        if isinstance(other, SharedFacts | tuple):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __reduce__(self) -> tuple[type[SharedFacts], tuple[Any, ...]]:
        return SharedFacts, (self.template, self.vuln_ids, self.links)


@dataclass(frozen=True, slots=True)
class EpssScore:
    """FIRST EPSS: probability of exploitation in the next 30 days, and its percentile."""

    cve_id: str
    score: float
    percentile: float
    date: date

    def __reduce__(self) -> tuple[type[EpssScore], tuple[str, float, float, date]]:
        """Pickled as its constructor's arguments: a day's 300k scores cross from the parse
        worker in ~1.5 s instead of ~4 s with the dataclass's per-field state."""
        return EpssScore, (self.cve_id, self.score, self.percentile, self.date)


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One feed entry, normalised and cleaned; no markup in `title` or `text`."""

    source_id: str
    identity: str
    url: str | None
    canonical_url: str | None
    title: str
    text: str
    html: str
    published: datetime | None
    language: str | None
    authors: tuple[str, ...] = ()
    cves: tuple[str, ...] = ()
    content_hash: str = ""
    # structured advisories: what the item states per CVE (SharedFacts: alike for each CVE)
    facts: tuple[VulnFacts, ...] | SharedFacts = ()


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """The result of parsing one document: its items and non-fatal warnings."""

    source_id: str
    items: tuple[ParsedItem, ...]
    entries_total: int
    title: str | None = None
    language: str | None = None
    warnings: tuple[str, ...] = ()
    epss: tuple[EpssScore, ...] = ()  # score tables (EPSS) carry no items


@dataclass(frozen=True, slots=True)
class SourceOutcome:
    """What happened to one source in one run; the store turns it into rows and state."""

    source_id: str
    status: OutcomeStatus
    started_at: datetime
    duration_s: float
    http_status: int | None = None
    error_kind: str | None = None
    error: str | None = None
    transient: bool = False
    retry_after: datetime | None = None
    url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    bytes: int = 0
    entries: int = 0
    items: tuple[ParsedItem, ...] = ()
    warnings: tuple[str, ...] = ()
    fetch_s: float = 0.0
    parse_s: float = 0.0
    epss: tuple[EpssScore, ...] = ()  # a score table (kind epss): rows, not items
    cursor: str | None = None  # crawl kinds: the new cursor; None keeps the previous one


@dataclass(frozen=True, slots=True)
class WriteStats:
    """Counts of one store write, per source id."""

    new: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    @property
    def total_new(self) -> int:
        return sum(self.new.values())

    @property
    def total_updated(self) -> int:
        return sum(self.updated.values())


def _pickled_as_arguments(*classes: type) -> None:
    """Pickle these records as their constructor's arguments, like EpssScore. The dataclass
    default (per-field state through `fields()`, for every object) made the parse results of
    an import (60k facts) cost twice as much to pickle in the workers and a fifth more to
    load in the parent. Read from the fields, so that a field added later is carried too."""
    for cls in classes:
        values = attrgetter(*(f.name for f in fields(cls)))
        cls.__reduce__ = _reducer(cls, values)  # type: ignore[method-assign]


def _reducer(cls: type, values: Callable[[Any], tuple[Any, ...]]) -> Callable[[Any], Any]:
    return lambda record: (cls, values(record))


_pickled_as_arguments(CvssScore, Affected, KevEntry, VulnFacts, ParsedItem, ParsedFeed)
