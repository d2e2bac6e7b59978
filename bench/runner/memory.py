"""The peak memory a call needs beyond what the process already holds.

Method (Linux): resident set size, in the same process, around the call.

1. ``gc.collect()`` and glibc's ``malloc_trim(0)``: memory freed earlier but still
   resident (glibc keeps freed heap pages) goes back to the system, so that the call
   cannot reuse it unseen. Inside ``young_only()`` (a run's cells) the survivors are then
   frozen (``gc.freeze``), so the next collection scans only objects made since: with
   torch, matplotlib, statsmodels and glum imported a full collection scans ~330,000
   objects and takes ~0.2 s, which was a quarter of the quick suite's wall time.
2. baseline = ``VmRSS`` of ``/proc/self/status``: everything held before the call,
   the dataset included.
3. Writing ``5`` to ``/proc/self/clear_refs`` resets the kernel's high-water mark
   ``VmHWM`` to the current RSS (Linux >= 4.0, see proc(5)).
4. After the call, extra = ``VmHWM`` - baseline: the most the call held at any one
   moment beyond the baseline, temporaries that it freed again included.

What it sees: every page any library touched (numpy, torch's CPU allocator, BLAS and
OpenMP buffers, Python objects), which tracemalloc (numpy only) and torch's allocator
statistics (CUDA only) do not. What it does not see: memory the call reserves but
never touches (not resident, so not used), and memory of other processes. Error: the
kernel's RSS counters are kept per CPU and summed lazily, off by at most a batch of
pages per CPU (256 KiB on this 2-core machine); page granularity 4 KiB, or one 2 MiB
transparent huge page where the kernel's THP setting is ``always`` (the allocator's
first write into a fresh mapping then faults in 2 MiB); pages the allocator held that
``malloc_trim`` could not release (a few MiB of fragmented small objects at most) may
be reused unseen. ``tests/test_scale.py`` checks a known
64 MiB temporary is measured to within 1 MiB plus one huge page.

Where ``/proc/self/clear_refs`` cannot be written (not Linux, or a locked-down
container) the measurement is not possible in-process: ``peak_extra_bytes`` returns
None, which the report shows as a missing value rather than a wrong one.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from contextlib import contextmanager
from pathlib import Path

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_bytes(field: str) -> int:
    """A ``VmXXX:  1234 kB`` line of /proc/self/status, in bytes."""
    for line in STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise OSError(f"{STATUS} has no {field} line")


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None (found once: ``find_library`` runs ldconfig, ~8 ms)."""
    name = ctypes.util.find_library("c")
    return None if name is None else getattr(ctypes.CDLL(name), "malloc_trim", None)


def trim_heap() -> None:
    """Give freed heap memory back to the system (glibc only; elsewhere a no-op)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


_young_only = False  # set inside young_only(): PeakMemory freezes what survives its collection


@contextmanager
def young_only():
    """Within this block each PeakMemory freezes what survives its ``gc.collect()``, so the
    next collection scans only the objects made since (milliseconds, not 0.2 s). Frozen
    objects are still freed by reference counting; the block's end unfreezes them, so
    cycles among them are collected again as usual afterwards."""
    global _young_only
    outer = _young_only
    _young_only = True
    try:
        yield
    finally:
        _young_only = outer
        if not outer:
            gc.unfreeze()


def freeze_survivors_from_now_on() -> None:
    """``young_only`` for the rest of this process (a worker process of the run's own)."""
    global _young_only
    _young_only = True


def available() -> bool:
    """Whether this process can reset its peak RSS (and so measure a call's peak)."""
    try:
        _status_bytes("VmHWM")
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


class PeakMemory:
    """Context manager: ``extra_bytes`` is the peak RSS inside the block minus the RSS
    before it (None where it cannot be measured)::

        with PeakMemory() as peak:
            model.prepare(dataset, config)
            model.fit()
        peak.extra_bytes
    """

    def __init__(self) -> None:
        self.baseline_bytes: int | None = None
        self.peak_bytes: int | None = None
        self.extra_bytes: int | None = None

    def __enter__(self) -> "PeakMemory":
        gc.collect()
        if _young_only:
            gc.freeze()
        trim_heap()
        try:
            self.baseline_bytes = _status_bytes("VmRSS")
            CLEAR_REFS.write_text("5")  # VmHWM := current RSS
        except OSError:
            self.baseline_bytes = None
        return self

    def __exit__(self, *exc) -> None:
        if self.baseline_bytes is None:
            return
        try:
            self.peak_bytes = _status_bytes("VmHWM")
        except OSError:
            return
        self.extra_bytes = max(0, self.peak_bytes - self.baseline_bytes)


def peak_extra_bytes(call, *args, **kwargs) -> int | None:
    """Peak resident bytes ``call(*args, **kwargs)`` needs beyond what the process held
    before it (see the module docstring for the method and its error); None where the
    platform cannot measure it. The call's return value is discarded."""
    with PeakMemory() as peak:
        call(*args, **kwargs)
    return peak.extra_bytes


def data_bytes(dataset) -> int:
    """Bytes of a Dataset's feature matrix X, train and test (counted once when they are
    the same rows), the denominator of the memory ratios."""
    if dataset.X_test is dataset.X_train:
        return int(dataset.X_train.nbytes)
    return int(dataset.X_train.nbytes + dataset.X_test.nbytes)
