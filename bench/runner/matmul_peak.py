"""This machine's float32 matmul rate: the yardstick for "fraction of peak".

Best of ``repeats`` products of two n x n float32 matrices (2 n^3 FLOPs each), after one
warm-up product, with the thread count torch has when it is called: call it after
``torch.set_num_threads``, as the CNN and the timing suite do. A 1024 x 1024 product
keeps MKL's blocked kernel at its best while taking a few milliseconds. The best, not
the median, because the machines are shared and a fit is also timed as a minimum
(bench/ARCHITECTURE.md, "Measured pitfalls"). Measured once per process for each (device, thread
count, size) and cached: the FLOP counts of a run are all divided by the same number.
"""

from __future__ import annotations

import functools
import time

SIZE = {"cpu": 1024, "cuda": 4096}  # a GPU needs a bigger product to approach its rate
REPEATS = 10


def matmul_peak_flops(
    device: str = "cpu", size: int | None = None, repeats: int = REPEATS, *, fresh: bool = False
) -> float:
    """Float32 FLOP/s of the best of ``repeats`` (size x size) @ (size x size) products.

    Parameters
    ----------
    device : "cpu" or "cuda"; on CUDA each product is synchronised before the clock stops.
    size : side of the square matrices; default ``SIZE`` of the device type.
    repeats : timed products (>= 1).
    fresh : measure again instead of returning this process's cached figure. The timing
        suite does, after each CNN benchmark, and divides by the best figure it saw: ten
        products take a quarter of a second, and a neighbour's burst in that window once
        put the cached figure 30 % low (63 against 84-88 GFLOP/s), inflating every fraction.
    """
    import torch

    size = SIZE[torch.device(device).type] if size is None else size
    if size < 1 or repeats < 1:
        raise ValueError(f"size and repeats: expected integers >= 1, got {size} and {repeats}")
    measure = _measure.__wrapped__ if fresh else _measure
    return measure(str(torch.device(device)), torch.get_num_threads(), size, repeats)


@functools.cache
def _measure(device: str, threads: int, size: int, repeats: int) -> float:
    import torch

    generator = torch.Generator().manual_seed(0)  # not the global generator
    a = torch.rand(size, size, generator=generator).to(device)
    b = torch.rand(size, size, generator=generator).to(device)
    synchronize = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    a @ b  # warm-up: kernel selection, page faults of the output
    synchronize()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best
