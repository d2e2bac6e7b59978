"""A one-layer torch network, ``nn.Linear(p, 1)`` + ``BCEWithLogitsLoss``: logistic regression.

Objective: mean BCE-with-logits + lambda/2 ||w||^2 with lambda = 1/(C n), bias
unpenalised; this is scikit-learn's objective divided by C n, so the optimum is the
same. The penalty is written into the loss (``torch.optim.LBFGS`` has no weight decay,
and AdamW's decoupled decay is a different model).

Solver: full-batch Newton in float64. The gradient comes from autograd through the
module and the loss; the Hessian of the mean loss is the closed form
[X 1]^T diag(p(1 - p)) [X 1] / n + lambda on the weight block (``torch.func.hessian``
goes through forward-mode AD, which warns in torch 2.13; a test checks the closed form
against autograd). Damped Newton with an Armijo line search (``newton.py``), stopped
when half the Newton decrement falls below 1e-20.
"""

from __future__ import annotations


from bench.models import newton
from bench.models.base import FitResult
from bench.models.torch_tabular import TorchTabular

MAX_ITER = 100
DECREMENT_TOL = 1e-20


class TorchLinear(TorchTabular):
    name = "torch_linear"
    description = "torch nn.Linear(p, 1) + BCEWithLogitsLoss, float64, Newton"

    def build_module(self, n_features: int):
        self.lam = self.dataset.l2_lambda
        self.loss_fn = self.torch.nn.BCEWithLogitsLoss(reduction="mean")
        return self.torch.nn.Linear(n_features, 1, dtype=self.torch.float64, device=self.device)

    def objective(self):
        """Mean BCE + lambda/2 ||w||^2 at the module's current parameters."""
        logits = self.module(self.X_train).squeeze(1)  # (n,)
        return self.loss_fn(logits, self.y_train) + 0.5 * self.lam * self.module.weight.square().sum()

    def hessian(self):
        """Closed-form Hessian of ``objective`` over [w, b]: shape (p + 1, p + 1)."""
        torch, X = self.torch, self.X_train
        n, p = X.shape
        with torch.no_grad():
            prob = torch.sigmoid(self.module(X).squeeze(1))  # (n,)
            s = prob * (1.0 - prob) / n  # (n,)
            H = torch.empty(p + 1, p + 1, dtype=X.dtype, device=X.device)
            H[:p, :p] = X.T @ (X * s[:, None])  # X^T S X  (p, p)
            H[:p, p] = H[p, :p] = X.T @ s  # X^T S 1  (p,)
            H[p, p] = s.sum()
            H[:p, :p].diagonal().add_(self.lam)
        return H

    def fit(self) -> None:
        with self.torch.no_grad():
            self.module.weight.zero_()
            self.module.bias.zero_()
        outcome = newton.minimize(self.objective, [self.module.weight, self.module.bias], self.hessian,
                                  max_iter=MAX_ITER, decrement_tol=DECREMENT_TOL)
        self.n_iter, self.converged, self.message = outcome.n_iter, outcome.converged, outcome.message

    def predict(self) -> None:
        with self.torch.no_grad():
            self.test_logits = self.module(self.X_test).squeeze(1).cpu().numpy()  # (m,)

    def result(self) -> FitResult:
        with self.torch.no_grad():
            train_logits = self.module(self.X_train).squeeze(1).cpu().numpy()
            coef = self.module.weight.detach().cpu().numpy()[0]
            intercept = float(self.module.bias.detach().cpu()[0])
        return self.binary_result(
            self.dataset,
            coef=coef,
            intercept=intercept,
            test_logits=self.test_logits,
            train_logits=train_logits,
            n_iter=self.n_iter,
            converged=self.converged,
            solver="torch Newton (float64, closed-form Hessian)",
            message=self.message,
        )
