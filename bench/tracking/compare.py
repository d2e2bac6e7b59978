"""Compare a run with a baseline run under the regression rules (``bench compare``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bench.errors import BenchInputError
from bench.tables.verdicts import agreement_with_verdict
from bench.tracking.rules import Rule

CHECK_COLUMNS = ["dataset", "model", "quantity", "baseline", "current", "change", "rule", "verdict"]


@dataclass
class Comparison:
    checks: pd.DataFrame  # one row per judged value (CHECK_COLUMNS)
    missing: list[str] = field(default_factory=list)  # cells the baseline had and the run lacks
    new: list[str] = field(default_factory=list)  # cells only the run has

    @property
    def regressions(self) -> pd.DataFrame:
        return self.checks[self.checks["verdict"] == "REGRESSED"]

    @property
    def regressed(self) -> bool:
        return bool(len(self.regressions) or self.missing)

    def to_json(self) -> dict:
        def rows(frame):
            return json.loads(frame.to_json(orient="records"))

        return {
            "regressed": self.regressed,
            "checks": len(self.checks),
            "regressions": rows(self.regressions),
            "missing": self.missing,
            "new": self.new,
            "changed": rows(self.checks[(self.checks["change"].abs() > 0) & (self.checks["verdict"] == "ok")]),
        }


def _check_compatible(baseline, current) -> None:
    b, c = baseline.run_info, current.run_info
    for key in ("report_format_version",):
        if b.get(key) != c.get(key):
            raise BenchInputError(
                f"baseline run.json: {key} is {b.get(key)!r}, the current run's is {c.get(key)!r}; "
                "expected the same report format (re-create the baseline)"
            )
    b_suite, c_suite = b.get("config", {}).get("suite"), c.get("config", {}).get("suite")
    if b_suite != c_suite:
        raise BenchInputError(
            f"baseline run.json: suite {b_suite!r} differs from the current run's {c_suite!r}; "
            "expected runs of the same suite"
        )


def _derived(results) -> set[str]:
    """Datasets made from a trained network (their features move with it)."""
    return {
        name
        for name, d in results.run_info.get("datasets", {}).items()
        if str(d.get("source", "")).startswith("torch_cnn")
    }


def _row(dataset, model, quantity, base, cur, rule: Rule, bad: bool) -> dict:
    change = cur - base if np.isfinite(base) and np.isfinite(cur) else np.nan
    return {
        "dataset": dataset,
        "model": model,
        "quantity": quantity,
        "baseline": base,
        "current": cur,
        "change": change,
        "rule": rule.describe(),
        "verdict": "REGRESSED" if bad else "ok",
    }


def _agreement_checks(baseline, current, rule: Rule) -> list[dict]:
    cur = agreement_with_verdict(current.agreement, current.run_info.get("inexact", []))
    cur = cur[(cur["quantity"] == rule.quantity) & (cur["verdict"] != "compared")]
    base = baseline.agreement.set_index(["dataset", "model_a", "model_b", "quantity"])["max_abs_diff"]
    out = []
    for r in cur.itertuples():
        b = base.get((r.dataset, r.model_a, r.model_b, r.quantity), np.nan)
        out.append(
            _row(
                r.dataset,
                f"{r.model_a} vs {r.model_b}",
                f"agreement.{r.quantity}",
                b,
                r.max_abs_diff,
                rule,
                not r.max_abs_diff <= rule.threshold,
            )
        )
    return out


def _coefficient_checks(baseline, current, rule: Rule) -> list[dict]:
    inexact = set(current.run_info.get("inexact", [])) | set(baseline.run_info.get("inexact", []))
    skip = _derived(current) | _derived(baseline)
    joined = baseline.coefficients.merge(
        current.coefficients, on=["dataset", "model", "class", "term"], suffixes=("_base", "")
    )
    joined = joined[~joined["dataset"].isin(skip)]
    joined = joined[[f"{d}/{m}" not in inexact for d, m in zip(joined["dataset"], joined["model"])]]
    joined = joined.assign(drift=(joined["estimate"] - joined["estimate_base"]).abs())
    out = []
    for (dataset, model), part in joined.groupby(["dataset", "model"], sort=False):
        worst = part.loc[part["drift"].idxmax()]
        out.append(
            _row(
                dataset,
                model,
                f"coefficients.estimate[{worst['term']}]",
                worst["estimate_base"],
                worst["estimate"],
                rule,
                not worst["drift"] <= rule.threshold,
            )
        )
    return out


def _metric_checks(baseline, current, rule: Rule) -> list[dict]:
    keys = ["dataset", "model", "metric"]
    joined = baseline.metrics.merge(current.metrics, on=keys, suffixes=("_base", ""))
    joined = joined[joined["metric"] == rule.quantity]
    out = []
    for r in joined.itertuples():
        b, c = r.value_base, r.value
        if rule.direction == "lower_is_better":
            bad = c - b > rule.threshold
        elif rule.direction == "higher_is_better":
            bad = b - c > rule.threshold
        elif rule.direction == "drift":
            bad = abs(c - b) > rule.threshold
        else:  # max
            bad = c > rule.threshold
        out.append(_row(r.dataset, r.model, f"metrics.{r.metric}", b, c, rule, bool(bad) and np.isfinite(c)))
    return out


def _fits_checks(baseline, current, rule: Rule) -> list[dict]:
    """Runtime: times divided by each run's machine-speed measurement, then compared."""
    b_ref = baseline.run_info.get("speed_reference_seconds") or 1.0
    c_ref = current.run_info.get("speed_reference_seconds") or 1.0
    ok = ["dataset", "model", rule.quantity]
    joined = baseline.fits[baseline.fits["status"] == "ok"][ok].merge(
        current.fits[current.fits["status"] == "ok"][ok], on=["dataset", "model"], suffixes=("_base", "")
    )
    out = []
    for dataset, model, b, c in joined.itertuples(index=False):
        if not (np.isfinite(b) and np.isfinite(c)):
            continue
        if rule.direction == "ratio":
            expected = b * c_ref / b_ref  # the baseline's time on this run's machine speed
            bad = c > rule.threshold * expected and c - expected > rule.floor_seconds
        else:
            bad = abs(c - b) > rule.threshold
        out.append(_row(dataset, model, f"fits.{rule.quantity}", b, c, rule, bool(bad)))
    return out


