"""The end-of-support date an end-of-life story announces, read from its text (fr/de/en/ISO).

    end_of_support("Windows 10 : fin du support le 14 octobre 2025") -> date(2025, 10, 14)

Dates are read as ISO (2025-10-14), day-first numbers (14.10.2025, 14/10/2025: the order
used in Switzerland, France and Germany; 10/14/2025 is read month-first only when the day
makes that the sole possibility), day-month-year (14 octobre 2025, 1er juillet 2026,
14. Oktober 2025, 14 Oct 2025), English month-day-year (October 14, 2025) and month-year
(octobre 2025, which reads as the 1st: the earliest the support may end).

A story holds other dates too (publication, a past release), so the date kept is the one
closest to an end-of-support phrase ("end of support", "fin de vie", "Supportende",
"no longer supported", "n'est plus pris en charge"...) within `MAX_DISTANCE` characters; no
such phrase near a date gives None rather than a guess.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from techwatch.scoring.text import plain

MAX_DISTANCE: Final = 200  # characters between an end-of-support phrase and its date
BEFORE_PENALTY: Final = 20

MONTHS: Final = {
    **dict.fromkeys(("january", "jan", "janvier", "janv", "januar"), 1),
    **dict.fromkeys(("february", "feb", "fevrier", "fevr", "fev", "februar"), 2),
    **dict.fromkeys(("march", "mar", "mars", "marz", "maerz"), 3),
    **dict.fromkeys(("april", "apr", "avril", "avr"), 4),
    **dict.fromkeys(("may", "mai"), 5),
    **dict.fromkeys(("june", "jun", "juin", "juni"), 6),
    **dict.fromkeys(("july", "jul", "juillet", "juil", "juli"), 7),
    **dict.fromkeys(("august", "aug", "aout"), 8),
    **dict.fromkeys(("september", "sep", "sept", "septembre"), 9),
    **dict.fromkeys(("october", "oct", "octobre", "oktober", "okt"), 10),
    **dict.fromkeys(("november", "nov", "novembre"), 11),
    **dict.fromkeys(("december", "dec", "decembre", "dezember", "dez"), 12),
}
_MONTH: Final = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))
_PATTERNS: Final = (
    ("ymd", re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")),
    ("numeric", re.compile(r"\b(\d{1,2})[./](\d{1,2})[./](\d{4})\b")),
    ("dmy", re.compile(rf"\b(\d{{1,2}})(?:er|st|nd|rd|th|\.)?\s+({_MONTH})\.?\s+(\d{{4}})\b")),
    ("mdy", re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b")),
    ("my", re.compile(rf"\b({_MONTH})\.?\s+(\d{{4}})\b")),
)
_CUES: Final = re.compile(
    r"end[ -]of[ -](?:extended[ -])?(?:support|life|servicing|maintenance)|\beol\b|"
    r"support (?:will )?ends?|ends? (?:of )?support|no longer (?:be )?(?:supported|receive)|"
    r"retire|deprecat|sunset|discontinu|"
    r"fin d[ue] (?:la )?(?:support|vie|prise en charge|maintenance|commercialisation)|"
    r"(?:ne sera|n'est|ne seront|ne sont) plus (?:pris en charge|supporte|maintenu)|"
    r"supportende|ende des (?:supports|erweiterten supports)|nicht mehr unterstutzt|"
    r"lauft aus|eingestellt|abgekundigt|abkundigung|end of sale"
)


def end_of_support(text: str) -> date | None:
    """The date announced for the end of support, or None (see the module docstring)."""
    folded = plain(text)
    cues = [m.span() for m in _CUES.finditer(folded)]
    if not cues:
        return None
    best: tuple[int, int, date] | None = None
    for (start, end), day in _dates(folded):
        distance = min(_distance(start, end, cue) for cue in cues)
        if distance <= MAX_DISTANCE and (best is None or (distance, start) < best[:2]):
            best = (distance, start, day)
    return best[2] if best else None


def _distance(start: int, end: int, cue: tuple[int, int]) -> int:
    """Characters from the phrase to the date; a date before the phrase counts double plus
    `BEFORE_PENALTY` ("published 2025-01-02. End of life: 2026-06-30" is about the second)."""
    if start >= cue[1]:
        return start - cue[1]
    return max(cue[0] - end, 0) * 2 + BEFORE_PENALTY


def _dates(text: str) -> list[tuple[tuple[int, int], date]]:
    """Every readable date with its position; a position read by an earlier pattern (a full
    date) is not read again by a looser one (its month and year)."""
    found: list[tuple[tuple[int, int], date]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            if any(start <= match.start() < end for start, end in taken):
                continue
            day = _date(kind, match.groups())
            if day is not None:
                found.append((match.span(), day))
                taken.append(match.span())
    return found


def _date(kind: str, groups: tuple[str, ...]) -> date | None:
    if kind == "ymd":
        year, month, day = (int(g) for g in groups)
    elif kind == "numeric":
        first, second, year = (int(g) for g in groups)
        day, month = (second, first) if second > 12 >= first else (first, second)
    elif kind == "dmy":
        day, month, year = int(groups[0]), MONTHS[groups[1]], int(groups[2])
    elif kind == "mdy":
        month, day, year = MONTHS[groups[0]], int(groups[1]), int(groups[2])
    else:
        month, day, year = MONTHS[groups[0]], 1, int(groups[1])
    try:
        return date(year, month, day)
    except ValueError:
        return None
