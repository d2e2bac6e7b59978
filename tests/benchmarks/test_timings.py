"""Timing suite (pytest-benchmark): `tox -e bench`. Never part of the default test run.

Figures to read side by side in one run (the machines are shared and noisy):
- fit time of each linear model at two shapes (many rows; many columns);
- the seed CNN's training step and inference at batch 32, as images/second and as
  a fraction of this machine's float32 matmul peak measured in the same run
  (``bench.peak``), at 1 and 2 threads: the plain eager loop ("eager") beside the
  path ``torch_cnn`` runs ("fast"), in the same group, so the speedup reads off;
- the peak resident memory of a whole CNN run (a subprocess).

Compare with a saved run: `tox -e bench -- --benchmark-compare --benchmark-compare-fail=min:25%`.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from bench.config import RunConfig
from bench.datasets import build
from bench.models import create
from bench.models._torch.cnn import Net, forward_flops
from bench.models.torch_cnn import EVAL_BATCH, TRAIN_FLOPS_PER_FORWARD
from bench.runner.matmul_peak import matmul_peak_flops

BATCH = 32
assert EVAL_BATCH == BATCH  # the fast inference benchmark times exactly one of the model's batches
SHAPES = {"many_rows": (20_000, 10), "many_columns": (2_000, 200)}


def _synthetic(n: int, p: int):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p))
    coef = rng.normal(0.0, 1.0 / np.sqrt(p), size=p)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(X @ coef)))).astype(np.float64)
    return build(
        name=f"bench_{n}x{p}",
        description="timing data",
        source="synthetic",
        X=X,
        y=y,
        feature_names=tuple(f"x{j}" for j in range(p)),
        split="holdout",
        test_fraction=0.2,
        standardize=False,
        penalty="l2",
        C=1.0,
        seed=0,
        where="benchmark",
    )


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("model_name", ["sklearn_logit", "statsmodels_logit", "torch_linear", "torch_softmax2"])
def test_linear_fit(benchmark, model_name, shape):
    dataset = _synthetic(*SHAPES[shape])
    model = create(model_name)
    model.prepare(dataset, RunConfig(threads=1))
    benchmark.group = f"linear fit {shape}"
    benchmark.extra_info["shape"] = SHAPES[shape]
    benchmark.pedantic(model.fit, rounds=5, warmup_rounds=1)


THREADS = (1, 2)  # the runner's default (--threads 1) and the whole 2-core machine


def _images(n: int = 2 * BATCH):
    """n random uint8 images (half of them for training) with alternating labels."""
    generator = np.random.default_rng(0)
    images = generator.integers(0, 256, size=(n, 3, 200, 200), dtype=np.uint8)
    y = np.tile([0.0, 1.0], n // 2)
    X = images.reshape(n, 3, -1).mean(axis=2) / 255.0
    return build(
        name="bench_images",
        description="timing images",
        source="synthetic",
        X=X,
        y=y,
        feature_names=("red", "green", "blue"),
        split="holdout",
        test_fraction=0.5,
        standardize=False,
        penalty="l2",
        C=1.0,
        seed=0,
        images=images,
        cnn={"batch_size": BATCH},
        where="benchmark",
    )


@pytest.fixture(scope="module", params=THREADS, ids=lambda t: f"{t}thread")
def cnn(request):
    """``torch_cnn`` prepared as the runner prepares it (channels-last, ReLU after the pools,
    glibc keeping freed memory: process-wide, so the eager baseline has it too), and the
    plain eager Net as the seed runs it (NCHW, ``.float() / 255``) with the same weights."""
    threads_before = torch.get_num_threads()
    model = create("torch_cnn")
    model.prepare(_images(), RunConfig(threads=request.param))  # sets torch's threads
    plain = Net()
    plain.load_state_dict(model.net.state_dict())
    images, labels = model.images_train[:BATCH], model.y_train[:BATCH]  # uint8 (32, 3, 200, 200), (32,)
    # the model stores its images channels-last; the seed's loop gets contiguous NCHW ones
    yield model, plain, images, images.contiguous(), labels, request.param
    torch.set_num_threads(threads_before)


BEST_PEAK: dict[int, float] = {}  # thread count -> the best matmul rate measured so far in this run


def _report_rate(benchmark, flops_per_image: float, threads: int) -> None:
    """images/second from the fastest round, and that as a fraction of the matmul peak: the
    best of bench.peak's cached figure (the one metrics.csv uses) and a fresh measurement
    taken right after this benchmark's rounds (and after every earlier one at this thread
    count), so that one unlucky quarter of a second cannot understate the peak."""
    peak = max(matmul_peak_flops(), matmul_peak_flops(fresh=True), BEST_PEAK.get(threads, 0.0))
    BEST_PEAK[threads] = peak
    rate = BATCH / benchmark.stats.stats.min
    benchmark.extra_info["threads"] = threads
    benchmark.extra_info["images_per_second"] = rate
    benchmark.extra_info["fraction_of_float32_matmul_peak"] = rate * flops_per_image / peak
    benchmark.extra_info["matmul_peak_gflops"] = peak / 1e9


@pytest.mark.parametrize("path", ["eager", "fast", "fast_sgd"])
def test_cnn_train_step(benchmark, cnn, path):
    model, plain, images, images_nchw, labels, threads = cnn
    loss_fn = torch.nn.CrossEntropyLoss()
    # AdamW, as the training recipe (bench/models/_torch/recipe.py); its step is the same in both paths.
    # fast_sgd: the same path with the SGD + momentum step of the recipe before it, side by side
    if path.startswith("fast"):  # the recipe's step on the model's own batch conversion (standardised)
        optimizer = (
            torch.optim.AdamW(model.net.parameters(), lr=1e-3, weight_decay=1e-4)
            if path == "fast"
            else torch.optim.SGD(model.net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
        )

        def step():
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model._logits(model.net, model._batch(images, slice(None))), labels).backward()
            optimizer.step()
    else:
        optimizer = torch.optim.AdamW(plain.parameters(), lr=1e-3, weight_decay=1e-4)

        def step():
            optimizer.zero_grad(set_to_none=True)
            loss_fn(plain(images_nchw.float().div_(255.0)), labels).backward()  # uint8 -> float per batch
            optimizer.step()

    benchmark.group = f"cnn train step, batch 32, {threads} thread(s)"
    benchmark.pedantic(step, rounds=5, warmup_rounds=2)
    _report_rate(benchmark, TRAIN_FLOPS_PER_FORWARD * forward_flops(plain), threads)


@pytest.mark.parametrize("path", ["eager", "fast"])
def test_cnn_inference(benchmark, cnn, path):
    model, plain, images, images_nchw, _, threads = cnn
    if path == "fast":  # what the model's inference_images_per_second times, on one batch

        def infer():
            model._evaluate(images)
    else:

        def infer():
            with torch.no_grad():
                plain(images_nchw.float().div_(255.0))

    benchmark.group = f"cnn inference, batch 32, {threads} thread(s)"
    benchmark.pedantic(infer, rounds=10, warmup_rounds=2)
    _report_rate(benchmark, forward_flops(plain), threads)


# Runs a command and prints its peak RSS (KiB) from os.wait4. Linux copies the high-water mark
# of the address space a process leaves at exec into its ru_maxrss: a child started straight
# from this pytest process would report this process's peak (3.9 GB after the scale
# benchmarks), so this small interpreter starts the run and reads its figure.
PEAK_RSS_OF = (
    "import os, subprocess, sys; child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL); "
    "_, status, usage = os.wait4(child.pid, 0); child.returncode = os.waitstatus_to_exitcode(status); "
    "print(usage.ru_maxrss); sys.exit(child.returncode)"
)


def test_cnn_run_peak_memory(benchmark):
    """Peak RSS of a whole `bench run` of the CNN on digits (one epoch) and its cells, in a subprocess."""
    measured = {}

    def run():
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                PEAK_RSS_OF,
                sys.executable,
                "-m",
                "bench",
                "run",
                "--datasets",
                "digits",
                "--models",
                "torch_cnn",
                "--epochs",
                "1",
                "--repeats",
                "1",
                "--out",
                "/tmp/logitbench-bench-memory",
                "-q",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        measured["kib"] = int(done.stdout.split()[-1])  # KiB on Linux

    benchmark.group = "cnn run"
    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info["peak_rss_megabytes"] = measured["kib"] / 1024
