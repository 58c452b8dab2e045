"""Versions and the readable ranges advisories state, and whether an asset's version is affected.

    parse_version("7.2.3")          -> Version (None when it is not a version: "22H2", "SDX55")
    compare(asset, bound)           -> -1 / 0 / 1, or None when the asset's version is too vague
    parse_range("< 7.2.5")          -> the ranges one published text states (() when unreadable)
    assess(version, affected, names) -> Assessment: affected / not_affected / unknown, and why

Comparison uses `packaging.version` when both sides are PEP 440 versions (pre-releases, post
releases), else a lenient key that vendor versions need ("7.2.3", "10.0.19045.6937",
"2024.1 build 5", "22.2R3-S3", "13.1-51.15", "V14.1.0.14"): numbers compare as numbers, words
such as build/patch/sp are separators, and alpha/beta/rc come before the release.

Two guards keep a wrong answer from excluding an asset silently:
- an asset version that is a prefix of the bound ("7.2" against "< 7.2.5", "10.0.19045"
  against "10.0.19045.6937") is too vague to compare: None, so the verdict is "unknown";
- versions of different schemes ("2012" against "6.3.9600", a year against a build number)
  are not compared: their first numbers differ by two or more digits.

Ranges read what the parsers produce from CVE 5, NVD, OSV, CSAF and CERT-FR (see
`techwatch.parse`): "< 2.15.0", ">= 2.0, < 2.15.0", "<= 1.4", "2.0 - 2.4", "2.4.1", "all versions",
"all other versions", CSAF "vers:all/<V2.4" and ">=13.5.1|<=13.5.3", CERT-FR "versions 7.4.x
antérieures à 7.4.9", "versions 8.0.0 à 8.0.44, 8.4.0 à 8.4.7", "Windows 10 Version 1809 pour
systèmes x64 versions antérieures à 10.0.17763.8389" (words before the versions qualify the
edition, checked against the asset's names), "10.4.0.2 and below". Citrix's ">= 13.1, < 51.15"
(build 51.15 of 13.1) is read as "< 13.1-51.15". Anything else ("sans le correctif",
"< Vancouver Patch 8", git ranges, an upper bound below the lower one) is unreadable and never
excludes an asset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

from packaging.version import InvalidVersion
from packaging.version import Version as Pep440

from techwatch.scoring.identifiers import (
    Words,
    names_match,
    parse_cpe,
    product_words,
    vendor_key,
)
from techwatch.scoring.text import plain as plain_text
from techwatch.scoring.text import word_set
from techwatch.types import Affected

MAX_VERSION_CHARS: Final = 100
MAX_RANGE_CHARS: Final = 400  # the longest real range text seen is ~250 characters
MAX_NUMBER_DIGITS: Final = 18  # longer digit runs (dates, hashes) are cut: ints stay small
# Pre-release words, ordered before the release (0): dev < alpha < beta < rc.
PRE_RELEASE: Final = {
    "dev": -4, "snapshot": -4, "alpha": -3, "beta": -2, "ea": -2, "preview": -1, "pre": -1,
    "rc": -1, "cr": -1,
}  # fmt: skip
# Words that may follow a version inside the same version ("2024.1 build 5", "9.90 SP10").
_SUFFIX_WORDS: Final = r"(?:build|patch|update|sp|su|hotfix|hf|r|p|rev|cu|fp|if|ifix|up|release)"
_VERSION: Final = rf"v?\d[\w.+~:()\-]*(?:\s+{_SUFFIX_WORDS}\s*\d[\w.\-]*)*"
_VERSION_RE: Final = re.compile(rf"^{_VERSION}$", re.IGNORECASE)
_FIRST_SEGMENT: Final = re.compile(r"^v?(\d+)([a-z]*)", re.IGNORECASE)
_RELEASE: Final = re.compile(r"^v?(\d+(?:\.\d+)*)", re.IGNORECASE)
_TOKENS: Final = re.compile(r"\d+|[a-z]+")

Status = Literal["affected", "not_affected", "unknown"]


@dataclass(frozen=True, slots=True)
class Version:
    """A version as written, with what comparisons need."""

    text: str
    key: tuple[int, ...]  # lenient: numbers, pre-release words as negative numbers
    release: tuple[int, ...]  # leading dotted numbers: "10.0.19045.6937" -> (10, 0, 19045, 6937)
    pep440: Pep440 | None


@lru_cache(maxsize=65536)
def parse_version(text: str) -> Version | None:
    """A Version, or None when `text` does not look like one (a name, a year-and-half "22H2")."""
    text = text.strip()
    if not text or len(text) > MAX_VERSION_CHARS or not _VERSION_RE.match(text):
        return None
    first = _FIRST_SEGMENT.match(text)
    if first is None or (first.group(2) and first.group(2).lower() not in PRE_RELEASE):
        return None
    lowered = text.lower()
    key = tuple(_token_value(t) for t in _TOKENS.findall(lowered.removeprefix("v")))
    key = tuple(k for k in key if k is not None)
    release_match = _RELEASE.match(lowered)
    release = tuple(int(n[:MAX_NUMBER_DIGITS]) for n in release_match.group(1).split("."))
    return Version(text, key, release, _pep440(text))


def _token_value(token: str) -> int | None:
    if token.isdigit():
        return int(token[:MAX_NUMBER_DIGITS])
    return PRE_RELEASE.get(token)  # other words separate numbers and are dropped


def _pep440(text: str) -> Pep440 | None:
    try:
        return Pep440(text)
    except InvalidVersion:
        return None


def compare(asset: Version, bound: Version) -> int | None:
    """-1, 0 or 1 as `asset` is before, equal to or after `bound`; None when the asset's
    version is a vague prefix of the bound or the two follow different numbering schemes."""
    if abs(len(str(asset.release[0])) - len(str(bound.release[0]))) >= 2:
        return None
    size = len(asset.release)
    vague = size < len(bound.release) and bound.release[:size] == asset.release
    if vague and any(bound.release[size:]):
        return None
    if asset.pep440 is not None and bound.pep440 is not None:
        return (asset.pep440 > bound.pep440) - (asset.pep440 < bound.pep440)
    width = max(len(asset.key), len(bound.key))
    left = asset.key + (0,) * (width - len(asset.key))
    right = bound.key + (0,) * (width - len(bound.key))
    return (left > right) - (left < right)


# --- ranges -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Range:
    """One stated range; `text` is the published text it was read from (shown in reasons)."""

    text: str
    lower: Version | None = None
    lower_inclusive: bool = True
    upper: Version | None = None
    upper_inclusive: bool = False
    branch: Version | None = None  # "7.2.x": every 7.2 release
    every: bool = False  # "all versions"
    others: bool = False  # "all other versions": affected unless at or after a fix
    qualifier: Words = ()  # edition words written before the versions


def contains(range_: Range, version: Version) -> bool | None:
    """Whether `version` is in the range; None when that cannot be told."""
    if range_.every or range_.others:
        return True
    if range_.branch is not None:
        return _in_branch(version, range_.branch)
    answers = []
    if range_.lower is not None:
        answers.append(_after(compare(version, range_.lower), range_.lower_inclusive))
    if range_.upper is not None:
        order = compare(version, range_.upper)
        answers.append(_after(-order if order is not None else None, range_.upper_inclusive))
    if False in answers:
        return False
    return None if None in answers else True


def _after(order: int | None, inclusive: bool) -> bool | None:
    """Whether a comparison result (-1, 0, 1, None) is on the bound's open side."""
    return None if order is None else order > 0 or (order == 0 and inclusive)


