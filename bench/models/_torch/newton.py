"""Damped Newton's method on torch parameters, shared by the torch linear models.

The gradient comes from autograd through the model's own module and loss; the caller
supplies the Hessian (closed form, in the order of ``torch.cat([p.reshape(-1) for p in
params])``). Steps are H^-1 g, by Cholesky when H is positive definite, or by the
pseudo-inverse when the parameterisation has flat directions (a K-logit softmax only
identifies differences of logits: shifting every class by the same vector changes
nothing, and the gradient has no component along those directions). A backtracking
Armijo line search keeps each step a descent step. It stops when half the Newton
decrement g^T H^+ g falls below ``decrement_tol``: with quadratic convergence the
parameters are then ~1e-10 or closer to the optimum.

For data read in passes (the scale suite), ``minimize_evaluated`` takes one function
that returns the loss, gradient and, when asked, Hessian of a point in a single pass,
and can keep a Hessian from a sample of the rows, BFGS-corrected, instead of a fresh one
each iteration; ``add_gram`` accumulates [X 1]^T S [X 1] one chunk of rows at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

ARMIJO = 1e-4
PINV_RTOL = 1e-12  # eigenvalues below this fraction of the largest count as flat directions


@dataclass
class NewtonOutcome:
    n_iter: int
    converged: bool
    message: str = ""


def _flat(tensors) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def _assign(params, theta: torch.Tensor) -> None:
    offset = 0
    for p in params:
        p.copy_(theta[offset : offset + p.numel()].reshape(p.shape))
        offset += p.numel()


def _cholesky_apply(factor: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """H^-1 g from H's Cholesky factor (q, q); g : (q,)."""
    return torch.cholesky_solve(g[:, None], factor).squeeze(1)


def _solve(H: torch.Tensor, g: torch.Tensor, singular_ok: bool) -> torch.Tensor:
    if not singular_ok:
        return _cholesky_apply(torch.linalg.cholesky(H), g)
    values, vectors = torch.linalg.eigh(H)
    keep = values > PINV_RTOL * values.max()
    return vectors[:, keep] @ ((vectors[:, keep].T @ g) / values[keep])


def minimize(
    objective, params, hessian, *, max_iter: int = 100, decrement_tol: float = 1e-20, singular_ok: bool = False
) -> NewtonOutcome:
    """Minimise ``objective()`` over ``params`` (updated in place) by damped Newton."""
    for n_iter in range(1, max_iter + 1):
        loss = objective()
        g = _flat(torch.autograd.grad(loss, params))
        try:
            step = _solve(hessian(), g, singular_ok)
        except torch.linalg.LinAlgError:
            return NewtonOutcome(
                n_iter,
                False,
                "Hessian not positive definite: the data may be separated (the MLE does not exist); try --penalty l2",
            )
        decrement = float(g @ step)
        if not decrement == decrement or decrement == float("inf"):
            return NewtonOutcome(n_iter, False, "Newton decrement is not finite (the fit diverged)")
        _line_search(objective, params, step, float(loss.detach()), decrement)
        if decrement / 2 < decrement_tol:
            return NewtonOutcome(n_iter, True)
    return NewtonOutcome(max_iter, False, f"no convergence in {max_iter} Newton iterations")


def _line_search(objective, params, step: torch.Tensor, loss: float, decrement: float) -> None:
    """The largest t in 1, 1/2, 1/4, ... with sufficient decrease (Armijo).

    Near the optimum the decrease a step promises (about decrement / 2) falls below what
    float64 can resolve in the loss (~64 eps |loss|), and Armijo's test becomes noise: a
    solver that kept halving would stall a hair from the optimum with a gradient ~1e-8.
    There the full Newton step is taken: it is inside the region of quadratic convergence.
    """
    with torch.no_grad():
        start = _flat([p.detach() for p in params]).clone()
        if decrement <= 64 * torch.finfo(torch.float64).eps * max(1.0, abs(loss)):
            _assign(params, start - step)
            return
        t = 1.0
        for _ in range(40):
            _assign(params, start - t * step)
            if float(objective()) <= loss - ARMIJO * t * decrement:
                return
            t *= 0.5


GRAM_ROWS = 1024  # rows per product in ``add_gram`` (512, 2048 within noise; 4096 and whole chunks slower)


def add_gram(H: torch.Tensor, X: torch.Tensor, s: torch.Tensor) -> None:
    """H += [X 1]^T diag(s) [X 1] for one chunk of rows, in place.

    H : (p + 1, p + 1), parameters ordered [w, b]; X : (c, p); s : (c,) the Bernoulli
    variances p(1 - p) of the chunk's rows. Computed as A^T A with A = sqrt(s) [X 1], one
    product of GRAM_ROWS rows at a time (the one temporary, A, stays in L2): one product
    instead of X^T (S X) plus X^T s, ~1.3x faster than that here. (Products in float32
    were ~1.4x faster again in isolation but made no difference to a fit's time.)
    """
    c, p = X.shape
    root = s.sqrt()  # (c,)
    A = torch.empty(min(c, GRAM_ROWS), p + 1, dtype=X.dtype, device=X.device)
    for start in range(0, c, GRAM_ROWS):
        stop = min(start + GRAM_ROWS, c)
        rows = A[: stop - start]  # (k, p + 1)
        rows[:, :p].copy_(X[start:stop]).mul_(root[start:stop, None])
        rows[:, p].copy_(root[start:stop])
        H.addmm_(rows.T, rows)


