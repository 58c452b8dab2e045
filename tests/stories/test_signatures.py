"""The vectorised shingles and band keys must equal the per-item reference exactly: band keys
stored by earlier runs (story_bands) are compared with tonight's, so a drift would silently
stop syndicated copies from finding each other."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from pathlib import Path

import pytest
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from techwatch.stories import neardup
from techwatch.stories.neardup import (
    BAND_ROWS,
    BANDS,
    NUM_PERM,
    SEED,
    band_keys,
    fold,
    grams,
    jaccard,
    jaccards,
    lead,
    shingles,
    text_grams,
    text_signs,
)

_NOT_WORD = re.compile(r"[\W_]+")
_COMBINING = re.compile("[\u0300-\u036f]+")


def reference_fold(text: str) -> str:
    """fold() as first written: one regular expression over every text."""
    folded = text.casefold()
    if not folded.isascii():
        folded = _COMBINING.sub("", unicodedata.normalize("NFKD", folded))
    return " ".join(_NOT_WORD.sub(" ", folded).split())


def reference_shingles(text: str) -> frozenset[int]:
    data = reference_fold(text).encode()
    if not data:
        return frozenset()
    return frozenset(map(zlib.crc32, {data[i : i + 5] for i in range(max(1, len(data) - 4))}))


def reference_band_key(band: int, values: bytes) -> int:
    """A band's stored key as first written: blake2b of the band number and its values."""
    digest = hashlib.blake2b(bytes([band]) + values, digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def reference_keys(grams: frozenset[int]) -> tuple[int, ...]:
    """datasketch's MinHash of the shingles, then one blake2b key per band (the stored keys)."""
    if not grams:
        return ()
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=lambda v: v)
    minhash.update_batch(sorted(grams))
    values = minhash.hashvalues
    return tuple(
        reference_band_key(b, values[b * BAND_ROWS : (b + 1) * BAND_ROWS].tobytes())
        for b in range(BANDS)
    )


EDGE_CASES = [
    "",
    "a",
    "ab c",
    "abcd",
    "abcde",
    "___",
    " \n\t ",
    "x\x00y zzzz with a NUL",
    "Vulnérabilité – Zimbra!",
    "Ünïcødé ﬁ ligature ß STRASSE «guillemets» l’apostrophe",
    "日本語のテキスト",
    "Microsoft Patch Tuesday: CVE-2026-1234, CVE-2026-1235 (CVSS 9.8)",
]


@pytest.mark.parametrize("text", EDGE_CASES)
def test_fold_and_shingles_match_the_reference_on_edge_cases(text: str) -> None:
    assert fold(text) == reference_fold(text)
    assert shingles(text) == reference_shingles(text)


def test_a_batch_gets_the_reference_keys_whatever_its_mix_of_texts() -> None:
    texts = EDGE_CASES * 2 + [lead(f"Titre {n}", "Texte " * n) for n in range(40)]
    expected = [reference_keys(reference_shingles(t)) for t in texts]
    assert text_signs(texts)[0] == expected
    assert band_keys([shingles(t) for t in texts]) == expected
    assert text_signs([])[0] == [] and band_keys([]) == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=60), max_size=8))
def test_any_texts_get_the_reference_keys(texts: list[str]) -> None:
    assert [fold(t) for t in texts] == [reference_fold(t) for t in texts]
    assert text_signs(texts)[0] == [reference_keys(reference_shingles(t)) for t in texts]


#: Every character of Windows-1252, the set folded by one byte table (neardup._CP1252_FOLD).
CP1252 = [
    bytes([b]).decode("cp1252") for b in range(256) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
]


def test_every_windows_1252_character_folds_as_the_reference_alone_and_between_words() -> None:
    texts = [*CP1252, *(f"Ab{c}cD {c}{c} x" for c in CP1252), "".join(CP1252), " ".join(CP1252)]
    expected = [reference_fold(t) for t in texts]
    assert [f.decode() for f in neardup._fold_all(texts)] == expected
    assert text_signs(texts)[0] == [reference_keys(reference_shingles(t)) for t in texts]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(st.sampled_from([*CP1252, "\u0301", "\u01c5", "\u2044"]))))
def test_windows_1252_texts_mixed_with_others_fold_as_the_reference(texts: list[str]) -> None:
    """A text of the byte table's set folds by it, any other as `fold` does: same bytes."""
    assert [f.decode() for f in neardup._fold_all(texts)] == [reference_fold(t) for t in texts]


def reference_jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def test_grams_are_the_sorted_shingles_and_keep_their_jaccard() -> None:
    """The planner compares sorted arrays; they must hold exactly the reference shingles."""
    texts = EDGE_CASES * 2 + [lead(f"Titre {n}", "Texte " * n) for n in range(40)] + ["abcd"]
    expected = [reference_shingles(t) for t in texts]
    for found in (text_grams(texts), [grams(t) for t in texts]):
        assert [g.tolist() for g in found] == [sorted(e) for e in expected]
    for a, b in zip(texts, texts[5:], strict=False):
        want = reference_jaccard(reference_shingles(a), reference_shingles(b))
        assert jaccard(grams(a), grams(b)) == want
    assert text_grams([]) == []


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=80), st.text(max_size=80))
def test_any_two_texts_get_the_reference_jaccard(a: str, b: str) -> None:
    want = reference_jaccard(reference_shingles(a), reference_shingles(b))
    assert jaccard(grams(a), grams(b)) == want
    assert text_grams([a, b])[1].tolist() == sorted(reference_shingles(b))


def test_real_advisory_titles_get_the_reference_keys(realdata: Path) -> None:
    """French and English advisory texts, with their accents and typography."""
    from techwatch.stories.evaluate import load_corpus

    corpus = load_corpus(realdata, Path(__file__).parents[1] / "data" / "stories" / "none")
    leads = [lead(i.title, i.text) for i in corpus.items[::7]]
    assert len(leads) > 500
    assert text_signs(leads)[0] == [reference_keys(reference_shingles(t)) for t in leads]


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=80), st.lists(st.text(max_size=80), max_size=6))
def test_jaccards_in_one_pass_equal_one_jaccard_at_a_time(a: str, others: list[str]) -> None:
    mine, theirs = grams(a), [grams(b) for b in others]
    assert jaccards(mine, theirs) == [jaccard(mine, b) for b in theirs]


def test_jaccards_with_empty_texts_on_either_side_are_zero() -> None:
    empty, some = grams(""), grams("Zimbra flaw exploited")
    assert jaccards(some, [empty, some, empty]) == [0.0, 1.0, 0.0]
    assert jaccards(empty, [some]) == [0.0]
    assert jaccards(some, []) == []


def test_signing_in_blocks_gives_what_one_pass_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["Faille – Zimbra", "", "Zimbra flaw", "a", "Vulnérabilité dans Fortinet", "ok ok"]
    whole_keys, whole_grams = text_signs(texts)
    monkeypatch.setattr(neardup, "SIGN_TEXTS", 2)
    keys, found = text_signs(texts)
    assert keys == whole_keys
    assert [g.tolist() for g in found] == [g.tolist() for g in whole_grams]
    assert [g.tolist() for g in text_grams(texts)] == [g.tolist() for g in whole_grams]
