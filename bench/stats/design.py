"""Is the design [X, 1] of full column rank? If not, which columns are to blame."""

from __future__ import annotations

import numpy as np
from scipy.linalg import qr


def singular_design(X: np.ndarray, names: tuple[str, ...]) -> str | None:
    """A message naming the columns that make [X, 1] rank-deficient, or None.

    Constant columns are named as such (each duplicates the intercept); other dependent
    columns come from a QR decomposition with column pivoting: the columns pivoted last,
    beyond the numerical rank, are combinations of the others.
    """
    constant = [n for n, s in zip(names, np.ptp(X, axis=0)) if s == 0]
    if constant:
        listed = ", ".join(repr(c) for c in constant[:5]) + (
            f" and {len(constant) - 5} more" if len(constant) > 5 else ""
        )
        return (
            f"singular information matrix: column{'s' if len(constant) > 1 else ''} {listed} "
            f"{'are' if len(constant) > 1 else 'is'} constant, a copy of the intercept; the coefficients are not "
            "identified (drop it, or use --penalty l2)"
        )
    design = np.column_stack([X, np.ones(X.shape[0])])
    scaled = design / np.maximum(np.abs(design).max(axis=0), 1e-300)  # column scale does not change rank
    R, pivot = qr(scaled, mode="r", pivoting=True)
    diagonal = np.abs(np.diag(R))
    # numerical rank, as numpy.linalg.matrix_rank: singular values below max * max(n, p) * eps
    rank = int(np.sum(diagonal > diagonal.max() * max(design.shape) * np.finfo(float).eps))
    if rank == design.shape[1]:
        return None
    labels = (*names, "intercept")
    columns = [repr(labels[j]) for j in sorted(pivot[rank:])]
    dependent = ", ".join(columns[:5]) + (f" and {len(columns) - 5} more" if len(columns) > 5 else "")
    return (
        f"singular information matrix: {dependent} {'is a' if design.shape[1] - rank == 1 else 'are'} linear "
        "combination(s) of the other columns; the coefficients are not identified (drop one, or use --penalty l2)"
    )
