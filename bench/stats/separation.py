"""Complete and quasi-complete separation: when the logistic MLE does not exist.

Albert & Anderson (1984, Biometrika 71:1-10) show that the unpenalised logistic
(binary or multinomial) likelihood has no maximum exactly when some non-zero
direction of the parameters never lowers any row's fitted margin: moving along it
raises the likelihood for ever. With x~ = [x, 1] and W of shape (K, p + 1):

    (W[y_i] - W[k]) . x~_i >= 0   for every row i and every class k != y_i,

not all rows of W equal. Strict for every pair: *complete* separation; strict for
some only: *quasi-complete*. (Binary: K = 2 and d = W[1] - W[0], i.e.
(2 y_i - 1) x~_i . d >= 0.) Whether such a W exists is a linear programme, the
approach of Konis (2007, R package safeBinaryRegression), solved here with HiGHS:

    LP 1  maximise   sum of all margins   s.t. every margin >= 0, ||W||_1 <= 1
    LP 2  maximise   t                    s.t. every margin >= t, ||W||_1 <= 1

LP 1 is positive iff the data are (quasi-)separated; LP 2 is positive iff completely.
Row 0 of W is fixed at 0: adding one vector to every row changes no margin.

Two choices differ from Konis's box -1 <= d_j <= 1, for a readable direction:
the L1 ball's vertices are sparse, so the direction found names the few features
that separate rather than setting most weights to +-1; and a component in the
null space of the design (collinear columns) only spends L1 budget, so it never
appears. Each column is first mapped onto [-1, 1] (centred on its mid-range,
divided by its half-range): the LP is well conditioned whatever the units, and
then every margin is at most ||W||_1 * max|x~| = 1, so one absolute tolerance is
a tolerance relative to the data's scale. Last, when one feature alone separates
with the same kind (one class's values all on one side of a threshold), that
simpler direction is reported instead: it names the culprit, where the L1
max-margin direction may add small weights that only widen the margin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

# HiGHS's own feasibility tolerance (its default is 1e-7; 1e-10 is the least it
# accepts): a returned direction may violate a margin >= 0 constraint by this much.
SOLVER_TOL = 1e-10
# A scaled margin above SEP_TOL is a strictly separated row. Margins are <= 1 by
# construction (see the module docstring), so this is 1e-7 of the largest possible
# margin and 1000 x the solver's slack, which cannot add up to it on overlapping
# data: a simplex vertex solves its active constraints as equations (to ~1e-15).
# A weight whose L1 share is <= SEP_TOL moves no margin by more than SEP_TOL and
# is reported as negligible.
SEP_TOL = 1e-7
# Above this many rows, first try an evenly spaced subset of them (see _subset_overlaps).
SCREEN_ROWS = 2000
# Features listed in the one-line message; the rest are counted.
MESSAGE_FEATURES = 5


@dataclass(frozen=True)
class Separation:
    """A separating direction: the unpenalised logistic MLE does not exist.

    kind : "complete" (every row strictly on its class's side) or "quasi-complete"
        (some rows on the boundary).
    features : names of the terms (features, and "intercept") whose weight in the
        separating direction is non-negligible, largest first. Weights are compared
        on the scaled features (each column mapped onto [-1, 1]), i.e. by how far
        each term can move the linear predictor over the data; so the order does
        not depend on the units.
    direction : ndarray of shape (1, n_features + 1) for binary data (the log-odds
        of classes[1]), (n_classes, n_features + 1) for multinomial data (row 0,
        the reference class, is 0). In the caller's units, last column the
        intercept, normalised to max |entry| = 1. Along it the fitted logits of
        every row move towards its own class, or stay.
    message : one line for the report.
    """

    kind: str
    features: tuple[str, ...]
    direction: np.ndarray
    message: str


def detect_separation(X, y, feature_names, classes=None) -> Separation | None:
    """Detect complete or quasi-complete separation before an unpenalised fit.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Finite numbers; an intercept is added here.
    y : array-like of shape (n_samples,)
        Class labels: 0 / 1 for binary data, or K > 2 labels.
    feature_names : sequence of str of length n_features
    classes : sequence of labels, optional
        The classes in order (the binary direction is the log-odds of
        ``classes[1]``; row 0 is the multinomial reference). Default: the sorted
        unique values of ``y``.

    Returns
    -------
    Separation or None
        None when the classes overlap: the maximum-likelihood estimate exists (unique
        where the design has full column rank; collinear columns are not separation).
    """
    X, codes, names, classes = _validate(X, y, feature_names, classes)
    n_classes = classes.size
    design, centre, half_range = _scaled_design(X)  # (n, q), q = p + 1
    if _subset_overlaps(design, codes, n_classes):
        return None
    margins = _margin_matrix(design, codes, n_classes)  # (n (K - 1), (K - 1) q)

    weights = _solve(margins, complete=False)
    kind = _kind(margins @ weights)
    if kind is None:
        return None
    if kind == "quasi-complete":
        weights_complete = _solve(margins, complete=True)
        if _kind(margins @ weights_complete) == "complete":
            kind, weights = "complete", weights_complete

    q = design.shape[1]
    scaled = np.vstack([np.zeros(q), weights.reshape(n_classes - 1, q)])  # (K, q), W[0] = 0
    single = _single_feature(design, codes, n_classes)
    lone_class = None
    if single is not None and _kind(margins @ single[0][1:].ravel()) == kind:
        scaled, lone_class = single
    scaled = scaled / np.abs(scaled).sum()  # L1 = 1: a share <= SEP_TOL moves no margin by more
    importance = np.abs(scaled).max(axis=0)  # (q,)
    order = np.argsort(-importance, kind="stable")
    terms = (*names, "intercept")
    features = tuple(terms[j] for j in order if importance[j] > SEP_TOL)

    direction = _unscale(scaled, centre, half_range)  # (K, q)
    if n_classes == 2:
        direction = direction[1:]  # (1, q): W[1] - W[0] with W[0] = 0
    direction = direction / np.abs(direction).max()
    lone_label = None if lone_class is None or n_classes == 2 else classes.tolist()[lone_class]
    return Separation(
        kind=kind, features=features, direction=direction, message=_message(kind, features, n_classes, lone_label)
    )


def _kind(row_margins: np.ndarray) -> str | None:
    """What a direction's scaled margins (all pairs) show: None, quasi or complete."""
    if row_margins.min() < -SEP_TOL:
        # beyond the solver's slack by 1000 x: only a badly conditioned design gets here
        raise RuntimeError(
            f"separation LP returned a direction violating a margin by {-row_margins.min():.3g}; "
            "the design is too ill-conditioned to decide"
        )
    if row_margins.max() <= SEP_TOL:
        return None
    return "complete" if row_margins.min() > SEP_TOL else "quasi-complete"


def _subset_overlaps(design: np.ndarray, codes: np.ndarray, n_classes: int) -> bool:
    """True when a subset of the rows proves the whole set overlaps: one small LP.

    A direction separating all rows keeps every subset margin >= 0, and if the subset's
    design S has full column rank, not all of them 0: the largest is at least
    sigma_min(S) ||d||_2 / sqrt(m) >= sigma_min / sqrt(m q) for ||d||_1 = 1 (m rows), so
    LP 1 on the subset reaches a margin >= sigma_min / (m^1.5 sqrt(q)). When that bound
    clears SEP_TOL and LP 1 finds no margin above SEP_TOL, no direction separates.
    """
    n, q = design.shape
    if n <= SCREEN_ROWS:
        return False
    subset = np.linspace(0, n - 1, SCREEN_ROWS).round().astype(int)  # deterministic, spread out
    sigma_min = np.linalg.svd(design[subset], compute_uv=False)[-1]
    if sigma_min <= SEP_TOL * SCREEN_ROWS**1.5 * np.sqrt(q):
        return False
    margins = _margin_matrix(design[subset], codes[subset], n_classes)
    return _kind(margins @ _solve(margins, complete=False)) is None


def _validate(X, y, feature_names, classes):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X: expected a 2-D array of shape (n_samples, n_features), got shape {X.shape}")
    if not np.isfinite(X).all():
        row, col = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"X: row {row} column {col} is {X[row, col]}; expected finite numbers")
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y: expected shape ({X.shape[0]},) to match X, got {y.shape}")
    names = tuple(str(name) for name in feature_names)
    if len(names) != X.shape[1]:
        raise ValueError(f"feature_names: expected {X.shape[1]} names (one per column of X), got {len(names)}")
    classes = np.unique(y) if classes is None else np.asarray(classes)
    if classes.ndim != 1 or classes.size < 2 or np.unique(classes).size != classes.size:
        raise ValueError(f"classes: expected at least two distinct labels, got {classes.tolist()}")
    codes = np.full(y.shape, -1)
    for k, label in enumerate(classes):
        codes[y == label] = k
    if (codes < 0).any():
        raise ValueError(f"y: holds {y[codes < 0][0].tolist()!r}, which is not one of classes {classes.tolist()}")
    return X, codes, names, classes


