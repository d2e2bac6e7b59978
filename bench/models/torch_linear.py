"""A one-layer torch network, ``nn.Linear(p, 1)`` + ``BCEWithLogitsLoss``: logistic regression.

Objective: mean BCE-with-logits + lambda/2 ||w||^2 with lambda = 1/(C n), bias
unpenalised; this is scikit-learn's objective divided by C n, so the optimum is the
same. The penalty is written into the loss (``torch.optim.LBFGS`` has no weight decay,
and AdamW's decoupled decay is a different model).

Solver, chosen by the shape of the data (``choose_solver``; the report names the one that ran):

- ``newton`` (up to 2^22 numbers in [X 1], every dataset but the scale suite's): full-batch
  Newton in float64. The gradient comes from autograd through the module and the loss; the
  Hessian of the mean loss is the closed form [X 1]^T diag(p(1 - p)) [X 1] / n + lambda on
  the weight block (``torch.func.hessian`` goes through forward-mode AD, which warns in
  torch 2.13; a test checks the closed form against autograd). Damped Newton with an
  Armijo line search (``newton.py``), stopped when half the Newton decrement falls below 1e-20.
- ``newton-sampled`` (larger, p + 1 <= 128; synthetic_tall): Newton with a chunked
  X^T S X and a Cholesky solve. Over all rows that Hessian costs 2 n p^2 flops, as much as
  ~5 reads of X here, so it is computed on a sample: every k-th chunk of rows, about
  1024 (p + 1) rows spread over the array. First Newton from zero on a sixth of each
  sampled chunk, a fresh Hessian each iteration, stopped at a decrement of 1e-3: that
  sub-sample's optimum is within sampling error (~6e-2) of the full data's, so going
  further buys nothing (3 iterations, ~4 % of the fit). Then passes over all rows, each
  giving the exact gradient at one point; the first also gives the Hessian over the whole
  sample (its rows are read in that pass anyway), and each pass takes a Newton step on
  that Hessian, BFGS-corrected by each gradient pair (``newton.minimize_evaluated``,
  which accepts a step by a decrease of the Newton decrement, so these passes never need
  the loss): the fixed point is the exact optimum, and each step gains ~1.5 digits (the
  sample Hessian's relative error is ~0.03). Stops when half the decrement is below
  1e-14, after taking that step: 5 passes, ~2e-9 from the optimum, measured.
- ``lbfgs`` (larger, p + 1 > 128; synthetic_wide): L-BFGS with an exact line search on
  the logits (``lbfgs.py``): two reads of X per iteration, stopped at ||g|| < 1e-8.

On the two larger paths the model is still this module and loss: the parameters are
written into the ``nn.Linear``, logits come from it (``lbfgs.py``: from its map applied
to the search direction) and the loss is ``BCEWithLogitsLoss``. In the chunked passes
the loss and the gradient are that loss's closed forms, softplus(z) - y z and
[X 1]^T (sigmoid(z) - y), computed in place on each chunk's logits: one read of X per
pass, where autograd per chunk cost ~30 % more (a test checks both against the module,
BCEWithLogitsLoss and autograd to 1e-12). No float copy of X is made on any path:
``X_train`` is a tensor view of the Dataset's array (``_torch/tabular.tensor_view``), and
the chunked passes' temporaries are one chunk (4 MiB) or an n-vector.
"""

from __future__ import annotations

from bench.models._torch.tabular import TorchTabular
from bench.models.base import FitResult
from bench.stats import effects as marginal
from bench.stats import inference

MAX_ITER = 100
DECREMENT_TOL = 1e-20

