"""Every report table's columns and types, in one place.

``fits``, ``coefficients``, ... are the CSV/parquet files a run writes (README, "What the
report holds"; bench/ARCHITECTURE.md gives each column's meaning). Writers build frames
with exactly these columns in this order; ``bench.tables.results.load`` refuses a file
whose columns differ. ``TRUTH`` is the pseudo-model that holds a generated dataset's
true coefficients and log-odds.
"""

from __future__ import annotations

FITS_COLUMNS = [
    "dataset",
    "model",
    "status",
    "message",
    "fit_seconds",
    "predict_seconds",
    "n_iter",
    "converged",
    "loglik",
    "peak_extra_bytes",
]
COEFFICIENT_COLUMNS = [
    "dataset",
    "model",
    "class",
    "term",
    "estimate",
    "std_error",
    "z",
    "p_value",
    "ci_low",
    "ci_high",
]
EFFECT_COLUMNS = ["dataset", "model", "class", "term", "ame", "std_error"]
PREDICTION_COLUMNS = ["dataset", "model", "row", "class", "logit", "proba"]
AGREEMENT_COLUMNS = ["dataset", "model_a", "model_b", "quantity", "max_abs_diff", "rel_diff"]
METRIC_COLUMNS = ["dataset", "model", "metric", "value"]

TRUTH = "truth"  # pseudo-model holding a synthetic dataset's generating coefficients


LOSS_COLUMNS = ["dataset", "model", "loss", "value", "abs_diff_vs_cross_entropy", "equivalent", "note"]
# one row per (dataset, model, epoch, split): the CNN's learning curve; split is "train" (the
# fitted rows, averaged over the epoch's batches) or "validation" (after the epoch); seconds
# since training started
TRAINING_COLUMNS = ["dataset", "model", "epoch", "split", "loss", "accuracy", "seconds"]
CALIBRATION_COLUMNS = [
    "dataset",
    "model",
    "scaling",
    "bin",
    "bin_lower",
    "bin_upper",
    "count",
    "confidence",
    "accuracy",
]

# every timed call: one row per (dataset, model, phase, repeat); phase is "fit" or "predict", or
# "reference": the machine-speed workload timed around the cell (bench.runner.cell.REFERENCE_CALLS);
# repeat counts from 0 in the order the calls ran, seconds is that call's wall time
TIMING_COLUMNS = ["dataset", "model", "phase", "repeat", "seconds"]

# one row per (probe dataset, exact model): bench.tables.probes
PROBE_COLUMNS = [
    "dataset",
    "network",
    "layer",
    "depth",
    "n_features",
    "model",
    "test_log_loss",
    "test_accuracy",
    "roc_auc",
    "separated",
    "max_abs_diff",
]

# convergence curves (bench.curves; the scale suite's report): one row per capped run of an exact model
CURVE_COLUMNS = ["dataset", "model", "solver", "point", "max_iter", "seconds", "objective", "suboptimality"]

TABLES = {
    "fits": FITS_COLUMNS,
    "coefficients": COEFFICIENT_COLUMNS,
    "predictions": PREDICTION_COLUMNS,
    "agreement": AGREEMENT_COLUMNS,
    "metrics": METRIC_COLUMNS,
    "calibration": CALIBRATION_COLUMNS,
    "losses": LOSS_COLUMNS,
    "effects": EFFECT_COLUMNS,
    "training": TRAINING_COLUMNS,
    "timings": TIMING_COLUMNS,
    "probes": PROBE_COLUMNS,
    "curves": CURVE_COLUMNS,
}
# tables that a report of an older format lacks: table -> the report_format_version that added
# it (bench.runner.provenance.REPORT_FORMAT_VERSION). ``load`` gives such a report an empty one.
ADDED_IN = {"timings": 5, "probes": 5, "curves": 5}


# Read back exactly what to_csv wrote: text columns stay text ("" stays "", a feature
# named "NA" stays "NA"); in every other column an empty field is a missing value.
TEXT_COLUMNS = {
    "dataset",
    "model",
    "status",
    "message",
    "term",
    "model_a",
    "model_b",
    "quantity",
    "metric",
    "scaling",
    "loss",
    "note",
    "split",
    "phase",
    "network",
    "layer",
    "solver",
}
DTYPES = {
    "fits": {"n_iter": "Int64", "converged": "boolean", "peak_extra_bytes": "Int64"},
    "losses": {"equivalent": "boolean"},
    "training": {"epoch": "int64", "loss": "float64"},  # "loss" is text in losses.csv (a loss's name)
    "timings": {"repeat": "int64", "seconds": "float64"},
    "probes": {"depth": "int64", "n_features": "int64", "separated": "boolean"},
    "curves": {"point": "int64", "max_iter": "Int64"},
}
