"""The sections of index.html, each (anchor, title, html), from the report's DataFrames."""

from __future__ import annotations

import html

import pandas as pd

from bench import plots
from bench.compare import TRUTH
from bench.html import image, table
from bench.models.losses import WHY_WRONG
from bench.report_sections import LOSS_TOLERANCE


def _datasets(results) -> list[str]:
    return list(dict.fromkeys(results.fits["dataset"]))


def coefficients(results) -> str:
    out = ["<p>Log-odds scale. Bars are ±1.96 standard errors (unpenalised fits: every linear model "
           "reports them). Black crosses are the true coefficients of generated data.</p>"]
    for dataset in _datasets(results):
        part = results.coefficients[results.coefficients["dataset"] == dataset]
        if part.empty:
            continue
        wide = part.pivot_table(index="term", columns="model", values="estimate", sort=False).reset_index()
        out.append(f"<h3>{html.escape(dataset)}</h3>{image(plots.coefficient_dots(results.coefficients, dataset), f'coefficients of {dataset}')}"
                   f"<details><summary>table</summary>{table(wide)}</details>")
    return "".join(out)


def effects(results) -> str:
    frame = results.effects
    if frame.empty:
        return ""
    out = ["<p>Average marginal effects dP(y = class)/dx<sub>j</sub>, averaged over the training rows, with "
           "delta-method standard errors (unpenalised fits): statsmodels' <code>get_margeff()</code> beside torch "
           "autograd of the predicted probability and the closed form.</p>"]
    for dataset, part in frame.groupby("dataset", sort=False):
        wide = part.pivot_table(index=["class", "term"], columns="model", values=["ame", "std_error"], sort=False)
        wide.columns = [f"{model} {'AME' if kind == 'ame' else 'SE'}" for kind, model in wide.columns]
        out.append(f"<h3>{html.escape(dataset)}</h3>{table(wide.reset_index())}")
    return "".join(out)


def agreement(verdicts: pd.DataFrame) -> str:
    return ("<p>Every pair of models. <code>max_abs_diff</code> = max |a − b| over aligned entries; "
            "<code>rel_diff</code> divides it by the larger of max |a| and max |b|. The tolerance is absolute. "
            "Pairs with a model that is not an exact fit of the convex objective (the CNN, fc3 as trained) are "
            "<span class=compared>compared</span>, not judged.</p>" + table(verdicts))


def _figures(results, draw, frame, alt: str) -> list[str]:
    """One figure per dataset that has one: a heading and the inline image."""
    out = []
    for dataset in _datasets(results):
        png = draw(frame, dataset)
        if png:
            out.append(f"<h3>{html.escape(dataset)}</h3>{image(png, f'{alt} {dataset}')}")
    return out


def pairs(results) -> str:
    out = _figures(results, plots.pairs_grid, results.predictions, "pairwise logits and probabilities on")
    return ("<p>Each model's test logits against each other's (below the diagonal) and probabilities (above); "
            "points on the dashed line y = x agree.</p>" + "".join(out)) if out else ""


def truth(results) -> str:
    out = _figures(results, plots.against_truth, results.predictions, "logits against the true log-odds on")
    names = ["log_loss", "log_loss_gap_to_bayes", "logit_rmse_vs_truth", "coef_max_abs_error_vs_truth", "bayes_log_loss"]
    metrics = results.metrics[results.metrics["metric"].isin(names)]
    if not out or metrics.empty:
        return ""
    with_truth = set(results.predictions.loc[results.predictions["model"] == TRUTH, "dataset"])
    wide = metrics[metrics["dataset"].isin(with_truth)].pivot_table(index=["dataset", "model"], columns="metric", values="value", sort=False)
    return ("<p>Generated data: the true log-odds of every test row are known. <code>bayes_log_loss</code> "
            "(row <code>truth</code>) is the expected log loss of the true probabilities, the best any model can do.</p>"
            + "".join(out) + table(wide[[n for n in names if n in wide.columns]].reset_index()))


def calibration(results) -> str:
    out = _figures(results, plots.reliability, results.calibration, "reliability diagram for")
    names = ["ece", "ece_temperature_scaled", "temperature", "cox_slope", "cox_intercept", "calibration_in_the_large", "log_loss", "brier"]
    metrics = results.metrics[results.metrics["metric"].isin(names) & (results.metrics["model"] != TRUTH)]
    if metrics.empty:
        return ""
    wide = metrics.pivot_table(index=["dataset", "model"], columns="metric", values="value", sort=False)
    return ("<p>Confidence (probability of the predicted class) against accuracy, 15 equal-width bins (Guo et al. 2017), "
            "before and after temperature scaling fitted on held-out logits (two-fold cross-fitting on the test rows). "
            "Cox slope: regression of y on the predicted logit; 1 is calibrated, below 1 over-confident.</p>"
            + "".join(out) + table(wide[[n for n in names if n in wide.columns]].reset_index()))