def _in_branch(version: Version, branch: Version) -> bool | None:
    size = len(branch.release)
    if len(version.release) < size:
        return None if branch.release[: len(version.release)] == version.release else False
    return version.release[:size] == branch.release


_VERS_SCHEME: Final = re.compile(r"vers:[a-z0-9]+/", re.IGNORECASE)
_UNKNOWN_PATCH: Final = re.compile(r"\bsans (?:le|les)\b|\bwithout (?:the )?(?:patch|fix)")
_EVERY: Final = frozenset({"all versions", "toutes versions", "toutes les versions", "*", "all"})
_OTHERS: Final = frozenset({"all other versions"})
_PHRASES: Final = (
    (re.compile(r"\b(?:versions?\s+)?anterieures?\s+ou\s+egales?\s+a\b"), " <= "),
    (re.compile(r"\b(?:versions?\s+)?anterieures?\s+a\b"), " < "),
    (re.compile(r"\b(?:versions?\s+)?(?:posterieure|superieure)s?\s+ou\s+egales?\s+a\b"), " >= "),
    (re.compile(r"\b(?:versions?\s+)?(?:posterieure|superieure)s?\s+a\b"), " > "),
    (re.compile(r"\b(?:prior to|before|earlier than|older than)\b"), " < "),
    (re.compile(rf"(?<!\S)({_VERSION})\s+(?:and|or)\s+(?:below|earlier|lower|older|prior)(?:\s+versions?)?\b"),
     r" <= \1 "),
    (re.compile(rf"(?<![\S<>=])({_VERSION})\s+(?:-|a|to|bis|through)\s+({_VERSION})(?![\w.])"),
     r" >= \1 , <= \2 "),
)  # fmt: skip
_VER_PREFIX: Final = re.compile(r"\bver(?:sion)?\.?\s*(?=\d)|\bv\.(?=\d)")
_BOUND_BRANCH: Final = re.compile(r"([<>=]=?\s*)(v?\d+(?:\.\d+)*)(?:[.\-]x)+")  # ">= 5.1.x"
_BRANCH: Final = re.compile(r"(?<![\S<>=])(v?\d+(?:\.\d+)*)(?:[.\-]x)+:?(?![\w.])")
_CITRIX_BUILD: Final = re.compile(r"^>= (\d+\.\d+(?:-[a-z]+)?), < (\d+\.\d+)$", re.IGNORECASE)
_OPERATOR: Final = re.compile(r"<=|>=|<|>|=")
_HEAD_VERSION: Final = re.compile(rf"\bversions?\s+({_VERSION})\s*$")
_ITEM: Final = re.compile(
    rf"\s*(?:,|\||;|\bet\b|\band\b)?\s*(<=|>=|<|>|=)\s*(?:[a-z][\w\-]*\s+){{0,2}}({_VERSION})",
    re.IGNORECASE,
)
_CONTEXT: Final = re.compile(
    r"^\s*(?:\(|pour\b|sur\b|for\b|on\b|installe|installed\b|with\b|avec\b|running\b|sous\b|"
    r"unter\b|auf\b|fur\b)"
)
_NOISE_WORDS: Final = word_set(
    "version versions toutes les all pour for sur on systemes systems edition editions bits bit"
    " x64 x86 arm64 32 64 based"
)


