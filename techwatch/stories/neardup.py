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
from collections.abc import Iterator, Sequence

import numpy as np

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
#: _NOT_WORD for ASCII bytes: letters and digits stay, everything else becomes a space.
_ASCII_FOLD = bytes(b if chr(b).isalnum() and b < 128 else 32 for b in range(256))


def fold(text: str) -> str:
    """Case, accents, punctuation and spacing folded: 'Faille – Zimbra' -> 'faille zimbra'."""
    folded = text.casefold()
    if folded.isascii():
        return b" ".join(folded.encode().translate(_ASCII_FOLD).split()).decode()
    folded = _COMBINING.sub("", unicodedata.normalize("NFKD", folded))
    return " ".join(_NOT_WORD.sub(" ", folded).split())


def lead(title: str, text: str) -> str:
    """What two reports of one event share most: the title and the start of the text."""
    return f"{title} {text[:LEAD_CHARS]}"


def shingles(text: str) -> frozenset[int]:
    """The set of hashed (CRC-32) character 5-grams of the folded text (empty for empty text)."""
    data = fold(text).encode()  # mostly ASCII once folded: byte grams are character grams
    k = SHINGLE_CHARS
    if len(data) < k:
        return frozenset([zlib.crc32(data)]) if data else frozenset()
    return frozenset(_gram_hashes(np.frombuffer(data, dtype=np.uint8)).tolist())


def grams(text: str) -> np.ndarray:
    """`shingles(text)` as a sorted array of unique uint32: the form the planner compares."""
    return text_grams([text])[0]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """|a & b| / |a | b| of two `grams` arrays, 0.0 when either is empty.

    Why arrays: a binary search of one sorted array in the other took a third of the time of a
    frozenset intersection (CRC values are spread over memory), and an array holds a lead's
    ~300 grams in 1.2 KiB where a frozenset of ints took about 18 KiB.
    """
    if not len(a) or not len(b):
        return 0.0
    at = np.searchsorted(a, b)
    at[at == len(a)] = 0
    inter = int(np.count_nonzero(a[at] == b))
    return inter / (len(a) + len(b) - inter)


def jaccards(a: np.ndarray, others: Sequence[np.ndarray]) -> list[float]:
    """`jaccard(a, b)` for each `b` of `others`, in one pass over them laid end to end. Why:
    an item is compared with up to grouping.MAX_TEXT_CANDIDATES others, and the fixed cost of
    a few small numpy calls per pair was most of a look-alike night's text comparisons."""
    sizes = [len(b) for b in others]
    if not len(a) or not any(sizes):
        return [0.0] * len(others)
    joined = np.concatenate(others)
    at = np.searchsorted(a, joined)
    at[at == len(a)] = 0
    found = np.concatenate(([0], np.cumsum(a[at] == joined)))
    ends = np.cumsum(sizes)
    inter = (found[ends] - found[ends - sizes]).tolist()
    return [i / (len(a) + n - i) if n else 0.0 for i, n in zip(inter, sizes, strict=True)]


def pair_similarities(
    texts: Sequence[np.ndarray],
    a: np.ndarray,
    b: np.ndarray,
    floor: float,
    exact: np.ndarray,
) -> list[float]:
    """`jaccard(texts[a[k]], texts[b[k]])` of each pair k that may reach `floor` or is marked
    `exact`; of any other pair, an upper bound of it that is below `floor`.

    Why: most candidate pairs of a look-alike night are far below the floor (0.26 on average on
    the ingestion bench), and an exact bound rules them out without intersecting their grams:
    two texts share at most, in each bin of the grams' low bits, the smaller of their counts
    there. With 512 bins this rules out all but a few pairs at a ~tenth of the cost of
    intersecting each pair."""
    sizes = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    histograms = _histograms(texts, sizes)
    shared = np.empty(len(a), dtype=np.int64)
    for first in range(0, len(a), PAIR_BLOCK):
        pair = slice(first, first + PAIR_BLOCK)
        at_most = np.minimum(histograms[a[pair]], histograms[b[pair]])
        shared[pair] = at_most.sum(axis=1, dtype=np.int64)
    union = sizes[a] + sizes[b] - shared
    bound = np.divide(shared, union, out=np.zeros(len(a)), where=union > 0)
    found = bound.tolist()
    for k in np.flatnonzero((bound >= floor) | exact).tolist():
        found[k] = jaccard(texts[a[k]], texts[b[k]])
    return found


