"""Average marginal effects (AMEs) of the linear models, with delta-method standard errors.

dP/dx averaged over rows, from the optimum's parameters and their covariance
(``bench.inference``): in closed form for binary and multinomial logits, and by torch
autograd of the predicted probability, as for any network's input gradients. Parameter
order as in ``bench.inference``; torch is imported only by ``torch_ame``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from bench.stats.inference import _binary_inputs, _contrast_proba, _multinomial_inputs, _with_ones


def binary_ame(X, coef, intercept, cov) -> tuple[np.ndarray, np.ndarray]:
    """Average marginal effects of a binary logit and their delta-method SEs.

    AME_j = mean_i dP(y = 1 | x_i) / dx_ij = mean_i s_i beta_j, s_i = p_i (1 - p_i)
    (every feature treated as continuous: statsmodels ``get_margeff(at="overall",
    method="dydx")``, Stata ``margins, dydx(*)``). Its Jacobian over [beta, b] is, in
    closed form, J = mean(s) [I_p 0] + beta mean_i(s_i (1 - 2 p_i) x~_i)^T, using
    ds/deta = s (1 - 2p); the SEs are sqrt(diag(J cov J^T)).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    coef : ndarray of shape (n_features,) or (1, n_features)
    intercept : float or ndarray of shape (1,)
    cov : ndarray of shape (n_features + 1, n_features + 1)

    Returns
    -------
    ame, std_error : ndarrays of shape (n_features,)
    """
    X, beta, b = _binary_inputs(X, coef, intercept)
    n, p = X.shape
    prob = expit(X @ beta + b)  # (n,)
    s = prob * (1.0 - prob)  # (n,)
    J = s.mean() * np.eye(p, p + 1) + np.outer(beta, (s * (1.0 - 2.0 * prob)) @ _with_ones(X) / n)  # (p, p+1)
    return s.mean() * beta, _delta_std_error(J, cov)


def torch_ame(X, coef, intercept, cov) -> tuple[np.ndarray, np.ndarray]:
    """``binary_ame`` by torch autograd, as for any network's input gradients.

    The model is ``sigmoid(nn.Linear(p, 1)(x))`` in float64. The AME is the gradient
    of the predicted probability w.r.t. the input rows, averaged over rows; its
    Jacobian w.r.t. [weight, bias] is ``torch.func.jacrev`` of that; then the delta
    method. Shapes and returns as in ``binary_ame``.
    """
    import torch
    from torch.func import functional_call, grad, jacrev

    X, beta, b = _binary_inputs(X, coef, intercept)
    n, p = X.shape
    # skip_init: no random initialisation, so the global torch generator is untouched
    module = torch.nn.utils.skip_init(torch.nn.Linear, p, 1, dtype=torch.float64)
    rows = torch.tensor(X)  # (n, p); a copy: X may be read-only (pandas), which torch warns about
    theta = torch.tensor(np.append(beta, b))  # (p + 1,)

    def total_probability(inputs, flat):
        params = {"weight": flat[:p].reshape(1, p), "bias": flat[p:]}
        return torch.sigmoid(functional_call(module, params, (inputs,))).sum()

    def ame(flat):
        # rows do not interact, so row i of d(sum_i P_i)/dX is dP_i/dx_i
        return grad(total_probability)(rows, flat).mean(dim=0)  # (p,)

    J = jacrev(ame)(theta)  # (p, p + 1)
    return ame(theta).detach().numpy(), _delta_std_error(J.detach().numpy(), cov)


def multinomial_ame(X, coef, intercept, cov) -> tuple[np.ndarray, np.ndarray]:
    """Average marginal effects of every class probability of a multinomial logit.

    With D_0 = 0 and Dbar_i = sum_k P_ik D_k, dP_ik / dx_i = P_ik (D_k - Dbar_i) =: P_ik A_ik,
    and AME_k = mean_i P_ik A_ik (statsmodels ``MNLogit.get_margeff()``). Its Jacobian
    over contrast row m (class m >= 1, parameters x~ = [x 1]) follows from
    dP_k/dtheta_m = C_km x~ with C_km = P_k (delta_km - P_m) and dDbar/dtheta_m =
    P_m A_m x~^T + P_m [I 0]:
    dAME_k/dtheta_m = mean_i [C_km A_k x~^T - P_k P_m A_m x~^T + C_km [I 0]].

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    coef : ndarray of shape (n_classes - 1, n_features); intercept : (n_classes - 1,)
        Contrasts against class 0, as in ``multinomial_covariance``.
    cov : ndarray of shape (m, m), m = (n_classes - 1) * (n_features + 1)
        From ``multinomial_covariance`` (same parameter order).

    Returns
    -------
    ame, std_error : ndarrays of shape (n_classes, n_features)
        Row k: the effects on P(y = k); the rows of ``ame`` sum to 0.
    """
    X, D, d = _multinomial_inputs(X, coef, intercept)
    n, p = X.shape
    K = D.shape[0] + 1
    X1 = _with_ones(X)  # (n, p + 1)
    P = _contrast_proba(X, D, d)  # (n, K)
    D_all = np.vstack([np.zeros(p), D])  # (K, p)
    A = D_all[None, :, :] - (P @ D_all)[:, None, :]  # (n, K, p)
    C = np.einsum("ik,km->ikm", P, np.eye(K)) - P[:, :, None] * P[:, None, :]  # (n, K, K)
    J = (
        np.einsum("ikm,ikj,il->kjml", C, A, X1, optimize=True)
        - np.einsum("ik,im,imj,il->kjml", P, P, A, X1, optimize=True)
        + np.einsum("km,jl->kjml", C.sum(axis=0), np.eye(p, p + 1))
    ) / n  # (K, p, K, p + 1)
    J = J[:, :, 1:, :].reshape(K * p, (K - 1) * (p + 1))  # class 0 has no parameters
    ame = np.einsum("ik,ikj->kj", P, A) / n  # (K, p)
    return ame, _delta_std_error(J, cov).reshape(K, p)


def _delta_std_error(J: np.ndarray, cov) -> np.ndarray:
    """sqrt(diag(J cov J^T)) for J of shape (m, d) and cov of shape (d, d)."""
    cov = np.asarray(cov, dtype=np.float64)
    d = J.shape[1]
    if cov.shape != (d, d):
        raise ValueError(f"cov: expected shape ({d}, {d}) (one row per parameter), got {cov.shape}")
    variance = np.einsum("ij,jk,ik->i", J, cov, J)
    # a positive semi-definite cov gives variance >= 0; clip only rounding below zero
    return np.sqrt(np.maximum(variance, 0.0))
