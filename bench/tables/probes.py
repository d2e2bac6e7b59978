"""``probes.csv``: how well a logistic regression reads each layer of the CNN (``bench.models._torch.probes``).

One row per (probe dataset, exact model that fitted it): the parent dataset, the network
(``trained`` or ``random``: the untrained control), the layer and its depth (1-5), its number
of features, the probe's test log loss, accuracy and ROC AUC (binary), whether the layer's
training features separate the classes (the LP check), and the probe's largest coefficient
difference to the other exact models of the run (its agreement: each probe is a
well-defined statistical fit).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.tables.schema import PROBE_COLUMNS


def probe_datasets(datasets_info: dict) -> dict[str, dict]:
    """Probe dataset name -> its notes (probe_of, network, layer, depth, separated, n_features).
    ``datasets_info``: run.json's ``datasets``; a probe is a dataset whose notes name its parent."""
    return {name: d for name, d in datasets_info.items() if "probe_of" in d}


def _largest_difference(coef: pd.DataFrame, dataset: str, model: str, inexact: set[str]) -> float:
    """The largest coefficient difference between ``model`` and the other exact models on ``dataset``."""
    pairs = coef[(coef["dataset"] == dataset) & ((coef["model_a"] == model) | (coef["model_b"] == model))]
    others = np.where(pairs["model_a"] == model, pairs["model_b"], pairs["model_a"])
    exact = [f"{dataset}/{other}" not in inexact for other in others]
    return float(pairs.loc[exact, "max_abs_diff"].max()) if any(exact) else np.nan


def probes_frame(
    datasets_info: dict, fits: pd.DataFrame, metrics: pd.DataFrame, agreement: pd.DataFrame, inexact: list[str]
) -> pd.DataFrame:
    """``datasets_info``: run.json's ``datasets``; the other tables as the run wrote them."""
    probes, inexact = probe_datasets(datasets_info), set(inexact)
    ok = fits[(fits["status"] == "ok") & fits["dataset"].isin(probes)]
    scores = metrics[metrics["dataset"].isin(probes)].set_index(["dataset", "model", "metric"])["value"]
    coef = agreement[(agreement["quantity"] == "coef") & agreement["dataset"].isin(probes)]
    rows = []
    for fit in ok.itertuples():
        if f"{fit.dataset}/{fit.model}" in inexact:
            continue
        info = probes[fit.dataset]
        rows.append(
            {
                "dataset": info["probe_of"],
                "network": info["network"],
                "layer": info["layer"],
                "depth": info["depth"],
                "n_features": info["n_features"],
                "model": fit.model,
                "test_log_loss": scores.get((fit.dataset, fit.model, "log_loss"), np.nan),
                "test_accuracy": scores.get((fit.dataset, fit.model, "accuracy"), np.nan),
                "roc_auc": scores.get((fit.dataset, fit.model, "roc_auc"), np.nan),
                "separated": bool(info["separated"]),
                "max_abs_diff": _largest_difference(coef, fit.dataset, fit.model, inexact),
            }
        )
    return pd.DataFrame(rows, columns=PROBE_COLUMNS)