def _scaled_design(X: np.ndarray):
    """Columns mapped onto [-1, 1] plus a column of ones: (n, p + 1), centre, half-range.

    An invertible affine map of the columns (the intercept absorbs the shift) maps
    separating directions one-to-one, so this decides nothing, it only conditions.
    A constant column is collinear with the intercept; it becomes 0 here.
    """
    low, high = X.min(axis=0), X.max(axis=0)  # (p,)
    centre = (high + low) / 2
    half_range = (high - low) / 2
    safe = np.where(half_range > 0, half_range, 1.0)
    scaled = np.where(half_range > 0, (X - centre) / safe, 0.0)  # (n, p)
    return np.column_stack([scaled, np.ones(X.shape[0])]), centre, half_range


def _margin_matrix(design: np.ndarray, codes: np.ndarray, n_classes: int) -> sp.csr_array:
    """Sparse M with M @ vec(W[1:]) = every margin (W[y_i] - W[k]) . x~_i, k != y_i.

    Rows: (n_samples * (K - 1)); columns: (K - 1) * q, block k - 1 holding W[k].
    For K = 2 this is (2 y_i - 1) x~_i, the binary margin of d = W[1].
    """
    n, q = design.shape
    others = np.broadcast_to(np.arange(n_classes), (n, n_classes))
    others = others[others != codes[:, None]].reshape(n, n_classes - 1)  # (n, K - 1)
    pair_row = np.arange(n * (n_classes - 1)).reshape(n, n_classes - 1)  # (n, K - 1)
    rows, cols, values = [], [], []
    for block_of, sign in ((np.broadcast_to(codes[:, None], others.shape), 1.0), (others, -1.0)):
        keep = block_of != 0  # W[0] is fixed at 0: no variable
        r = pair_row[keep]  # (m,)
        i = np.nonzero(keep)[0]  # the sample of each kept pair
        rows.append(np.repeat(r, q))
        cols.append(((block_of[keep] - 1)[:, None] * q + np.arange(q)).ravel())
        values.append(sign * design[i].ravel())
    shape = (n * (n_classes - 1), (n_classes - 1) * q)
    return sp.csr_array((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=shape)


def _solve(margins: sp.csr_array, *, complete: bool) -> np.ndarray:
    """LP 1 (complete=False) or LP 2 of the module docstring; returns vec(W[1:]).

    Variables: W = u - v with u, v >= 0 and sum(u + v) <= 1 (the L1 ball); LP 2
    adds t >= 0. Both are feasible (W = 0) and bounded, so HiGHS must succeed.
    """
    n_rows, n_weights = margins.shape
    l1_row = sp.csr_array(np.ones((1, 2 * n_weights)))
    split = sp.hstack([-margins, margins])  # -M (u - v) <= 0 (LP 2: <= -t)
    if complete:
        a_ub = sp.vstack([sp.hstack([split, np.ones((n_rows, 1))]), sp.hstack([l1_row, np.zeros((1, 1))])])
        cost = np.zeros(2 * n_weights + 1)
        cost[-1] = -1.0  # maximise t
    else:
        a_ub = sp.vstack([split, l1_row])
        column_sums = np.asarray(margins.sum(axis=0)).ravel()
        cost = -np.concatenate([column_sums, -column_sums])  # maximise the sum of margins
    b_ub = np.zeros(n_rows + 1)
    b_ub[-1] = 1.0
    result = linprog(
        cost,
        A_ub=sp.csr_array(a_ub),
        b_ub=b_ub,
        bounds=(0, None),
        method="highs",
        options={"primal_feasibility_tolerance": SOLVER_TOL, "dual_feasibility_tolerance": SOLVER_TOL},
    )
    if result.status != 0:
        raise RuntimeError(f"separation LP failed: {result.message}")
    return result.x[:n_weights] - result.x[n_weights : 2 * n_weights]


def _unscale(scaled: np.ndarray, centre: np.ndarray, half_range: np.ndarray) -> np.ndarray:
    """Weights on the [-1, 1] columns -> weights on the caller's columns, same logits.

    eta = sum_j w'_j (x_j - c_j) / h_j + w'_0 = sum_j (w'_j / h_j) x_j + (w'_0 - sum_j w'_j c_j / h_j).
    """
    safe = np.where(half_range > 0, half_range, 1.0)
    coef = np.where(half_range > 0, scaled[:, :-1] / safe, 0.0)  # (K, p)
    intercept = scaled[:, -1] - coef @ centre  # (K,)
    return np.column_stack([coef, intercept])


def _single_feature(design: np.ndarray, codes: np.ndarray, n_classes: int):
    """One feature on which a class's values all lie on one side of every other class's.

    Returns (W of shape (K, q) on the scaled columns, the class k) or None. W[k] is
    -/+ (x'_j - threshold) (the class below / above), shifted so that W[0] = 0; its
    margins are |x'_j - threshold| for class-k pairs and 0 for the other pairs, so
    with K > 2 it is at best quasi-complete. The widest gap (in [-1, 1] units) wins.
    """
    n, q = design.shape
    x = design[:, :-1]  # (n, p)
    varies = x.max(axis=0) > x.min(axis=0)  # a constant column separates nothing
    best = None  # (gap, k, j, sign, threshold)
    for k in [1] if n_classes == 2 else range(n_classes):  # binary: class 0 is the mirror
        inside, outside = x[codes == k], x[codes != k]
        if inside.shape[0] == 0 or outside.shape[0] == 0:
            continue
        for sign, low, high in (
            (-1.0, inside.max(axis=0), outside.min(axis=0)),  # class k below
            (1.0, outside.max(axis=0), inside.min(axis=0)),
        ):  # class k above
            gap = np.where(varies, high - low, -np.inf)  # (p,)
            j = int(np.argmax(gap))
            if gap[j] >= 0 and (best is None or gap[j] > best[0]):
                best = (gap[j], k, j, sign, (low[j] + high[j]) / 2)
    if best is None:
        return None
    _, k, j, sign, threshold = best
    weights = np.zeros((n_classes, q))
    weights[k, j], weights[k, -1] = sign, -sign * threshold
    return weights - weights[0], k


def _message(kind: str, features: tuple[str, ...], n_classes: int, lone_label=None) -> str:
    named = [f for f in features if f != "intercept"]
    if lone_label is not None:
        who = f"class {lone_label} is separated from the other classes"
    elif n_classes == 2:
        who = "the classes are separated"
    else:
        who = f"some of the {n_classes} classes are separated"
    if not named:
        how = "by the intercept alone (a class has no rows)"
    elif len(named) == 1:
        how = f"by a threshold on {named[0]}"
    else:
        shown = ", ".join(named[:MESSAGE_FEATURES])
        more = len(named) - MESSAGE_FEATURES
        how = f"by a linear combination of {shown}" + (f" and {more} more" if more > 0 else "")
    return f"{kind} separation: {who} {how} (the MLE does not exist; use --penalty l2)"
