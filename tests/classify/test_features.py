"""The CVSS band an item's text states: the structured feature next to the n-grams."""

from __future__ import annotations

import numpy as np
import pytest

from techwatch.classify.features import BANDS, stated_band, stated_bands


@pytest.mark.parametrize(
    ("text", "band"),
    [
        ("Heap overflow (CVE-2026-51234, CVSS 9.8) in FortiOS.", "critical"),
        ("CVSS 3.1 Base Score 7.5 (Availability impacts).", "high"),
        ("Le score CVSS de 5,3 reste moyen.", "medium"),
        ("Die Lücke hat einen CVSS-Score von 3,1.", "low"),
        ("CVSS v3.1 base score: 10.0", "critical"),
        ("CVSS 4.0: 6.9", "medium"),
        # The vector decides, not a stated score: it is the assessment.
        ("Vector CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H, score 5.0", "critical"),
        ("CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", "low"),
        ("We moved to CVSS version 3 last year.", None),
        ("CVSS 45", None),
        ("No score stated here.", None),
        ("", None),
    ],
)
def test_stated_band(text: str, band: str | None) -> None:
    assert stated_band(text) == band


def test_stated_bands_one_column_per_band_and_robust_to_non_text() -> None:
    matrix = stated_bands(np.array(["CVSS 9.8", "nothing", None, "CVSS 2.0"], dtype=object))
    expected = np.zeros((4, len(BANDS)))
    expected[0, BANDS.index("critical")] = expected[3, BANDS.index("low")] = 1
    assert (matrix.toarray() == expected).all()
