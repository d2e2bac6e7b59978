"""L-BFGS for a binary ``nn.Linear(p, 1)`` + ``BCEWithLogitsLoss`` with many features.

Where a Hessian per iteration is too dear (it costs n p^2 flops: 4e10 at 160,000 x 500),
the solver is L-BFGS (Nocedal & Wright, Algorithm 7.4: the two-loop recursion, a history
of 20 pairs, scaling gamma = s^T y / y^T y).

What makes it cheap is the line search. Along a direction d = (d_w, d_b) the logits are
z + t zd with zd = X d_w + d_b, the same linear map as the module's: once zd is known, the
objective and its first two derivatives in t cost O(n), not a pass over X. So each
iteration reads X exactly twice, once for zd and once for the gradient X^T (sigmoid(z) - y),
and the line search is (nearly) exact for free: a safeguarded 1-D Newton on a convex
function of t. ``torch.optim.LBFGS`` with a strong-Wolfe search re-evaluates the whole
loss and gradient at every trial step, and measured 1.4x scikit-learn's lbfgs time on
200,000 x 500 against 0.7x here.

The gradient is the closed form of the objective's (mean BCE-with-logits + lam/2 ||w||^2,
bias free): X^T (sigmoid(z) - y) / n + lam w and mean(sigmoid(z) - y); a test checks it
against autograd through the module and the loss. The logits z are updated as z + t zd,
so their rounding grows by ~1 ulp per iteration; the result is reported from the module.

Stops when ||g||_2 < ``grad_tol``. Near the optimum the Hessian here has eigenvalues of
~0.1 to 0.25, so the distance to the optimum is about ||g|| / 0.15 (measured: ||g|| =
2.5e-9 at 2.8e-9 from the optimum on synthetic_wide).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

HISTORY = 20
LINE_SEARCH_STEPS = 30


@dataclass
class LbfgsOutcome:
    n_iter: int
    converged: bool
    message: str = ""


def _two_loop(g: torch.Tensor, pairs: list[tuple[torch.Tensor, torch.Tensor, float]]) -> torch.Tensor:
    """H_k g for the L-BFGS inverse-Hessian approximation H_k (Nocedal & Wright, Alg. 7.4)."""
    q = g.clone()
    alphas = []
    for s, y, rho in reversed(pairs):
        alpha = rho * float(s @ q)
        alphas.append(alpha)
        q -= alpha * y
    if pairs:
        s, y, rho = pairs[-1]
        q *= float(s @ y) / float(y @ y)
    for (s, y, rho), alpha in zip(pairs, reversed(alphas)):
        beta = rho * float(y @ q)
        q += (alpha - beta) * s
    return q


def _line_search(z, zd, y, w, dw, lam: float, n: int, slope0: float) -> float:
    """argmin_t of phi(t) = mean BCE(z + t zd, y) + lam/2 ||w + t dw||^2, convex in t.

    ``slope0`` = phi'(0) = g^T d < 0 (d is a descent direction). O(n) per trial, no pass over X:
    Newton steps on phi' from t = 1, kept inside the bracket [low, high] once phi' has
    changed sign (bisection when a step would leave it), until |phi'(t)| <= 1e-6 |phi'(0)|.
    """

    def derivatives(t: float) -> tuple[float, float]:
        prob = torch.sigmoid(z + t * zd)  # (n,)
        first = float((prob - y) @ zd) / n + lam * float((w + t * dw) @ dw)
        second = float((prob * (1.0 - prob)) @ (zd * zd)) / n + lam * float(dw @ dw)
        return first, second

    low, high = 0.0, None  # phi'(low) < 0; phi'(high) > 0 once found
    t = 1.0
    for _ in range(LINE_SEARCH_STEPS):
        first, second = derivatives(t)
        if abs(first) <= 1e-6 * abs(slope0):
            return t
        if first < 0:
            low = t
        else:
            high = t
        newton_t = t - first / second if second > 0 else float("inf")
        if high is None:  # still left of the minimiser: Newton moves right (phi' < 0, phi'' > 0)
            t = newton_t if newton_t < float("inf") else 2.0 * t
        elif low < newton_t < high:
            t = newton_t
        else:
            t = 0.5 * (low + high)
    return t


def minimize(
    module, X: torch.Tensor, y: torch.Tensor, lam: float, *, max_iter: int = 500, grad_tol: float = 1e-8
) -> LbfgsOutcome:
    """Fit ``module`` (nn.Linear(p, 1), float64) in place from zero.

    X : (n, p) float64, never copied; y : (n,) float64 of 0 / 1.
    """
    n, p = X.shape
    F = torch.nn.functional
    with torch.no_grad():
        w = torch.zeros(p, dtype=X.dtype, device=X.device)  # (p,)
        b = torch.zeros((), dtype=X.dtype, device=X.device)
        z = torch.zeros(n, dtype=X.dtype, device=X.device)  # (n,) logits at (w, b)

        def gradient(z, w):  # (p + 1,): [d/dw, d/db] of the mean objective
            residual = torch.sigmoid(z) - y  # (n,)
            return torch.cat([X.T @ residual / n + lam * w, (residual.sum() / n).reshape(1)])

        g = gradient(z, w)
        pairs: list[tuple[torch.Tensor, torch.Tensor, float]] = []
        outcome = LbfgsOutcome(max_iter, False, f"no convergence in {max_iter} L-BFGS iterations")
        for n_iter in range(1, max_iter + 1):
            d = -_two_loop(g, pairs)  # (p + 1,)
            if float(g @ d) >= 0:  # rounding broke the approximation: start it again
                pairs.clear()
                d = -g
            zd = F.linear(X, d[:p].reshape(1, p), d[p:]).squeeze(1)  # (n,) the module's map applied to d
            t = _line_search(z, zd, y, w, d[:p], lam, n, slope0=float(g @ d))
            z += t * zd
            w += t * d[:p]
            b += t * d[p]
            g_new = gradient(z, w)
            if not bool(torch.isfinite(g_new).all()):
                outcome = LbfgsOutcome(n_iter, False, "non-finite gradient (the fit diverged)")
                break
            step, change = t * d, g_new - g
            curvature = float(step @ change)
            if curvature > 0:
                pairs.append((step, change, 1.0 / curvature))
                del pairs[:-HISTORY]
            g = g_new
            if float(g.norm()) < grad_tol:
                outcome = LbfgsOutcome(n_iter, True)
                break
        module.weight.copy_(w.reshape(1, p))
        module.bias.copy_(b.reshape(1))
    return outcome
