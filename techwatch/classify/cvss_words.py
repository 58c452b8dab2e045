"""The words of a CVSS assessment, as flags and their combinations: a severity feature.

A CVSS score combines a few facts a description states in words: how the attacker reaches the
target (remote, adjacent, local, physical), what they need (no account, an account, an admin
one, a victim's click) and what they get (code execution, SQL injection, a crash...). The
score comes from their combination ("unauthenticated" and "code execution" is critical, either
alone is not), which a linear model over n-grams cannot form. One column per flag, per pair and
per triple of flags lets it: on real CVE descriptions, a hashed fifth of the training rows
(bench/classify_cve_severity.py) 0.731 -> 0.737 accuracy, 0.740 without the FLAWS gate.

The flags are read from the hashed word counts the text already has (model.build_features,
the text_words hashing): a phrase is its hashed column, so the flags cost a sparse product
(about 10 us an item) instead of a regular expression pass over the text.

`cvss_word_flags` is a FunctionTransformer body in model.build_features; it must stay a
module-level function of this module: the saved model names it and artefact.py trusts it by
that name.
"""

from __future__ import annotations

from functools import cache
from itertools import combinations
from typing import Final

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize

from techwatch.classify.hashing import WORD_NGRAMS, hashed_counts

# flag -> words or two-word phrases (lower-cased, accents stripped, as the word hashing sees
# them: hyphenated words are one token). English only: CVE descriptions are.
# fmt: off
PHRASES: Final[dict[str, tuple[str, ...]]] = {
    "network": ("remote", "remotely", "remote attacker", "remote attackers", "network",
                "http request", "http requests", "crafted request", "crafted packet"),
    "adjacent": ("adjacent", "bluetooth", "wi-fi", "wifi", "same network"),
    "local": ("local", "locally", "local user", "local users", "local attacker"),
    "physical": ("physical", "physically", "usb", "physical access"),
    "no_account": ("unauthenticated", "without authentication", "no authentication", "pre-auth",
                   "anonymous", "unauthorized attacker", "without credentials"),
    "account": ("authenticated", "subscriber-level", "contributor-level", "author-level",
                "low-privileged", "low privileged", "logged-in", "authenticated user"),
    "admin": ("administrator-level", "admin-level", "administrative privileges",
              "high privileges", "high-privileged", "administrator privileges",
              "admin privileges", "administrator access"),
    "victim": ("victim", "trick", "tricking", "user interaction", "click", "clicking", "convince",
               "visit", "visits", "opens"),
    "code_execution": ("code execution", "arbitrary code", "execute arbitrary",
                       "command injection", "rce", "os command", "deserialization",
                       "execute commands", "remote code"),
    "sql": ("sql injection", "sqli", "sql"),
    "escalation": ("privilege escalation", "escalate privileges", "elevation of privilege",
                   "gain root", "elevated privileges", "escalation"),
    "disclosure": ("information disclosure", "sensitive information", "disclose", "disclosure",
                   "leak", "exposure", "obtain sensitive", "read arbitrary"),
    "denial": ("denial of", "denial-of-service", "dos", "crash", "hang", "exhaustion",
               "infinite loop", "reboot", "panic"),
    "xss": ("cross-site scripting", "cross site", "xss", "web script", "web scripts", "scripting"),
    "stored": ("stored", "persistent"),
    "reflected": ("reflected",),
    "csrf": ("cross-site request", "request forgery", "csrf"),
    "traversal": ("path traversal", "directory traversal", "traversal"),
    "upload": ("file upload", "upload arbitrary", "arbitrary file"),
    "bypass": ("authentication bypass", "bypass authentication", "missing authorization",
               "capability check", "access control", "authorization bypass", "bypass"),
    "memory": ("buffer overflow", "heap-based", "stack-based", "use-after-free", "use after",
               "out-of-bounds write", "memory corruption", "double free", "integer overflow",
               "overflow"),
    "read_fault": ("out-of-bounds read", "null pointer", "pointer dereference"),
    "ssrf": ("server-side request", "ssrf"),
    "redirect": ("open redirect", "redirect"),
    "xxe": ("xml external", "xxe"),
    "takeover": ("takeover", "take over", "full control", "complete control"),
    "wordpress": ("wordpress", "plugin"),
    "kernel": ("linux kernel", "kernel"),
    "hardcoded": ("hard-coded", "hardcoded"),
    "injection": ("object injection", "injection"),
    "limited": ("limited", "partial", "only", "certain"),
}
# fmt: on
FLAGS: Final = tuple(PHRASES)
# What a flaw lets an attacker do. Without one of them a text is not a flaw's description, and
# its other words (remote, local, only, plugin...) say nothing of a CVSS score: the block stays
# empty, so release notes and news are not read as CVE descriptions.
# fmt: off
FLAWS: Final = frozenset({
    "code_execution", "sql", "escalation", "disclosure", "denial", "xss", "csrf", "traversal",
    "upload", "bypass", "memory", "read_fault", "ssrf", "redirect", "xxe", "takeover", "hardcoded",
    "injection",
})
# fmt: on
_FLAW_COLUMNS: Final = frozenset(FLAGS.index(flag) for flag in FLAWS)
_PAIRS: Final = tuple(combinations(range(len(FLAGS)), 2))
_TRIPLES: Final = tuple(combinations(range(len(FLAGS)), 3))
WIDTH: Final = len(FLAGS) + len(_PAIRS) + len(_TRIPLES)


