"""Timing suite (pytest-benchmark): `tox -e bench`. Never part of the default test run.

Figures to read side by side in one run (the machines are shared and noisy):
- fit time of each linear model at two shapes (many rows; many columns);
- the seed CNN's training step and inference at batch 32, as images/second and as
  a fraction of this machine's float32 matmul peak measured in the same run;
- the peak resident memory of a whole CNN run (a subprocess).

Compare with a saved run: `tox -e bench -- --benchmark-compare --benchmark-compare-fail=min:25%`.
"""

from __future__ import annotations

import resource
import subprocess
import sys

import numpy as np
import pytest
import torch

from bench.config import RunConfig
from bench.datasets.dataset import build
from bench.models import create
from bench.models.cnn import Net, forward_flops

BATCH = 32
SHAPES = {"many_rows": (20_000, 10), "many_columns": (2_000, 200)}


def _synthetic(n: int, p: int):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p))
    coef = rng.normal(0.0, 1.0 / np.sqrt(p), size=p)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(X @ coef)))).astype(np.float64)
    return build(name=f"bench_{n}x{p}", description="timing data", source="synthetic", X=X, y=y,
                 feature_names=tuple(f"x{j}" for j in range(p)), split="holdout", test_fraction=0.2,
                 standardize=False, penalty="l2", C=1.0, seed=0, where="benchmark")


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("model_name", ["sklearn_logit", "statsmodels_logit", "torch_linear", "torch_softmax2"])
def test_linear_fit(benchmark, model_name, shape):
    dataset = _synthetic(*SHAPES[shape])
    model = create(model_name)
    model.prepare(dataset, RunConfig(threads=1))
    benchmark.group = f"linear fit {shape}"
    benchmark.extra_info["shape"] = SHAPES[shape]
    benchmark.pedantic(model.fit, rounds=5, warmup_rounds=1)


@pytest.fixture(scope="module")
def net_and_batch():
    torch.set_num_threads(torch.get_num_threads())
    generator = torch.Generator().manual_seed(0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = Net()
    images = torch.randint(0, 256, (BATCH, 3, 200, 200), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 2, (BATCH,), generator=generator)
    return net, images, labels


def _report_rate(benchmark, flops_per_image: float, peak: float) -> None:
    seconds = benchmark.stats.stats.min
    rate = BATCH / seconds
    benchmark.extra_info["images_per_second"] = rate
    benchmark.extra_info["fraction_of_float32_matmul_peak"] = rate * flops_per_image / peak
    benchmark.extra_info["matmul_peak_gflops"] = peak / 1e9


def test_cnn_train_step(benchmark, net_and_batch, matmul_peak_flops):
    net, images, labels = net_and_batch
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(net(images.float().div_(255.0)), labels).backward()  # uint8 -> float per batch, as in training
        optimizer.step()

    benchmark.group = "cnn batch 32"
    benchmark.pedantic(step, rounds=5, warmup_rounds=2)
    _report_rate(benchmark, 3 * forward_flops(net), matmul_peak_flops)


def test_cnn_inference(benchmark, net_and_batch, matmul_peak_flops):
    net, images, _ = net_and_batch

    def infer():
        with torch.no_grad():
            net(images.float().div_(255.0))

    benchmark.group = "cnn batch 32"
    benchmark.pedantic(infer, rounds=10, warmup_rounds=2)
    _report_rate(benchmark, forward_flops(net), matmul_peak_flops)


def test_cnn_run_peak_memory(benchmark):
    """Peak RSS of a whole `bench run` of the CNN on digits (one epoch), in a subprocess."""
    def run():
        subprocess.run(
            [sys.executable, "-m", "bench", "run", "--datasets", "digits", "--models", "torch_cnn",
             "--epochs", "1", "--repeats", "1", "--out", "/tmp/logitbench-bench-memory", "-q"],
            check=True, capture_output=True,
        )

    benchmark.group = "cnn run"
    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info["peak_rss_megabytes"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
