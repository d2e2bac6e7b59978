"""What the report says, decided once: each section's text, rows, verdict labels and metrics.

``sections(results)`` returns the report as a list of ``Section`` objects made of a few
kinds of block (text, a heading, a table, a figure, preformatted text). ``bench.report.html``
and ``bench.report.markdown`` render the same blocks, so index.html and report.md show the
same values with the same labels; only figures are HTML-only (Markdown points to them).
Text blocks may mark code with backticks; the renderers turn that into their own markup.
"""

from __future__ import annotations

import re
from functools import partial

import pandas as pd

from bench.config import TOLERANCES
from bench.report import plots
from bench.report.blocks import Code, Figure, Heading, Section, Table, Text, without_probes
from bench.tables.probes import probe_datasets
from bench.tables.ranking import ranking_frame, time_to_reach
from bench.tables.schema import TRUTH
from bench.tables.verdicts import LOSS_TOLERANCE, agreement_with_verdict, losses_with_verdict

# which metrics each section shows, in this order (names as in metrics.csv; columns as in fits.csv)
CORE_METRICS = "log_loss brier accuracy roc_auc fit_seconds_median predict_seconds_median".split()
TRUTH_METRICS = "log_loss log_loss_gap_to_bayes logit_rmse_vs_truth coef_max_abs_error_vs_truth bayes_log_loss".split()
CALIBRATION_METRICS = (
    "log_loss brier ece cox_slope cox_intercept calibration_in_the_large temperature ece_temperature_scaled "
    "log_loss_temperature_scaled"
).split()
SPEED_METRICS = (
    "train_images_per_second inference_images_per_second train_fraction_of_peak inference_fraction_of_peak "
    "matmul_peak_gflops"
).split()
FIT_COLUMNS = (
    "dataset model status solver n_iter converged loglik fit_seconds predict_seconds peak_extra_bytes message"
).split()


# --- helpers ------------------------------------------------------------------------------


def _datasets(results) -> list[str]:
    return list(dict.fromkeys(results.fits["dataset"]))


def _wide_metrics(metrics: pd.DataFrame, names: list[str], index=("dataset", "model")) -> pd.DataFrame:
    part = metrics[metrics["metric"].isin(names)]
    if part.empty:
        return part
    wide = part.pivot_table(index=list(index), columns="metric", values="value", sort=False)
    return wide[[n for n in names if n in wide.columns]].reset_index()


def _rows(frame: pd.DataFrame, dataset: str) -> pd.DataFrame:
    return frame[frame["dataset"] == dataset]


def _figures(results, draw, frame, alt: str, only: set[str] | None = None) -> list:
    """A figure per dataset, titled with its name (drawing is left to the renderer). Each figure's
    ``draw`` is a plot function with that dataset's rows (``partial``): small to send to a worker
    process that draws it (``bench.report.writer``)."""
    return [
        Figure(partial(draw, _rows(frame, dataset), dataset), f"{alt} {dataset}", title=dataset)
        for dataset in _datasets(results)
        if only is None or dataset in only
    ]


# --- the sections -------------------------------------------------------------------------


def datasets(results) -> list:
    described = pd.DataFrame(results.run_info.get("datasets", {}).values())
    if described.empty:
        return []
    return [Table(described.drop(columns=["description"], errors="ignore"), verdict_column=None)]


def coefficients(results) -> list:
    blocks = []
    for dataset, part in results.coefficients.groupby("dataset", sort=False):
        wide = part.pivot_table(index="term", columns="model", values="estimate", sort=False)
        errors = part.pivot_table(index="term", columns="model", values="std_error", sort=False)
        for model in errors.columns:
            wide[f"{model} SE"] = errors[model]
        blocks += [
            Heading(dataset),
            Figure(partial(plots.coefficient_dots, part, dataset), f"coefficients of {dataset}"),
            Table(wide.reset_index(), verdict_column=None, collapsed=True),
        ]
    if not blocks:
        return []
    return [
        Text(
            "Log-odds scale. Columns ending in SE are standard errors (unpenalised fits: every linear model "
            "reports them); the figures draw them as ±1.96 SE bars. `truth` is the generating model of "
            "synthetic data (black crosses)."
        ),
        *blocks,
    ]