@lru_cache(maxsize=65536)
def parse_range(text: str) -> tuple[Range, ...]:
    """The ranges one published version text states; () when it cannot be read safely."""
    if len(text) > MAX_RANGE_CHARS:
        return ()
    plain = plain_text(text)
    if not plain or plain.startswith("git ") or _UNKNOWN_PATCH.search(plain):
        return ()
    plain = _VER_PREFIX.sub("", _VERS_SCHEME.sub("", plain)).strip()
    if plain in _EVERY:
        return (Range(text, every=True),)
    if plain in _OTHERS:
        return (Range(text, others=True),)
    for pattern, replacement in _PHRASES:
        plain = pattern.sub(replacement, plain)
    operator = _OPERATOR.search(plain)
    if operator is None:
        return _without_operator(text, plain)
    plain = _BRANCH.sub(r" >= \1 ", _BOUND_BRANCH.sub(r"\1\2", plain))  # "7.4.x < 7.4.9"
    operator = _OPERATOR.search(plain)
    assert operator is not None
    head, tail = plain[: operator.start()], plain[operator.start() :]
    start = _HEAD_VERSION.search(head)  # "versions 21.4r3 < 21.4r3-s12": from 21.4R3 on
    if start is not None:
        head, tail = head[: start.start()], f">= {start.group(1)} {tail}"
    return _bounded(text, tail, _qualifier(head))


