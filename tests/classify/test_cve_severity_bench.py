"""The CVE severity bench's CWE features (bench/classify_cve_severity.py --cwe): the prior a
measured row gets must never have counted the row's own label, or the bench would report a
leak as a gain."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from tests.benches import load_bench

CLASSES = ("critical", "high", "low", "medium")


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench("classify_cve_severity")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("", ()),
        ("CWE-79", ("CWE-79",)),
        ("CWE-122;CWE-125", ("CWE-122", "CWE-125")),
        (" CWE-20 ; ;CWE-20", ("CWE-20",)),
        (None, ()),
    ],
)
def test_cwe_ids_reads_the_csv_cell(bench: ModuleType, cell: str | None, expected: tuple) -> None:
    assert bench.cwe_ids(cell) == expected


def test_onehot_has_a_unit_row_per_cve_and_ignores_unknown_ids(bench: ModuleType) -> None:
    matrix = bench.cwe_onehot(
        [("CWE-79",), ("CWE-79", "CWE-89"), ("CWE-1",), ()], ["CWE-79", "CWE-89"]
    )
    dense = matrix.toarray()
    assert dense.shape == (4, 2)
    assert dense[0].tolist() == [1.0, 0.0]
    assert np.allclose(dense[1], [2**-0.5, 2**-0.5])
    assert not dense[2].any() and not dense[3].any()


def test_prior_is_smoothed_towards_the_overall_mix(bench: ModuleType) -> None:
    rows = [("CWE-79",)] * 10 + [("CWE-89",)] * 10
    labels = ["medium"] * 10 + ["critical"] * 10
    table, overall = bench.severity_prior(rows, labels, CLASSES)
    assert overall.tolist() == [0.5, 0.0, 0.0, 0.5]
    # 10 own rows + 10 pseudo-rows of the overall mix: 3/4 medium, 1/4 critical.
    assert table["CWE-79"].tolist() == [0.25, 0.0, 0.0, 0.75]
    features = bench.prior_features([("CWE-79",), ("CWE-404",)], table, overall)
    assert np.allclose(np.exp(features[0, :-1]), [0.25, 0.0, 0.0, 0.75], atol=2e-6)
    assert features[0, -1] == 0.0
    assert np.allclose(np.exp(features[1, :-1]), overall, atol=2e-6)
    assert features[1, -1] == 1.0


def test_out_of_fold_prior_never_counts_the_rows_own_label(bench: ModuleType) -> None:
    """A CWE seen once: its only row gets the overall mix of the other folds, not its label."""
    rows = [("CWE-1",)] + [("CWE-79",)] * 9
    labels = ["critical"] + ["medium"] * 9
    features = bench.out_of_fold_prior(rows, labels, CLASSES)
    assert features[0, -1] == 1.0  # CWE-1 unknown outside its own fold
    assert np.exp(features[0, 0]) < 1e-5  # no critical among the rows it was given
