"""``torch_cnn``: the seed article's CNN (``cnn.Net``) trained with CrossEntropyLoss.

Its two outputs are logits; the report uses z1 - z0 as the log-odds of class 1 and
softmax for probabilities, like every other model. After training, the 84 features
that feed fc3 (after fc2's ReLU) become a dataset of their own, ``<name>:cnn_features``,
on which the linear models run, and fc3 is reported twice as a logistic regression on
those features: as trained (``torch_cnn_fc3``) and refit alone to convergence in float64
with the linear models' objective (``torch_cnn_fc3_refit``, see ``torch_softmax2``).

Training follows ``_torch/recipe.py``: inputs standardised with the fitted rows' channel
statistics, AdamW with a one-cycle schedule, a stratified validation share of the training
rows, and the epoch with the lowest validation log loss kept (early stopping). Settings:
``bench.config.CNN_SETTINGS``, then the dataset card's [cnn] table, the suite, ``--epochs``
and ``--cnn``. Deterministic on CPU for a given seed and thread count: the initial weights
come from a seed set inside ``torch.random.fork_rng`` (no global state leaks), batches are
shuffled by a ``torch.Generator``. Images stay uint8 and become float one batch at a time.

Weight decay and the last-layer refit: AdamW's decay multiplies every weight by
(1 - lr_t * weight_decay) each step, apart from the gradient; it is not an L2 term of a
loss, and its strength depends on the schedule. ``torch_cnn_fc3_refit`` does not inherit it:
it refits fc3 alone, in float64, on the trained features, with the dataset's own L2
(lambda = 1/(C n), the linear models' objective), so that it can agree with them exactly.

Speed on CPU (batch 32, one thread, each measured side by side with the plain eager loop
in one process; the logits agree with ``Net`` to float32 rounding, ~2e-7 relative):
the network, the stored images and so each batch are channels-last, oneDNN's fast layout
(train 1.1x, inference 1.5x); ReLU runs after each max-pool (``cnn.features_pool_first``,
the same numbers; 1.05-1.1x); inference pools with strided maxima (``cnn.max_pool_2x2``,
1.2x); glibc keeps freed memory for the next step (``_retain_freed_memory``, train
1.1-1.25x); conv1's six filters run as eight, two of them zero (``cnn.features_pool_first``,
the same numbers; train ~1.15x, inference ~1.1x). torch.compile was measured and is not
used: training ran 0.85-0.95x of this path (inductor's max-pool backward is slow),
inference at most 1.1x faster (max-autotune), after 7 s (cached) to 90 s of compilation
per graph and batch shape. Threads: ``RunConfig.threads``.
"""

from __future__ import annotations

import copy
import ctypes
import platform
import time
from dataclasses import replace

import numpy as np

from bench.config import CNN_SETTINGS
from bench.models._torch.losses import loss_equivalence
from bench.models.base import FitResult, Model

DEFAULTS = {name: default for name, (default, _, _) in CNN_SETTINGS.items()}
EVAL_BATCH = 32  # the batch at which inference_images_per_second is defined (the speed issue)
TRAIN_FLOPS_PER_FORWARD = 3  # forward, gradient of the inputs, gradient of the weights (cnn.forward_flops)
# glibc's mallopt parameters (malloc.h) and the values _retain_freed_memory sets
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
HEAP_UP_TO_BYTES, KEEP_FREE_BYTES = 64 << 20, 256 << 20