def agreement(results, verdicts: pd.DataFrame) -> list:
    return [
        Text(
            "Every pair of models. `max_abs_diff` = max |a − b| over aligned entries; `rel_diff` divides it "
            "by the larger of max |a| and max |b|. The tolerance is absolute. Pairs with a model that is not an "
            "exact fit of the convex objective (the CNN, fc3 as trained) are `compared`, not judged."
        ),
        Table(verdicts),
    ]


def effects(results) -> list:
    if results.effects.empty:
        return []
    blocks = [
        Text(
            "Average marginal effects dP(y = class)/dx_j, averaged over the training rows, with delta-method "
            "standard errors (unpenalised fits): statsmodels' `get_margeff()` beside torch autograd of the "
            "predicted probability and the closed form."
        )
    ]
    for dataset, part in results.effects.groupby("dataset", sort=False):
        wide = part.pivot_table(index=["class", "term"], columns="model", values=["ame", "std_error"], sort=False)
        wide.columns = [f"{model} {'AME' if kind == 'ame' else 'SE'}" for kind, model in wide.columns]
        blocks += [Heading(dataset), Table(wide.reset_index(), verdict_column=None)]
    return blocks


def test_metrics(results) -> list:
    blocks = []
    core = results.metrics[results.metrics["model"] != TRUTH]
    for dataset, part in core.groupby("dataset", sort=False):
        wide = _wide_metrics(part, CORE_METRICS, index=("model",))
        if not wide.empty:
            blocks += [Heading(dataset), Table(wide, verdict_column=None)]
    return blocks


def pairs(results) -> list:
    if results.predictions.empty:
        return []
    return [
        Text(
            "Each model's test logits (top row) and probabilities (bottom row) against the run's first model's; "
            "points on the dashed line y = x agree. Every pair's largest difference is in the agreement table."
        ),
        *_figures(results, plots.pairs_grid, results.predictions, "pairwise logits and probabilities on"),
    ]


def truth(results) -> list:
    wide = _wide_metrics(results.metrics, TRUTH_METRICS)
    if wide.empty or "logit_rmse_vs_truth" not in wide.columns:
        return []
    with_truth = set(wide.loc[wide["logit_rmse_vs_truth"].notna(), "dataset"])
    figures = _figures(
        results, plots.against_truth, results.predictions, "logits against the true log-odds on", with_truth
    )
    return [
        Text(
            "Where the data were generated, the true log-odds of every test row are known. `bayes_log_loss` "
            "(row `truth`) is the mean entropy of the true probabilities: the expected log loss of the best "
            "possible model. The gap is each model's test log loss minus it."
        ),
        *figures,
        Table(wide[wide["dataset"].isin(with_truth)], verdict_column=None),
    ]


def calibration(results) -> list:
    wide = _wide_metrics(results.metrics[results.metrics["model"] != TRUTH], CALIBRATION_METRICS)
    if wide.empty:
        return []
    return [
        Text(
            "Confidence (probability of the predicted class) against accuracy in 15 equal-width bins (ECE, Guo "
            "et al. 2017), before and after temperature scaling p = softmax(z / T), T fitted on held-out logits "
            "by two-fold cross-fitting on the test rows. Cox: logistic regression of y on the predicted logit; "
            "slope 1 and intercept 0 are calibrated, slope < 1 is over-confident. The bins are in "
            "`calibration.csv`."
        ),
        *_figures(results, plots.reliability, results.calibration, "reliability diagram for"),
        Table(wide, verdict_column=None),
    ]


