"""The classifier: one scikit-learn Pipeline per axis, built by one factory, and its training.

Why one pipeline per axis: each axis is trained on the examples that carry it (partial labels),
so the three axes do not share training rows. They do share the hashed n-grams, which learn
nothing: predict.py computes them once per batch for the three axes (most of the cost).
The pipeline input is a 2-D object array with the columns of FEATURE_COLUMNS. The one
structured feature today is read from the text: the CVSS band it states (features.py, step
`cvss_stated`). Store facts (KEV, EPSS, source category, CWE) would be new columns with their
own ColumnTransformer entries, without changing the callers. The CWE was measured and left out:
a CVE description already names its weakness (bench/classify_cve_severity.py --cwe, session 9).
"""

from __future__ import annotations

import hashlib
import platform
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import numpy as np
import scipy
import sklearn
import skops
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from threadpoolctl import threadpool_limits

from techwatch.classify.corpus import Document, Example, counts
from techwatch.classify.cvss_words import cvss_word_flags, word_hashing
from techwatch.classify.features import stated_bands
from techwatch.classify.hashing import WORD_NGRAMS, hashed_counts
from techwatch.errors import TerminalError
from techwatch.taxonomy import SECTOR_KEYS, SEVERITY_KEYS, TOPIC_KEYS

FORMAT: Final = 1
FEATURE_COLUMNS: Final = ("title", "text")
MULTI_LABEL_AXES: Final = ("topics", "sectors")
LABEL_SET: Final = {"topics": TOPIC_KEYS, "sectors": SECTOR_KEYS, "severity": SEVERITY_KEYS}
# A label needs enough positives to be learned and to have its threshold tuned across folds;
# rarer labels are left out (score 0, never predicted) and listed in the metadata.
MIN_POSITIVES: Final = 5
CV_FOLDS: Final = 3
HELDOUT_FRACTION: Final = 0.2
HELDOUT_POLICY: Final = "id-hash"
TITLE_WEIGHT: Final = 1.5
# The CVSS band the text states (features.py), one column per band, next to unit-norm blocks.
STATED_WEIGHT: Final = 1.0
# Severity only: CVSS words, their pairs and triples (cvss_words.py), one unit-norm block.
CVSS_WORDS_WEIGHT: Final = 1.0
HASH_BITS: Final = 17
# Character n-grams of the text are most of the classification time (bench/classify_bench.py);
# bigrams add little to what the words and longer n-grams already say, and cost a quarter.
TEXT_CHAR_NGRAMS: Final = (3, 5)
_THRESHOLD_GRID: Final = np.round(np.arange(0.05, 0.951, 0.025), 3)


class TrainingError(TerminalError):
    """The data cannot train a model (an axis without enough labelled examples)."""


@dataclass(frozen=True)
class Model:
    """The fitted pipelines, the label columns they predict, tuned thresholds and metadata."""

    pipelines: dict[str, Pipeline]
    labels: dict[str, tuple[str, ...]]
    thresholds: dict[str, dict[str, float]]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", "unsaved"))


def to_frame(documents: Sequence[Document]) -> np.ndarray:
    """Documents -> the pipeline input: one row per document, columns FEATURE_COLUMNS."""
    frame = np.empty((len(documents), len(FEATURE_COLUMNS)), dtype=object)
    for row, document in enumerate(documents):
        frame[row] = (document.title, document.text)
    return frame


def build_features(bits: int = HASH_BITS, *, cvss_words: bool = False) -> ColumnTransformer:
    """Word and character n-grams of title and text: robust across fr/de/en and compounds.

    The title gets its own vectorizers (and a weight) because it carries most of the signal.
    `cvss_words` adds the combinations of CVSS words (severity): they reuse the text's hashed
    word counts (the same HashingVectorizer, which predict.py computes once per batch).
    """
    title, text = FEATURE_COLUMNS.index("title"), FEATURE_COLUMNS.index("text")
    blocks: list[tuple[str, Any, int]] = [
        ("title_words", _tfidf("word", (1, 2), 2 ** (bits - 2)), title),
        ("title_chars", _tfidf("char_wb", (2, 5), 2 ** (bits - 2)), title),
        ("text_words", _tfidf("word", WORD_NGRAMS, 2**bits), text),
        ("text_chars", _tfidf("char_wb", TEXT_CHAR_NGRAMS, 2**bits), text),
        ("cvss_stated", FunctionTransformer(stated_bands), text),
    ]
    weights = {
        "title_words": TITLE_WEIGHT,
        "title_chars": TITLE_WEIGHT,
        "cvss_stated": STATED_WEIGHT,
    }
    if cvss_words:
        flags = FunctionTransformer(cvss_word_flags)
        blocks.append(
            ("cvss_words", Pipeline([("hash", word_hashing(2**bits)), ("flags", flags)]), text)
        )
        weights["cvss_words"] = CVSS_WORDS_WEIGHT
    return ColumnTransformer(blocks, transformer_weights=weights)