CHECKERS = {
    "agreement": _agreement_checks,
    "coefficients": _coefficient_checks,
    "metrics": _metric_checks,
    "fits": _fits_checks,
}


def compare(baseline, current, rules: list[Rule]) -> Comparison:
    """Judge ``current`` against ``baseline``. Incompatible runs raise BenchInputError."""
    _check_compatible(baseline, current)
    rows = [row for rule in rules for row in CHECKERS[rule.table](baseline, current, rule)]
    cells = lambda fits: {f"{d}/{m}" for d, m, s in zip(fits["dataset"], fits["model"], fits["status"]) if s == "ok"}  # noqa: E731
    base_cells, cur_cells = cells(baseline.fits), cells(current.fits)
    missing = []
    for cell in sorted(base_cells - cur_cells):
        dataset, _, model = cell.rpartition("/")
        status = current.fits.loc[(current.fits["dataset"] == dataset) & (current.fits["model"] == model), "status"]
        missing.append(f"{cell} ({f'now {status.iloc[0]}' if len(status) else 'missing from the run'})")
    return Comparison(pd.DataFrame(rows, columns=CHECK_COLUMNS), missing=missing, new=sorted(cur_cells - base_cells))


def notable(checks: pd.DataFrame) -> pd.DataFrame:
    """Regressions, and values that moved (timings always move: only their regressions)."""
    timing = checks["quantity"].str.startswith("fits.") & checks["quantity"].str.endswith("_seconds")
    return checks[(checks["verdict"] == "REGRESSED") | (~timing & (checks["change"].abs() > 1e-12))]


def render_comparison_text(comparison: Comparison, baseline: Path, current: Path) -> str:
    checks = comparison.checks
    changed = notable(checks)
    lines = [
        f"bench compare: {baseline} -> {current}: {len(checks)} checks, "
        f"{len(comparison.regressions)} regressed, {len(changed)} shown "
        "(regressed, or moved; timings only when regressed)"
    ]
    if len(changed):
        shown = changed.sort_values("verdict", ascending=True, kind="stable")
        lines.append(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}", max_colwidth=48))
    for cell in comparison.missing:
        lines.append(f"missing: {cell}")
    for cell in comparison.new:
        lines.append(f"new (not in the baseline): {cell}")
    lines.append("REGRESSED" if comparison.regressed else "no regression")
    return "\n".join(lines)


def render_comparison_markdown(comparison: Comparison, baseline: Path, current: Path) -> str:
    from bench.report.markdown import table

    checks = comparison.checks
    changed = notable(checks)
    out = [
        "# Comparison with the baseline",
        "",
        f"`{baseline}` → `{current}`: {len(checks)} checks, "
        f"**{len(comparison.regressions)} regressed**, {len(changed)} shown below (regressed, or moved; "
        "timings only when regressed).",
        "",
    ]
    if comparison.missing:
        out += ["Missing or no longer ok: " + ", ".join(comparison.missing), ""]
    if comparison.new:
        out += ["New in this run: " + ", ".join(comparison.new), ""]
    if len(changed):
        out += [table(changed), ""]
    out.append("Verdict: **REGRESSED**" if comparison.regressed else "Verdict: no regression")
    return "\n".join(out) + "\n"
