"""Query results as plain dicts with UTC datetimes, ready for the CLI to print or serialise."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from techwatch.storage.connection import Conn


def dicts(cursor: Conn) -> list[dict[str, Any]]:
    """All rows of the last query as dicts keyed by column name."""
    names = [d[0] for d in cursor.description or ()]
    return as_dicts(names, cursor.fetchall())


def as_dicts(names: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Rows as dicts keyed by `names`, datetimes in the standard library's UTC."""
    return [dict(zip(names, map(plain, row), strict=True)) for row in rows]


def plain(value: Any) -> Any:
    """DuckDB hands back pytz-aware datetimes; use the standard library's UTC instead."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value
