"""parse_cvss and best_cvss: known scores of every version, malformed vectors never raise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from techwatch.parse.cvss import MAX_VECTOR_CHARS, _compute, best_cvss, parse_cvss
from techwatch.types import CvssScore

V31_CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
V40_CRITICAL = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"


@pytest.mark.parametrize(
    ("vector", "version", "score", "severity"),
    [
        (V31_CRITICAL, "3.1", 9.8, "CRITICAL"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "3.1", 10.0, "CRITICAL"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", "3.1", 0.0, "NONE"),
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", "3.0", 6.1, "MEDIUM"),
        ("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", "3.0", 5.5, "MEDIUM"),
        (V40_CRITICAL, "4.0", 9.3, "CRITICAL"),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", "4.0", 0.0, "NONE"),
        ("CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "4.0", 8.5, "HIGH"),
        ("AV:N/AC:L/Au:N/C:P/I:P/A:P", "2.0", 7.5, "HIGH"),
        ("AV:N/AC:M/Au:N/C:C/I:C/A:C", "2.0", 9.3, "HIGH"),  # Log4Shell, NVD v2
        ("AV:N/AC:M/Au:N/C:N/I:P/A:N", "2.0", 4.3, "MEDIUM"),
        ("(AV:N/AC:L/Au:N/C:P/I:P/A:P)", "2.0", 7.5, "HIGH"),  # NVD 1.x wrapping
        ("CVSS:2.0/AV:N/AC:L/Au:N/C:C/I:C/A:C", "2.0", 10.0, "HIGH"),
        ("  " + V31_CRITICAL + "\n", "3.1", 9.8, "CRITICAL"),
        # metric order is free, temporal and environmental metrics do not change the base
        ("CVSS:3.1/A:H/I:H/C:H/S:U/UI:N/PR:N/AC:L/AV:N", "3.1", 9.8, "CRITICAL"),
        (V31_CRITICAL + "/E:P/RL:O/RC:C/CR:H/MAV:L", "3.1", 9.8, "CRITICAL"),
    ],
)
def test_vectors_of_every_version_give_their_known_score(
    vector: str, version: str, score: float, severity: str
) -> None:
    result = parse_cvss(vector, source="cna")

    assert result == CvssScore(
        version=version,
        vector=vector.strip(),
        base_score=score,
        severity=severity,
        source="cna",
        problem=None,
    )


@pytest.mark.parametrize(
    ("vector", "hint", "reason"),
    [
        (None, None, "no vector"),
        ("", "3.1", "no vector"),
        ("   ", None, "no vector"),
        (42, None, "not text"),
        (["CVSS:3.1/AV:N"], None, "not text"),
        ("cvss:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", None, "prefix"),
        ("CVSS:3/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", None, "prefix"),
        ("CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", None, "unsupported CVSS version 3.2"),
        ("CVSS:5.0/AV:N", None, "unsupported"),
        ("CVSS3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", None, "prefix"),
        ("AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "3.1", "without its 'CVSS:3.1/' prefix"),
        ("AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "4.0", "without"),
        ("CVSS:3.1/AV:N/AC:L/PR:N", None, "Missing mandatory metrics"),
        ("CVSS:4.0/AV:N/AC:L", None, "Missing mandatory metrics"),
        ("AV:N/AC:L", None, "Missing mandatory metrics"),
        ("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", None, "Unknown value"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q", None, "Unknown value"),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:Q/SC:N/SI:N/SA:N", None, "VA:Q"),
        ("AV:N/AC:L/Au:N/C:P/I:P/A:Z", None, "Unknown value"),
        ("CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", None, "Duplicate"),
        (V31_CRITICAL + "/", None, "trailing"),
        ("CVSS:3.1/AV:N//AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", None, "Empty field"),
        ("CVSS:3.1/FOO:BAR/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", None, "Unknown metric"),
        ("9.8", None, "malformed"),
        ("not a vector at all", None, "malformed"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\x00", None, "Unknown value"),
        ("CVSS:3.1/AV:Ｎ/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", None, "Unknown value"),
        ("CVSS:3.1/" + "AV:N/" * 5000 + "A:H", None, f"longer than {MAX_VECTOR_CHARS}"),
    ],
)
def test_malformed_vectors_are_unscored_with_the_reason(
    vector: Any, hint: str | None, reason: str
) -> None:
    result = parse_cvss(vector, version_hint=hint, stated_score=9.8, source="nvd")

    assert result.base_score is None
    assert result.severity is None
    assert result.source == "nvd"
    assert result.problem is not None
    assert reason in result.problem
    assert "stated score 9.8 not used" in result.problem
    assert result.vector is None or len(result.vector) <= MAX_VECTOR_CHARS


def test_a_repeated_vector_is_scored_once_and_its_stated_score_still_checked() -> None:
    vector = "CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N/E:U"
    _compute.cache_clear()

    first = parse_cvss(vector, stated_score=2.0, source="cna")
    again = parse_cvss(vector, stated_score=9.9, source="adp")

    assert _compute.cache_info().hits == 1
    assert (first.base_score, first.severity, first.problem) == (2.0, "LOW", None)
    assert (again.base_score, again.source) == (2.0, "adp")
    assert again.problem is not None and "stated score 9.9 differs" in again.problem


def test_a_repeated_malformed_vector_is_explained_each_time() -> None:
    _compute.cache_clear()

    problems = [parse_cvss("CVSS:3.1/AV:N/AC:L").problem for _ in range(2)]

    assert problems[0] is not None and "malformed v3.1 vector" in problems[0]
    assert problems[1] == problems[0]


def test_an_unreadable_vector_keeps_the_declared_version() -> None:
    assert parse_cvss("CVSS:3.1/AV:N", version_hint="3.1").version == "3.1"
    assert parse_cvss(None, version_hint="cvssV4_0").version == "4.0"
    assert parse_cvss(None).version == "unknown"


@given(st.text(max_size=300))
def test_any_text_is_scored_or_explained_never_raised(text: str) -> None:
    result = parse_cvss(text, stated_score=5.0)

    if result.base_score is None:
        assert result.problem
        assert result.severity is None
    else:
        assert 0.0 <= result.base_score <= 10.0
        assert result.severity in {"NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL"}


METRICS = "AV:N AC:L PR:N UI:N S:U S:C C:H I:L A:N AT:N VC:H VI:H VA:H SC:N SI:N SA:N Au:N C:P"
PREFIXES = ["", "CVSS:3.0/", "CVSS:3.1/", "CVSS:4.0/", "CVSS:2.0/"]


@given(
    st.lists(st.sampled_from([*METRICS.split(), "E:X", "MAV:A", "X:Y"]), max_size=16),
    st.sampled_from(PREFIXES),
)
def test_any_metric_soup_is_scored_or_explained(metrics: list[str], prefix: str) -> None:
    result = parse_cvss(prefix + "/".join(metrics))

    assert (result.base_score is None) == (result.severity is None)
    assert result.base_score is not None or result.problem


def test_a_stated_score_that_agrees_leaves_no_problem() -> None:
    assert parse_cvss(V31_CRITICAL, stated_score=9.8).problem is None
    assert parse_cvss(V31_CRITICAL, stated_score=9.80000001).problem is None


def test_a_stated_score_that_disagrees_keeps_the_vectors_score_and_says_so() -> None:
    result = parse_cvss(V31_CRITICAL, stated_score=7.5)

    assert result.base_score == 9.8
    assert result.severity == "CRITICAL"
    assert result.problem == "stated score 7.5 differs from the vector's base score 9.8"


def test_a_temporal_score_stated_as_base_is_recognised() -> None:
    # Fortinet's CNA records state the temporal score as baseScore (CVE-2022-42475: 9.3).
    vector = V31_CRITICAL + "/E:P/RL:U/RC:C"

    result = parse_cvss(vector, version_hint="3.1", stated_score=9.3)

    assert result.base_score == 9.8
    assert result.problem is not None
    assert "temporal or environmental score" in result.problem


@pytest.mark.parametrize(
    ("stated", "problem"),
    [
        (float("nan"), "outside 0-10"),
        (11.0, "outside 0-10"),
        (-1, "outside 0-10"),
        (True, "of type bool ignored"),
        ({"score": 9.8}, "of type dict ignored"),
        ("high", "is not a number"),
    ],
)
def test_a_stated_score_that_is_no_score_is_ignored_and_reported(stated: Any, problem: str) -> None:
    result = parse_cvss(V31_CRITICAL, stated_score=stated)

    assert result.base_score == 9.8
    assert result.problem is not None
    assert problem in result.problem


def test_a_numeric_string_stated_score_is_compared() -> None:
    assert parse_cvss(V31_CRITICAL, stated_score="9.8").problem is None  # type: ignore[arg-type]


@pytest.mark.parametrize("hint", ["3.1", "V3.1", "cvssV3_1", "3_1", " 3.1 "])
def test_version_hints_in_their_usual_spellings_match(hint: str) -> None:
    assert parse_cvss(V31_CRITICAL, version_hint=hint).problem is None


def test_a_version_hint_that_contradicts_the_prefix_is_reported_but_the_prefix_wins() -> None:
    result = parse_cvss(V31_CRITICAL, version_hint="3.0")

    assert (result.version, result.base_score) == ("3.1", 9.8)
    assert result.problem == "document says version 3.0, vector is 3.1"


def _score(version: str, base: float | None, source: str = "x") -> CvssScore:
    severity = None if base is None else "HIGH"
    return CvssScore(
        version=version, vector=None, base_score=base, severity=severity, source=source
    )


def test_best_cvss_prefers_the_newest_version_even_when_its_score_is_lower() -> None:
    scores = [_score("3.1", 9.8), _score("4.0", 8.7), _score("2.0", 10.0)]

    assert best_cvss(scores) == _score("4.0", 8.7)


def test_best_cvss_takes_the_highest_score_within_a_version_then_the_first_listed() -> None:
    scores = [_score("3.1", 7.5, "cna"), _score("3.1", 9.8, "adp"), _score("3.1", 9.8, "nvd")]

    assert best_cvss(scores) == _score("3.1", 9.8, "adp")


def test_best_cvss_skips_unscored_assessments() -> None:
    scores = [_score("4.0", None), _score("3.0", 5.0), parse_cvss("CVSS:4.0/garbage")]

    assert best_cvss(scores) == _score("3.0", 5.0)
    assert best_cvss([_score("4.0", None)]) is None
    assert best_cvss([]) is None


# --- real data -----------------------------------------------------------------------------------


def _stated_metrics(value: object) -> list[dict[str, Any]]:
    """Every object with a vectorString in a JSON document (CVE JSON 5 and NVD shapes)."""
    found: list[dict[str, Any]] = []
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            if isinstance(current.get("vectorString"), str):
                found.append(current)
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return found


@pytest.mark.realdata
def test_every_real_vector_is_scored_and_agrees_with_its_stated_score(realdata: Path) -> None:
    folders = ("cve-json5-vulnrichment", "api-samples", "csaf", "csaf-cisa", "osv-misc")
    files = [p for f in folders for p in (realdata / "advisories" / f).rglob("*.json")]
    versions: set[str] = set()
    disagreements = 0
    for path in files:
        for metric in _stated_metrics(json.loads(path.read_bytes())):
            stated = metric.get("baseScore")
            result = parse_cvss(
                metric["vectorString"], version_hint=metric.get("version"), stated_score=stated
            )
            assert result.base_score is not None, (path.name, result)
            versions.add(result.version)
            if stated is not None and abs(float(stated) - result.base_score) > 0.05:
                disagreements += 1
                assert result.problem and "differs" in result.problem, (path.name, result)
            else:
                assert result.problem is None, (path.name, result)
    assert versions == {"2.0", "3.0", "3.1", "4.0"}
    assert disagreements <= 20  # Fortinet's temporal-as-base records (8 in the corpus)
