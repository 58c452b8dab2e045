"""Frozen records named by pipeline stage: Source -> Fetched -> ParsedItem -> stored item.

Every stage hands the next one plain immutable data, so each stage can be tested alone and
results can cross process boundaries (parse workers) by pickling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Category = Literal["advisory", "vendor", "press", "regulation", "status", "blog"]
SourceKind = Literal["feed"]
OutcomeStatus = Literal["ok", "not_modified", "failed", "skipped"]


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


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """The result of parsing one document: its items and non-fatal warnings."""

    source_id: str
    items: tuple[ParsedItem, ...]
    entries_total: int
    title: str | None = None
    language: str | None = None
    warnings: tuple[str, ...] = ()


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