def _qualifier(head: str) -> Words:
    """Edition words before the versions; () when only numbers and version names ("22H2",
    "1809") are left: those do not name another product."""
    words = [w for w in product_words(head) if w not in _NOISE_WORDS]
    named = any(w[0].isalpha() for w in words)
    return tuple(words) if named else ()


def _without_operator(text: str, plain: str) -> tuple[Range, ...]:
    """ "7.2.x" (a branch, maybe after "toutes versions") or one exact version."""
    branch = _BRANCH.search(plain)
    if branch is not None:
        version = parse_version(branch.group(1))
        rest = plain[branch.end() :]
        if version is None or (rest.strip() and not _CONTEXT.match(rest)):
            return ()
        return (Range(text, branch=version, qualifier=_qualifier(plain[: branch.start()])),)
    words = plain.split()
    while words and words[0] in ("version", "versions"):
        words = words[1:]
    version = parse_version(" ".join(words))
    return (Range(text, lower=version, upper=version, upper_inclusive=True),) if version else ()


def _bounded(text: str, tail: str, qualifier: Words) -> tuple[Range, ...]:
    """Operator items in order: a lower bound and the upper bound after it make one range."""
    items: list[tuple[str, Version]] = []
    position = 0
    while True:
        found = _ITEM.match(tail, position)
        if found is None:
            break
        version = parse_version(found.group(2))
        if version is None:
            return ()
        items.append((found.group(1), version))
        position = found.end()
    rest = tail[position:]
    if not items or (rest.strip() and not _CONTEXT.match(rest)):
        return ()
    ranges: list[Range] = []
    lower: tuple[str, Version] | None = None
    for operator, version in items:
        if operator in (">", ">="):
            if lower is not None:
                ranges.append(_range(text, lower, None, qualifier))
            lower = (operator, version)
        elif operator == "=":
            ranges.append(_range(text, ("=", version), ("<=", version), qualifier))
        else:
            ranges.append(_range(text, lower, (operator, version), qualifier))
            lower = None
    if lower is not None:
        ranges.append(_range(text, lower, None, qualifier))
    return tuple(r for r in ranges if r is not None)


def _range(
    text: str,
    lower: tuple[str, Version] | None,
    upper: tuple[str, Version] | None,
    qualifier: Words,
) -> Range | None:
    low = lower[1] if lower else None
    high = upper[1] if upper else None
    if low is not None and high is not None and (compare(high, low) or 0) < 0:
        return None  # an upper bound below the lower one: unreadable, not empty
    return Range(
        text,
        lower=low,
        lower_inclusive=lower is None or lower[0] in (">=", "="),
        upper=high,
        upper_inclusive=upper is not None and upper[0] == "<=",
        qualifier=qualifier,
    )


# --- one asset against one affected product ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assessment:
    """Whether one asset version is affected by one `Affected` entry, and why.

    `why`: in_range, all_versions, below_fix (affected); outside_ranges, fixed (not affected);
    no_version, unreadable_version, no_ranges, unclear, other_edition (unknown).
    `detail`: the published ranges or fixed versions the answer rests on.
    """

    status: Status
    why: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class _Statement:
    """What one Affected entry states, read once however many assets it is checked against."""

    texts: tuple[str, ...]  # the published ranges (or the CPEs' versions)
    ranges: tuple[Range, ...]
    unreadable: bool  # some text could not be read: silence about a version proves nothing
    fixes: tuple[Version, ...]

    @property
    def detail(self) -> str:
        return "; ".join(self.texts)


