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
from bench.models.torch_softmax2 import contrasts, fit_two_logit
from bench.models.torch_tabular import TorchTabular

MAX_ITER = 100
DECREMENT_TOL = 1e-20


class TorchLinear(TorchTabular):
    name = "torch_linear"
    description = "torch nn.Linear(p, 1) + BCEWithLogitsLoss (K classes: nn.Linear(p, K) + CrossEntropyLoss), float64, Newton"

    def label_dtype_for(self, dataset) -> str:
        return "float64" if dataset.is_binary else "int64"

    def build_module(self, n_features: int):
        self.lam = self.dataset.l2_lambda
        self.loss_fn = self.torch.nn.BCEWithLogitsLoss(reduction="mean")
        outputs = 1 if self.dataset.is_binary else self.dataset.n_classes
        return self.torch.nn.Linear(n_features, outputs, dtype=self.torch.float64, device=self.device)

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
        if not self.dataset.is_binary:
            # K logits, CrossEntropyLoss, lambda/2 sum_k ||W_k||^2 on every row: scikit-learn's
            # symmetric multinomial objective (divided by C n); reported as contrasts W_k - W_0
            outcome = fit_two_logit(self.module, self.X_train, self.y_train, self.lam)
            self.n_iter, self.converged, self.message = outcome.n_iter, outcome.converged, outcome.message
            return
        with self.torch.no_grad():
            self.module.weight.zero_()
            self.module.bias.zero_()
        outcome = newton.minimize(self.objective, [self.module.weight, self.module.bias], self.hessian,
                                  max_iter=MAX_ITER, decrement_tol=DECREMENT_TOL)
        self.n_iter, self.converged, self.message = outcome.n_iter, outcome.converged, outcome.message

    def _contrasts(self, X):
        """Logits of class k >= 1 minus class 0's (binary: the one logit), (m, K-1)."""
        z = self.module(X)  # (m, 1) or (m, K)
        return (z if self.dataset.is_binary else z[:, 1:] - z[:, :1]).cpu().numpy()

    def predict(self) -> None:
        with self.torch.no_grad():
            self.test_logits = self._contrasts(self.X_test)

    def result(self) -> FitResult:
        with self.torch.no_grad():
            train_logits = self._contrasts(self.X_train)
        coef, intercept = (
            (self.module.weight.detach().cpu().numpy(), self.module.bias.detach().cpu().numpy())
            if self.dataset.is_binary else contrasts(self.module)
        )
        result = self.logits_result(
            self.dataset,
            coef=coef,
            intercept=intercept,
            test_logits=self.test_logits,
            train_logits=train_logits,
            n_iter=self.n_iter,
            converged=self.converged,
            solver="torch Newton (float64, closed-form Hessian)" if self.dataset.is_binary
            else "torch Newton, K logits (closed-form Hessian, pseudo-inverse steps)",
            message=self.message,
        )
        if self.dataset.penalty != "none" or not self.dataset.is_binary:
            # K classes: the multinomial block Hessian in contrasts (closed form)
            return self.attach_inference(result, self.dataset)
        from bench import inference

        torch, X, y = self.torch, self.X_train, self.y_train

        def total_nll(weight, bias):  # the SUM negative log-likelihood: its Hessian is the information
            z = torch.func.functional_call(self.module, {"weight": weight, "bias": bias}, (X,)).squeeze(1)
            return torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="sum")

        cov = inference.torch_covariance(total_nll, [self.module.weight.detach(), self.module.bias.detach()])
        effects = inference.torch_ame(self.dataset.X_train, coef, intercept, cov)  # autograd input gradients
        return self.attach_inference(result, self.dataset, cov=cov, effects=effects)
