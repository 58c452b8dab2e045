"""One exception tree for techwatch.

    TechwatchError
    ├── ConfigError                 bad sources.yml / settings (exit 2); names file, entry, field
    ├── TransientError              worth retrying later (network, 5xx, 429, locked database)
    │   ├── FetchTransientError     kind: timeout, connection, http_5xx, rate_limited
    │   └── DatabaseBusyError       another process holds the DuckDB file
    └── TerminalError               retrying will not help
        ├── FetchTerminalError      kind: too_large, bad_encoding, redirects, private_address,
        │                                 tls, http_4xx, bad_url
        ├── ParseError              kind: not_a_feed, parse_timeout, malformed
        └── StorageError            schema or data problem in the store

Fetch and parse errors carry the source id and URL so that a report can name the culprit.
"""

from __future__ import annotations

from datetime import datetime


class TechwatchError(Exception):
    """Base of every error techwatch raises on purpose."""


class ConfigError(TechwatchError):
    """Invalid configuration; the message names file, entry and field."""


class TransientError(TechwatchError):
    """A failure that may go away by itself; callers may retry later."""


class TerminalError(TechwatchError):
    """A failure that will repeat until something changes; do not retry."""


class SourceError(TechwatchError):
    """A failure tied to one source; `kind` is a short stable code for reports."""

    kind: str = "error"

    def __init__(
        self,
        message: str,
        *,
        kind: str | None = None,
        source_id: str | None = None,
        url: str | None = None,
        status: int | None = None,
        retry_after: datetime | None = None,
    ) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind
        self.source_id = source_id
        self.url = url
        self.status = status
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        return isinstance(self, TransientError)

    def __str__(self) -> str:
        where = f" [{self.source_id}]" if self.source_id else ""
        url = f" ({self.url})" if self.url else ""
        return f"{self.kind}{where}: {self.args[0]}{url}"


class FetchTransientError(SourceError, TransientError):
    """Timeout, connection failure, 5xx or 429: try again after a back-off."""


class FetchTerminalError(SourceError, TerminalError):
    """Too large, redirect loop, refused address, TLS failure, 4xx: retrying now will not help."""


class ParseError(SourceError, TerminalError):
    """The document is not a feed, is malformed beyond recovery, or took too long to parse."""


class DatabaseBusyError(TransientError):
    """Another process holds the DuckDB file (one writer, or readers, at a time)."""


class StorageError(TerminalError):
    """Schema or data problem in the store."""
