"""The frozen ``Dataset`` every model receives (built by ``bench.datasets.build``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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
    # what the loader wants in the report's datasets table and run.json (e.g. an image
    # folder's class names and the files it skipped); JSON-serialisable values only
    notes: dict = field(default_factory=dict)
    # one timed fit and predict per cell, however fast (the CNN's probe datasets: what they are
    # for is their fits, not their timings, and there are ten per image dataset)
    time_once: bool = False

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
            **self.notes,
        }
