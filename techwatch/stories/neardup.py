"""Near-duplicate text: character shingles, their Jaccard similarity, and MinHash LSH band keys.

Character 5-grams of the folded title and lead survive small edits, punctuation and accents,
which is what syndicated copies and aggregators change. MinHash band keys only find candidate
pairs (stored per item, so a night's items are never compared with every stored item); the
decision always uses the exact Jaccard of the two shingle sets.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from collections.abc import Sequence

from datasketch import MinHash

SHINGLE_CHARS = 5
LEAD_CHARS = 300  # of the text, after the title: where two copies of one story agree most
# 10 bands of 3 rows: a pair at Jaccard 0.5 (the text threshold) is a candidate with p = 0.74
# in theory, 0.95 of the real-data pairs at or above 0.5 in practice (bench/stories_eval.py
# notes); 8 bands of 4 rows found 0.75 of them, 10 of 2 rows made 59% of all pairs candidates.
NUM_PERM = 30
BAND_ROWS = 3
BANDS = NUM_PERM // BAND_ROWS
SEED = 1  # fixed: stored band keys must stay comparable across runs

_NOT_WORD = re.compile(r"[\W_]+")
_COMBINING = re.compile("[\u0300-\u036f]+")  # the accents NFKD splits off Latin letters


def fold(text: str) -> str:
    """Case, accents, punctuation and spacing folded: 'Faille – Zimbra' -> 'faille zimbra'."""
    folded = text.casefold()
    if not folded.isascii():
        folded = _COMBINING.sub("", unicodedata.normalize("NFKD", folded))
    return " ".join(_NOT_WORD.sub(" ", folded).split())


def lead(title: str, text: str) -> str:
    """What two reports of one event share most: the title and the start of the text."""
    return f"{title} {text[:LEAD_CHARS]}"


def shingles(text: str) -> frozenset[int]:
    """The set of hashed character 5-grams of the folded text (empty for empty text)."""
    data = fold(text).encode()  # mostly ASCII once folded: byte grams are character grams
    if not data:
        return frozenset()
    k = SHINGLE_CHARS
    return frozenset(map(zlib.crc32, {data[i : i + k] for i in range(max(1, len(data) - k + 1))}))


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """|a & b| / |a | b|, 0.0 when both are empty."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def band_keys(shingle_sets: Sequence[frozenset[int]]) -> list[tuple[int, ...]]:
    """For each shingle set, one 63-bit key per LSH band (none for an empty set).

    Two sets share at least one key with probability 1 - (1 - s^BAND_ROWS)^BANDS at Jaccard s.
    """
    non_empty = [sorted(s) for s in shingle_sets if s]
    hashes = iter(MinHash.bulk(non_empty, num_perm=NUM_PERM, seed=SEED, hashfunc=_identity))
    keys: list[tuple[int, ...]] = []
    for s in shingle_sets:
        if not s:
            keys.append(())
            continue
        values = next(hashes).hashvalues
        keys.append(
            tuple(
                _band_key(band, values[band * BAND_ROWS : (band + 1) * BAND_ROWS].tobytes())
                for band in range(BANDS)
            )
        )
    return keys


def candidate_probability(similarity: float) -> float:
    """Chance that a pair at this Jaccard similarity shares a band key (the LSH S-curve)."""
    return 1.0 - (1.0 - similarity**BAND_ROWS) ** BANDS


def _identity(value: int) -> int:
    return value


def _band_key(band: int, values: bytes) -> int:
    digest = hashlib.blake2b(bytes([band]) + values, digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1  # fits a signed BIGINT