@lru_cache(maxsize=65536)
def _statement(affected: Affected) -> _Statement:
    texts = _citrix_builds(affected) or affected.versions or _cpe_versions(affected)
    readable = [parse_range(t) for t in texts]
    fixes = (parse_version(t) for t in affected.fixed)
    return _Statement(
        texts=texts,
        ranges=tuple(r for found in readable for r in found),
        unreadable=not all(readable),
        fixes=tuple(f for f in fixes if f is not None),
    )


def assess(version_text: str | None, affected: Affected, names: tuple[Words, ...]) -> Assessment:
    """Is an asset at `version_text` affected? `names` are the asset's product words (its
    product and aliases), used to tell which edition a qualified range is about."""
    if not version_text:
        return Assessment("unknown", "no_version")
    version = parse_version(version_text)
    if version is None:
        return Assessment("unknown", "unreadable_version", version_text)
    stated = _statement(affected)
    ranges = [r for r in stated.ranges if not r.qualifier or _applies(r, names)]
    answers = [contains(r, version) for r in ranges]
    for range_, answer in zip(ranges, answers, strict=True):
        if answer and not range_.others:
            why = "all_versions" if range_.every else "in_range"
            return Assessment("affected", why, range_.text)
    fixed = _fix_reached(version, stated.fixes)
    if fixed is not None:
        return Assessment("not_affected", "fixed", fixed.text)
    if any(r.others for r in ranges):
        return Assessment("affected", "all_versions", "all other versions")
    if ranges and not stated.unreadable and all(answer is False for answer in answers):
        return Assessment("not_affected", "outside_ranges", stated.detail)
    below = _below_branch_fix(version, stated.fixes)
    if below is not None and not ranges:
        return Assessment("affected", "below_fix", below.text)
    if not stated.texts and not stated.fixes:
        return Assessment("unknown", "no_ranges")
    if stated.ranges and not ranges and not stated.unreadable:
        return Assessment("unknown", "other_edition", stated.detail)
    return Assessment("unknown", "unclear", stated.detail)


def _citrix_builds(affected: Affected) -> tuple[str, ...]:
    """Citrix (Cloud Software Group) CVE records write "13.1 before build 51.15" as
    ">= 13.1, < 51.15": read as ">= 13.1, < 13.1-51.15" (seen in real NetScaler records)."""
    if vendor_key(affected.vendor) != "citrix":
        return ()
    return tuple(_CITRIX_BUILD.sub(_citrix_build, text) for text in affected.versions)


def _citrix_build(found: re.Match[str]) -> str:
    release, build = found.group(1), found.group(2)
    return found.group(0) if build.startswith(release) else f">= {release}, < {release}-{build}"


def _applies(range_: Range, names: tuple[Words, ...]) -> bool:
    return not range_.qualifier or any(names_match(n, range_.qualifier) for n in names)


def _cpe_versions(affected: Affected) -> tuple[str, ...]:
    """Versions named by the CPEs, used only when no range is stated (their version field
    is not always the affected one: Microsoft's CPEs carry the fixed build)."""
    cpes = (parse_cpe(c) for c in affected.cpes)
    return tuple(dict.fromkeys(c.version for c in cpes if c is not None and c.version))


def _fix_reached(version: Version, fixes: tuple[Version, ...]) -> Version | None:
    """The fix the asset already has: the fix of its branch (same major.minor) when one is
    stated, else the highest fix, and only when the asset is at or after every stated fix."""
    branch = [f for f in fixes if f.release[:2] == version.release[:2]]
    candidates = branch or fixes
    reached = [f for f in candidates if compare(version, f) in (0, 1)]
    if not reached or (not branch and len(reached) < len(fixes)):
        return None
    return max(reached, key=lambda f: f.key)


def _below_branch_fix(version: Version, fixes: tuple[Version, ...]) -> Version | None:
    branch = [f for f in fixes if f.release[:2] == version.release[:2]]
    below = [f for f in branch if compare(version, f) == -1]
    return below[0] if below else None