def minimize_evaluated(
    evaluate, theta: torch.Tensor, *, quasi_newton: bool, max_iter: int = 100, decrement_tol: float = 1e-14
):
    """Damped Newton on a flat parameter vector, for data read in passes.

    ``evaluate(theta, with_hessian, with_loss) -> (loss or None, gradient, Hessian or None)``:
    the objective (a float), its gradient (q,) and, if asked, its Hessian (q, q) at
    ``theta``, computed in one pass over the data.

    ``quasi_newton`` False: a fresh Hessian from every evaluation (Newton), each step
    accepted by Armijo's test on the loss. True: the Hessian of the first evaluation
    throughout (it may come from a sample of the rows), refined by a BFGS update from each
    pair of successive gradients: a Newton step with an approximate Hessian. The
    gradient stays exact, so the fixed point is the exact optimum; the Hessian's error only
    slows convergence to linear, each step shrinking the distance by about that relative
    error. This stage never needs the loss (a fifth of a pass's time, the softplus): a step
    is accepted when it shrinks the Newton decrement g^T H^-1 g, measured with the Hessian
    that chose the step, to at most (1 - t/2)^2 of its value (t the step length): the
    natural monotonicity test of Deuflhard's affine-invariant Newton methods (Newton
    Methods for Nonlinear Problems, 2004, sec. 3.1), in the H^-1 norm of the gradient.
    For a strictly convex objective a descent in that norm is a step towards the one point
    where the gradient vanishes; near it the test passes at t = 1 with a ratio of ~1e-3.

    Backtracking halves t; the loss and gradient of an accepted trial point are those of
    the next iteration, so each iteration costs one pass. Stops when half the decrement
    is below ``decrement_tol``, after taking that last step.
    Returns (theta, NewtonOutcome).
    """
    fresh = not quasi_newton
    loss, g, H = evaluate(theta, True, fresh)
    for n_iter in range(1, max_iter + 1):
        try:
            factor = torch.linalg.cholesky(H)
        except torch.linalg.LinAlgError:
            return theta, NewtonOutcome(
                n_iter,
                False,
                "Hessian not positive definite: the data may be separated (the MLE does not exist); try --penalty l2",
            )
        step = _cholesky_apply(factor, g)
        decrement = float(g @ step)
        if not decrement == decrement or decrement == float("inf"):
            return theta, NewtonOutcome(n_iter, False, "Newton decrement is not finite (the fit diverged)")
        if decrement / 2 < decrement_tol:
            return theta - step, NewtonOutcome(n_iter, True)
        # below float64's resolution of the loss Armijo's test is noise (see _line_search)
        loss_resolvable = fresh and decrement > 64 * torch.finfo(torch.float64).eps * max(1.0, abs(loss))
        t = 1.0
        for _ in range(40):
            trial = theta - t * step
            new_loss, new_g, new_H = evaluate(trial, fresh, fresh)
            if fresh:  # Armijo on the loss, or the full step where the loss cannot tell
                accepted = not loss_resolvable or new_loss <= loss - ARMIJO * t * decrement
            else:  # the monotonicity test on the decrement, with the Hessian that chose the step
                accepted = float(new_g @ _cholesky_apply(factor, new_g)) <= (1 - t / 2) ** 2 * decrement
            if accepted:
                break
            t *= 0.5
        if fresh:
            H = new_H
        else:
            moved, change = trial - theta, new_g - g  # BFGS: make H moved = change
            curvature = float(moved @ change)
            if curvature > 0:
                Hs = H @ moved
                H = H + torch.outer(change, change) / curvature - torch.outer(Hs, Hs) / float(moved @ Hs)
        theta, loss, g = trial, new_loss, new_g
    return theta, NewtonOutcome(max_iter, False, f"no convergence in {max_iter} Newton iterations")


def softmax_hessian(X: torch.Tensor, proba: torch.Tensor, lam: float) -> torch.Tensor:
    """Hessian of mean cross-entropy + lam/2 ||W||^2 for ``nn.Linear(p, K)``.

    X : (n, p); proba : (n, K) softmax probabilities. Parameter order is that of
    [weight (K, p), bias (K,)] flattened: all of W row by row, then b. Block (j, k) is
    X~^T diag(P_j (delta_jk - P_k)) X~ / n with X~ = [X 1].
    """
    n, p = X.shape
    K = proba.shape[1]
    size = K * p + K
    H = torch.empty(size, size, dtype=X.dtype, device=X.device)
    for j in range(K):
        for k in range(j, K):
            s = proba[:, j] * ((1.0 if j == k else 0.0) - proba[:, k]) / n  # (n,)
            XtS = (X * s[:, None]).T  # (p, n)
            block_ww = XtS @ X  # (p, p)
            block_wb = XtS.sum(dim=1)  # (p,)
            for a, b in ((j, k), (k, j)):
                H[a * p : (a + 1) * p, b * p : (b + 1) * p] = block_ww
                H[a * p : (a + 1) * p, K * p + b] = block_wb
                H[K * p + b, a * p : (a + 1) * p] = block_wb
                H[K * p + a, K * p + b] = s.sum()
    H[: K * p, : K * p].diagonal().add_(lam)
    return H
