"""The frozen ``Dataset`` every model receives, and the split / scaling helpers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bench.errors import BenchInputError


@dataclass(frozen=True)
class Truth:
    """Known generating coefficients of a synthetic dataset (log-odds scale)."""

    coef: np.ndarray  # (n_features,)
    intercept: float


@dataclass(frozen=True)
class Dataset:
    """One binary classification problem, split once, shared by every model.

    X_train : ndarray of shape (n_train, n_features), float64, read-only
    y_train : ndarray of shape (n_train,), float64 of 0.0 / 1.0, read-only
    X_test, y_test : the same for the test rows (the same arrays as train when
        ``split == "none"``, as for spector, where all 32 rows are both).
    penalty : "none" (maximum likelihood) or "l2" with inverse strength ``C``,
        in scikit-learn's convention: minimise C * sum(log-loss) + 1/2 ||w||^2,
        intercept unpenalised.
    """

    name: str
    description: str
    source: str
    feature_names: tuple[str, ...]
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    penalty: str
    C: float
    seed: int
    split: str
    standardized: bool
    truth: Truth | None = None
    # The image view: the same samples, labels and split as X_*, as uint8 arrays of
    # shape (n, 3, 200, 200); converted to float one batch at a time, never whole.
    images_train: np.ndarray | None = None
    images_test: np.ndarray | None = None
    labels: tuple[str, ...] = ("0", "1")  # what y = 0, 1, ... stand for; K = len(labels)
    cnn: dict = field(default_factory=dict)  # the card's [cnn] training settings

    @property
    def n_classes(self) -> int:
        return len(self.labels)

    @property
    def is_binary(self) -> bool:
        return self.n_classes == 2

    @property
    def has_images(self) -> bool:
        return self.images_train is not None

    @property
    def true_test_logits(self) -> np.ndarray | None:
        """The generating log-odds of each test row, where the truth is known."""
        if self.truth is None:
            return None
        return self.truth.intercept + self.X_test @ self.truth.coef

    @property
    def n_train(self) -> int:
        return self.X_train.shape[0]

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def l2_lambda(self) -> float:
        """lambda of mean log-loss + lambda/2 ||w||^2: 1/(C n) for L2, 0 unpenalised."""
        return 1.0 / (self.C * self.n_train) if self.penalty == "l2" else 0.0

    def describe(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "n_train": self.n_train,
            "n_test": int(self.X_test.shape[0]),
            "n_features": self.n_features,
            "penalty": self.penalty,
            "C": self.C if self.penalty == "l2" else None,
            "split": self.split,
            "standardized": self.standardized,
            "images": None if self.images_train is None else "x".join(map(str, self.images_train.shape[1:])),
            "labels": ", ".join(f"{i} = {label}" for i, label in enumerate(self.labels)),
            "description": self.description,
        }


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float64)
    a.setflags(write=False)
    return a


def _frozen_uint8(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.uint8)
    a.setflags(write=False)
    return a


def _stratified_test_rows(y: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
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
    test_idx = _stratified_test_rows(y, test_fraction, seed)
    train_idx = np.setdiff1d(np.arange(y.size), test_idx)
    return train_idx, test_idx


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
    where: str,
) -> Dataset:
    """Split, optionally standardise with train statistics, validate, freeze.

    ``contiguous`` (holdout only; for data too large to hold twice): the caller's X
    (float64, C-contiguous, writable) is reordered in place (``bench.datasets.contiguous``)
    and becomes the Dataset's, which holds views of it, so no second copy of X is made;
    standardising, if asked, is done in place too. Otherwise the split copies rows by
    index (the default; the committed baseline depends on its row order).
    """
    if contiguous:
        from bench.datasets.contiguous import build_contiguous

        return build_contiguous(
            name=name, description=description, source=source, X=X, y=y, feature_names=feature_names,
            split=split, test_fraction=test_fraction, standardize=standardize, penalty=penalty, C=C,
            seed=seed, truth=truth, images=images, labels=labels, cnn=cnn, where=where,
        )
    if split == "none":
        train_idx = test_idx = np.arange(y.size)
    else:
        train_idx, test_idx = holdout_indices(y, test_fraction, seed)
    X_train, y_train = X[train_idx], y[train_idx]
    X_test, y_test = X[test_idx], y[test_idx]
    for part, part_y in (("training", y_train), ("test", y_test)):
        if np.unique(part_y).size < len(labels):
            raise BenchInputError(
                f"{where}: the {part} split lacks a class; expected all of {', '.join(labels)} "
                f"(more rows, or a smaller/larger test fraction)"
            )
    if standardize:
        mean = X_train.mean(axis=0)
        std = X_train.std(axis=0)
        constant = [f for f, s in zip(feature_names, std) if s == 0]
        if constant:
            raise BenchInputError(
                f"{where}: feature {constant[0]!r} is constant in the training split; "
                "cannot standardise (drop the column)"
            )
        X_train = (X_train - mean) / std
        X_test = (X_test - mean) / std
    X_train, y_train = _frozen(X_train), _frozen(y_train)
    images_train = images_test = None
    if images is not None:
        images_train = _frozen_uint8(images[train_idx])
        images_test = images_train if split == "none" else _frozen_uint8(images[test_idx])
    if split == "none":
        X_test, y_test = X_train, y_train  # the same rows: no second copy
    else:
        X_test, y_test = _frozen(X_test), _frozen(y_test)
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
        split="none (all rows are train and test)" if split == "none" else f"holdout {test_fraction:g}, stratified",
        standardized=standardize,
        truth=truth,
        images_train=images_train,
        images_test=images_test,
        labels=labels,
        cnn=dict(cnn or {}),
    )
