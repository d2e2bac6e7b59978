"""Verdicts and the per-dataset summary that both report.md and index.html open with."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from bench.config import TOLERANCES


def agreement_with_verdict(agreement: pd.DataFrame, inexact: list[str] = ()) -> pd.DataFrame:
    """The agreement table with each quantity's tolerance and a verdict: pass / FAIL, or
    "compared" where a model is not expected to agree (a CNN, a last layer as trained)."""
    frame = agreement.copy()
    frame["tolerance"] = frame["quantity"].map(TOLERANCES)
    inexact = set(inexact)
    verdicts = []
    for row in frame.itertuples():
        if f"{row.dataset}/{row.model_a}" in inexact or f"{row.dataset}/{row.model_b}" in inexact:
            verdicts.append("compared")
        else:
            verdicts.append("pass" if row.max_abs_diff <= row.tolerance else "FAIL")
    frame["verdict"] = verdicts
    return frame


QUANTITY_NAMES = {
    "coef": "coefficients",
    "logit": "test logits",
    "proba": "probabilities",
    "loglik": "log-likelihood",
    "std_error": "standard errors",
    "ame": "marginal effects",
    "ame_std_error": "their standard errors",
}


def _quantities(checks: pd.DataFrame) -> str:
    names = [QUANTITY_NAMES.get(q, q) for q in dict.fromkeys(checks["quantity"])]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


@dataclass
class DatasetSummary:
    dataset: str
    verdict: str  # "pass", "FAIL", "separated" (no MLE), or "none" (fewer than two exact fits)
    text: str
    notes: list[str] = field(default_factory=list)


def summarize(results, verdicts: pd.DataFrame) -> list[DatasetSummary]:
    """One entry per dataset: do the exact fits agree, how far are the others, what failed."""
    inexact = set(results.run_info.get("inexact", []))
    out = []
    for dataset, part in results.fits.groupby("dataset", sort=False):
        checks = verdicts[(verdicts["dataset"] == dataset) & (verdicts["verdict"] != "compared")]
        judged = set(checks["model_a"]) | set(checks["model_b"])
        ok = [m for m in part.loc[part["status"] == "ok", "model"] if m in judged]
        found = part[part["status"].isin(("separated", "singular"))]
        if len(ok) < 2 and len(found):
            why = (
                "the likelihood has no maximum and the coefficients would diverge"
                if found["status"].iloc[0] == "separated"
                else "the coefficients are not identified"
            )
            entry = DatasetSummary(
                dataset,
                "separated",
                f"{found['message'].iloc[0]}. {', '.join(found['model'])} were not fitted: {why}; "
                "--penalty l2 gives a unique, finite fit",
            )
        elif len(ok) < 2:
            entry = DatasetSummary(dataset, "none", "fewer than two exact fits, nothing held to the tolerances")
        elif (checks["verdict"] == "pass").all():
            worst = checks.loc[checks["max_abs_diff"].idxmax()]
            entry = DatasetSummary(
                dataset,
                "pass",
                f"{', '.join(ok)} agree on {_quantities(checks)}; "
                f"largest difference {worst['max_abs_diff']:.1e} ({worst['quantity']}, {worst['model_a']} vs "
                f"{worst['model_b']}), tolerance {TOLERANCES[worst['quantity']]:.0e}: pass",
            )
        else:
            failing = checks[checks["verdict"] == "FAIL"]
            entry = DatasetSummary(
                dataset,
                "FAIL",
                f"{len(failing)} comparison(s) over tolerance: "
                + "; ".join(
                    f"{r.model_a} vs {r.model_b} {r.quantity} {r.max_abs_diff:.1e} (tolerance {r.tolerance:.0e})"
                    for r in failing.itertuples()
                ),
            )
        compared = verdicts[
            (verdicts["dataset"] == dataset) & (verdicts["verdict"] == "compared") & (verdicts["quantity"] == "logit")
        ]
        trained = results.run_info.get("training", {})
        for model in dict.fromkeys(m for m in part["model"] if f"{dataset}/{m}" in inexact):
            mine = compared[(compared["model_a"] == model) | (compared["model_b"] == model)]
            if f"{dataset}/{model}" in trained and (part["model"] == model).any():
                exact_ok = [m for m in part.loc[part["status"] == "ok", "model"] if f"{dataset}/{m}" not in inexact]
                note = network_note(results, verdicts, dataset, model, exact_ok)
                if note:
                    entry.notes.append(note)
            elif len(mine):
                closest = mine.loc[mine["max_abs_diff"].idxmin()]
                other = closest["model_b"] if closest["model_a"] == model else closest["model_a"]
                entry.notes.append(
                    f"{model} (not an exact fit, compared only): its test logits differ by up to "
                    f"{closest['max_abs_diff']:.3g} from {other}'s, the closest model"
                )
        for r in part[part["status"] == "failed"].itertuples():
            entry.notes.append(f"{r.model}: failed: {r.message}")
        out.append(entry)
    return out


def _metric(metrics: pd.DataFrame, dataset: str, model: str, name: str) -> float | None:
    value = metrics.loc[(metrics["dataset"] == dataset) & (metrics["model"] == model) & (metrics["metric"] == name)]
    return float(value["value"].iloc[0]) if len(value) else None


def network_note(results, verdicts: pd.DataFrame, dataset: str, model: str, exact_models: list[str]) -> str:
    """How a trained network compares with the logistic regressions on the same rows, in words and
    numbers: test log loss and accuracy, calibration before and after temperature scaling, the kept
    epoch, and how closely its last layer, refit on its own features, agrees with them."""
    metrics, info = results.metrics, results.run_info
    log_loss, accuracy = _metric(metrics, dataset, model, "log_loss"), _metric(metrics, dataset, model, "accuracy")
    if log_loss is None:
        return ""
    described = info.get("datasets", {}).get(dataset, {})
    linear = [v for m in exact_models if (v := _metric(metrics, dataset, m, "log_loss")) is not None]
    text = (
        f"{model} on {described.get('images') or 'the'} pixels: test log loss {log_loss:.3g} (accuracy {accuracy:.3g})"
    )
    if linear:
        text += (
            f" against {sorted(linear)[len(linear) // 2]:.3g} for the logistic regressions on the "
            f"{described.get('n_features', '?')} features"
        )
    gap = _metric(metrics, dataset, model, "log_loss_gap_to_bayes")
    if gap is not None:
        text += f", {gap:.3g} above the Bayes log loss"
    ece, scaled = _metric(metrics, dataset, model, "ece"), _metric(metrics, dataset, model, "ece_temperature_scaled")
    temperature = _metric(metrics, dataset, model, "temperature")
    if ece is not None and scaled is not None:
        text += f"; ECE {ece:.2g}, {scaled:.2g} after temperature scaling (T = {temperature:.3g})"
    training = info.get("training", {}).get(f"{dataset}/{model}", {})
    if training:
        text += (
            f"; epoch {training.get('chosen_epoch')} of {training.get('epochs_trained')} kept: "
            f"{training.get('why', 'the lowest validation log loss')}"
        )
    refit = verdicts[
        (verdicts["dataset"] == f"{dataset}:cnn_features")
        & (verdicts["verdict"] != "compared")
        & ((verdicts["model_a"] == f"{model}_fc3_refit") | (verdicts["model_b"] == f"{model}_fc3_refit"))
    ]
    if len(refit):
        features = info.get("datasets", {}).get(f"{dataset}:cnn_features", {}).get("n_features", "learned")
        text += (
            f". Its last layer, refit on its {features} features, agrees with the logistic "
            f"regressions to {refit['max_abs_diff'].max():.1e}"
        )
    return text


LOSS_TOLERANCE = 1e-6  # float32 logits: the three equivalent losses agree to ~1e-7


def losses_with_verdict(losses: pd.DataFrame) -> pd.DataFrame:
    """The loss table with what each loss is expected to do and whether it does: the
    equivalent losses must equal cross-entropy (within ``LOSS_TOLERANCE``), the seed's
    "softmax + NLLLoss" must differ from it. ``pass`` when the expectation holds."""
    frame = losses.copy()
    equivalent = frame["equivalent"].astype(bool)
    close = frame["abs_diff_vs_cross_entropy"] <= LOSS_TOLERANCE
    frame["expected"] = ["equal" if e else "different" for e in equivalent]
    frame["verdict"] = ["pass" if ok else "FAIL" for ok in (close == equivalent)]
    return frame
