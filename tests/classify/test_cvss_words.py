"""CVSS words as flags and combinations: the severity axis' feature next to the n-grams."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from techwatch.classify import cvss_words
from techwatch.classify.cvss_words import FLAGS, WIDTH, cvss_word_flags, flags_of, word_hashing
from techwatch.classify.model import build_features, build_pipeline


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "An unauthenticated remote attacker can execute arbitrary code.",
            {"network", "no_account", "code_execution"},
        ),
        (
            "The Foo plugin for WordPress is vulnerable to Stored Cross-Site Scripting "
            "by authenticated attackers with contributor-level access.",
            {"wordpress", "stored", "xss", "account"},
        ),
        (
            "A local user could cause a denial of service (kernel panic).",
            {"local", "denial", "kernel"},
        ),
        ("SQL injection in the login form.", {"sql", "injection"}),
        # A two-word phrase is its bigram: its words apart do not raise it.
        ("Code reviews improve execution speed.", set()),
        ("", set()),
    ],
)
def test_flags_of(text: str, expected: set[str]) -> None:
    assert set(flags_of(text)) == expected


def test_columns_are_flags_pairs_and_triples_unit_norm() -> None:
    counts = word_hashing(2**12).transform(
        ["unauthenticated code execution via sql injection", "nothing to see", "crash", "remote"]
    )
    matrix = cvss_word_flags(counts)
    assert matrix.shape == (4, WIDTH)
    flags = len(flags_of("unauthenticated code execution via sql injection", 2**12))
    assert matrix[0].nnz == flags + len(list(combinations(range(flags), 2))) + len(
        list(combinations(range(flags), 3))
    )
    assert matrix[1].nnz == 0
    assert matrix[2].nnz == 1 and matrix[2].indices[0] == FLAGS.index("denial")
    # Words that name no flaw say nothing of a score alone: a text without a flaw has none.
    assert flags_of("remote", 2**12) == ("network",) and matrix[3].nnz == 0
    assert np.allclose(np.sqrt(matrix[0].multiply(matrix[0]).sum()), 1.0)


def test_same_hashing_as_the_text_words_so_predict_computes_it_once() -> None:
    """predict._hashed shares a HashingVectorizer's output between blocks of equal parameters."""
    blocks = {name: t for name, t, _ in build_features(12, cvss_words=True).transformers}
    text_hashing = blocks["text_words"].steps[0][1].get_params()
    assert blocks["cvss_words"].steps[0][1].get_params() == text_hashing


def test_only_the_severity_axis_reads_them() -> None:
    for axis, expected in (("severity", True), ("topics", False), ("sectors", False)):
        names = [name for name, *_ in build_pipeline(axis, bits=12).steps[0][1].transformers]
        assert ("cvss_words" in names) is expected


def test_every_phrase_hashes_somewhere() -> None:
    columns = cvss_words._phrase_columns(2**17)
    assert (np.asarray(columns.sum(axis=0)).ravel() > 0).all()