def _histograms(texts: Sequence[np.ndarray], sizes: np.ndarray) -> np.ndarray:
    """How many grams of each text fall in each of HISTOGRAM_BINS bins (their low bits), one
    row per text, counted PAIR_BLOCK texts at a time: bincount's int64 counts and the int64
    copies of the grams stay a few MiB (8192 at a time held 100 MiB for a night's 15,000).
    One byte a bin unless a bin holds more than 255 grams (a lead's ~400 grams over 512 bins
    put a handful in each): the rows of a night's 15,000 texts took 15 MiB in two bytes."""
    bins = HISTOGRAM_BINS
    wider = np.uint16 if int(sizes.max(initial=0)) < 1 << 16 else np.int64
    histograms = np.zeros((len(texts), bins), dtype=np.uint8)
    for first in range(0, len(texts), PAIR_BLOCK):
        block = texts[first : first + PAIR_BLOCK]
        owner = np.repeat(np.arange(len(block), dtype=np.int64), sizes[first : first + len(block)])
        values = np.concatenate([*block, np.empty(0, dtype=np.uint32)]).astype(np.int64)
        counted = np.bincount(owner * bins + (values & (bins - 1)), minlength=len(block) * bins)
        if histograms.dtype == np.uint8 and int(counted.max(initial=0)) > 0xFF:
            histograms = histograms.astype(wider)
        histograms[first : first + len(block)] = counted.reshape(len(block), bins)
    return histograms


HISTOGRAM_BINS = 512  # a power of two (low bits of the CRC); 256 ruled out only 86% of pairs
PAIR_BLOCK = 1024  # pairs bounded (texts counted) at once: 1024 x 512 uint16 gathers, 1 MiB


def band_keys(shingle_sets: Sequence[frozenset[int]]) -> list[tuple[int, ...]]:
    """For each shingle set, one 63-bit key per LSH band (none for an empty set).

    Two sets share at least one key with probability 1 - (1 - s^BAND_ROWS)^BANDS at Jaccard s.
    """
    counts = np.fromiter(map(len, shingle_sets), dtype=np.int64, count=len(shingle_sets))
    hashes = np.fromiter(
        (h for s in shingle_sets for h in s), dtype=np.uint32, count=int(counts.sum())
    )
    return _keys(_signatures(hashes, counts), counts > 0)


def text_grams(texts: Sequence[str]) -> list[np.ndarray]:
    """`grams(t)` of every text, vectorised over the batch like `text_signs` (one numpy
    pass instead of ~0.4 ms of Python per item)."""
    return [g for block in _blocks(texts) for g in _split_unique(*_all_gram_hashes(block))]


