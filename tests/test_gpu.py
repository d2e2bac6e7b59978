"""The CUDA path of the torch models (`--device cuda`). Skipped where there is no GPU.

Run on a machine with one: `tox -- -m gpu`. The float64 linear fits must reach the
same optimum on the GPU as on the CPU (1e-9: the same Newton iterations, different
reduction order); the CNN's logits agree with a CPU forward pass of the same weights
to float32 tolerance (1e-3 absolute on logits of size ~10, cuDNN picks other kernels).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench import datasets
from bench.config import RunConfig
from bench.runner import run_cell

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")]


@pytest.mark.parametrize("model_name", ["torch_linear", "torch_softmax2"])
def test_linear_fit_on_cuda_matches_cpu(model_name):
    dataset = datasets.load("breast_cancer")
    cpu = run_cell(dataset, model_name, RunConfig(repeats=1))
    gpu = run_cell(dataset, model_name, RunConfig(repeats=1, device="cuda"))
    assert gpu.status == "ok", gpu.message
    np.testing.assert_allclose(gpu.coef, cpu.coef, atol=1e-9)
    assert gpu.fit_seconds > 0


def test_cnn_trains_on_cuda():
    dataset = datasets.load("digits")
    result = run_cell(dataset, "torch_cnn", RunConfig(repeats=1, device="cuda", epochs=1))
    assert result.status == "ok", result.message
    assert result.test_logits.shape == (dataset.X_test.shape[0], 1)
    assert np.isfinite(result.test_logits).all()
