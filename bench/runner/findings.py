"""Checks before an unpenalised fit: data on which maximum likelihood has no unique answer.

A finding is not a failure: the cell reports it and exact fits are not attempted.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.datasets import Dataset
from bench.stats.design import singular_design
from bench.stats.separation import detect_separation


@dataclass(frozen=True)
class Finding:
    """Why an unpenalised maximum-likelihood fit of this dataset has no unique answer."""

    status: str  # "singular" (coefficients not identified) or "separated" (no maximum)
    message: str


def pre_fit_finding(dataset: Dataset) -> Finding | None:
    """Checks before an unpenalised fit (with L2 the optimum exists and is unique whatever
    the data): a rank-deficient design, then separation (``bench.stats.separation``)."""
    if dataset.penalty != "none":
        return None
    message = singular_design(dataset.X_train, dataset.feature_names)
    if message:
        return Finding("singular", message)
    separation = detect_separation(dataset.X_train, dataset.y_train, dataset.feature_names)
    return Finding("separated", separation.message) if separation is not None else None