def _retain_freed_memory() -> None:
    """Have glibc keep freed memory for the next batch instead of handing it back to the kernel.

    A training step allocates and frees ~70 MB of activations and gradients (conv1's output
    alone is 29.5 MB). With glibc's defaults much of it is returned to the kernel and faulted
    back in, zeroed, on the next step: ~18,000 minor page faults and ~60 ms of system time in a
    ~340 ms step (one thread). Serving allocations up to 64 MiB from the heap and keeping up to
    256 MiB of it free removes the faults: training 1.1-1.25x faster, inference unchanged.
    Process-wide and lasting, like ``torch.set_num_threads``; nothing where libc is not glibc.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return
    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt(M_MMAP_THRESHOLD, HEAP_UP_TO_BYTES)
    libc.mallopt(M_TRIM_THRESHOLD, KEEP_FREE_BYTES)


def _channels_last_copy(torch, images: np.ndarray):
    """(n, 3, H, W) uint8 -> a tensor of that shape laid out (n, H, W, 3) in memory; one copy."""
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 2, 3, 1))).permute(0, 3, 1, 2)


class TorchCNN(Model):
    name = "torch_cnn"
    description = "the seed CNN (3x200x200 -> conv 6/16/32 -> fc 120/84/2), CrossEntropyLoss, AdamW, early stopping"
    exact = False  # a stochastic fit of a non-convex model: compared, not expected to agree
    max_repeats = 1  # one training run is the measurement
    warm_up_fit = False  # prepare() warms up with one step on a throw-away copy instead

    @classmethod
    def preload(cls) -> None:
        """torch, and torch._dynamo, which the first optimiser imports (~1.4 s, inside prepare's warm-up)."""
        import torch

        torch.optim.AdamW([torch.zeros(1, requires_grad=True)])

    def supports(self, dataset) -> tuple[bool, str]:
        if not dataset.has_images:
            return False, "no image view (the CNN needs 3 x 200 x 200 images)"
        return True, ""

    def prepare(self, dataset, config) -> None:
        import torch

        from bench.models._torch import recipe
        from bench.models._torch.cnn import Net, forward_flops

        torch.set_num_threads(config.threads)
        self.torch, self.dataset, self.seed = torch, dataset, config.seed
        self.device = torch.device(config.device)
        if self.device.type == "cpu":
            _retain_freed_memory()
        self.settings = DEFAULTS | dataset.cnn | config.cnn_overrides()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            net = Net(n_classes=dataset.n_classes)  # K logits for K classes
        # channels-last: the layout in which oneDNN's convolutions are fastest (batches match it)
        self.net = net.to(self.device, memory_format=torch.channels_last)
        self.flops_per_image = forward_flops(self.net)
        self.initial_state = copy.deepcopy(self.net.state_dict())
        # uint8 copies (the Dataset's arrays are read-only); (n, 3, 200, 200), stored channels-last
        self.images_train = _channels_last_copy(torch, dataset.images_train)
        self.images_test = _channels_last_copy(torch, dataset.images_test)
        self.y_train = torch.tensor(dataset.y_train, dtype=torch.int64).to(self.device)
        # validation rows from the training rows only; statistics from the fitted rows only
        labels = dataset.y_train.astype(np.int64)
        self.val_rows = recipe.validation_rows(labels, self.settings["validation_fraction"], config.seed)
        self.fit_rows = np.setdiff1d(np.arange(labels.size), self.val_rows)
        self.channel_mean, self.channel_std = recipe.channel_statistics(dataset.images_train[self.fit_rows])
        self.standardize = recipe.Standardize(self.channel_mean, self.channel_std, self.device)
        self._warm_up()

    def _batch(self, images, index):
        """uint8 (B, 3, 200, 200) -> float32 standardised with the training channel statistics,
        channels-last, on the device; one batch only.

        The images are stored channels-last, so the batch converts without a transpose (5.3 ms
        per batch of 32 against 9.8 ms converting and transposing in one pass, one thread).
        """
        return self.standardize(images[index])

    def _logits(self, net, x):
        """(B, 3, 200, 200) -> (B, K) logits: ``net(x)``, computed by ``cnn.features_pool_first``."""
        from bench.models._torch.cnn import features_pool_first

        return net.fc3(features_pool_first(net, x))

    def _warm_up(self) -> None:
        """One optimiser step and one inference on a copy: the first step imports torch._dynamo (~1 s)."""
        torch = self.torch
        net = copy.deepcopy(self.net)
        optimizer = torch.optim.AdamW(net.parameters(), lr=0.0)
        x = self._batch(self.images_train, slice(0, 2))  # (2, 3, 200, 200)
        loss = torch.nn.functional.cross_entropy(self._logits(net, x), self.y_train[:2])
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            self._logits(net, x)

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.synchronize()

    def fit(self) -> None:
        from bench.models._torch import recipe

        self.net.load_state_dict(self.initial_state)
        self.curve = recipe.train(
            self.net,
            self._logits,
            lambda rows: self._batch(self.images_train, rows),
            self.y_train,
            self.fit_rows,
            self.val_rows,
            self.settings,
            self.seed,
            EVAL_BATCH,
        )

    def describe_training(self) -> str:
        s = self.settings
        return (
            f"AdamW, one-cycle lr up to {s['lr']:g} ({s['warmup']:.0%} warm-up), weight decay {s['weight_decay']:g}, "
            f"batch {s['batch_size']}; epoch {self.curve.chosen_epoch} of {self.curve.epochs_trained} trained "
            f"(at most {s['epochs']}) kept by validation log loss"
        )

    def _evaluate(self, images, net=None):
        """Logits (n, K) float32 and the five probe points {layer: (n, F)} float32
        (``_torch/probes.py``; fc2's are the 84 features fc3 reads), in batches, no gradients.
        ``net``: another network (the untrained control) on the same inputs."""
        from bench.models._torch.probes import LAYERS, tapped_probes

        torch, net = self.torch, net or self.net
        net.eval()
        logits, taps = [], {layer: [] for layer in LAYERS}
        with torch.no_grad():
            for start in range(0, images.shape[0], EVAL_BATCH):
                x = self._batch(images, slice(start, start + EVAL_BATCH))  # (B, 3, 200, 200)
                points, z = tapped_probes(net, x)
                for layer in LAYERS:
                    taps[layer].append(points[layer].cpu())
                logits.append(z.cpu())  # (B, K)
        return torch.cat(logits).numpy(), {layer: torch.cat(parts).numpy() for layer, parts in taps.items()}

    def predict(self) -> None:
        start = time.perf_counter()
        self.test_logits2, self.test_probes = self._evaluate(self.images_test)
        self.synchronize()
        # the inference rate: this pass (the probe points are read from it at almost no cost)
        self.inference_seconds = time.perf_counter() - start

    def result(self) -> FitResult:
        from bench.models._torch.cnn import format_shape_trace

        ds = self.dataset
        train_logits2, train_probes = self._evaluate(self.images_train)
        # log-odds against class 0, z_k - z_0, in float64: what every model reports
        contrasts = lambda z: z[:, 1:].astype(np.float64) - z[:, :1].astype(np.float64)  # noqa: E731
        result = self.logits_result(
            ds,
            test_logits=contrasts(self.test_logits2),
            train_logits=contrasts(train_logits2),
            n_iter=self.curve.epochs_trained,
            converged=None,
            solver=self.describe_training(),
            exact=False,
        )
        inference_rate = self.images_test.shape[0] / self.inference_seconds  # images / second, batch EVAL_BATCH
        # the model's own clock around its epochs: the runner's fit_seconds (behind
        # train_images_per_second in bench.tables.metrics) also holds resetting the weights
        train_rate = self.curve.images_trained / self.curve.train_seconds
        kept = {row["split"]: row for row in self.curve.rows if row["epoch"] == self.curve.chosen_epoch}
        result.extra["metrics"] = {
            "chosen_epoch": self.curve.chosen_epoch,
            "epochs_trained": self.curve.epochs_trained,
            "train_loss_at_chosen_epoch": kept["train"]["loss"],
            "validation_log_loss": kept["validation"]["loss"],
            "inference_images_per_second": inference_rate,
        }
        result.extra["training_curve"] = self.curve.rows
        result.extra["training"] = {
            "settings": self.settings,
            "fitted_rows": len(self.fit_rows),
            "validation_rows": len(self.val_rows),
            "channel_mean": self.channel_mean.tolist(),  # of the fitted rows, on the 0-255 scale
            "channel_std": self.channel_std.tolist(),
            "chosen_epoch": self.curve.chosen_epoch,
            "epochs_trained": self.curve.epochs_trained,
            "why": self.curve.reason,
        }
        # the FLOPs those rates represent: the runner divides them by the float32 matmul peak
        # it measures in this process, with this fit's threads (bench.runner.matmul_peak)
        result.extra["flop_rates"] = {
            "device": str(self.device),
            "train": train_rate * TRAIN_FLOPS_PER_FORWARD * self.flops_per_image,
            "inference": inference_rate * self.flops_per_image,
        }
        result.extra["images_trained"] = self.curve.images_trained
        result.extra["architecture"] = format_shape_trace()  # the layer-by-layer trace the report prints
        if ds.is_binary:  # BCEWithLogitsLoss(z1 - z0) is the two-class identity
            result.extra["losses"] = loss_equivalence(self.test_logits2, ds.y_test.astype(np.int64))
        features = self._feature_dataset(train_probes["fc2"], self.test_probes["fc2"])
        control = self._control_network()
        random_probes = (self._evaluate(self.images_train, control)[1], self._evaluate(self.images_test, control)[1])
        probe_sets = self._probe_datasets({"trained": (train_probes, self.test_probes), "random": random_probes})
        result.extra["derived_datasets"] = [features, *probe_sets]
        result.extra["derived_results"] = self._fc3_results(features)
        return result

    def _control_network(self):
        """The random-initialisation control: the same ``Net``, with the weights it had before
        training (the seed's initialisation), never trained (Zhang & Bowman's baseline)."""
        control = copy.deepcopy(self.net)
        control.load_state_dict(self.initial_state)
        return control

    def _probe_datasets(self, networks: dict) -> list:
        """Each (network, layer) probe point as a dataset ``<name>:probe:<network>:<layer>``: the
        parent's rows, split, labels, penalty and C; features as the layer gives them (not
        standardised, as fc3 reads fc2's); timed once (``Dataset.time_once``). Its notes say
        whether the layer's training features separate the classes (the LP check, whatever
        the penalty: how linearly separable the classes are at that depth)."""
        from bench.models._torch.probes import LAYERS, feature_names
        from bench.stats.separation import detect_separation

        ds, out = self.dataset, []
        which = {"trained": "trained on", "random": "untrained (its initial weights), on"}

        def describe(network: str, layer: str, width: int) -> str:
            after = f"{layer} + ReLU" + (" + pool, averaged to 2x2 per channel" if layer.startswith("conv") else "")
            return (
                f"probe: the {width} features after {after} of torch_cnn {which[network]} {ds.name}; not standardised"
            )

        for network, (train, test) in networks.items():
            for depth, layer in enumerate(LAYERS, start=1):
                names = feature_names(layer)
                separated = detect_separation(train[layer], ds.y_train, names) is not None
                notes = {"probe_of": ds.name, "network": network, "layer": layer, "depth": depth}
                out.append(
                    self._derived(
                        f"{ds.name}:probe:{network}:{layer}",
                        describe(network, layer, train[layer].shape[1]),
                        f"torch_cnn on {ds.name} (probe)",
                        names,
                        train[layer],
                        test[layer],
                        notes=notes | {"separated": separated},
                        time_once=True,
                    )
                )
        return out

    def _feature_dataset(self, train_features: np.ndarray, test_features: np.ndarray):
        ds = self.dataset
        return self._derived(
            f"{ds.name}:cnn_features",
            f"the 84 features that feed fc3 of torch_cnn trained on {ds.name} (after fc2's ReLU)",
            f"torch_cnn on {ds.name}",
            tuple(f"h{j + 1}" for j in range(train_features.shape[1])),
            train_features,
            test_features,
        )

    def _derived(self, name, description, source, feature_names, train, test, **fields):
        """A dataset of features the network computed on the parent's rows: its split, labels,
        penalty and C, float64 read-only copies, not standardised, no images, no truth."""
        as64 = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
        X_train, X_test = as64(train), as64(test)
        X_train.setflags(write=False)
        X_test.setflags(write=False)
        return replace(
            self.dataset,
            name=name,
            description=description,
            source=source,
            feature_names=tuple(feature_names),
            X_train=X_train,
            X_test=X_test,
            standardized=False,
            truth=None,
            images_train=None,
            images_test=None,
            **fields,
        )

    def _fc3_results(self, features) -> list[FitResult]:
        """fc3 as trained, and fc3 refit alone on the frozen features (float64, Newton)."""
        from bench.models._torch.two_logit import contrasts, fit_two_logit

        torch = self.torch
        out = []
        fc3 = copy.deepcopy(self.net.fc3).to("cpu", torch.float64)
        # two logits with L2 on both rows at lambda2 = 2 lambda solve the binary objective at
        # lambda (torch_softmax2's docstring); K > 2 classes: the symmetric multinomial
        # objective that the linear models fit, at lambda itself
        lam = (2.0 if features.is_binary else 1.0) * features.l2_lambda
        for model, refit in (("torch_cnn_fc3", False), ("torch_cnn_fc3_refit", True)):
            seconds, outcome = float("nan"), None
            if refit:
                start = time.perf_counter()
                outcome = fit_two_logit(
                    fc3,
                    torch.from_numpy(features.X_train.copy()),
                    torch.tensor(features.y_train, dtype=torch.int64),
                    lam,
                    reset=False,
                )
                seconds = time.perf_counter() - start
            coef, intercept = contrasts(fc3)  # (K-1, 84), (K-1,)
            result = self.logits_result(
                features,
                coef=coef,
                intercept=intercept,
                test_logits=features.X_test @ coef.T + intercept,
                train_logits=features.X_train @ coef.T + intercept,
                n_iter=outcome.n_iter if outcome else None,
                converged=outcome.converged if outcome else None,
                solver=("fc3 refit by Newton, float64" + (", C' = C/2 on two logits" if features.is_binary else ""))
                if refit
                else "fc3 as trained (W_k - W_0)",
                message=outcome.message if outcome else "",
                exact=refit,
                fit_seconds=seconds,
                repeats=1 if refit else 0,
            )
            result.model = model
            out.append(result)
        return out
