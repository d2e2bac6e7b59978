"""Regression rules: a TOML file of [<table>.<quantity>] with a direction and a threshold."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchInputError

DEFAULT_RULES = Path(__file__).with_name("rules.toml")
DIRECTIONS = ("max", "drift", "lower_is_better", "higher_is_better", "ratio")
# which quantities each table can be judged on
QUANTITIES = {
    "agreement": ("coef", "logit", "proba", "loglik", "std_error", "ame", "ame_std_error"),
    "coefficients": ("estimate",),
    "metrics": (
        "log_loss",
        "brier",
        "accuracy",
        "roc_auc",
        "ece",
        "ece_temperature_scaled",
        "cox_slope",
        "cox_intercept",
        "calibration_in_the_large",
        "temperature",
        "log_loss_temperature_scaled",
        "log_loss_gap_to_bayes",
        "logit_rmse_vs_truth",
        "coef_max_abs_error_vs_truth",
        "train_images_per_second",
        "inference_images_per_second",
    ),
    "fits": ("fit_seconds", "predict_seconds", "loglik"),
}


@dataclass(frozen=True)
class Rule:
    table: str
    quantity: str
    direction: str
    threshold: float
    floor_seconds: float = 0.0  # ratio rules, on a baseline without raw samples only (report format < 5)
    p_value: float = 0.002  # ratio rules: the samples must differ at this level (one-sided Mann-Whitney U)
    few_samples_threshold: float | None = None  # ratio rules: the factor when the samples are too few to test

    def describe(self) -> str:
        text = {
            "max": "<=",
            "drift": "moves <=",
            "lower_is_better": "rises <=",
            "higher_is_better": "falls <=",
            "ratio": "grows x<=",
        }[self.direction]
        return f"{text} {self.threshold:g}"


def load_rules(path: Path = DEFAULT_RULES) -> list[Rule]:
    where = str(path)
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchInputError(f"{where}: rules file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BenchInputError(f"{where}: not valid TOML ({exc})") from None
    rules = []
    for table, quantities in raw.items():
        if table not in QUANTITIES or not isinstance(quantities, dict):
            raise BenchInputError(f"{where}: unknown table [{table}]; expected one of {', '.join(QUANTITIES)}")
        for quantity, spec in quantities.items():
            name = f"{table}.{quantity}"
            if quantity not in QUANTITIES[table]:
                raise BenchInputError(
                    f"{where}: unknown quantity [{name}]; expected one of {', '.join(QUANTITIES[table])}"
                )
            if not isinstance(spec, dict):
                raise BenchInputError(f"{where}: [{name}] must be a table with direction and threshold")
            unknown = set(spec) - {"direction", "threshold", "floor_seconds", "p_value", "few_samples_threshold"}
            if unknown:
                raise BenchInputError(f"{where}: [{name}] has unknown field {sorted(unknown)[0]!r}")
            direction = spec.get("direction")
            if direction not in DIRECTIONS:
                raise BenchInputError(
                    f"{where}: [{name}] direction {direction!r} is unknown; expected one of {', '.join(DIRECTIONS)}"
                )
            threshold = spec.get("threshold")
            if (
                isinstance(threshold, bool)
                or not isinstance(threshold, (int, float))
                or not math.isfinite(threshold)
                or threshold < 0
            ):
                raise BenchInputError(f"{where}: [{name}] threshold must be a number >= 0, got {threshold!r}")
            floor = spec.get("floor_seconds", 0.0)
            if isinstance(floor, bool) or not isinstance(floor, (int, float)) or floor < 0:
                raise BenchInputError(f"{where}: [{name}] floor_seconds must be a number >= 0, got {floor!r}")
            p_value = spec.get("p_value", 0.002)
            if isinstance(p_value, bool) or not isinstance(p_value, (int, float)) or not 0 < p_value <= 1:
                raise BenchInputError(f"{where}: [{name}] p_value must be a number in (0, 1], got {p_value!r}")
            few = spec.get("few_samples_threshold", threshold)
            if isinstance(few, bool) or not isinstance(few, (int, float)) or not math.isfinite(few) or few < 0:
                raise BenchInputError(f"{where}: [{name}] few_samples_threshold must be a number >= 0, got {few!r}")
            rules.append(Rule(table, quantity, direction, float(threshold), float(floor), float(p_value), float(few)))
    return rules
