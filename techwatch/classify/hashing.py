"""Hashed n-gram counts: the one vectorizer every text block of the model starts from.

One builder because blocks share columns: the CVSS words (cvss_words.py) find a phrase in the
text's word counts by hashing it the same way, so the word hashing must never differ between
the two.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

#: The text_words block's n-grams (model.build_features), which the CVSS words read.
WORD_NGRAMS: Final = (1, 2)
#: Words keep CVE ids, versions and hyphenated compounds whole; char n-grams see their parts.
WORD_TOKENS: Final = r"(?u)\b\w[\w.-]*\w\b"


def hashed_counts(analyzer: str, ngrams: tuple[int, int], n_features: int) -> HashingVectorizer:
    """Raw n-gram counts, accents stripped, lower-cased, hashed into `n_features` columns.

    Hashing instead of a vocabulary: skops stores a vocabulary as a JSON schema of about
    700 bytes per term (100 MB and seconds to load per axis on the seed corpus), while a hashed
    space is only arrays. Collisions are rare at these sizes and the char n-grams absorb them.
    """
    hashing = HashingVectorizer(
        analyzer=analyzer,
        ngram_range=ngrams,
        strip_accents="unicode",
        lowercase=True,
        n_features=n_features,
        alternate_sign=False,
        norm=None,
        dtype=np.float32,
    )
    if analyzer == "word":
        hashing.set_params(token_pattern=WORD_TOKENS)
    return hashing
