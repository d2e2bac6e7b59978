"""Report sections about the CNN, the loss table, calibration and the truth (Markdown)."""

from __future__ import annotations

import pandas as pd

from bench.compare import TRUTH
from bench.models.losses import WHY_WRONG

LOSS_TOLERANCE = 1e-6  # float32 logits: the three equivalent losses agree to ~1e-7



def escape(text: str) -> str:
    """Names from the data are text: <, > and & become entities, which Markdown shows as text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

def _metric_table(metrics: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    part = metrics[metrics["metric"].isin(names)]
    if part.empty:
        return part
    wide = part.pivot_table(index=["dataset", "model"], columns="metric", values="value", sort=False)
    return wide[[n for n in names if n in wide.columns]].reset_index()


def cnn_section(results, table) -> list[str]:
    fits = results.fits
    cnn = fits[(fits["model"] == "torch_cnn") & (fits["status"] == "ok")]
    if cnn.empty:
        return []
    from bench.models.cnn import format_shape_trace

    solvers = results.run_info.get("solvers", {})
    out = [
        "## The seed CNN",
        "",
        "The network from the seed article, unchanged: its two outputs are logits (no softmax inside the "
        "network; CrossEntropyLoss applies it). The report uses z1 − z0 as the log-odds of class 1. "
        "Layer by layer (`python -m bench shapes`):",
        "",
        "```",
        format_shape_trace(),
        "```",
        "",
    ]
    for row in cnn.itertuples():
        out.append(f"- **{escape(row.dataset)}**: {solvers.get(f'{row.dataset}/torch_cnn', '')}; trained in {row.fit_seconds:.1f} s.")
    speed = _metric_table(results.metrics, ["train_images_per_second", "inference_images_per_second",
                                            "train_fraction_of_peak", "inference_fraction_of_peak",
                                            "final_epoch_train_loss", "accuracy", "log_loss"])
    out += ["", table(speed[speed["model"] == "torch_cnn"]), ""]
    return out


def last_layer_section(results, table) -> list[str]:
    agreement = results.agreement
    datasets = [d for d in dict.fromkeys(results.fits["dataset"]) if d.endswith(":cnn_features")]
    if not datasets:
        return []
    out = [
        "## The last layer is a logistic regression",
        "",
        "fc3 maps the 84 features after fc2's ReLU to two logits: a logistic regression on learned features. "
        "Below, those features (`h1..h84`) are a dataset of their own. `torch_cnn_fc3` is fc3 as SGD left it "
        "(w1 − w0, b1 − b0); `torch_cnn_fc3_refit` is fc3 refit alone to convergence in float64 with the "
        "linear models' objective (two logits with L2 on both rows at C′ = C/2 equal the binary fit at C). "
        "The refit must agree with every linear model; the distance of fc3 as trained is what SGD left on the table.",
        "",
    ]
    for dataset in datasets:
        part = agreement[(agreement["dataset"] == dataset) & (agreement["quantity"].isin(["coef", "logit"]))]
        fc3 = part[part["model_a"].str.startswith("torch_cnn_fc3") | part["model_b"].str.startswith("torch_cnn_fc3")]
        out += [f"### {escape(dataset)}", "", table(fc3), ""]
    return out


def losses_section(results, table) -> list[str]:
    losses = results.losses
    if losses.empty:
        return []
    shown = losses.copy()
    shown["verdict"] = [
        ("pass" if d <= LOSS_TOLERANCE else "FAIL") if eq else ("differs, as it should" if d > LOSS_TOLERANCE else "UNEXPECTEDLY EQUAL")
        for d, eq in zip(shown["abs_diff_vs_cross_entropy"], shown["equivalent"])
    ]
    return [
        "## Four losses on the CNN's real logits",
        "",
        f"On the CNN's float32 test logits z = (z0, z1). The first three are the same function and agree to "
        f"≤ {LOSS_TOLERANCE:g}; the seed article's \"softmax + NLLLoss\" is not a log loss: {WHY_WRONG}.",
        "",
        table(shown.drop(columns=["note", "equivalent"])),
        "",
    ]


def calibration_section(results, table) -> list[str]:
    names = ["log_loss", "brier", "ece", "cox_slope", "cox_intercept", "calibration_in_the_large",
             "temperature", "ece_temperature_scaled", "log_loss_temperature_scaled"]
    wide = _metric_table(results.metrics, names)
    if wide.empty:
        return []
    wide = wide[wide["model"] != TRUTH]
    return [
        "## Calibration (test set)",
        "",
        "ECE: 15 equal-width confidence bins (Guo et al. 2017). Cox: logistic regression of y on the predicted "
        "logit; slope 1 and intercept 0 are calibrated, slope < 1 is over-confident. Temperature scaling "
        "p = sigmoid(z / T) is fitted on held-out logits by two-fold cross-fitting on the test rows. Reliability "
        "bins for diagrams are in `calibration.csv`.",
        "",
        table(wide),
        "",
    ]


def truth_section(results, table) -> list[str]:
    names = ["log_loss", "log_loss_gap_to_bayes", "logit_rmse_vs_truth", "coef_max_abs_error_vs_truth", "bayes_log_loss"]
    wide = _metric_table(results.metrics, names)
    if wide.empty or "logit_rmse_vs_truth" not in wide.columns:
        return []
    wide = wide[wide["dataset"].isin(wide.loc[wide["logit_rmse_vs_truth"].notna(), "dataset"])]
    return [
        "## Against the truth",
        "",
        "Where the data were generated, the true log-odds of every test row are known. `bayes_log_loss` "
        "(row `truth`) is the mean entropy of the true probabilities: the expected log loss of the best "
        "possible model. The gap is each model's test log loss minus it.",
        "",
        table(wide),
        "",
    ]