def _all_gram_hashes(data: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """The gram hashes of every folded text, concatenated, and how many belong to each.

    A text shorter than a gram has one: the CRC-32 of the whole text (as `shingles`)."""
    lengths = np.fromiter(map(len, data), dtype=np.int64, count=len(data))
    k = SHINGLE_CHARS
    counts = np.where(lengths >= k, lengths - k + 1, np.minimum(lengths, 1))
    buffer = np.frombuffer(b"".join(data), dtype=np.uint8)
    # Each text's grams start at its first byte; a short text gets a placeholder slot there.
    starts = np.cumsum(lengths) - lengths
    gram_starts = np.cumsum(counts) - counts
    position = np.arange(int(counts.sum())) + np.repeat(starts - gram_starts, counts)
    hashes = np.zeros(len(position), dtype=np.uint32)
    windows = position < len(buffer) - k + 1
    if len(buffer) >= k:
        hashes[windows] = _gram_hashes(buffer)[position[windows]]
    short = [i for i, n in enumerate(lengths.tolist()) if 0 < n < k]
    if short:
        hashes[gram_starts[short]] = [zlib.crc32(data[i]) for i in short]
    return hashes, counts


def text_signs(texts: Sequence[str]) -> tuple[list[tuple[int, ...]], list[np.ndarray]]:
    """(`band_keys([shingles(t) for t in texts])`, `text_grams(texts)`) from one folding and
    hashing pass, vectorised over the whole batch: the planner compares the grams of the items
    whose band keys it looks up.

    Why: hashing 5-grams one by one in Python cost about 1 ms an item, most of a night's
    grouping. The 5-grams of all texts are hashed at once with numpy (CRC-32 is linear, so a
    gram's checksum is the XOR of one table lookup per byte), giving the same keys as the
    per-item path, so keys stored by earlier runs stay comparable.
    """
    keys: list[tuple[int, ...]] = []
    found: list[np.ndarray] = []
    for block in _blocks(texts):
        hashes, counts = _all_gram_hashes(block)
        keys.extend(_keys(_signatures(hashes, counts), counts > 0))
        found.extend(_split_unique(hashes, counts))
    return keys, found


SIGN_TEXTS = 2048  # texts folded and hashed at once: bounds the batch's temporary arrays


def _blocks(texts: Sequence[str]) -> Iterator[list[bytes]]:
    """The folded texts, SIGN_TEXTS at a time. Why: hashing a whole chunk at once held a dozen
    arrays of one entry per gram (8 bytes each, ~370 grams a lead), 150 MiB at the peak for
    15,000 feed items; per block the arrays stay small and the results are the same, each
    text's grams depending on that text only."""
    for first in range(0, len(texts), SIGN_TEXTS):
        yield _fold_all(texts[first : first + SIGN_TEXTS])


SORT_ROWS = 4096  # texts sorted at once: bounds a block padded to its longest lead


def _split_unique(hashes: np.ndarray, counts: np.ndarray) -> list[np.ndarray]:
    """The runs of `hashes` (`counts` values each) as sorted arrays of unique values.

    Each block of SORT_ROWS runs is padded to its longest and sorted row by row: 7x faster than
    one sort of the whole batch keyed by run (np.unique, which hashes first, was 20x slower)."""
    found: list[np.ndarray] = []
    ends = np.cumsum(counts)
    for first in range(0, len(counts), SORT_ROWS):
        block = counts[first : first + SORT_ROWS]
        stop = int(ends[first + len(block) - 1])
        found.extend(_sorted_rows(hashes[stop - int(block.sum()) : stop], block))
    return found


def _sorted_rows(hashes: np.ndarray, counts: np.ndarray) -> list[np.ndarray]:
    """`_split_unique` of one block: rows padded with the largest value, which sorts last."""
    width = int(counts.max())
    padded = np.full((len(counts), width), np.uint32(0xFFFFFFFF), dtype=np.uint32)
    kept = np.arange(width) < counts[:, None]
    padded[kept] = hashes
    padded.sort(axis=1)
    kept[:, 1:] &= padded[:, 1:] != padded[:, :-1]
    return np.split(padded[kept], np.cumsum(kept.sum(axis=1))[:-1].tolist())


def _gram_hashes(data: np.ndarray) -> np.ndarray:
    """CRC-32 of every 5-byte window of `data` (at least 5 bytes long), as zlib.crc32 would."""
    k = SHINGLE_CHARS
    end = len(data) - k + 1
    hashes = _CRC_START ^ _CRC_BYTE[0][data[:end]]
    for j in range(1, k):
        hashes ^= _CRC_BYTE[j][data[j : end + j]]
    return hashes


def _fold_all(texts: Sequence[str]) -> list[bytes]:
    """`fold(t).encode()` of every text. Most texts, English or French, are Windows-1252
    (ASCII, Latin-1 accents, typographic quotes and dashes): they are folded by one byte table
    (`_CP1252_FOLD`); only the others go through casefold, NFKD and the regular expressions.
    Why: NFKD and the accent-stripping expression over a chunk's French leads were most of
    the folding, a third of signing a night's look-alike items."""
    folded: list[bytes] = []
    for text in texts:
        try:
            data = text.encode("cp1252").translate(_CP1252_FOLD)
        except UnicodeEncodeError:
            data = _UNSAFE
        folded.append(b" ".join(data.split()) if data.isascii() else fold(text).encode())
    return folded


def _cp1252_fold() -> bytes:
    """Each Windows-1252 byte as `fold` sees its character alone, before spaces collapse: a
    letter or digit folded to one ASCII byte, a space for any other character that folds to
    nothing but spaces, and a non-ASCII marker for the few that fold to several characters or
    to a non-ASCII one ("ß" -> "ss", "æ", "½"): a text holding one is folded by `fold`.
    Folding is per character here (casefold, NFKD and the removed accents never join two
    characters of this set), so the table gives `fold`'s bytes."""
    table = bytearray(_UNSAFE * 256)
    for byte in range(256):
        try:
            char = bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:
            continue  # not a character of the set: no text encodes to it
        spelled = _NOT_WORD.sub(
            " ", _COMBINING.sub("", unicodedata.normalize("NFKD", char.casefold()))
        )
        if len(spelled) == 1 and spelled.isascii():
            table[byte] = ord(spelled)
        elif spelled.isspace():
            table[byte] = ord(" ")
    return bytes(table)


def _signatures(hashes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """MinHash of each run of `hashes` (`counts` values per set): datasketch's affine32
    scheme (murmur3 finaliser, then h * a + b mod 2^32), one row of NUM_PERM per set."""
    mixed = hashes ^ (hashes >> np.uint32(16))
    mixed *= np.uint32(0x85EBCA6B)
    mixed ^= mixed >> np.uint32(13)
    mixed *= np.uint32(0xC2B2AE35)
    mixed ^= mixed >> np.uint32(16)
    rows = np.full((len(counts), NUM_PERM), np.uint32(0xFFFFFFFF), dtype=np.uint32)
    filled = counts > 0
    if not filled.any():
        return rows
    offsets = (np.cumsum(counts) - counts)[filled]
    for p in range(NUM_PERM):
        rows[filled, p] = np.minimum.reduceat(mixed * _PERM_A[p] + _PERM_B[p], offsets)
    return rows


def _keys(signatures: np.ndarray, present: np.ndarray) -> list[tuple[int, ...]]:
    """The band keys of each signature row (none where the set was empty).

    Each band's bytes, prefixed with the band's number, are laid out by numpy in one buffer;
    Python only hashes the slices (a loop per band and row cost twice as much)."""
    rows, width = len(signatures), BAND_ROWS * 4 + 1
    laid = np.empty((rows, BANDS, width), dtype=np.uint8)
    laid[:, :, 0] = np.arange(BANDS, dtype=np.uint8)
    laid[:, :, 1:] = signatures.view(np.uint8).reshape(rows, BANDS, width - 1)
    raw = laid.tobytes()
    blake2b, from_bytes = hashlib.blake2b, int.from_bytes
    flat = [
        from_bytes(blake2b(raw[at : at + width], digest_size=8).digest(), "big") >> 1
        for at in range(0, len(raw), width)
    ]
    return [
        tuple(flat[row * BANDS : (row + 1) * BANDS]) if there else ()
        for row, there in enumerate(present.tolist())
    ]


def candidate_probability(similarity: float) -> float:
    """Chance that a pair at this Jaccard similarity shares a band key (the LSH S-curve)."""
    return 1.0 - (1.0 - similarity**BAND_ROWS) ** BANDS


def _crc_tables() -> tuple[np.uint32, list[np.ndarray]]:
    """CRC-32 of a 5-byte gram as start ^ table[0][b0] ^ ... ^ table[4][b4] (CRC is affine)."""
    zero = zlib.crc32(bytes(SHINGLE_CHARS))
    tables = [
        np.array(
            [
                zlib.crc32(bytes(j) + bytes([v]) + bytes(SHINGLE_CHARS - j - 1)) ^ zero
                for v in range(256)
            ],
            dtype=np.uint32,
        )
        for j in range(SHINGLE_CHARS)
    ]
    return np.uint32(zero), tables


def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 parameters for SEED (MinHash._init_permutations)."""
    generator = np.random.RandomState(SEED)
    a = generator.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


_UNSAFE = b"\x80"  # a byte no ASCII folding gives: the text needs `fold`
_CP1252_FOLD = _cp1252_fold()
_CRC_START, _CRC_BYTE = _crc_tables()
_PERM_A, _PERM_B = _permutations()
