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
}


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
}
DTYPES = {
    "fits": {"n_iter": "Int64", "converged": "boolean", "peak_extra_bytes": "Int64"},
    "losses": {"equivalent": "boolean"},
    "training": {"epoch": "int64"},
}
