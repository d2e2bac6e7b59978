"""Train/test splits: the stratified holdout, by index or made contiguous in place.

``holdout_indices`` picks the test rows (each class contributes round(test_fraction *
n_class), drawn with the seed). ``contiguous_holdout`` moves those same rows to the end
of one array in place, for data too large to hold twice (cards with
``split.contiguous = true``, the scale suite's).
"""

from __future__ import annotations

import numpy as np


def stratified_test_rows(y: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """Sorted test rows: each class contributes round(test_fraction * n_class), drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        rng.shuffle(idx)
        test.append(idx[: int(round(test_fraction * idx.size))])
    return np.sort(np.concatenate(test))


def holdout_indices(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split: each class contributes round(test_fraction * n_class) test rows."""
    test_idx = stratified_test_rows(y, test_fraction, seed)
    train_idx = np.setdiff1d(np.arange(y.size), test_idx)
    return train_idx, test_idx


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
    test_idx = stratified_test_rows(y, test_fraction, seed)  # holdout_indices' test rows
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
