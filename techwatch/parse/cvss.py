"""CVSS vectors -> CvssScore: base score and severity computed by the maintained `cvss` library.

Advisories state CVSS as a vector plus, usually, a score. The vector is the assessment and the
score is derived from it, so the score we keep is the one the vector yields; a stated score
that disagrees is reported in `problem` (real case: Fortinet publishes its *temporal* score as
`baseScore`). A vector we cannot read (RELIABILITY 26: wrong prefix, missing metrics, unknown
values, garbage, none at all) gives an unscored CvssScore with the reason, never an exception:
one bad vector must not cost the rest of the advisory.

`problem` is therefore set whenever something about the assessment is off; `base_score` is None
only when the vector itself is unusable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Final

from cvss import CVSS2, CVSS3, CVSS4, CVSSError

from techwatch.types import CvssScore

# A full v4.0 vector with every environmental and supplemental metric is about 230 characters.
MAX_VECTOR_CHARS: Final = 512
# Stated scores are rounded to one decimal; anything closer than this is the same score.
SCORE_TOLERANCE: Final = 0.05
UNKNOWN_VERSION: Final = "unknown"
#: Vectors whose scores a worker keeps: advisories repeat a few hundred vectors (the 2,481
#: real advisories score 1,995 vectors, 477 distinct), and the `cvss` library takes ~50 µs
#: to read one.
CACHED_VECTORS: Final = 4096
# Newest first: best_cvss prefers the most recent scoring system.
VERSION_RANK: Final = {"4.0": 4, "3.1": 3, "3.0": 2, "2.0": 1}

_PREFIX: Final = re.compile(r"^CVSS:(\d+(?:\.\d+)?)/", re.IGNORECASE)
_HINT: Final = re.compile(r"(\d)(?:[._](\d))?")


def parse_cvss(
    vector: str | None,
    *,
    version_hint: str | None = None,
    stated_score: float | None = None,
    source: str | None = None,
) -> CvssScore:
    """Score one published vector; never raises (the reason for no score goes in `problem`).

    `version_hint` is the version the document declares next to the vector ("3.1",
    "cvssV3_1"...): it only names the version of an unreadable vector and flags a mismatch;
    the vector's own prefix decides how it is scored.
    """
    hint = _hint_version(version_hint)
    stated, stated_problem = _stated(stated_score)
    if not isinstance(vector, str) or not vector.strip():
        reason = "no vector" if vector is None or isinstance(vector, str) else "vector not text"
        return _unscored(hint, None, source, reason, stated)
    text = vector.strip()
    if len(text) > MAX_VECTOR_CHARS:
        reason = f"vector longer than {MAX_VECTOR_CHARS} characters"
        return _unscored(hint, text[:MAX_VECTOR_CHARS], source, reason, stated)
    version, body, reason = _split_version(text, hint)
    if reason is not None:
        return _unscored(version, text, source, reason, stated)
    try:
        base, severity, others = _compute(version, body)
    except CVSSError as e:
        return _unscored(version, text, source, f"malformed v{version} vector: {e}", stated)
    problems = [
        p
        for p in (
            stated_problem,
            _hint_problem(hint, version),
            _score_problem(stated, base, others),
        )
        if p
    ]
    return CvssScore(
        version=version,
        vector=text,
        base_score=base,
        severity=severity,
        source=source,
        problem="; ".join(problems) or None,
    )


def best_cvss(scores: Iterable[CvssScore]) -> CvssScore | None:
    """The assessment to show: the newest CVSS version that has a score; None if none has.

    Newest first because each version fixes flaws of the previous one and advisories now lead
    with it; between scores of the same version the highest wins (an advisor should hear the
    worst credible case), and on a tie the first listed (the document's own order: the CNA
    before third parties). Unscored assessments are never chosen.
    """
    scored = [s for s in scores if s.base_score is not None]
    if not scored:
        return None
    return max(scored, key=lambda s: (VERSION_RANK.get(s.version, 0), s.base_score or 0.0))


def _split_version(text: str, hint: str | None) -> tuple[str, str, str | None]:
    """(version, vector for the library, reason it cannot be scored or None)."""
    match = _PREFIX.match(text)
    if match is None:
        if text.upper().startswith("CVSS"):
            return hint or UNKNOWN_VERSION, text, "unreadable 'CVSS:x.y/' prefix"
        if hint is not None and hint != "2.0":
            return (
                hint or UNKNOWN_VERSION,
                text,
                f"v{hint} vector without its 'CVSS:{hint}/' prefix",
            )
        # NVD's legacy feeds wrapped v2 vectors in parentheses.
        body = text[1:-1] if text.startswith("(") and text.endswith(")") else text
        return "2.0", body, None
    version = match.group(1)
    version = f"{version}.0" if "." not in version else version
    if version not in VERSION_RANK:
        return hint or UNKNOWN_VERSION, text, f"unsupported CVSS version {match.group(1)}"
    if match.group(0) != f"CVSS:{version}/" and version != "2.0":
        return version, text, f"prefix must be written 'CVSS:{version}/'"
    body = text[match.end() :] if version == "2.0" else text
    return version, body, None


@lru_cache(maxsize=CACHED_VECTORS)
def _compute(version: str, body: str) -> tuple[float, str, tuple[float, ...]]:
    """Base score, upper-case severity, and the temporal/environmental scores the vector gives
    (cached: a pure function of the vector; CVSSError is raised again each time)."""
    if version == "4.0":
        v4 = CVSS4(body)
        return float(v4.base_score), str(v4.severity).upper(), ()
    scored = CVSS2(body) if version == "2.0" else CVSS3(body)
    base, *others = scored.scores()
    extra = tuple(float(s) for s in others if s is not None)
    return float(base), str(scored.severities()[0]).upper(), extra


def _stated(value: object) -> tuple[float | None, str | None]:
    """A stated score we can compare with, or the reason it is ignored.

    Numeric strings count: Oracle's CVE records state `"baseScore": "9.8"`.
    """
    if value is None:
        return None, None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None, f"stated score of type {type(value).__name__} ignored"
    try:
        score = float(value)
    except ValueError:
        return None, f"stated score {str(value)[:20]!r} is not a number"
    if not math.isfinite(score) or not 0.0 <= score <= 10.0:
        return None, f"stated score {str(value)[:20]} is outside 0-10"
    return score, None


def _hint_version(hint: object) -> str | None:
    """'3.1', '3_1', 'cvssV3_1', 'V3.1', 2 -> '3.1' / '2.0'; None when absent or unknown."""
    if hint is None or isinstance(hint, bool):
        return None
    match = _HINT.search(str(hint)[:40])
    if match is None:
        return None
    version = f"{match.group(1)}.{match.group(2) or 0}"
    return version if version in VERSION_RANK else None


def _hint_problem(hint: str | None, version: str) -> str | None:
    if hint is None or hint == version:
        return None
    return f"document says version {hint}, vector is {version}"


def _score_problem(stated: float | None, base: float, others: tuple[float, ...]) -> str | None:
    if stated is None or abs(stated - base) <= SCORE_TOLERANCE:
        return None
    message = f"stated score {stated:g} differs from the vector's base score {base:g}"
    if any(abs(stated - other) <= SCORE_TOLERANCE for other in others):
        message += " (it is the vector's temporal or environmental score)"
    return message


def _unscored(
    version: str | None, vector: str | None, source: str | None, reason: str, stated: float | None
) -> CvssScore:
    if stated is not None:
        reason += f"; stated score {stated:g} not used"
    return CvssScore(
        version=version or UNKNOWN_VERSION,
        vector=vector,
        base_score=None,
        severity=None,
        source=source,
        problem=reason,
    )
