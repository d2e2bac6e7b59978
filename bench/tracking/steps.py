"""Steps in a noisy series: where a tracked number moved for good (``bench history --regressions``).

The idea of asv's ``asv.step_detect``, compactly: the series is taken to be piecewise constant
plus noise, and is fitted with the piecewise constant function that minimises

    gamma * (number of segments) + sum over segments of sum |y_i - median(segment)|

(a Potts model in the L1 norm: robust to a single wild run), solved exactly by dynamic
programming over the segment ends. The penalty gamma is chosen, as asv does, by scanning it on a
log grid and keeping the fit that minimises a Schwarz-like information criterion,

    beta * (number of segments) + ln(sigma_0 + total L1 deviation),   beta = 4 ln(n) / n,

where sigma_0 is a small noise floor (a tenth of the smallest jump between levels, or a
thousandth of the level when there is at most one jump) so that a noiseless series is not
split for free. Unlike asv, a segment holds at least ``min_size`` runs (2): one odd run never
makes a step, and a step at the newest run is reported once a second run confirms it. A jump
between two segments is reported when it exceeds the mean absolute deviation within both (and
rounding: 1e-9 of the level).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Step:
    position: int  # index of the first run at the new level
    before: float  # median of the segment before
    after: float  # median of the segment from ``position`` on


def segment_costs(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cost, level): for every segment y[l..r], the sum of |y - median| and the median.

    Two heaps per left end (the lower half a max-heap, the upper half a min-heap, with their
    sums) give each right end's median and deviation in O(log n)."""
    n = len(y)
    cost, level = np.full((n, n), np.inf), np.full((n, n), np.nan)
    for left in range(n):
        low: list[float] = []  # negated: a max-heap
        high: list[float] = []
        low_sum = high_sum = 0.0
        for right in range(left, n):
            value = float(y[right])
            if low and value > -low[0]:
                heapq.heappush(high, value)
                high_sum += value
            else:
                heapq.heappush(low, -value)
                low_sum += value
            if len(low) > len(high) + 1:
                moved = -heapq.heappop(low)
                low_sum -= moved
                heapq.heappush(high, moved)
                high_sum += moved
            elif len(high) > len(low):
                moved = heapq.heappop(high)
                high_sum -= moved
                heapq.heappush(low, -moved)
                low_sum += moved
            median = -low[0] if len(low) > len(high) else (-low[0] + high[0]) / 2
            cost[left, right] = max(0.0, high_sum - len(high) * median + len(low) * median - low_sum)
            level[left, right] = median
    return cost, level


def partition(cost: np.ndarray, gamma: float, min_size: int = 2) -> list[tuple[int, int]]:
    """The segments [start, end) minimising gamma * count + their costs, each ``min_size`` long at least."""
    n = cost.shape[0]
    if n < 2 * min_size:
        return [(0, n)]
    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    start = np.zeros(n + 1, dtype=int)
    for end in range(min_size, n + 1):
        lefts = np.arange(0, end - min_size + 1)
        totals = best[lefts] + cost[lefts, end - 1] + gamma
        i = int(np.argmin(totals))
        best[end], start[end] = totals[i], lefts[i]
    segments, end = [], n
    while end > 0:
        segments.append((int(start[end]), end))
        end = int(start[end])
    return segments[::-1]


def _criterion(segments, cost, level, n: int) -> float:
    levels = [level[a, b - 1] for a, b in segments]
    jumps = [abs(u - v) for u, v in zip(levels, levels[1:])]
    sigma_0 = 0.1 * min(jumps) if len(levels) > 2 else 0.001 * min(abs(v) for v in levels)
    deviation = sum(cost[a, b - 1] for a, b in segments)
    return 4 * math.log(n) / n * len(segments) + math.log(max(sigma_0, 1e-300) + deviation)


def detect_steps(values, min_size: int = 2, relative_floor: float = 1e-9) -> list[Step]:
    """The steps of a series (NaN entries are skipped; positions index ``values``). A jump smaller
    than ``relative_floor`` times the level is rounding, not a step."""
    values = np.asarray(values, dtype=float)
    kept = np.flatnonzero(np.isfinite(values))
    y = values[kept]
    n = len(y)
    if n < 2 * min_size:
        return []
    cost, level = segment_costs(y)
    gamma_0 = cost[0, n - 1] or 1.0
    fits = [partition(cost, g, min_size) for g in gamma_0 * np.geomspace(0.1 / n, 1.0, 24)]
    segments = min(fits, key=lambda s: _criterion(s, cost, level, n))
    steps = []
    for (a, b), (c, d) in zip(segments, segments[1:]):
        before, after = level[a, b - 1], level[c, d - 1]
        noise = max(cost[a, b - 1] / (b - a), cost[c, d - 1] / (d - c))
        if abs(after - before) > max(noise, relative_floor * max(abs(before), abs(after))):
            steps.append(Step(int(kept[c]), float(before), float(after)))
    return steps