def runtime(results) -> list:
    fits = results.fits.copy()
    solvers = results.run_info.get("solvers", {})
    fits["solver"] = [solvers.get(f"{d}/{m}", "") for d, m in zip(fits["dataset"], fits["model"])]
    blocks = [
        Text(
            "Only `fit()` and `predict()` are timed (wall clock, `perf_counter`, the minimum over the timed "
            "repeats after one warm-up; the median is in `metrics.csv`, every call in `timings.csv`). A fast "
            "fit or predict is repeated until its calls add up to a time budget (`adaptive_repeats` in `run.json`). "
            "`loglik` is the training "
            "log-likelihood at the fitted parameters (unpenalised). `peak_extra_bytes`: peak resident memory "
            "of preparing and the first fit beyond the data already held."
        ),
        Figure(partial(plots.runtime, results.fits), "fit and predict seconds"),
        Table(fits[FIT_COLUMNS], verdict_column="status"),
    ]
    ranking = ranking_frame(
        results.fits,
        results.coefficients,
        results.metrics,
        results.run_info.get("datasets", {}),
        results.run_info.get("inexact", []),
    )
    if not ranking.empty:
        bandwidth = results.run_info.get("memory_bandwidth_bytes_per_second") or float("nan")
        blocks += [
            Text(
                "Data larger than any cache: the exact models fastest first. `ratio_to_fastest_peer` is a model's "
                "fit time over the fastest other exact model's (same run, same optimum); `passes_over_X` its fit "
                f"time in units of one read of X_train at the memory bandwidth measured in this run "
                f"({bandwidth / 1e9:.1f} GB/s, one thread): the distance from what the hardware allows. "
                "`objective_gap` is F − F*, F = mean log-loss + λ/2‖w‖² from its coefficients, F* the lowest "
                "of the models: how far each stopped from the optimum."
            ),
            Table(ranking, verdict_column=None),
        ]
    speed = _wide_metrics(results.metrics, SPEED_METRICS)
    if not speed.empty:
        blocks += [
            Text(
                "The CNN's images per second, also as a fraction of this machine's float32 matmul peak (a "
                "1024³ GEMM timed in the same process with the fit's threads; training counts 3× the forward "
                "FLOPs)."
            ),
            Table(speed, verdict_column=None),
        ]
    return blocks


def convergence(results) -> list:
    """The scale suite's convergence curves (``bench.curves``): the figure and the time to reach."""
    curves, info = results.curves, results.run_info.get("curves", {})
    if curves.empty:
        return []
    blocks = [
        Text(
            "How fast each exact model gets to the optimum, not only when it stopped: each model refitted from its "
            "own start with a growing iteration cap (max_iter = 1, 2, 4, 5, 8, 11, ...; benchopt's iteration "
            "sampling), each point one whole capped run: its time, and F = mean log-loss + λ/2‖w‖² at the "
            "coefficients it returned. F* is the lowest F reached, polished by one Newton step. Every point is in "
            "`curves.csv`; `python -m bench curves --dataset NAME` draws one dataset's."
        )
    ]
    for dataset, part in curves.groupby("dataset", sort=False):
        f_star = info.get(dataset, {}).get("f_star", part["objective"].min())
        blocks += [
            Heading(dataset),
            Figure(partial(plots.convergence, part, dataset, f_star), f"convergence curves on {dataset}"),
            Table(time_to_reach(part, f_star), verdict_column=None),
        ]
    return blocks


def cnn(results) -> list:
    fits = results.fits
    trained = fits[(fits["model"] == "torch_cnn") & (fits["status"] == "ok")]
    if trained.empty:
        return []
    solvers = results.run_info.get("solvers", {})
    blocks = [
        Text(
            "The seed article's network, unchanged: its outputs are logits (no softmax inside the network; "
            "CrossEntropyLoss applies it). The report reads z1 − z0 as the log-odds of class 1."
        )
    ]
    trace = results.run_info.get("architectures", {}).get("torch_cnn")
    if trace:
        blocks += [Text("Layer by layer (`python -m bench shapes`):"), Code(trace)]
    blocks.append(
        Text(
            "Training: inputs standardised with the fitted rows' channel statistics; AdamW with a one-cycle "
            "learning-rate schedule; a stratified validation share of the training rows (the test rows are never "
            "used for a choice); the weights of the epoch with the lowest validation log loss are kept. Settings and "
            "channel statistics are in `run.json` (`training`), every epoch in `training.csv`."
        )
    )
    speed = _wide_metrics(
        results.metrics,
        ["chosen_epoch", "epochs_trained", "validation_log_loss", "accuracy", "log_loss", *SPEED_METRICS[:4]],
    )
    if not speed.empty:
        blocks.append(Table(speed[speed["model"] == "torch_cnn"], verdict_column=None))
    for row in trained.itertuples():
        blocks += learning_curve(results, row.dataset, row.model, row.fit_seconds, solvers)
    return blocks


