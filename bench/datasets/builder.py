"""From arrays to a frozen ``Dataset``: split, check, standardise with training statistics, freeze.

One path for every card. The split copies rows by index (the default; the committed
baseline depends on its row order), or, with ``contiguous`` (holdout only; data too large
to hold twice), reorders the caller's X in place (``split.contiguous_holdout``) so that the
Dataset holds two read-only views of the one array and no second copy of X is made.
"""

from __future__ import annotations

import numpy as np

from bench.datasets.dataset import Dataset, Truth
from bench.datasets.split import contiguous_holdout, holdout_indices
from bench.errors import BenchInputError


def frozen(a: np.ndarray, dtype=np.float64) -> np.ndarray:
    """A read-only C-contiguous array of ``dtype`` (a copy only when ``a`` is not one already)."""
    a = np.ascontiguousarray(a, dtype=dtype)
    a.setflags(write=False)
    return a


def frozen_view(a: np.ndarray) -> np.ndarray:
    """A read-only view of ``a``: the memory is shared, ``a`` itself stays writable."""
    view = a.view()
    view.setflags(write=False)
    return view


def _check_classes(y_train: np.ndarray, y_test: np.ndarray, labels: tuple[str, ...], where: str) -> None:
    for part, part_y in (("training", y_train), ("test", y_test)):
        if np.unique(part_y).size < len(labels):
            raise BenchInputError(
                f"{where}: the {part} split lacks a class; expected all of {', '.join(labels)} "
                f"(more rows, or a smaller/larger test fraction)"
            )


def _training_statistics(X_train: np.ndarray, feature_names, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations of the training rows; a constant column is bad input."""
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    constant = [f for f, s in zip(feature_names, std) if s == 0]
    if constant:
        raise BenchInputError(
            f"{where}: feature {constant[0]!r} is constant in the training split; cannot standardise (drop the column)"
        )
    return mean, std


def _contiguous_parts(X, y, split: str, test_fraction: float, seed: int, images, where: str):
    """(X, y) reordered in place, train and test rows as views of them; no images."""
    if split != "holdout":
        raise BenchInputError(f'{where}: a contiguous split needs split.method = "holdout"')
    if images is not None:
        raise BenchInputError(f"{where}: a contiguous split does not support [images]")
    if X.dtype != np.float64 or not X.flags.c_contiguous or not X.flags.writeable:
        X = np.array(X, dtype=np.float64, order="C")  # a copy only when the input is not usable as it is
    y = np.array(y, dtype=np.float64)  # (n,) small: reordered in place
    n_train = contiguous_holdout(X, y, test_fraction, seed)
    return X, X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def build(
    *,
    name: str,
    description: str,
    source: str,
    X: np.ndarray,
    y: np.ndarray,
    feature_names: tuple[str, ...],
    split: str,
    test_fraction: float,
    standardize: bool,
    penalty: str,
    C: float,
    seed: int,
    truth: Truth | None = None,
    images: np.ndarray | None = None,
    labels: tuple[str, ...] = ("0", "1"),
    cnn: dict | None = None,
    contiguous: bool = False,
    notes: dict | None = None,
    where: str,
) -> Dataset:
    """Split, optionally standardise with train statistics, validate, freeze.

    ``split``: "holdout" (stratified, ``test_fraction``) or "none" (every row is both a
    training and a test row, as for spector's 32). ``where`` names the source in messages.
    """
    images_train = images_test = None
    if split == "holdout" and test_fraction == 0:  # --test-fraction 0: every row is train and test
        split = "none"
    if contiguous:
        X, X_train, y_train, X_test, y_test = _contiguous_parts(X, y, split, test_fraction, seed, images, where)
        split_text = f"holdout {test_fraction:g}, stratified, contiguous (test rows moved last in place)"
    else:
        if split == "none":
            train_idx = test_idx = np.arange(y.size)
        else:
            train_idx, test_idx = holdout_indices(y, test_fraction, seed)
        X_train, y_train, X_test, y_test = X[train_idx], y[train_idx], X[test_idx], y[test_idx]
        if images is not None:
            images_train = frozen(images[train_idx], np.uint8)
            images_test = images_train if split == "none" else frozen(images[test_idx], np.uint8)
        split_text = (
            "none (all rows are train and test)" if split == "none" else f"holdout {test_fraction:g}, stratified"
        )
    _check_classes(y_train, y_test, labels, where)
    if standardize:
        mean, std = _training_statistics(X_train, feature_names, where)
        if contiguous:  # in place, train and test rows alike (both are views of X)
            X -= mean
            X /= std
        else:
            X_train = (X_train - mean) / std
            X_test = (X_test - mean) / std
    if contiguous:
        X_train, y_train, X_test, y_test = (frozen_view(a) for a in (X_train, y_train, X_test, y_test))
    else:
        X_train, y_train = frozen(X_train), frozen(y_train)
        # split "none": the same rows, so the same arrays (no second copy)
        X_test, y_test = (X_train, y_train) if split == "none" else (frozen(X_test), frozen(y_test))
    return Dataset(
        name=name,
        description=description,
        source=source,
        feature_names=tuple(feature_names),
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        penalty=penalty,
        C=float(C),
        seed=seed,
        split=split_text,
        standardized=standardize,
        truth=truth,
        images_train=images_train,
        images_test=images_test,
        labels=labels,
        cnn=dict(cnn or {}),
        notes=dict(notes or {}),
    )
