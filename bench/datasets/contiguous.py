"""A holdout split without a second copy of X, for data too large to hold twice.

``build(..., contiguous=True)`` (cards with ``split.contiguous = true``, the scale suite's)
comes here: the stratified test rows are moved to the end of the one array in place and
the Dataset holds read-only views of its two parts.
"""

from __future__ import annotations

import numpy as np

from bench.datasets.dataset import Dataset, _stratified_test_rows
from bench.errors import BenchInputError

SWAP_BLOCK_BYTES = 8 * 2**20  # rows moved per step of ``contiguous_holdout``: bounds its temporaries


def contiguous_holdout(X: np.ndarray, y: np.ndarray, test_fraction: float, seed: int) -> int:
    """The stratified holdout of ``holdout_indices``, made contiguous in place.

    The test rows are the same rows ``holdout_indices`` picks; those lying among the
    first n_train positions swap places with the training rows lying in the last n_test
    positions, so that afterwards ``X[:n_train]`` holds exactly the training rows and
    ``X[n_train:]`` exactly the test rows, as views of the one array. Rows keep their
    positions unless swapped, so neither part is in the original order. X (n, p) and
    y (n,) are modified in place; the temporaries are at most ``SWAP_BLOCK_BYTES`` twice,
    never a second copy of X. Returns n_train.
    """
    test_idx = _stratified_test_rows(y, test_fraction, seed)  # holdout_indices' test rows
    n_train = y.size - test_idx.size
    is_test = np.zeros(y.size, dtype=bool)  # 1 byte a row: lighter than holdout_indices' setdiff1d
    is_test[test_idx] = True
    test_in_front = test_idx[: np.searchsorted(test_idx, n_train)]  # (k,) both sorted, and equally
    train_in_back = n_train + np.flatnonzero(~is_test[n_train:])  # (k,) many: the two sides of each swap
    step = max(1, SWAP_BLOCK_BYTES // max(1, X.shape[1] * X.itemsize))
    for start in range(0, test_in_front.size, step):
        front, back = test_in_front[start : start + step], train_in_back[start : start + step]
        held = X[front]  # (step, p) copy of the test rows being moved
        X[front] = X[back]
        X[back] = held
        y[front], y[back] = y[back], y[front]  # fancy indexing on the right copies first
    return n_train


def _frozen_view(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.setflags(write=False)
    return view


def build_contiguous(*, name, description, source, X, y, feature_names, split, test_fraction, standardize,
                     penalty, C, seed, truth, images, labels, cnn, where) -> Dataset:
    """``dataset.build`` for ``contiguous = true``: one float64 array, train and test views of it."""
    if split != "holdout":
        raise BenchInputError(f"{where}: a contiguous split needs split.method = \"holdout\"")
    if images is not None:
        raise BenchInputError(f"{where}: a contiguous split does not support [images]")
    if X.dtype != np.float64 or not X.flags.c_contiguous or not X.flags.writeable:
        X = np.array(X, dtype=np.float64, order="C")  # a copy only when the input is not usable as it is
    y = np.array(y, dtype=np.float64)  # (n,) small: reordered in place below
    n_train = contiguous_holdout(X, y, test_fraction, seed)
    for part, part_y in (("training", y[:n_train]), ("test", y[n_train:])):
        if np.unique(part_y).size < len(labels):
            raise BenchInputError(
                f"{where}: the {part} split lacks a class; expected all of {', '.join(labels)} "
                f"(more rows, or a smaller/larger test fraction)"
            )
    if standardize:
        mean = X[:n_train].mean(axis=0)
        std = X[:n_train].std(axis=0)
        constant = [f for f, s in zip(feature_names, std) if s == 0]
        if constant:
            raise BenchInputError(
                f"{where}: feature {constant[0]!r} is constant in the training split; "
                "cannot standardise (drop the column)"
            )
        X -= mean  # in place, train and test rows alike, with training statistics
        X /= std
    return Dataset(
        name=name,
        description=description,
        source=source,
        feature_names=tuple(feature_names),
        X_train=_frozen_view(X[:n_train]),
        y_train=_frozen_view(y[:n_train]),
        X_test=_frozen_view(X[n_train:]),
        y_test=_frozen_view(y[n_train:]),
        penalty=penalty,
        C=float(C),
        seed=seed,
        split=f"holdout {test_fraction:g}, stratified, contiguous (test rows moved last in place)",
        standardized=standardize,
        truth=truth,
        labels=labels,
        cnn=dict(cnn or {}),
    )
