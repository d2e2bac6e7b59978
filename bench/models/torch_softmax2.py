"""Two logits for two classes: ``nn.Linear(p, 2)`` + ``CrossEntropyLoss``, float64.

This is how the seed CNN's last layer is built. Softmax over (z0, z1) gives
P(y = 1) = sigmoid(z1 - z0), so only the differences w1 - w0 and b1 - b0 are
identified; they are what this model reports as its class-1 coefficients, and they
equal the binary logistic regression's.

L2 on both weight rows: for a given difference d = w1 - w0, ||w0||^2 + ||w1||^2 is
smallest at w1 = -w0 = d/2, where it equals ||d||^2 / 2. So the two-logit model with
penalty lambda2/2 (||w0||^2 + ||w1||^2) is the binary model with lambda2 / 2: to fit the
dataset's binary objective (lambda = 1/(C n)) it uses lambda2 = 2 lambda, i.e. C' = C/2
(equivalently, the two-logit model at C is the binary model at 2C; bench/ARCHITECTURE.md).

Solver: Newton with the closed-form softmax Hessian and pseudo-inverse steps
(``_torch/newton.py``, through ``_torch/two_logit.py``); the common shift of both rows is a flat direction.
"""

from __future__ import annotations

from bench.models._torch.tabular import TorchTabular
from bench.models.base import FitResult


class TorchSoftmax2(TorchTabular):
    name = "torch_softmax2"
    description = "torch nn.Linear(p, 2) + CrossEntropyLoss, float64, Newton; reports w1 - w0"

    label_dtype = "int64"  # class indices for CrossEntropyLoss

    def supports(self, dataset) -> tuple[bool, str]:
        if not dataset.is_binary:
            return False, "two logits for two classes; torch_linear fits K classes with K logits"
        return True, ""

    def build_module(self, n_features: int):
        self.lam2 = 2.0 * self.dataset.l2_lambda  # see the module docstring: C' = C / 2
        return self.torch.nn.Linear(n_features, 2, dtype=self.torch.float64, device=self.device)

    def fit(self) -> None:
        from bench.models._torch.two_logit import fit_two_logit

        self.outcome = fit_two_logit(self.module, self.X_train, self.y_train, self.lam2)

    def predict(self) -> None:
        with self.torch.no_grad():
            z = self.module(self.X_test)  # (m, 2)
            self.test_logits = (z[:, 1] - z[:, 0]).cpu().numpy()  # log-odds of class 1

    def result(self) -> FitResult:
        from bench.models._torch.two_logit import contrast

        coef, intercept = contrast(self.module)
        result = self.logits_result(
            self.dataset,
            coef=coef,
            intercept=intercept,
            test_logits=self.test_logits,
            train_logits=self.dataset.X_train @ coef + intercept,
            n_iter=self.outcome.n_iter,
            converged=self.outcome.converged,
            solver="torch Newton, 2 logits (pseudo-inverse steps)",
            message=self.outcome.message,
        )
        return self.attach_inference(result, self.dataset)  # the contrast's closed-form information