def runtime(results) -> str:
    fits = results.fits.copy()
    solvers = results.run_info.get("solvers", {})
    fits["solver"] = [solvers.get(f"{d}/{m}", "") for d, m in zip(fits["dataset"], fits["model"])]
    shown = fits[["dataset", "model", "status", "solver", "n_iter", "converged", "loglik", "fit_seconds", "predict_seconds",
                  "peak_extra_bytes", "message"]]
    speed = results.metrics[results.metrics["metric"].isin([
        "train_images_per_second", "inference_images_per_second", "train_fraction_of_peak",
        "inference_fraction_of_peak", "matmul_peak_gflops"])]
    speed_table = table(speed.pivot_table(index=["dataset", "model"], columns="metric", values="value").reset_index()) if len(speed) else ""
    return ("<p>Only <code>fit()</code> and <code>predict()</code> are timed (wall clock, minimum over the repeats after "
            "one warm-up). The CNN's training run is measured once; its images/second are also given as a fraction "
            "of this machine's float32 matmul peak (a 1024³ GEMM timed in the same process; training counts 3× the "
            "forward FLOPs, 127.7 MFLOP per image).</p>"
            + image(plots.runtime(results.fits), "fit and predict seconds") + table(shown, verdict_column="status")
            + speed_table)


def cnn(results) -> str:
    if not (results.fits["model"] == "torch_cnn").any():
        return ""
    from bench.models.cnn import format_shape_trace

    return ("<p>The seed article's network, unchanged; its two outputs are logits (CrossEntropyLoss applies the "
            "softmax). The report reads z1 − z0 as the log-odds of class 1.</p>"
            f"<pre>{html.escape(format_shape_trace())}</pre>")


def last_layer(results, verdicts: pd.DataFrame) -> str:
    out = []
    for dataset in [d for d in _datasets(results) if d.endswith(":cnn_features")]:
        part = verdicts[(verdicts["dataset"] == dataset) & verdicts["quantity"].isin(["coef", "logit"])]
        mine = part[part["model_a"].str.startswith("torch_cnn_fc3") | part["model_b"].str.startswith("torch_cnn_fc3")]
        out.append(f"<h3>{html.escape(dataset)}</h3>{table(mine)}")
    if not out:
        return ""
    return ("<p>fc3 maps the 84 features after fc2's ReLU to two logits: a logistic regression on learned features. "
            "<code>torch_cnn_fc3_refit</code> is fc3 refit alone in float64 with the linear models' objective (two "
            "logits at C′ = C/2 equal the binary fit at C) and must agree with them; <code>torch_cnn_fc3</code> is fc3 "
            "as SGD left it.</p>" + "".join(out))


def losses(results) -> str:
    frame = results.losses
    if frame.empty:
        return ""
    shown = frame.copy()
    shown["verdict"] = [
        ("pass" if d <= LOSS_TOLERANCE else "FAIL") if eq else ("compared" if d > LOSS_TOLERANCE else "FAIL")
        for d, eq in zip(shown["abs_diff_vs_cross_entropy"], shown["equivalent"])
    ]
    return (f"<p>On the CNN's float32 test logits. The first three are one function and agree to ≤ {LOSS_TOLERANCE:g}. "
            f"The seed's “softmax + NLLLoss” is not a log loss: {html.escape(WHY_WRONG)}.</p>"
            + table(shown.drop(columns=["note", "equivalent"])))


def sections(results, verdicts: pd.DataFrame) -> list[tuple[str, str, str]]:
    return [
        ("coefficients", "Coefficients", coefficients(results)),
        ("agreement", "Agreement", agreement(verdicts)),
        ("effects", "Marginal effects", effects(results)),
        ("pairs", "Logits and probabilities, pair by pair", pairs(results)),
        ("truth", "Against the truth", truth(results)),
        ("calibration", "Calibration", calibration(results)),
        ("runtime", "Fits and runtime", runtime(results)),
        ("cnn", "The seed CNN", cnn(results)),
        ("last-layer", "The last layer is a logistic regression", last_layer(results, verdicts)),
        ("losses", "Four losses on the CNN's logits", losses(results)),
    ]