FULL_NEWTON_MAX_NUMBERS = 2**22  # n (p + 1) up to this (32 MiB of float64): a Hessian per iteration is cheap
SAMPLED_NEWTON_MAX_PARAMS = 128  # p + 1 up to this: Newton with a sampled Hessian; above, L-BFGS
PASS_CHUNK_BYTES = 4 * 2**20  # rows per step of a pass over X: 4 MiB, read once, used twice from cache
# (2, 4 and 8 MiB within noise of each other on synthetic_tall, 1 and 16 MiB ~15 % slower)
SAMPLE_ROWS_PER_PARAM = 1024  # the sampled Hessian's rows: relative error ~ sqrt((p + 1) / rows) ~ 0.03
COARSE_FRACTION = 6  # the first Newton steps (from zero) use a sixth of each sample chunk
# (a third: the same passes after, ~15 % more time in these steps' Hessians)
SAMPLE_DECREMENT_TOL = 1e-3  # Newton on part of the sample: its optimum is ~6e-2 from the full data's anyway
SAMPLED_DECREMENT_TOL = 1e-14  # then ~2e-9 from the optimum (measured on synthetic_tall)
LBFGS_GRAD_TOL = 1e-8


def choose_solver(n_rows: int, n_features: int) -> str:
    """``newton`` | ``newton-sampled`` | ``lbfgs`` for a binary fit of this shape (see the module docstring)."""
    if n_rows * (n_features + 1) <= FULL_NEWTON_MAX_NUMBERS:
        return "newton"
    if n_features + 1 <= SAMPLED_NEWTON_MAX_PARAMS:
        return "newton-sampled"
    return "lbfgs"


