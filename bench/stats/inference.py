"""Standard errors and Wald inference for the linear models (their AMEs: ``bench.effects``).

Every linear model in the harness ends at the same optimum, so its inference can come
from the observed information there, whatever optimiser found it: the inverse Hessian
of the SUM negative log-likelihood gives the covariance of the parameters (``bench.effects``
carries it to average marginal effects by the delta method). This is what statsmodels
reports, so sklearn and torch fits get the same standard errors as statsmodels.

Parameter order, everywhere: [coef_1, ..., coef_p, intercept] per class row, as in
``FitResult``; a multinomial fit is flattened row by row from its (K - 1, p + 1)
matrix of contrasts. Pure functions of arrays; torch is imported only by the functions
that use it.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, stats
from scipy.special import expit, softmax


def binary_covariance(X, coef, intercept, lam: float = 0.0) -> np.ndarray:
    """Inverse observed information of a binary logistic regression.

    The Hessian of sum_i logloss_i + (n lam / 2) ||w||^2 over [w, b] is
    X~^T W X~ + n lam [I_p 0; 0 0], with X~ = [X 1] and W = diag(p_i (1 - p_i)).
    With lam = 0 its inverse is the MLE's asymptotic covariance (statsmodels ``Logit``).
    With lam > 0 (scikit-learn's C = 1 / (n lam): its objective is C times this one)
    it is the inverse penalised Hessian, NOT an MLE covariance: the estimator is
    biased, and the sandwich H^-1 I H^-1 would be needed for its variance.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    coef : ndarray of shape (n_features,) or (1, n_features)
    intercept : float or ndarray of shape (1,)
    lam : float, default 0.0
        L2 strength on the weights in mean-loss units (``Dataset.l2_lambda``).

    Returns
    -------
    cov : ndarray of shape (n_features + 1, n_features + 1)

    Raises
    ------
    numpy.linalg.LinAlgError
        The information is not positive definite (e.g. separated data: no MLE).
    """
    X, beta, b = _binary_inputs(X, coef, intercept)
    lam = _check_lam(lam)
    n, p = X.shape
    X1 = _with_ones(X)  # (n, p + 1)
    prob = expit(X @ beta + b)  # (n,)
    H = X1.T @ (X1 * (prob * (1.0 - prob))[:, None])  # (p + 1, p + 1)
    H[np.arange(p), np.arange(p)] += n * lam
    return _inverse_information(H)


def multinomial_covariance(X, coef, intercept, lam: float = 0.0) -> np.ndarray:
    """Inverse observed information of a multinomial logit in contrasts.

    Class 0 is the reference, as in statsmodels ``MNLogit``: the parameters are the
    contrasts D_k = W_k - W_0, d_k = b_k - b_0 for k = 1..K-1, and
    P(y = k | x) = exp(eta_k) / sum_j exp(eta_j) with eta_0 = 0, eta_k = D_k x + d_k.
    Block (j, k) of the Hessian of the sum negative log-likelihood is
    X~^T diag(P_j (delta_jk - P_k)) X~, with X~ = [X 1].

    Penalty (lam > 0). scikit-learn penalises all K rows symmetrically: it minimises
    sum_i logloss_i + (n lam / 2) sum_{k=0}^{K-1} ||W_k||^2 (lam = 1 / (C n)). The
    likelihood depends on W only through the contrasts, so for given D the penalty
    picks the rows W_k = D_k + c (D_0 = 0) that minimise sum_k ||D_k + c||^2, i.e.
    c = -Dbar with Dbar = (1/K) sum_{k=1}^{K-1} D_k. The penalty in contrasts is therefore
    sum_k ||D_k - Dbar||^2 = sum_{k>=1} ||D_k||^2 - K ||Dbar||^2
    = vec(D)^T ((I_{K-1} - 1 1^T / K) kron I_p) vec(D),
    and the Hessian gains n lam (delta_jk - 1/K) I_p on each weight block (j, k);
    (I - 1 1^T / K) has eigenvalues 1 and 1/K, so it is positive definite. Intercepts
    are not penalised. As in the binary case, this is the inverse penalised Hessian of
    the penalised optimum, NOT an MLE covariance.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    coef : ndarray of shape (n_classes - 1, n_features)
        Contrasts W_k - W_0 (from scikit-learn: ``coef_[1:] - coef_[0]``).
    intercept : ndarray of shape (n_classes - 1,)
    lam : float, default 0.0

    Returns
    -------
    cov : ndarray of shape (m, m), m = (n_classes - 1) * (n_features + 1)
        In row-major order of the (n_classes - 1, n_features + 1) parameter matrix
        [D_k, d_k]; from statsmodels' (p + 1, K - 1) params with the constant first,
        that matrix is ``np.vstack([params[1:], params[:1]]).T``.
    """
    X, D, d = _multinomial_inputs(X, coef, intercept)
    lam = _check_lam(lam)
    n, p = X.shape
    m = D.shape[0]  # K - 1
    X1 = _with_ones(X)  # (n, p + 1)
    Q = _contrast_proba(X, D, d)[:, 1:]  # (n, K - 1)
    weights = np.einsum("ij,jk->ijk", Q, np.eye(m)) - Q[:, :, None] * Q[:, None, :]  # (n, K-1, K-1)
    H = np.einsum("ijk,ia,ib->jakb", weights, X1, X1, optimize=True)  # (K-1, p+1, K-1, p+1)
    H[:, :p, :, :p] += n * lam * np.einsum("jk,ab->jakb", np.eye(m) - 1.0 / (m + 1), np.eye(p))
    return _inverse_information(H.reshape(m * (p + 1), m * (p + 1)))


def torch_covariance(objective, params) -> np.ndarray:
    """Inverse of the autograd Hessian of a torch objective at ``params``.

    The Hessian is ``torch.func.jacrev(torch.func.grad(f))``, reverse over reverse:
    ``torch.func.hessian`` goes through forward-mode AD, which warns in torch 2.13.

    Parameters
    ----------
    objective : callable
        ``objective(*tensors) -> scalar tensor``, called with tensors of the shapes of
        ``params``: the SUM negative log-likelihood (+ penalty) for an MLE covariance.
        For a module, ``torch.func.functional_call(module, {"weight": w, "bias": b}, X)``.
    params : Tensor or sequence of Tensor
        The point, e.g. ``[linear.weight, linear.bias]``. Use float64: float32 gives
        standard errors to ~1e-4 at best.

    Returns
    -------
    cov : ndarray of shape (d, d)
        d = total number of elements, in the order of the flattened ``params``
        (for ``nn.Linear(p, 1)``: [w_1..w_p, b], the project's order).
    """
    import torch
    from torch.func import grad, jacrev

    tensors = [params] if isinstance(params, torch.Tensor) else list(params)
    if not tensors or not all(isinstance(t, torch.Tensor) and t.is_floating_point() for t in tensors):
        raise TypeError("params: expected a floating-point torch.Tensor or a sequence of them")
    shapes = [t.shape for t in tensors]
    theta = torch.cat([t.detach().reshape(-1) for t in tensors])  # (d,)

    def flat_objective(flat):
        parts = torch.split(flat, [s.numel() for s in shapes])
        return objective(*(part.reshape(shape) for part, shape in zip(parts, shapes)))

    H = jacrev(grad(flat_objective))(theta)  # (d, d)
    return _inverse_information(H.detach().cpu().double().numpy())


def wald_table(estimates, std_errors, level: float = 0.95) -> dict[str, np.ndarray]:
    """Wald z statistics, two-sided normal p-values and confidence intervals.

    Parameters
    ----------
    estimates, std_errors : array_like of the same shape
        NaN or 0 standard errors (not estimated, or a degenerate direction) give NaN
        in every output at that position.
    level : float, default 0.95

    Returns
    -------
    dict with keys ``z``, ``p_value``, ``ci_low``, ``ci_high``: ndarrays of the
    shape of ``estimates``; the interval is estimate -/+ z_{(1 + level)/2} * SE.
    """
    estimates = np.asarray(estimates, dtype=np.float64)
    std_errors = np.asarray(std_errors, dtype=np.float64)
    if estimates.shape != std_errors.shape:
        raise ValueError(f"std_errors: expected shape {estimates.shape} (that of estimates), got {std_errors.shape}")
    if np.any(std_errors < 0):
        raise ValueError("std_errors: expected values >= 0 (or NaN), got a negative one")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level: expected a probability in (0, 1), got {level!r}")
    valid = std_errors > 0  # False for NaN and 0
    safe_se = np.where(valid, std_errors, 1.0)
    z = np.where(valid, estimates / safe_se, np.nan)
    half_width = np.where(valid, stats.norm.ppf(0.5 + level / 2.0) * safe_se, np.nan)
    return {
        "z": z,
        "p_value": np.where(valid, 2.0 * stats.norm.sf(np.abs(np.where(valid, z, 0.0))), np.nan),
        "ci_low": estimates - half_width,
        "ci_high": estimates + half_width,
    }


# --- helpers ------------------------------------------------------------------------


def _binary_inputs(X, coef, intercept):
    X = _design(X)
    beta = np.asarray(coef, dtype=np.float64)
    if beta.ndim == 2 and beta.shape[0] == 1:
        beta = beta[0]
    if beta.shape != (X.shape[1],):
        raise ValueError(f"coef: expected shape ({X.shape[1]},) or (1, {X.shape[1]}), got {np.shape(coef)}")
    b = np.asarray(intercept, dtype=np.float64).reshape(-1)
    if b.shape != (1,):
        raise ValueError(f"intercept: expected a scalar or shape (1,), got {np.shape(intercept)}")
    return X, beta, float(b[0])


def _multinomial_inputs(X, coef, intercept):
    X = _design(X)
    D = np.asarray(coef, dtype=np.float64)
    if D.ndim != 2 or D.shape[1] != X.shape[1]:
        raise ValueError(f"coef: expected shape (n_classes - 1, {X.shape[1]}), got {D.shape}")
    d = np.asarray(intercept, dtype=np.float64)
    if d.shape != (D.shape[0],):
        raise ValueError(f"intercept: expected shape ({D.shape[0]},) (one per contrast), got {d.shape}")
    return X, D, d


def _design(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X: expected a non-empty 2-D array (n_samples, n_features), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X: expected finite values, got NaN or inf")
    return X


def _check_lam(lam) -> float:
    lam = float(lam)
    if not lam >= 0.0 or lam == np.inf:
        raise ValueError(f"lam: expected a finite value >= 0, got {lam!r}")
    return lam


def _with_ones(X: np.ndarray) -> np.ndarray:
    return np.column_stack([X, np.ones(X.shape[0])])


def _contrast_proba(X: np.ndarray, D: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Class probabilities (n, K) with eta_0 = 0 for the reference class."""
    eta = np.column_stack([np.zeros(X.shape[0]), X @ D.T + d])  # (n, K)
    return softmax(eta, axis=1)


def _inverse_information(H: np.ndarray) -> np.ndarray:
    """H^-1 by Cholesky: the information at an optimum must be positive definite."""
    H = (H + H.T) / 2.0
    try:
        factor = linalg.cho_factor(H, lower=True, check_finite=True)
    except (linalg.LinAlgError, ValueError) as error:
        raise np.linalg.LinAlgError(
            "the Hessian is not positive definite (or not finite): the data may be separated "
            "and the MLE not exist; try an L2 penalty"
        ) from error
    cov = linalg.cho_solve(factor, np.eye(H.shape[0]))
    return (cov + cov.T) / 2.0
