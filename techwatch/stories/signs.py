"""Signs of leads computed before grouping (the ingestion flow signs the run's collected items
beside its last write), packed in a few flat arrays until grouping unpacks them.

Why packed: they are made in a side thread (its own malloc arena) and live until grouping,
across the freeing of the last batch's items; as a dict of leads, key tuples and gram arrays
they were ~210,000 heap blocks (25 MiB for the ingestion bench's 15,000 leads), packed they
are 6 arrays (22 MiB). The stories stage alone (no index beside it) peaks 4-11 MiB higher
with the packs held (3 pairs); the flow's run peak 458-472 MiB against 448-464 on main.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from techwatch.stories.neardup import BANDS, lead, text_signs
from techwatch.types import SourceOutcome

#: A lead's MinHash band keys and grams (`neardup.text_signs`), as grouping uses them.
Sign = tuple[tuple[int, ...], np.ndarray]


@dataclass(frozen=True, slots=True)
class Signs:
    """The signs of some distinct leads, row by row: the leads in UTF-8 end to end, their band
    keys (a row of zeros where a lead has none), and their grams end to end."""

    leads: bytes
    lead_ends: np.ndarray
    keys: np.ndarray
    keyed: np.ndarray
    grams: np.ndarray
    gram_ends: np.ndarray


def leads_of(outcomes: Iterable[SourceOutcome]) -> list[str]:
    """The distinct leads of the collected items, as grouping will read them once stored."""
    return list(dict.fromkeys(lead(i.title, i.text) for o in outcomes for i in o.items))


def pack(leads: Sequence[str]) -> Signs:
    """The signs of `leads` (distinct), computed and packed."""
    keys, grams = text_signs(leads)
    encoded = [text.encode() for text in leads]
    return Signs(
        leads=b"".join(encoded),
        lead_ends=np.cumsum([len(e) for e in encoded], dtype=np.int64),
        keys=np.array([k or (0,) * BANDS for k in keys], dtype=np.int64).reshape(-1, BANDS),
        keyed=np.array([bool(k) for k in keys], dtype=bool),
        grams=np.concatenate([*grams, np.empty(0, dtype=np.uint32)]),
        gram_ends=np.cumsum([len(g) for g in grams], dtype=np.int64),
    )


def unpack(packs: Iterable[Signs]) -> dict[str, Sign]:
    """Each lead's sign, by lead, as `neardup.text_signs` gives them (grams: views)."""
    return {lead: sign for signs in packs for lead, sign in _unpacked(signs)}


def _unpacked(signs: Signs) -> zip[tuple[str, Sign]]:
    ends = signs.lead_ends.tolist()
    leads = [signs.leads[s:e].decode() for s, e in zip([0, *ends], ends, strict=False)]
    keys = [
        tuple(row) if there else ()
        for row, there in zip(signs.keys.tolist(), signs.keyed.tolist(), strict=True)
    ]
    grams = np.split(signs.grams, signs.gram_ends[:-1].tolist()) if ends else []
    return zip(leads, zip(keys, grams, strict=True), strict=True)
