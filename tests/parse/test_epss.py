"""parse_epss: the daily CSV (plain or gzip) and the API JSON give the same score table."""

from __future__ import annotations

import gzip
import json
import time
import zlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from techwatch.errors import ParseError
from techwatch.parse import epss
from techwatch.parse.epss import parse_epss
from techwatch.types import EpssScore, ParsedFeed

DATA = Path(__file__).resolve().parents[1] / "data" / "advisories"
URL = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"
FETCHED = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
DAY = date(2026, 11, 27)
HEADER = b"#model_version:v2025.03.14,score_date:2026-11-27T00:00:00+0000\ncve,epss,percentile\n"


def _parse(body: bytes) -> ParsedFeed:
    return parse_epss("epss", body, url=URL, fetched_at=FETCHED)


def _sample_csv() -> bytes:
    return (DATA / "kev_epss_scores.csv").read_bytes()


def test_the_sample_csv_gives_its_valid_scores() -> None:
    feed = _parse(_sample_csv())

    assert feed.items == ()
    assert feed.source_id == "epss"
    assert feed.title == "FIRST EPSS scores (v2025.03.14)"
    assert feed.entries_total == 9
    assert feed.epss == (
        EpssScore(cve_id="CVE-2021-44228", score=0.94358, percentile=0.9996, date=DAY),
        EpssScore(cve_id="CVE-2024-3094", score=0.84588, percentile=0.99335, date=DAY),
        EpssScore(cve_id="CVE-2014-0160", score=0.00043, percentile=0.1, date=DAY),
    )


def test_invalid_rows_are_skipped_and_counted_in_one_warning() -> None:
    feed = _parse(_sample_csv())

    assert feed.warnings == (
        "skipped 5 invalid rows (e.g. line 6: 'CVE-2024-1,0.5,0.5'; "
        "line 7: 'CVE-2024-21413,1.5,0.99'; line 8: 'CVE-2024-21414,nan,0.5'; "
        "line 9: 'CVE-2024-21415,0.1'; line 12: 'not,a,row')",
        "skipped 1 repeated (CVE, date) rows",
    )


def test_the_gzip_csv_gives_the_same_table_as_the_plain_one() -> None:
    plain = _parse(_sample_csv())

    assert _parse(gzip.compress(_sample_csv())) == plain
    # a multi-member gzip (concatenated files) is one document too
    body = _sample_csv()
    half = body.index(b"CVE-2024-3094")
    assert _parse(gzip.compress(body[:half]) + gzip.compress(body[half:])) == plain


def test_crlf_line_ends_a_bom_and_blank_lines_change_nothing() -> None:
    body = b"\xef\xbb\xbf" + _sample_csv().replace(b"\n", b"\r\n") + b"\r\n\r\n"

    assert _parse(body) == _parse(_sample_csv())


def test_columns_are_found_by_name() -> None:
    body = b"percentile,cve,extra,epss\n0.5,CVE-2024-0001,x,0.25\n"

    feed = _parse(body)

    assert feed.epss == (EpssScore("CVE-2024-0001", 0.25, 0.5, FETCHED.date()),)


def test_a_csv_without_its_comment_line_is_dated_as_fetched_and_says_so() -> None:
    feed = _parse(b"cve,epss,percentile\nCVE-2024-0001,0.25,0.5\n")

    assert feed.epss == (EpssScore("CVE-2024-0001", 0.25, 0.5, date(2026, 11, 28)),)
    assert feed.title == "FIRST EPSS scores"
    assert feed.warnings == ("no score_date: rows dated 2026-11-28",)


def test_an_over_long_line_is_skipped_even_when_its_start_is_a_valid_row() -> None:
    long_row = b"CVE-2024-0001,0.25,0." + b"5" * (epss.MAX_LINE_BYTES * 3) + b"\n"
    body = HEADER + long_row + b"CVE-2024-0002,0.1,0.2\n"

    feed = _parse(body)

    assert [s.cve_id for s in feed.epss] == ["CVE-2024-0002"]
    assert feed.warnings[0].startswith("skipped 1 invalid rows (e.g. line 3: ")


def test_the_api_answer_gives_its_scores_dated_by_row() -> None:
    feed = _parse((DATA / "kev_epss_api.json").read_bytes())

    assert feed.title == "FIRST EPSS API"
    assert feed.entries_total == 6
    assert feed.epss == (
        EpssScore("CVE-2024-3094", 0.84588, 0.99335, date(2026, 5, 1)),
        EpssScore("CVE-2024-3094", 0.8, 0.99, date(2026, 4, 30)),  # history: another date
        EpssScore("CVE-2024-21413", 0.92992, 0.99783, date(2026, 5, 1)),
    )
    assert feed.warnings == (
        "skipped 3 invalid rows (e.g. "
        """data[3]: '{"cve": "CVE-2024-21414", "epss": true, "percentile": "0.5", """
        """"date": "2026-05-01'; """
        """data[4]: '{"cve": "CVE-2024-21415", "epss": "0.1", "percentile": "0.5"}'; """
        "data[5]: 'not an object')",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not an EPSS CSV"),
        (b"#model_version:v1\n", "not an EPSS CSV"),
        (b"cve,score\nCVE-2024-0001,0.5\n", "lacks epss, percentile"),
        (b"<html><body>Service unavailable</body></html>", "not an EPSS CSV"),
        (b'{"status": "OK"}', "no 'data' list"),
        (b'{"status": "error", "data": []}', "EPSS API status 'error'"),
        (b"[]", "no 'data' list"),
        (b'{"data": [', "invalid JSON"),
        (b'{"data": [{"epss": NaN}]}', "NaN"),
        (b'{"data": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nesting"),
        (b"\x1f\x8bnot really gzip", "unreadable gzip"),
        (gzip.compress(HEADER * 100, mtime=0)[:-20], "unreadable gzip"),  # truncated
    ],
)
def test_a_document_that_is_not_epss_fails_as_malformed(body: bytes, message: str) -> None:
    with pytest.raises(ParseError) as raised:
        _parse(body)

    assert raised.value.kind == "malformed_advisory"
    assert raised.value.source_id == "epss"
    assert raised.value.url == URL
    assert message in str(raised.value)


