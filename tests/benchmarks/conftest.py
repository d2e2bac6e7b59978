"""Shared measurements for the timing suite (run with `tox -e bench`)."""

import pytest

from bench.runner.matmul_peak import matmul_peak_flops as _matmul_peak_flops


@pytest.fixture(scope="session")
def matmul_peak_flops() -> float:
    """This machine's float32 matmul rate at torch's thread count when first requested
    (``bench.peak``: best of 10 products of two 1024 x 1024 matrices, cached per thread
    count). Benchmarks that set their own thread count call ``bench.peak`` after setting it."""
    return _matmul_peak_flops()
