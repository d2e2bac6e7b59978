"""The scale report's comparisons of the exact models, from the run's tables alone (so the report
can call them): the ranking per dataset (fastest first), and how soon each convergence curve
(``bench.curves``) gets within 1e-4, 1e-6 and 1e-8 of the optimum."""

from __future__ import annotations

import numpy as np
import pandas as pd


def ranking_frame(
    fits: pd.DataFrame, coefficients: pd.DataFrame, metrics: pd.DataFrame, datasets_info: dict, inexact: list[str]
) -> pd.DataFrame:
    """The exact models of each dataset with ``passes_over_X`` (the scale suite), fastest first:
    ``fit_seconds``, ``ratio_to_fastest_peer`` (its time over the fastest *other* exact model's),
    ``passes_over_X``, and ``objective_gap``: F - F*, where F = mean log-loss + lambda/2 ||w||^2
    (lambda = 1/(C n); the objective every exact model minimises, scikit-learn's divided by C n)
    from its train log-likelihood and coefficients, and F* the lowest F of the dataset's models."""
    passes = metrics[metrics["metric"] == "passes_over_X"].set_index(["dataset", "model"])["value"]
    columns = ["dataset", "rank", "model", "fit_seconds", "ratio_to_fastest_peer", "passes_over_X", "objective_gap"]
    rows = []
    for dataset in dict.fromkeys(passes.index.get_level_values(0)):
        info = datasets_info.get(dataset, {})
        n, C = info.get("n_train"), info.get("C")
        lam = 1.0 / (C * n) if info.get("penalty") == "l2" and C else 0.0
        ok = fits[(fits["dataset"] == dataset) & (fits["status"] == "ok")]
        ok = ok[[f"{dataset}/{m}" not in set(inexact) for m in ok["model"]]]
        coef = coefficients[(coefficients["dataset"] == dataset) & (coefficients["term"] != "intercept")]
        square = coef.assign(sq=coef["estimate"] ** 2).groupby("model")["sq"].sum()
        objective = {m: -ll / n + 0.5 * lam * square.get(m, 0.0) for m, ll in zip(ok["model"], ok["loglik"])}
        best = min(objective.values()) if objective else np.nan
        ok = ok.sort_values("fit_seconds")
        for rank, fit in enumerate(ok.itertuples(), start=1):
            peers = ok.loc[ok["model"] != fit.model, "fit_seconds"]
            rows.append(
                {
                    "dataset": dataset,
                    "rank": rank,
                    "model": fit.model,
                    "fit_seconds": fit.fit_seconds,
                    "ratio_to_fastest_peer": fit.fit_seconds / peers.min() if len(peers) else np.nan,
                    "passes_over_X": passes.get((dataset, fit.model), np.nan),
                    "objective_gap": objective[fit.model] - best,
                }
            )
    return pd.DataFrame(rows, columns=columns)


REACH_LEVELS = (1e-4, 1e-6, 1e-8)  # relative to |F*|


def time_to_reach(curves: pd.DataFrame, f_star: float) -> pd.DataFrame:
    """Per model of one dataset's curves: its solver, its last suboptimality relative to |F*|,
    and the first time (seconds of a whole capped run) it is within each REACH_LEVELS of F*."""
    rows = []
    for model, part in curves.groupby("model", sort=False):
        row = {
            "model": model,
            "solver": part["solver"].iloc[-1],
            "final_suboptimality": part["suboptimality"].iloc[-1] / abs(f_star),
        }
        for level in REACH_LEVELS:
            within = part[part["suboptimality"] <= level * abs(f_star)]
            row[f"seconds_to_{level:g}"] = within["seconds"].min() if len(within) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
