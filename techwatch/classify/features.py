"""Structured features read from an item's own text: the CVSS severity it states.

Advisories and news often state the CVSS assessment in the text ("CVSS 9.8", "CVSS 3.1 Base
Score 7.5", "CVSS:3.1/AV:N/AC:L/..."). Its band is the taxonomy's severity by definition, but
as n-grams a score is one token among thousands ("9.8" and "9.9" unrelated); one column per
band lets a linear model learn "stated critical -> critical" once for every score. A vector is
scored by parse/cvss (the one CVSS reading of the product); a stated score is taken as is.

`stated_bands` is the FunctionTransformer body in model.build_features; it must stay a
module-level function of this module: the saved model names it and artefact.py trusts it by
that name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

import numpy as np
from scipy import sparse

from techwatch.classify.weak import severity_band
from techwatch.parse.cvss import parse_cvss

BANDS: Final = ("low", "medium", "high", "critical")
# Only the start is searched: a statement of severity is made early, and the cost stays small.
SEARCH_CHARS: Final = 3_000
_VECTOR: Final = re.compile(r"CVSS:[234]\.\d/[A-Za-z:/]+")
_SCORE: Final = re.compile(
    r"\bCVSS(?:\s*v?[234](?:\.\d)?)?(?:\s*\(?v?[234](?:\.\d)?\)?)?"
    r"(?:\s+base)?(?:[\s-]*score)?(?:\s+(?:of|von|de))?(?:\s*[:=]\s*|\s+)(\d{1,2}(?:[.,]\d)?)(?![\d.,]*\d)",
    re.IGNORECASE,
)
_MENTION: Final = re.compile("cvss", re.IGNORECASE)
_COLUMN: Final = {band: j for j, band in enumerate(BANDS)}


def stated_band(text: str) -> str | None:
    """The severity band of the first CVSS vector, else score, stated in the text; or None."""
    head = text[:SEARCH_CHARS]
    vector = _VECTOR.search(head)
    if vector is not None:
        band = severity_band(parse_cvss(vector.group(0).rstrip("/")).base_score)
        if band is not None:
            return band
    score = _SCORE.search(head)
    if score is None:
        return None
    value = float(score.group(1).replace(",", "."))
    return severity_band(value) if value <= 10.0 else None


def stated_bands(texts: Iterable[object]) -> sparse.csr_matrix:
    """One row per text, a 1 in the column of its stated band (BANDS order), else zeros."""
    values = np.ravel(np.asarray(texts, dtype=object))
    rows, columns = [], []
    for row, text in enumerate(values):
        band = stated_band(text) if isinstance(text, str) and _MENTION.search(text) else None
        if band is not None:
            rows.append(row)
            columns.append(_COLUMN[band])
    data = np.ones(len(rows), dtype=np.float32)
    return sparse.csr_matrix((data, (rows, columns)), shape=(len(values), len(BANDS)))