def _bomb(payload: bytes, repeat: int) -> bytes:
    """A gzip body inflating to HEADER + payload * repeat, built without holding the result."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(HEADER)]
    block = payload * max(1, (1 << 20) // len(payload))
    for _ in range(repeat * len(payload) // len(block)):
        parts.append(compressor.compress(block))
    parts.append(compressor.flush())
    return b"".join(parts)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\n", "more than 1000000 lines"),
        (b"0", f"more than {epss.MAX_DECODED_BYTES} bytes"),
        (b"CVE-2024-0001,0.5," + b"9" * 1000 + b"\n", f"more than {epss.MAX_DECODED_BYTES} bytes"),
    ],
)
def test_a_gzip_bomb_is_refused_quickly_without_inflating_it(payload: bytes, message: str) -> None:
    body = _bomb(payload, 2 * epss.MAX_DECODED_BYTES // len(payload))
    assert len(body) < 2_000_000

    started = time.process_time()
    with pytest.raises(ParseError, match=message) as raised:
        _parse(body)

    assert raised.value.kind == "malformed_advisory"
    assert time.process_time() - started < 30


def test_too_many_valid_rows_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(epss, "MAX_ROWS", 100)
    rows = b"".join(b"CVE-2024-%05d,0.1,0.2\n" % n for n in range(200))

    with pytest.raises(ParseError, match="more than 100 lines"):
        _parse(gzip.compress(HEADER + rows))


@pytest.mark.parametrize(
    "row",
    [
        {"cve": None, "epss": "0.1", "percentile": "0.2", "date": "2026-05-01"},
        {"cve": ["CVE-2024-0001"], "epss": "0.1", "percentile": "0.2", "date": "2026-05-01"},
        {"cve": "CVE-2024-0001", "epss": "0.1", "percentile": "0.2", "date": "05/01/2026"},
        {"cve": "CVE-2024-0001", "epss": "1" * 5000, "percentile": "0.2", "date": "2026-05-01"},
        {"cve": "CVE-2024-0001", "epss": "-0.1", "percentile": "0.2", "date": "2026-05-01"},
        {"cve": "CVE-2024-0001", "epss": "inf", "percentile": "0.2", "date": "2026-05-01"},
        {"cve": "CVE-2024-0001", "epss": {"v": 1}, "percentile": "0.2", "date": "2026-05-01"},
        {"cve": "CVE-2024-0001", "epss": "0.1", "percentile": False, "date": "2026-05-01"},
        {"cve": "CVE-2024-0001\n", "epss": "0.1", "percentile": "0.2"},
    ],
)
def test_a_broken_api_row_is_skipped_not_fatal(row: dict[str, Any]) -> None:
    good = {"cve": "CVE-2024-9999", "epss": 0.5, "percentile": 0.5, "date": "2026-05-01"}
    body = json.dumps({"status": "OK", "data": [row, good]}).encode()

    feed = _parse(body)

    assert [s.cve_id for s in feed.epss] == ["CVE-2024-9999"]
    assert feed.warnings[0].startswith("skipped 1 invalid rows (e.g. data[0]: ")


def test_a_day_of_scores_parses_fast_enough() -> None:
    rows = b"".join(b"CVE-20%02d-%05d,0.%05d,0.%05d\n" % (n % 25, n, n, n) for n in range(300_000))
    body = gzip.compress(HEADER + rows)

    started = time.process_time()  # CPU, not wall time: a shared, loaded machine stays fair
    feed = _parse(body)
    cpu_s = time.process_time() - started

    assert len(feed.epss) == 300_000
    assert cpu_s < 15  # ~1.5-3 s here; the parse pool allows 20 s per document


# --- real data -----------------------------------------------------------------------------------


@pytest.mark.realdata
def test_every_real_epss_api_answer_gives_its_rows(realdata: Path) -> None:
    paths = sorted((realdata / "advisories" / "api-samples").glob("epss-api_*.json"))
    assert paths
    for path in paths:
        raw = json.loads(path.read_bytes())
        feed = parse_epss("epss", path.read_bytes(), url=URL, fetched_at=FETCHED)

        assert feed.warnings == ()
        assert feed.entries_total == len(raw["data"]) == len(feed.epss)
        for row, score in zip(raw["data"], feed.epss, strict=True):
            assert score == EpssScore(
                cve_id=row["cve"],
                score=float(row["epss"]),
                percentile=float(row["percentile"]),
                date=date.fromisoformat(row["date"]),
            )


@pytest.mark.realdata
def test_the_real_api_answers_hold_the_known_scores(realdata: Path) -> None:
    path = realdata / "advisories" / "api-samples" / "epss-api_CVE-2021-44228.json"

    feed = parse_epss("epss", path.read_bytes(), url=URL, fetched_at=FETCHED)

    assert feed.epss == (EpssScore("CVE-2021-44228", 0.99999, 1.0, date(2026, 7, 5)),)