def chunk_ranges(n_rows: int, n_features: int, chunk_bytes: int | None = None) -> list[tuple[int, int]]:
    """(start, stop) row ranges of about ``chunk_bytes`` (default PASS_CHUNK_BYTES) of float64
    each, covering all rows."""
    rows = max(1, (chunk_bytes or PASS_CHUNK_BYTES) // (8 * n_features))
    return [(start, min(start + rows, n_rows)) for start in range(0, n_rows, rows)]


def sample_chunks(chunks: list[tuple[int, int]], n_features: int) -> list[tuple[int, int]]:
    """Every k-th chunk, about SAMPLE_ROWS_PER_PARAM (p + 1) rows in all, spread over the
    whole array (so rows sorted by some column are still sampled across their range)."""
    n_rows, chunk_rows = chunks[-1][1], chunks[0][1] - chunks[0][0]
    wanted = SAMPLE_ROWS_PER_PARAM * (n_features + 1)
    return chunks[:: max(1, n_rows // max(wanted, chunk_rows))]


class TorchLinear(TorchTabular):
    name = "torch_linear"
    description = (
        "torch nn.Linear(p, 1) + BCEWithLogitsLoss (K classes: nn.Linear(p, K) + CrossEntropyLoss), "
        "float64; Newton, or at scale Newton with a sampled Hessian / L-BFGS, by shape"
    )

    SOLVERS = ("newton", "newton-sampled", "lbfgs")

    def __init__(self, solver: str | None = None, max_iter: int | None = None) -> None:
        """``solver``: one of SOLVERS for a binary fit (default: ``choose_solver`` by shape);
        ``max_iter``: cap the iterations below each solver's own (``bench curves`` samples with it)."""
        if solver is not None and solver not in self.SOLVERS:
            raise ValueError(f"torch_linear: unknown solver {solver!r}; expected one of {', '.join(self.SOLVERS)}")
        self.chosen_solver, self.max_iter = solver, max_iter

    def label_dtype_for(self, dataset) -> str:
        return "float64" if dataset.is_binary else "int64"

    def build_module(self, n_features: int):
        self.lam = self.dataset.l2_lambda
        self.loss_fn = self.torch.nn.BCEWithLogitsLoss(reduction="mean")
        self.chunks = chunk_ranges(*self.X_train.shape)
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

    @property
    def solver(self) -> str:
        if not self.dataset.is_binary:
            return "newton"
        return self.chosen_solver or choose_solver(*self.X_train.shape)

    def evaluate(self, theta, chunks, hessian_chunks=(), with_loss: bool = True):
        """Objective (None unless ``with_loss``) and gradient at ``theta`` = [w, b] over the
        rows of ``chunks``, and the Hessian over the rows of ``hessian_chunks`` (those of
        ``chunks`` that hold them; None if there are none), all in one pass: each chunk of X
        is read once and used from cache. Each is a mean over its own rows.

        The objective is the module's: theta is written into the nn.Linear, the logits are
        its map b + X w (``torch.addmv``, what ``self.module(rows)`` computes, into a reused
        buffer) and the loss is ``BCEWithLogitsLoss``'s closed form
        softplus(z) - y z (summed per chunk, then the mean) + lambda/2 ||w||^2; the gradient
        is that loss's closed form [X 1]^T (sigmoid(z) - y) / m + lambda [w, 0] (a test checks
        both against the module and autograd to 1e-12; autograd per chunk costs ~30 % more
        here); the Hessian is ``newton.add_gram``'s.
        """
        from bench.models._torch import newton

        torch, X, y = self.torch, self.X_train, self.y_train
        softplus = torch.nn.functional.softplus
        p = X.shape[1]
        with torch.no_grad():
            newton._assign([self.module.weight, self.module.bias], theta)
            weight, bias = self.module.weight[0], self.module.bias  # (p,), (1,)
            loss = torch.zeros((), dtype=X.dtype, device=X.device)
            grad = torch.zeros(p + 1, dtype=X.dtype, device=X.device)
            hessian_chunks = set(hessian_chunks)
            H = torch.zeros(p + 1, p + 1, dtype=X.dtype, device=X.device) if hessian_chunks else None
            # one chunk's logits (and softplus) in buffers reused chunk after chunk: a fresh
            # allocation per chunk costs its page faults again (~15 % of a pass, measured)
            longest = max(stop - start for start, stop in chunks)
            buffers = torch.empty(2 if with_loss else 1, longest, dtype=X.dtype, device=X.device)
            rows = hessian_rows = 0
            for start, stop in chunks:
                block, target = X[start:stop], y[start:stop]  # (c, p), (c,) views
                c = stop - start
                block.sum()  # streams the chunk into cache at the memory's bandwidth; MKL's dgemv
                # reading it from memory gets ~60 % of that here (fits 4-10 % faster, three A/B runs)
                logits = torch.addmv(bias, block, weight, out=buffers[0, :c])  # (c,) nn.Linear's map: b + X w
                if with_loss:  # BCEWithLogitsLoss, summed
                    loss += softplus(logits, out=buffers[1, :c]).sum() - target.dot(logits)
                prob = logits.sigmoid_()  # (c,) in place: the logits are not needed again
                if (start, stop) in hessian_chunks:
                    newton.add_gram(H, block, prob * (1.0 - prob))
                    hessian_rows += c
                residual = prob.sub_(target)  # (c,) in place
                grad[:p].addmv_(block.T, residual)
                grad[p] += residual.sum()
                rows += c
            weight = theta[:p]
            loss = float(loss) / rows + 0.5 * self.lam * float(weight @ weight) if with_loss else None
            grad /= rows
            grad[:p] += self.lam * weight
            if H is not None:
                H /= hessian_rows
                H[:p, :p].diagonal().add_(self.lam)
        return loss, grad, H

    def fit(self) -> None:
        from bench.models._torch import lbfgs, newton
        from bench.models._torch.two_logit import fit_two_logit

        if not self.dataset.is_binary:
            # K logits, CrossEntropyLoss, lambda/2 sum_k ||W_k||^2 on every row: scikit-learn's
            # symmetric multinomial objective (divided by C n); reported as contrasts W_k - W_0
            outcome = fit_two_logit(self.module, self.X_train, self.y_train, self.lam)
            self.n_iter, self.converged, self.message = outcome.n_iter, outcome.converged, outcome.message
            return
        with self.torch.no_grad():
            self.module.weight.zero_()
            self.module.bias.zero_()
        params = [self.module.weight, self.module.bias]
        solver, cap = self.solver, self.max_iter or MAX_ITER
        if solver == "newton":
            outcome = newton.minimize(self.objective, params, self.hessian, max_iter=cap, decrement_tol=DECREMENT_TOL)
        elif solver == "newton-sampled":
            theta = self.torch.zeros(self.X_train.shape[1] + 1, dtype=self.torch.float64, device=self.device)
            sample = sample_chunks(self.chunks, self.X_train.shape[1])
            coarse = [(start, start + max(1, (stop - start) // COARSE_FRACTION)) for start, stop in sample]
            # Newton from zero on part of each sampled chunk, a fresh Hessian each iteration
            theta, outcome = newton.minimize_evaluated(
                lambda t, hessian, loss: self.evaluate(t, coarse, coarse if hessian else (), loss),
                theta,
                quasi_newton=False,
                max_iter=cap,
                decrement_tol=SAMPLE_DECREMENT_TOL,
            )
            n_iter = outcome.n_iter
            if outcome.converged:  # all rows: the exact gradient each pass; the Hessian over the
                # whole sample in the first pass only, then BFGS-corrected
                theta, outcome = newton.minimize_evaluated(
                    lambda t, hessian, loss: self.evaluate(t, self.chunks, sample if hessian else (), loss),
                    theta,
                    quasi_newton=True,
                    max_iter=cap,
                    decrement_tol=SAMPLED_DECREMENT_TOL,
                )
                n_iter += outcome.n_iter
            outcome.n_iter = n_iter
            with self.torch.no_grad():
                newton._assign(params, theta)
        else:
            capped = {"max_iter": self.max_iter} if self.max_iter else {}
            outcome = lbfgs.minimize(
                self.module, self.X_train, self.y_train, self.lam, grad_tol=LBFGS_GRAD_TOL, **capped
            )
        self.n_iter, self.converged, self.message = outcome.n_iter, outcome.converged, outcome.message

    def solver_description(self) -> str:
        from bench.models._torch import lbfgs

        if not self.dataset.is_binary:
            return "torch Newton, K logits (closed-form Hessian, pseudo-inverse steps)"
        solver = self.solver
        if solver == "newton":
            return "torch Newton (float64, closed-form Hessian)"
        if solver == "newton-sampled":
            sample = sample_chunks(self.chunks, self.X_train.shape[1])
            rows = sum(stop - start for start, stop in sample)
            return (
                f"torch Newton, sampled Hessian (float64; chunked X^T S X over {rows} of "
                f"{self.X_train.shape[0]} rows, Cholesky, BFGS-corrected; exact gradient)"
            )
        return f"torch L-BFGS (float64, history {lbfgs.HISTORY}, exact line search on the logits)"

    def _contrasts(self, X):
        """Logits of class k >= 1 minus class 0's (binary: the one logit), (m, K-1)."""
        z = self.module(X)  # (m, 1) or (m, K)
        return (z if self.dataset.is_binary else z[:, 1:] - z[:, :1]).cpu().numpy()

    def predict(self) -> None:
        with self.torch.no_grad():
            self.test_logits = self._contrasts(self.X_test)

    def result(self) -> FitResult:
        from bench.models._torch.two_logit import contrasts

        with self.torch.no_grad():
            train_logits = self._contrasts(self.X_train)
        coef, intercept = (
            (self.module.weight.detach().cpu().numpy(), self.module.bias.detach().cpu().numpy())
            if self.dataset.is_binary
            else contrasts(self.module)
        )
        result = self.logits_result(
            self.dataset,
            coef=coef,
            intercept=intercept,
            test_logits=self.test_logits,
            train_logits=train_logits,
            n_iter=self.n_iter,
            converged=self.converged,
            solver=self.solver_description(),
            message=self.message,
        )
        if self.dataset.penalty != "none" or not self.dataset.is_binary:
            # K classes: the multinomial block Hessian in contrasts (closed form)
            return self.attach_inference(result, self.dataset)
        torch, X, y = self.torch, self.X_train, self.y_train

        def total_nll(weight, bias):  # the SUM negative log-likelihood: its Hessian is the information
            z = torch.func.functional_call(self.module, {"weight": weight, "bias": bias}, (X,)).squeeze(1)
            return torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="sum")

        cov = inference.torch_covariance(total_nll, [self.module.weight.detach(), self.module.bias.detach()])
        effects = marginal.torch_ame(self.dataset.X_train, coef, intercept, cov)  # autograd input gradients
        return self.attach_inference(result, self.dataset, cov=cov, effects=effects)
