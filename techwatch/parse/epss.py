"""FIRST EPSS scores -> a score table (ParsedFeed.epss), not items: enrichment joins it by CVE.

Two shapes carry the same rows: the daily CSV (usually gzip-compressed), whose first line is a
comment such as `#model_version:v2025.03.14,score_date:2025-03-15T00:00:00+0000` followed by
the header `cve,epss,percentile`, and the API's JSON
(`{"status": "OK", "data": [{"cve", "epss", "percentile", "date"}, ...]}`).

The CSV is read in chunks, so a compressed body is never inflated whole: a gzip bomb is
refused (ParseError malformed_advisory) once it decodes past MAX_DECODED_BYTES or MAX_ROWS
lines. Both caps are far below the 1 GiB / 50M rows first suggested, because memory and time
are the real limits: each kept score costs ~200 bytes and ~3 us, the real file is ~300k rows
(~10 MB decoded), and parsing must end well inside the parse pool's time budget. A row that is
not a score (bad CVE id, score outside [0, 1], NaN) is skipped and counted in one warning.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any, Final

from techwatch.errors import ParseError
from techwatch.parse.advisory import parse_date
from techwatch.parse.jsondoc import load_json
from techwatch.types import EpssScore, ParsedFeed

MAX_ROWS: Final = 1_000_000  # lines, blank ones included: ~3x every CVE published by 2025
MAX_DECODED_BYTES: Final = 128 * 1024 * 1024  # a 1M-row CSV is ~40 MB
MAX_LINE_BYTES: Final = 1024  # a row is ~40 bytes; a longer line is cut and skipped
CHUNK_BYTES: Final = 1024 * 1024  # inflated per read: memory stays flat whatever the ratio
MAX_EXAMPLES: Final = 5  # skipped rows quoted in the warning
MAX_NUMBER_CHARS: Final = 40

_GZIP_MAGIC: Final = b"\x1f\x8b"
_CVE_ID: Final = re.compile(r"^CVE-\d{4}-\d{4,19}$")


class _TooLarge(Exception):
    """The decoded document passed a cap: a bomb or not EPSS."""


def parse_epss(
    source_id: str,
    body: bytes,
    *,
    url: str,
    fetched_at: datetime,
    declared_language: str | None = None,
) -> ParsedFeed:
    """Scores of a daily CSV (plain or gzip) or an API answer; ParseError when neither.

    `fetched_at` dates the rows only when the document does not (a CSV without its comment
    line); `declared_language` is part of the contract and unused (scores have no language).
    """
    try:
        stream = _open(body)
        if stream.peek(64).lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
            return _parse_json(source_id, _read_capped(stream), url)
        return _parse_csv(source_id, _lines(stream), url, fetched_at.date())
    except _TooLarge as e:
        raise _malformed(str(e), source_id, url) from e
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise _malformed(f"unreadable gzip: {str(e) or type(e).__name__}", source_id, url) from e


def _open(body: bytes) -> io.BufferedReader | gzip.GzipFile:
    """A stream of the decoded document; gzip is inflated lazily, chunk by chunk."""
    if body.startswith(_GZIP_MAGIC):
        return gzip.GzipFile(fileobj=io.BytesIO(body), mode="rb")
    return io.BufferedReader(io.BytesIO(body))


def _lines(stream: IO[bytes]) -> Iterator[str]:
    """Decoded lines, read in chunks under both caps; a line too long is cut and marked."""
    decoded = count = 0
    rest = b""
    while chunk := stream.read(CHUNK_BYTES):
        decoded += len(chunk)
        if decoded > MAX_DECODED_BYTES:
            raise _TooLarge(f"decodes to more than {MAX_DECODED_BYTES} bytes")
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()[: MAX_LINE_BYTES + 1]  # enough to know it is too long
        count += len(lines)
        if count > MAX_ROWS:
            raise _TooLarge(f"more than {MAX_ROWS} lines")
        yield from map(_decode, lines)
    if rest:
        yield _decode(rest)


def _decode(line: bytes) -> str:
    """The text of one line; a cut line ends in '…' so that its last field cannot pass."""
    if len(line) > MAX_LINE_BYTES:
        return line[:MAX_LINE_BYTES].decode("utf-8", "replace") + "…"
    return line.decode("utf-8", "replace").rstrip("\r")


def _read_capped(stream: IO[bytes]) -> bytes:
    data = stream.read(MAX_DECODED_BYTES + 1)
    if len(data) > MAX_DECODED_BYTES:
        raise _TooLarge(f"decodes to more than {MAX_DECODED_BYTES} bytes")
    return data


# --- CSV ----------------------------------------------------------------------------------------


def _parse_csv(source_id: str, lines: Iterator[str], url: str, fallback: date) -> ParsedFeed:
    line = next(lines, "").lstrip("\ufeff")
    meta: dict[str, str] = {}
    if line.startswith("#"):
        meta = _comment(line)
        line = next(lines, "")
    cve_at, epss_at, percentile_at = _columns(line, source_id, url)
    day = parse_date(meta.get("score_date")) or fallback
    table = _Table(title=_title(meta))
    if "score_date" not in meta:
        table.warnings.append(f"no score_date: rows dated {day.isoformat()}")
    for number, row in enumerate(lines, start=3 if meta else 2):
        if not row.strip():
            continue
        fields = row.split(",")
        try:
            score = _score(fields[cve_at], fields[epss_at], fields[percentile_at], day)
        except IndexError:
            score = None
        table.add(score, row, f"line {number}")
    return table.feed(source_id)


def _comment(line: str) -> dict[str, str]:
    """'#model_version:v2025.03.14,score_date:2025-03-15T00:00:00+0000' -> its pairs."""
    pairs = (part.partition(":") for part in line.lstrip("#").split(","))
    return {key.strip().lower(): value.strip() for key, _, value in pairs if value}


def _columns(header: str, source_id: str, url: str) -> tuple[int, int, int]:
    """Column positions by name; an EPSS CSV has at least cve, epss and percentile."""
    names = [name.strip().lower() for name in header.split(",")]
    missing = [name for name in ("cve", "epss", "percentile") if name not in names]
    if missing:
        message = f"not an EPSS CSV: header {header[:80]!r} lacks {', '.join(missing)}"
        raise _malformed(message, source_id, url)
    return names.index("cve"), names.index("epss"), names.index("percentile")


def _title(meta: dict[str, str]) -> str:
    model = meta.get("model_version")
    return f"FIRST EPSS scores ({model})" if model else "FIRST EPSS scores"


# --- JSON (api.first.org/data/v1/epss) ------------------------------------------------------------


def _parse_json(source_id: str, body: bytes, url: str) -> ParsedFeed:
    document = load_json(body, source_id=source_id, url=url)
    rows = _json_rows(document, source_id, url)
    if len(rows) > MAX_ROWS:
        raise _malformed(f"more than {MAX_ROWS} rows", source_id, url)
    table = _Table(title="FIRST EPSS API")
    for index, row in enumerate(rows):
        fields: dict[str, Any] = row if isinstance(row, dict) else {}
        day = parse_date(fields.get("date"))
        score = _score(fields.get("cve"), fields.get("epss"), fields.get("percentile"), day)
        table.add(score, row, f"data[{index}]")
    return table.feed(source_id)


def _json_rows(document: Any, source_id: str, url: str) -> list[Any]:
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise _malformed("not an EPSS API answer: no 'data' list", source_id, url)
    status = document.get("status")
    if status is not None and status != "OK":
        raise _malformed(f"EPSS API status {str(status)[:40]!r}", source_id, url)
    return document["data"]


# --- shared -------------------------------------------------------------------------------------


def _score(cve: object, epss: object, percentile: object, day: date | None) -> EpssScore | None:
    """One valid score, or None: a CVE id, two probabilities in [0, 1], and a date.

    Called once per row of a 300k-row file, hence one try and chained comparisons rather than
    a check per field (NaN fails every comparison, infinities fail the range).
    """
    if day is None or not isinstance(cve, str):
        return None
    try:
        probability, rank = _number(epss), _number(percentile)
    except (TypeError, ValueError):
        return None
    if not (0.0 <= probability <= 1.0 and 0.0 <= rank <= 1.0):
        return None
    cve_id = cve.strip().upper()
    if not _CVE_ID.match(cve_id):
        return None
    return EpssScore(cve_id=cve_id, score=probability, percentile=rank, date=day)


def _number(value: object) -> float:
    """float() of a CSV cell or a JSON string/number; booleans and long strings refused."""
    if isinstance(value, str):
        if len(value) > MAX_NUMBER_CHARS:
            raise ValueError("number too long")
        return float(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise TypeError(type(value).__name__)


@dataclass
class _Table:
    """Scores as they are read: the first per (CVE, date) kept, the rest counted as warnings."""

    title: str
    scores: list[EpssScore] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    total: int = 0
    invalid: int = 0
    repeated: int = 0
    seen: set[tuple[str, date]] = field(default_factory=set)

    def add(self, score: EpssScore | None, row: object, where: str) -> None:
        self.total += 1
        if score is None:
            self.invalid += 1
            if len(self.examples) < MAX_EXAMPLES:
                text = row if isinstance(row, str) else json.dumps(row, default=str)
                self.examples.append(f"{where}: {text[:80]!r}")
            return
        key = (score.cve_id, score.date)
        if key in self.seen:
            self.repeated += 1
            return
        self.seen.add(key)
        self.scores.append(score)

    def feed(self, source_id: str) -> ParsedFeed:
        warnings = list(self.warnings)
        if self.invalid:
            examples = "; ".join(self.examples)
            warnings.append(f"skipped {self.invalid} invalid rows (e.g. {examples})")
        if self.repeated:
            warnings.append(f"skipped {self.repeated} repeated (CVE, date) rows")
        return ParsedFeed(
            source_id=source_id,
            items=(),
            entries_total=self.total,
            title=self.title,
            warnings=tuple(warnings),
            epss=tuple(self.scores),
        )


def _malformed(message: str, source_id: str, url: str) -> ParseError:
    return ParseError(message, kind="malformed_advisory", source_id=source_id, url=url)
