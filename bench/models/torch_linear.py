"""A one-layer torch network, ``nn.Linear(p, 1)`` + ``BCEWithLogitsLoss``: logistic regression.

Objective: mean BCE-with-logits + lambda/2 ||w||^2 with lambda = 1/(C n), bias
unpenalised; this is scikit-learn's objective divided by C n, so the optimum is the
same. The penalty is written into the loss (``torch.optim.LBFGS`` has no weight decay,
and AdamW's decoupled decay is a different model).

Solver: full-batch Newton in float64. The gradient comes from autograd through the
module and the loss; the Hessian of the mean loss is the closed form
[X 1]^T diag(p(1 - p)) [X 1] / n + lambda on the weight block (``torch.func.hessian``
goes through forward-mode AD, which warns in torch 2.13; a test checks the closed form
against autograd). A backtracking (Armijo) line search keeps every step a descent step.
It stops when half the Newton decrement g^T H^-1 g falls below 1e-20: quadratic
convergence puts the parameters ~1e-10 or closer to the optimum.
"""

from __future__ import annotations

import numpy as np

from bench.models.base import FitResult, Model

MAX_ITER = 100
DECREMENT_TOL = 1e-20
ARMIJO = 1e-4


class TorchLinear(Model):
    name = "torch_linear"
    description = "torch nn.Linear(p, 1) + BCEWithLogitsLoss, float64, Newton"

    def prepare(self, dataset, config) -> None:
        import torch

        torch.set_num_threads(config.threads)
        self.torch = torch
        self.dataset = dataset
        self.device = torch.device(config.device)
        # a copy: the Dataset's arrays are read-only and torch cannot share read-only memory
        as_tensor = lambda a: torch.tensor(a, dtype=torch.float64, device=self.device)  # noqa: E731
        self.X_train = as_tensor(dataset.X_train)  # (n, p)
        self.y_train = as_tensor(dataset.y_train)  # (n,)
        self.X_test = as_tensor(dataset.X_test)  # (m, p)
        self.lam = dataset.l2_lambda
        self.module = torch.nn.Linear(dataset.n_features, 1, dtype=torch.float64, device=self.device)
        self.loss_fn = torch.nn.BCEWithLogitsLoss(reduction="mean")

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.synchronize()

    def objective(self):
        """Mean BCE + lambda/2 ||w||^2 at the module's current parameters."""
        logits = self.module(self.X_train).squeeze(1)  # (n,)
        return self.loss_fn(logits, self.y_train) + 0.5 * self.lam * self.module.weight.square().sum()

    def hessian(self) -> "torch.Tensor":
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
        torch, module = self.torch, self.module
        with torch.no_grad():
            module.weight.zero_()
            module.bias.zero_()
        self.n_iter, self.converged, self.message = 0, False, ""
        for self.n_iter in range(1, MAX_ITER + 1):
            loss = self.objective()
            grad_w, grad_b = torch.autograd.grad(loss, (module.weight, module.bias))
            g = torch.cat([grad_w.reshape(-1), grad_b])  # (p + 1,)
            try:
                factor = torch.linalg.cholesky(self.hessian())
            except torch.linalg.LinAlgError:
                self.message = (
                    "Hessian not positive definite: the data may be separated (the MLE does not exist); "
                    "try --penalty l2"
                )
                return
            step = torch.cholesky_solve(g[:, None], factor).squeeze(1)  # H^-1 g
            decrement = float(g @ step)
            if not np.isfinite(decrement):
                self.message = "Newton decrement is not finite"
                return
            self._line_search(step, float(loss.detach()), decrement)
            if decrement / 2 < DECREMENT_TOL:
                self.converged = True
                return
        self.message = f"no convergence in {MAX_ITER} Newton iterations"

    def _line_search(self, step, loss: float, decrement: float) -> None:
        """Take the largest t in 1, 1/2, 1/4, ... with sufficient decrease (Armijo)."""
        torch, module = self.torch, self.module
        p = module.weight.shape[1]
        w0, b0 = module.weight.detach().clone(), module.bias.detach().clone()
        t = 1.0
        with torch.no_grad():
            for _ in range(40):
                module.weight.copy_(w0 - t * step[:p].reshape(1, p))
                module.bias.copy_(b0 - t * step[p:])
                if float(self.objective()) <= loss - ARMIJO * t * decrement:
                    return
                t *= 0.5

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
