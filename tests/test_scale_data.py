"""The scale suite's data, on small arrays: chunked generation, the contiguous split, the cards.

The scale datasets themselves (1.2 GB) are never loaded here (tests/benchmarks/test_scale_timings.py);
the solvers that read them are tested in tests/test_scale.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench import datasets
from bench.config import LINEAR_MODELS, SUITES
from bench.datasets.cards import parse_card
from bench.datasets.sources import synthetic_arrays
from bench.datasets.split import holdout_indices
from bench.errors import BenchInputError
from bench.runner import memory
from tests.conftest import synthetic_dataset, tall_arrays

SPEC = {"n": 3000, "p": 4, "seed": 5, "intercept": -0.3, "coef_scale": 0.8}


def _one_shot(spec):
    """The generator as it was before chunking: one (n, p) draw (the committed baseline's data)."""
    rng = np.random.default_rng(spec["seed"])
    coef = rng.normal(0.0, float(spec.get("coef_scale", 1.0)), size=spec["p"])
    X = rng.standard_normal((spec["n"], spec["p"]))
    eta = float(spec.get("intercept", 0.0)) + X @ coef
    y = (rng.random(spec["n"]) < 1.0 / (1.0 + np.exp(-eta))).astype(np.float64)
    return X, y, coef


# --- generation and the split ---------------------------------------------------------


@pytest.mark.parametrize("chunk_rows", [1, 7, 256, 2999, 3000, 65_536])
def test_chunked_generation_equals_one_shot(chunk_rows):
    X, y, names, truth = synthetic_arrays(SPEC, chunk_rows=chunk_rows)
    X0, y0, coef0 = _one_shot(SPEC)
    # bit for bit: the generator fills rows in order whatever the chunking
    assert np.array_equal(X, X0) and np.array_equal(y, y0) and np.array_equal(truth.coef, coef0)
    assert X.flags.owndata and X.flags.c_contiguous  # one array, filled in place


def test_existing_synthetic_cards_are_unchanged():
    """The baseline's synthetic data: the chunked generator gives the one-shot arrays."""
    for name in ("synthetic", "synthetic_large"):
        card = datasets.available()[name]
        X, y, _, _ = synthetic_arrays(card.synthetic)
        X0, y0, _ = _one_shot(card.synthetic)
        assert np.array_equal(X, X0) and np.array_equal(y, y0), name
        assert not card.contiguous, name  # their split is the indexed one, as committed


def test_contiguous_split_holds_the_stratified_rows_as_views():
    X, y, _, _ = synthetic_arrays(SPEC)
    X_original, y_original = X.copy(), y.copy()
    dataset = synthetic_dataset(X, y, contiguous=True)
    # views of the one generated array: no second copy of X
    assert np.shares_memory(dataset.X_train, X) and np.shares_memory(dataset.X_test, X)
    assert dataset.X_train.base is dataset.X_test.base
    assert dataset.X_train.shape[0] + dataset.X_test.shape[0] == X.shape[0]
    assert not dataset.X_train.flags.writeable and not dataset.X_test.flags.writeable
    # the same rows as the indexed stratified split, in another order
    train_idx, test_idx = holdout_indices(y_original, 0.25, 0)

    def row_set(rows, labels):
        return sorted(map(tuple, np.c_[rows, labels].tolist()))

    assert row_set(dataset.X_train, dataset.y_train) == row_set(X_original[train_idx], y_original[train_idx])
    assert row_set(dataset.X_test, dataset.y_test) == row_set(X_original[test_idx], y_original[test_idx])
    indexed = synthetic_dataset(X_original, y_original)
    assert dataset.y_test.sum() == indexed.y_test.sum()  # stratified: the same class counts


@pytest.mark.skipif(not memory.available(), reason="cannot reset the peak RSS here")
def test_contiguous_split_does_not_copy_X(monkeypatch):
    monkeypatch.setattr("bench.datasets.split.SWAP_BLOCK_BYTES", 2**20)
    X, y = tall_arrays(n=100_000, p=80)  # 64 MB
    contiguous = memory.peak_extra_bytes(synthetic_dataset, X, y, contiguous=True)
    indexed = memory.peak_extra_bytes(synthetic_dataset, X.copy(), y.copy())
    # two 1 MiB swap blocks, the row indices and y, whatever p is: measured 4 to 7 MB
    assert contiguous < 0.25 * X.nbytes
    assert indexed > 0.9 * X.nbytes  # the indexed split holds a second copy


def test_contiguous_needs_a_holdout(tmp_path):
    card = tmp_path / "bad.toml"
    card.write_text(
        'name = "bad"\ndescription = "x"\nsource = "synthetic"\n[split]\nmethod = "none"\n'
        'contiguous = true\n[penalty]\nkind = "l2"\n[synthetic]\nn = 100\np = 2\nseed = 1\n'
    )
    with pytest.raises(BenchInputError, match="split.contiguous"):
        parse_card(card)


def test_scale_suite_and_cards():
    assert SUITES["scale"]["datasets"] == ("synthetic_tall", "synthetic_wide")
    # every library's fastest exact solvers at the same optimum (cells named as given)
    assert {m.partition("[")[0] for m in SUITES["scale"]["models"]} == {*LINEAR_MODELS, "glum_logit"}
    cards = datasets.available()
    for name, shape in (("synthetic_tall", (1_000_000, 50)), ("synthetic_wide", (200_000, 500))):
        card = cards[name]
        assert (card.synthetic["n"], card.synthetic["p"]) == shape
        assert card.contiguous and card.split == "holdout" and card.penalty == "l2" and card.C == 1.0