def learning_curve(results, dataset: str, model: str, seconds: float, solvers: dict) -> list:
    """One trained network's curve: how it was trained, the figure, the numbers; the kept epoch marked."""
    training = results.run_info.get("training", {}).get(f"{dataset}/{model}", {})
    part = results.training[(results.training["dataset"] == dataset) & (results.training["model"] == model)]
    blocks = [
        Heading(f"{dataset}: learning curve"),
        Text(f"{solvers.get(f'{dataset}/{model}', '')}; trained in {seconds:.1f} s."),
    ]
    if training:
        blocks.append(Text(f"Kept epoch {training.get('chosen_epoch')}: {training.get('why', '')}."))
    if part.empty:
        return blocks
    chosen = training.get("chosen_epoch")
    wide = part.pivot_table(index="epoch", columns="split", values=["loss", "accuracy"], sort=True)
    wide.columns = [f"{split} {kind}" for kind, split in wide.columns]
    order = ["train loss", "train accuracy", "validation loss", "validation accuracy"]
    wide = wide[[c for c in order if c in wide.columns]].reset_index()
    wide["kept"] = ["kept" if epoch == chosen else "" for epoch in wide["epoch"]]
    slug = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{dataset}-{model}")
    return [
        *blocks,
        Figure(
            partial(plots.learning_curve, _rows(results.training, dataset), dataset, model, chosen),
            f"learning curve of {model} on {dataset}",
            file=f"learning-curve-{slug}.png",
        ),
        Table(wide, verdict_column=None, collapsed=True),
    ]


def last_layer(results, verdicts: pd.DataFrame) -> list:
    blocks = []
    for dataset in [d for d in _datasets(results) if d.endswith(":cnn_features")]:
        part = verdicts[(verdicts["dataset"] == dataset) & verdicts["quantity"].isin(["coef", "logit"])]
        fc3 = part[part["model_a"].str.startswith("torch_cnn_fc3") | part["model_b"].str.startswith("torch_cnn_fc3")]
        blocks += [Heading(dataset), Table(fc3)]
    if not blocks:
        return []
    return [
        Text(
            "fc3 maps the 84 features after fc2's ReLU to two logits: a logistic regression on learned features. "
            "Below, those features (`h1..h84`) are a dataset of their own. `torch_cnn_fc3` is fc3 as training left "
            "it (w1 − w0, b1 − b0); `torch_cnn_fc3_refit` is fc3 refit alone to convergence in float64 with the "
            "linear models' objective (two logits with L2 on both rows at C′ = C/2 equal the binary fit at C). "
            "The refit must agree with every linear model; the distance of fc3 as trained is what training left on "
            "the table."
        ),
        *blocks,
    ]


def losses(results) -> list:
    if results.losses.empty:
        return []
    judged = losses_with_verdict(results.losses)
    wrong = judged.loc[~judged["equivalent"].astype(bool), "note"]
    why = f" The seed article's “softmax + NLLLoss” is not a log loss: {wrong.iloc[0]}." if len(wrong) else ""
    return [
        Text(
            f"On the CNN's float32 test logits z = (z0, z1). The first three are one function and must agree "
            f"with CrossEntropyLoss to ≤ {LOSS_TOLERANCE:g}; the fourth must differ.{why}"
        ),
        Table(judged.drop(columns=["note", "equivalent"])),
    ]


