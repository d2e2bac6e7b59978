"""Quality targets of the trained seed CNN (`tox -e bench`; minutes, so never in the unit tests).

Each case trains ``torch_cnn`` as its suite does (the card's [cnn] settings, the suite's
overrides) for three seeds (``--seed`` 0, 1, 2: the split, the validation rows, the initial
weights and the batch order all change) beside scikit-learn's logistic regression on the same
rows, the stated reference. The targets (issue "The deep side trained to its potential"):

- standard digits (3 vs 8): test accuracy >= 0.98 and log loss <= 0.08;
- standard digits10: accuracy >= 0.96 and log loss <= 0.15;
- standard shapes_large: test log loss within 0.05 of the Bayes log loss;
- quick digits: accuracy >= 0.95 and log loss <= 0.15.

Judged on the median over the seeds; min, median and max of each figure, and the CNN's log
loss over the logistic regression's, go to the benchmark's extra_info.
"""

from __future__ import annotations

import statistics

import pytest

import bench
from bench.config import RunConfig

SEEDS = (0, 1, 2)
THREADS = 2  # the whole machine: the seeds run one after the other
CASES = {
    "standard-digits": ("standard", "digits", {"accuracy": (">=", 0.98), "log_loss": ("<=", 0.08)}),
    "standard-digits10": ("standard", "digits10", {"accuracy": (">=", 0.96), "log_loss": ("<=", 0.15)}),
    "standard-shapes_large": ("standard", "shapes_large", {"log_loss_gap_to_bayes": ("<=", 0.05)}),
    "quick-digits": ("quick", "digits", {"accuracy": (">=", 0.95), "log_loss": ("<=", 0.15)}),
}
SHOWN = ("accuracy", "log_loss", "log_loss_gap_to_bayes", "ece", "ece_temperature_scaled", "chosen_epoch")


def _figures(suite: str, dataset: str, seed: int) -> dict[str, float]:
    config = RunConfig(
        suite=suite, datasets=(dataset,), models=("sklearn_logit", "torch_cnn"), seed=seed, repeats=1, threads=THREADS
    )
    metrics = bench.run(config).metrics
    mine = metrics[(metrics["dataset"] == dataset) & (metrics["model"] == "torch_cnn")]
    figures = dict(zip(mine["metric"], mine["value"]))
    reference = metrics[(metrics["dataset"] == dataset) & (metrics["model"] == "sklearn_logit")]
    figures["reference_log_loss"] = float(reference.loc[reference["metric"] == "log_loss", "value"].iloc[0])
    figures["log_loss_over_reference"] = figures["log_loss"] / figures["reference_log_loss"]
    return figures


@pytest.mark.parametrize("case", list(CASES))
def test_cnn_quality(benchmark, case):
    suite, dataset, targets = CASES[case]
    runs = {}

    def train_every_seed():
        for seed in SEEDS:
            runs[seed] = _figures(suite, dataset, seed)

    benchmark.group = "cnn quality (seconds: three seeds trained one after the other)"
    benchmark.pedantic(train_every_seed, rounds=1, iterations=1)
    for name in (*SHOWN, "reference_log_loss", "log_loss_over_reference"):
        values = [runs[s][name] for s in SEEDS if name in runs[s]]
        if values:
            benchmark.extra_info[name] = {"min": min(values), "median": statistics.median(values), "max": max(values)}
    benchmark.extra_info["by_seed"] = runs
    missed = []
    for name, (direction, target) in targets.items():
        median = statistics.median(runs[s][name] for s in SEEDS)
        if not (median >= target if direction == ">=" else median <= target):
            missed.append(f"{name} median {median:.4g}, target {direction} {target}")
    assert not missed, f"{case}: " + "; ".join(missed)