def word_hashing(n_features: int) -> HashingVectorizer:
    """The hashing of model.build_features' text_words block, so a phrase lands in the text's
    own column."""
    return hashed_counts("word", WORD_NGRAMS, n_features)


def cvss_word_flags(counts: sparse.spmatrix) -> sparse.csr_matrix:
    """Hashed word counts -> flags, pairs and triples of flags present, each row unit-norm;
    an empty row for a text that names no flaw (FLAWS)."""
    present = sparse.csr_matrix(counts @ _phrase_columns(counts.shape[1]) > 0)
    rows, columns = [], []
    for row in range(present.shape[0]):
        flags = present.indices[present.indptr[row] : present.indptr[row + 1]].tolist()
        if _FLAW_COLUMNS.isdisjoint(flags):
            continue
        flags.sort()
        for column in _combined(tuple(flags)):
            rows.append(row)
            columns.append(column)
    data = np.ones(len(rows), dtype=np.float32)
    matrix = sparse.csr_matrix((data, (rows, columns)), shape=(present.shape[0], WIDTH))
    return normalize(matrix)


def flags_of(text: str, n_features: int = 2**17) -> tuple[str, ...]:
    """The flags a text raises (for tests and error analysis)."""
    counts = word_hashing(n_features).transform([text])
    present = (counts @ _phrase_columns(n_features)).toarray()[0] > 0
    return tuple(flag for flag, on in zip(FLAGS, present, strict=True) if on)


def _combined(flags: tuple[int, ...]) -> list[int]:
    """Columns of the flags, their pairs and their triples (flags sorted)."""
    n = len(FLAGS)
    columns = list(flags)
    columns += [n + _PAIR_INDEX[pair] for pair in combinations(flags, 2)]
    columns += [n + len(_PAIRS) + _TRIPLE_INDEX[t] for t in combinations(flags, 3)]
    return columns


_PAIR_INDEX: Final = {pair: j for j, pair in enumerate(_PAIRS)}
_TRIPLE_INDEX: Final = {triple: j for j, triple in enumerate(_TRIPLES)}


@cache
def _phrase_columns(n_features: int) -> sparse.csr_matrix:
    """(hashed column x flag) 1 where the column is a phrase of the flag.

    A two-word phrase is its bigram's column only (its words alone would say less): the columns
    of the phrase's own words are left out of what the phrase hashes to.
    """
    hashing = word_hashing(n_features)
    rows, columns = [], []
    for j, flag in enumerate(FLAGS):
        for phrase in PHRASES[flag]:
            hashed = set(hashing.transform([phrase]).indices.tolist())
            words = phrase.split()
            if len(words) > 1:
                hashed -= set(hashing.transform(words).indices.tolist())
            rows += sorted(hashed)
            columns += [j] * len(hashed)
    data = np.ones(len(rows), dtype=np.float32)
    return sparse.csr_matrix((data, (rows, columns)), shape=(n_features, len(FLAGS)))
