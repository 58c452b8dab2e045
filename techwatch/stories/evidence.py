"""Why two items of different sources tell the same story, and how strongly (pure).

Three kinds of evidence, with thresholds chosen by measurement (bench/stories_eval.py on the
labelled pairs of tests/data/stories/, figures in tests/data/stories/README.md):

- url:  the same canonical URL, unless it is a bare home page.
- cve:  CVE lists that overlap enough. Identical lists are one vulnerability whenever they are
        reported (a CVE from 2012 added to KEV in 2022). A roll-up (a Patch Tuesday bulletin
        listing 80 CVEs) must not glue every story that names one of them, so a partial overlap
        counts only when its Jaccard index is at least `cve_jaccard` (the same roll-up told
        twice), or when the shorter list lies within a list of at most `cve_list_cap` ids (an
        alerte about two chained CVEs and the KEV entry of one of them). A `cve_window` on
        partial overlaps was measured and left off: the KEV catalog lists years-old CVEs whose
        exploitation CERT-FR alerted on long before, and those pairs are one event.
- text: near-duplicate title and lead (Jaccard of character 5-grams at least `text_jaccard`),
        published within `text_window` of each other, and not two different pages of one site.

When both items name CVEs, the CVE lists decide alone: formulaic advisories ("X contains a
privilege escalation vulnerability") read alike for different flaws, and disjoint lists mean
different events even behind one URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

import numpy as np

from techwatch.stories.neardup import jaccard

Reason = Literal["url", "cve", "text"]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The knobs of evidence; the defaults are the measured choice."""

    cve_jaccard: float = 0.5
    cve_list_cap: int = 10
    cve_window: timedelta | None = None  # measured: every window tried cost recall
    text_jaccard: float = 0.5
    text_window: timedelta = timedelta(days=7)


DEFAULT = Thresholds()

#: Stronger evidence first; ties between stories are broken in this order.
REASON_RANK: dict[str, int] = {"url": 0, "cve": 1, "text": 2}


@dataclass(frozen=True, slots=True)
class Evidence:
    """The strongest reason two items belong together, with a score in [0, 1]."""

    reason: Reason
    score: float


def cve_evidence(
    a: frozenset[str], b: frozenset[str], apart: timedelta, t: Thresholds = DEFAULT
) -> Evidence | None:
    """Overlap of two CVE lists of items published `apart`, by the rules above."""
    if not a or not b:
        return None
    inter = len(a & b)
    if not inter:
        return None
    score = inter / (len(a) + len(b) - inter)
    if score == 1.0:
        return Evidence("cve", 1.0)
    if t.cve_window is not None and apart > t.cve_window:
        return None
    contained = inter == min(len(a), len(b))
    if score >= t.cve_jaccard or (contained and max(len(a), len(b)) <= t.cve_list_cap):
        return Evidence("cve", round(score, 4))
    return None


def url_evidence(a: str | None, b: str | None) -> Evidence | None:
    """The same canonical URL with a path or query: a bare home page says nothing."""
    if not a or a != b:
        return None
    parts = urlsplit(a)
    if parts.path.strip("/") == "" and not parts.query:
        return None
    return Evidence("url", 1.0)


def other_page(a: str | None, b: str | None) -> bool:
    """Two different pages of one site: one publisher's two documents, so two events however
    alike they read (CERT-FR's weekly "Multiples vulnérabilités dans ..." avis)."""
    if not a or not b or a == b:
        return False
    return _site(a) == _site(b)


@lru_cache(maxsize=65_536)
def _site(url: str) -> str:
    """The host of a URL, lowercased; cached because a night asks for the same few thousand
    URLs hundreds of thousands of times."""
    return urlsplit(url).netloc.lower()


def text_evidence(
    a: np.ndarray,
    b: np.ndarray,
    apart: timedelta,
    t: Thresholds = DEFAULT,
    similarity: float | None = None,
) -> Evidence | None:
    """Near-duplicate leads (their `neardup.grams`) published close together. `similarity`
    may hold their Jaccard index already computed (neardup.jaccards)."""
    if abs(apart) > t.text_window:
        return None
    if min(len(a), len(b)) < t.text_jaccard * max(len(a), len(b)):
        return None  # the Jaccard index is at most the ratio of the sizes: no need to intersect
    score = jaccard(a, b) if similarity is None else similarity
    return Evidence("text", round(score, 4)) if score >= t.text_jaccard else None


def strongest(*found: Evidence | None) -> Evidence | None:
    """The best of several: highest score, then url > cve > text."""
    present = [e for e in found if e is not None]
    if not present:
        return None
    return min(present, key=lambda e: (-e.score, REASON_RANK[e.reason]))


def when_apart(a: datetime, b: datetime) -> timedelta:
    """How far apart two dates are (always positive)."""
    return abs(a - b)