def build_pipeline(axis: str, *, seed: int = 0, c: float = 10.0, bits: int = HASH_BITS) -> Pipeline:
    """The one factory: features + a logistic regression suited to the axis.

    topics and sectors are multi-label (one-vs-rest, balanced because most labels are rare);
    severity is one ordered label, learned as a multinomial regression over its classes,
    unweighted: its figure is accuracy, and balancing pushed CVE descriptions towards the rare
    low and critical (held-out real CVE severity 0.735 unweighted, lower balanced; see
    bench/classify_realdata.py), while unweighted probabilities stay calibrated. Severity also
    reads the combinations of CVSS words (cvss_words.py): held-out CVE severity 0.733 -> 0.745,
    news TEST severity 0.912 -> 0.890 (session 6).
    `bits` sizes the hashed text spaces (2**bits; titles a quarter): fit time and file size
    grow with it, so tests use small spaces.
    """
    regression = LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=seed)
    if axis in MULTI_LABEL_AXES:
        return Pipeline(
            [("features", build_features(bits)), ("classifier", OneVsRestClassifier(regression))]
        )
    if axis == "severity":
        regression.set_params(class_weight=None)
        features = build_features(bits, cvss_words=True)
        return Pipeline([("features", features), ("classifier", regression)])
    raise ValueError(f"unknown axis {axis!r}")


def train(
    examples: Sequence[Example],
    *,
    now: datetime,
    seed: int = 0,
    sources: Sequence[str] = (),
    bits: int = HASH_BITS,
    train_only: Sequence[Example] = (),
) -> Model:
    """Fit on the training part, measure on the held-out part, and ship the measured model.

    The held-out part (see `split`) is never trained on, so the metrics stored are those of the
    model that ships, and two models can be compared on it fairly (pipelines/train.py); this
    also saves a second fit over everything. `train_only` examples (consultants' corrections)
    always train and are never held out: each was given so that the next model learns it.
    """
    from techwatch.classify.evaluate import evaluate
    from techwatch.classify.predict import classify

    train_part, test_part = split(examples, seed=seed)
    model = fit([*train_part, *train_only], seed=seed, bits=bits)
    metrics = evaluate(test_part, classify(model, [e.document for e in test_part]))
    metadata = _metadata(model, [*examples, *train_only], now=now, seed=seed, sources=sources)
    metadata["features"]["hash_bits"] = bits
    metadata["heldout"] = {
        "policy": HELDOUT_POLICY,
        "fraction": HELDOUT_FRACTION,
        "seed": seed,
        "train": len(train_part) + len(train_only),
        "test": len(test_part),
    }
    metadata["metrics"] = metrics
    return Model(model.pipelines, model.labels, model.thresholds, metadata)


def fit(examples: Sequence[Example], *, seed: int = 0, bits: int = HASH_BITS) -> Model:
    """Fit every axis on the examples that carry it; thresholds tuned out of fold.

    BLAS runs on one thread: L-BFGS makes thousands of small vector operations, and threads
    that wait for each other on them made fitting three times slower on a busy 2-core machine
    (seed corpus, topics axis: 24-43 s with two threads, 8-12 s with one).
    """
    pipelines: dict[str, Pipeline] = {}
    labels: dict[str, tuple[str, ...]] = {}
    thresholds: dict[str, dict[str, float]] = {}
    with threadpool_limits(1, user_api="blas"):
        for axis in MULTI_LABEL_AXES:
            fitted = _fit_multi_label(axis, examples, seed, bits)
            pipelines[axis], labels[axis], thresholds[axis] = fitted
        pipelines["severity"], labels["severity"] = _fit_severity(examples, seed, bits)
    return Model(pipelines, labels, thresholds)


def split(examples: Sequence[Example], *, seed: int) -> tuple[list[Example], list[Example]]:
    """(training part, held-out part): an example is held out when `is_heldout(its id)`."""
    held = [is_heldout(e.document.id, seed=seed) for e in examples]
    train_part = [e for e, out in zip(examples, held, strict=True) if not out]
    return train_part, [e for e, out in zip(examples, held, strict=True) if out]


def is_heldout(example_id: str, *, seed: int = 0) -> bool:
    """Whether an example belongs to the held-out part: HELDOUT_FRACTION of ids, by their hash.

    A stable hash rather than a random draw: an example stays on its side of the split as the
    data grows, so successive models are measured on the same examples and never train on them.
    """
    digest = hashlib.sha256(f"{seed}:{example_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") < HELDOUT_FRACTION * 2**32


