"""End-of-support dates read from fr/de/en/ISO text."""

from __future__ import annotations

from datetime import date

import pytest

from techwatch.scoring.eol import end_of_support


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Windows 10 : fin du support le 14 octobre 2025", date(2025, 10, 14)),
        ("Veeam v12 : fin de support au 1er juillet 2026", date(2026, 7, 1)),
        ("Supportende für Windows 10 am 14. Oktober 2025", date(2025, 10, 14)),
        ("Der Support für Exchange 2016 endet am 14.10.2025 (Supportende)", date(2025, 10, 14)),
        ("Microsoft ends support for Exchange 2016 on October 14, 2025.", date(2025, 10, 14)),
        ("End of life: 2026-06-30", date(2026, 6, 30)),
        ("Sage 50 ne sera plus pris en charge après le 31/12/2026", date(2026, 12, 31)),
        ("EOL in March 2027", date(2027, 3, 1)),  # a month: its first day, the earliest
        ("Ende des Supports im März 2027", date(2027, 3, 1)),
        ("support ends 10/14/2025", date(2025, 10, 14)),  # only month-first makes sense
        # the publication date comes first, the end-of-support date after the phrase
        ("Published 2025-01-02. End of life: 2026-06-30", date(2026, 6, 30)),
        ("October 14, 2025: Windows 10 end of support", date(2025, 10, 14)),
    ],
)
def test_dates_in_three_languages(text: str, expected: date) -> None:
    assert end_of_support(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Published 3 March 2025. A new release with many features.",  # no end-of-support phrase
        "end of support 31.02.2026",  # no such day
        "end of support announced, date to follow",
        "End of support. " + "x" * 400 + " 2026-06-30",  # too far from the phrase
    ],
)
def test_no_date_rather_than_a_guess(text: str) -> None:
    assert end_of_support(text) is None
