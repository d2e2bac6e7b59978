"""K logits from one linear layer, fitted by Newton: the solver behind torch_softmax2,
the multinomial torch_linear, the CNN's last-layer refit and the penalty path.

Only the contrasts W_k - W_0 are identified (a common shift of every row changes no
probability), so Newton takes pseudo-inverse steps and the results are read as
contrasts. The L2 mapping of two logits onto the binary fit (C' = C/2) is explained in
``bench.models.torch_softmax2``.
"""

from __future__ import annotations

import numpy as np

from bench.models._torch import newton

MAX_ITER = 100


def fit_two_logit(module, X, y, lam: float, *, reset: bool = True) -> newton.NewtonOutcome:
    """Fit ``module`` (nn.Linear(p, K), float64) by Newton on mean cross-entropy + lam/2 ||W||^2.

    X : (n, p) float64 tensor, y : (n,) int64 class indices. ``reset`` starts from zero,
    otherwise from the module's current weights (the optimum is the same: it is convex).
    """
    import torch

    loss_fn = torch.nn.CrossEntropyLoss(reduction="mean")
    if reset:
        with torch.no_grad():
            module.weight.zero_()
            module.bias.zero_()

    def objective():
        return loss_fn(module(X), y) + 0.5 * lam * module.weight.square().sum()

    def hessian():
        with torch.no_grad():
            return newton.softmax_hessian(X, torch.softmax(module(X), dim=1), lam)

    return newton.minimize(objective, [module.weight, module.bias], hessian, max_iter=MAX_ITER, singular_ok=True)


def contrasts(module) -> tuple[np.ndarray, np.ndarray]:
    """(W_k - W_0 for k >= 1, b_k - b_0) of a K-output linear layer: (K-1, p), (K-1,)."""
    W = module.weight.detach().double().cpu().numpy()
    b = module.bias.detach().double().cpu().numpy()
    return W[1:] - W[0], b[1:] - b[0]


def contrast(module) -> tuple[np.ndarray, float]:
    """(w1 - w0, b1 - b0) of a two-output linear layer, as float64 numpy."""
    W = module.weight.detach().double().cpu().numpy()
    b = module.bias.detach().double().cpu().numpy()
    return W[1] - W[0], float(b[1] - b[0])