def tune_threshold(truth: np.ndarray, proba: np.ndarray) -> float:
    """The cut-off that maximises F1 for one label; 0.5 when it never helps."""
    best, best_f1 = 0.5, -1.0
    positives = truth.sum()
    for cut in _THRESHOLD_GRID:
        predicted = proba >= cut
        hits = float(np.logical_and(predicted, truth).sum())
        f1 = 2 * hits / (predicted.sum() + positives) if hits else 0.0
        if f1 > best_f1:
            best, best_f1 = float(cut), f1
    return best


def _tfidf(analyzer: str, ngrams: tuple[int, int], n_features: int) -> Pipeline:
    """Hashed n-gram counts (hashing.py) re-weighted by TF-IDF."""
    hashing = hashed_counts(analyzer, ngrams, n_features)
    return Pipeline([("hash", hashing), ("tfidf", TfidfTransformer(sublinear_tf=True))])


def _fit_multi_label(
    axis: str, examples: Sequence[Example], seed: int, bits: int
) -> tuple[Pipeline, tuple[str, ...], dict[str, float]]:
    known = [e for e in examples if e.knows(axis)]
    columns = _learnable(axis, known)
    truth = np.array(
        [[label in getattr(e, axis) for label in columns] for e in known], dtype=np.int8
    )
    frame = to_frame([e.document for e in known])
    proba = _out_of_fold(build_pipeline(axis, seed=seed, bits=bits), frame, truth, seed)
    thresholds = {
        label: tune_threshold(truth[:, j], proba[:, j]) for j, label in enumerate(columns)
    }
    pipeline = build_pipeline(axis, seed=seed, bits=bits).fit(frame, truth)
    return pipeline, columns, thresholds


def _fit_severity(
    examples: Sequence[Example], seed: int, bits: int
) -> tuple[Pipeline, tuple[str, ...]]:
    """Severity on the examples that carry it, each counting its `weight` (corpus.Example)."""
    known = [e for e in examples if e.severity is not None]
    classes = _learnable("severity", known)
    kept = [e for e in known if e.severity in classes]
    target = np.array([e.severity for e in kept], dtype=object)
    frame = to_frame([e.document for e in kept])
    weights = np.array([e.weight for e in kept], dtype=float)
    pipeline = build_pipeline("severity", seed=seed, bits=bits)
    pipeline.fit(frame, target, classifier__sample_weight=weights)
    return pipeline, tuple(str(c) for c in pipeline.classes_)


def _learnable(axis: str, known: Sequence[Example]) -> tuple[str, ...]:
    """Labels of the axis with enough positives (and negatives) to learn, in taxonomy order."""
    label_counts = counts(known)[axis]["labels"]
    columns = tuple(
        label
        for label in LABEL_SET[axis]
        if MIN_POSITIVES <= label_counts.get(label, 0) <= len(known) - MIN_POSITIVES
    )
    if len(columns) < 2:
        raise TrainingError(
            f"{axis}: need at least two labels with {MIN_POSITIVES}+ examples each, "
            f"got {label_counts or 'none'} over {len(known)} examples"
        )
    return columns


def _out_of_fold(pipeline: Pipeline, frame: np.ndarray, truth: np.ndarray, seed: int) -> np.ndarray:
    """Out-of-fold probabilities, so thresholds are tuned on data the model did not see."""
    folds = KFold(n_splits=min(CV_FOLDS, len(frame)), shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # A rare label may be absent from one training fold: its column is then a constant
        # prediction, which is what we want for tuning, not an error.
        warnings.filterwarnings("ignore", message=r"Label .* is present in all training examples")
        proba = cross_val_predict(pipeline, frame, truth, cv=folds, method="predict_proba")
    return np.asarray(proba)


def _metadata(
    model: Model, examples: Sequence[Example], *, now: datetime, seed: int, sources: Sequence[str]
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "created_at": now.isoformat(),
        "seed": seed,
        "versions": {
            "python": platform.python_version(),
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "skops": skops.__version__,
        },
        "label_set": {axis: list(keys) for axis, keys in LABEL_SET.items()},
        "trained_labels": {axis: list(columns) for axis, columns in model.labels.items()},
        "thresholds": model.thresholds,
        "data": counts(examples),
        "sources": list(sources),
        "features": {
            "columns": list(FEATURE_COLUMNS),
            "title_weight": TITLE_WEIGHT,
            "text_char_ngrams": list(TEXT_CHAR_NGRAMS),
            "structured": {"cvss_stated": STATED_WEIGHT, "cvss_words": CVSS_WORDS_WEIGHT},
        },
    }


def new_version(now: datetime) -> str:
    """A sortable version name from the training time, e.g. 20261128T030000Z."""
    return re.sub(r"[^0-9A-Za-z]", "", now.strftime("%Y%m%dT%H%M%SZ"))
