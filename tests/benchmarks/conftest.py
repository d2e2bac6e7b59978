"""Shared measurements for the timing suite (run with `tox -e bench`)."""

import time

import pytest
import torch


@pytest.fixture(scope="session")
def matmul_peak_flops() -> float:
    """This machine's float32 matmul rate, measured in the same run as the benchmarks.

    Best of 10 products of two 1024 x 1024 float32 matrices (2 * 1024^3 FLOPs each),
    with the same thread count as the benchmarks, after a warm-up product.
    """
    generator = torch.Generator().manual_seed(0)
    a, b = torch.rand(1024, 1024, generator=generator), torch.rand(1024, 1024, generator=generator)
    a @ b
    best = float("inf")
    for _ in range(10):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * 1024**3 / best