def probes(results) -> list:
    """Every layer of the CNN read by logistic regressions (``probes.csv``), trained against untrained."""
    table = results.probes
    if table.empty:
        return []
    blocks = [
        Text(
            "At each depth of the seed CNN, the layer's features (after its ReLU; the convolution stages after "
            "their pool, averaged to 2 × 2 per channel: 24, 64 and 128 features; fc1 120, fc2 84) are a dataset "
            "`NAME:probe:NETWORK:LAYER` with the parent's rows, split, penalty and C, not standardised, "
            "and every exact linear model of the run fits it (Alain & Bengio's linear probes). `trained` is the "
            "trained network; `random` the same network with its initial, untrained weights (the control). "
            "The test log loss says how linearly the classes can be read at that depth; `separated` is the LP "
            "check on the layer's training features (the classes split by a hyperplane); `max_abs_diff` the "
            "probe's largest coefficient difference to the other exact models, held to the coefficient "
            f"tolerance {TOLERANCES['coef']:g}. The trained fc2 probe reads the same 84 features as the last-layer "
            "refit (`:cnn_features`), so its coefficients are the refit's."
        )
    ]
    names = probe_datasets(results.run_info.get("datasets", {}))
    failed = results.fits[results.fits["dataset"].isin(list(names)) & (results.fits["status"] == "failed")]
    if len(failed):
        blocks += [Text(f"{len(failed)} probe fit(s) failed:"), Table(failed[["dataset", "model", "message"]], None)]
    cnn_scores = _wide_metrics(results.metrics[results.metrics["model"] == "torch_cnn"], ["log_loss", "accuracy"])
    for dataset, part in table.groupby("dataset", sort=False):
        own = cnn_scores[cnn_scores["dataset"] == dataset]
        reference = (
            {"test_log_loss": own["log_loss"].iloc[0], "test_accuracy": own["accuracy"].iloc[0]} if len(own) else {}
        )
        part = part.assign(order=part["network"].map({"trained": 0, "random": 1}))
        wide = (
            part.groupby(["depth", "layer", "order", "network"], sort=True)
            .agg(
                n_features=("n_features", "first"),
                test_log_loss=("test_log_loss", "median"),
                test_accuracy=("test_accuracy", "median"),
                separated=("separated", "first"),
                max_abs_diff=("max_abs_diff", "max"),
            )
            .reset_index()
            .drop(columns="order")
        )
        wide["verdict"] = ["pass" if d <= TOLERANCES["coef"] else "FAIL" for d in wide["max_abs_diff"]]
        first = {
            network: rows.loc[rows["separated"].astype(bool), "layer"].head(1).tolist()
            for network, rows in wide.groupby("network", sort=False)
        }
        said = "; ".join(
            f"{network}: first at {found[0]}" if found else f"{network}: at no depth"
            for network, found in first.items()
        )
        blocks += [
            Heading(dataset),
            Figure(
                partial(plots.probes, _rows(table, dataset), dataset, reference), f"probes through the CNN on {dataset}"
            ),
            Text(f"First linearly separable (training features) — {said}."),
            Table(wide),
        ]
    return blocks


def conventions(results) -> list:
    tolerances = ", ".join(f"{q} {t:g}" for q, t in TOLERANCES.items())
    return [
        Text(
            "Binary models report class 1: `logit` is the log-odds of y = 1, `proba` = sigmoid(logit). K classes: "
            "one row per class, `logit` = z_k − z_0 (class 0 the reference), `proba` the softmax."
        ),
        Text(
            "L2 means scikit-learn's objective C·Σ log-loss + ½‖w‖², intercept unpenalised. torch minimises mean "
            "BCE + λ/2‖w‖² with λ = 1/(C·n); statsmodels maximises loglike − ‖w‖²/(2C). Same optimum. "
            "Unpenalised fits are maximum likelihood (scikit-learn `C = inf`)."
        ),
        Text(f"Absolute tolerances between exact fits: {tolerances}."),
    ]


def sections(results) -> list[Section]:
    """Every section with something to show, in reading order. The probe datasets appear in their
    own section only."""
    every, results = results, without_probes(results)
    verdicts = agreement_with_verdict(results.agreement, results.run_info.get("inexact", []))
    candidates = [
        ("datasets", "Datasets", datasets(results)),
        ("coefficients", "Coefficients", coefficients(results)),
        ("agreement", "Agreement", agreement(results, verdicts)),
        ("effects", "Marginal effects", effects(results)),
        ("metrics", "Metrics (test set)", test_metrics(results)),
        ("pairs", "Logits and probabilities, pair by pair", pairs(results)),
        ("truth", "Against the truth", truth(results)),
        ("calibration", "Calibration", calibration(results)),
        ("runtime", "Fits and runtime", runtime(results)),
        ("convergence", "Convergence curves", convergence(results)),
        ("cnn", "The seed CNN", cnn(results)),
        ("last-layer", "The last layer is a logistic regression", last_layer(results, verdicts)),
        ("probes", "Every layer is a logistic regression", probes(every)),
        ("losses", "Four losses on the CNN's logits", losses(results)),
        ("conventions", "Conventions", conventions(results)),
    ]
    return [Section(anchor, title, blocks) for anchor, title, blocks in candidates if blocks]
