"""Compare a run with a baseline run under the regression rules (``bench compare``).

Runtime (``ratio`` rules) is judged on every timed call (``timings.csv``), each cell's samples
divided by the median of the machine-speed workload timed around that cell (phase
``reference``; a report without it: the run's ``speed_reference_seconds``): a cell regresses
when the ratio of the normalised medians is beyond the rule's factor *and* a one-sided
Mann-Whitney U test gives p below the rule's ``p_value``. Samples too few for the test to
reach that level are judged on the ratio alone against the wider ``few_samples_threshold``; a
report without ``timings.csv`` (format 4) on either side is judged the old way, on ``fits.csv``
minima with ``floor_seconds``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bench.errors import BenchInputError
from bench.tables.probes import probe_datasets
from bench.tables.schema import ADDED_IN
from bench.tables.verdicts import agreement_with_verdict
from bench.tracking.rules import Rule

# ratio and p: runtime checks only (the ratio of normalised medians, the Mann-Whitney U p-value)
CHECK_COLUMNS = ["dataset", "model", "quantity", "baseline", "current", "change", "ratio", "p", "rule", "verdict"]
# report formats that can be compared with each other: the same tables, or the newest one's
# minus tables it added (a format-4 baseline has no timings.csv)
COMPARABLE_FORMATS = range(min(ADDED_IN.values()) - 1, max(ADDED_IN.values()) + 1)


@dataclass
class Comparison:
    checks: pd.DataFrame  # one row per judged value (CHECK_COLUMNS)
    missing: list[str] = field(default_factory=list)  # cells the baseline had and the run lacks
    new: list[str] = field(default_factory=list)  # cells only the run has
    notes: list[str] = field(default_factory=list)  # how runtime was judged, where not the usual way

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
            "notes": self.notes,
            "changed": rows(self.checks[(self.checks["change"].abs() > 0) & (self.checks["verdict"] == "ok")]),
        }


def _check_compatible(baseline, current) -> None:
    b, c = baseline.run_info, current.run_info
    for key in ("report_format_version",):
        if b.get(key) != c.get(key) and not {b.get(key), c.get(key)} <= set(COMPARABLE_FORMATS):
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


def _row(
    dataset, model, quantity, base, cur, rule: Rule, bad: bool, ratio=np.nan, p=np.nan, text: str | None = None
) -> dict:
    change = cur - base if np.isfinite(base) and np.isfinite(cur) else np.nan
    return {
        "dataset": dataset,
        "model": model,
        "quantity": quantity,
        "baseline": base,
        "current": cur,
        "change": change,
        "ratio": ratio,
        "p": p,
        "rule": text or rule.describe(),
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


def _has_samples(results) -> bool:
    version = results.run_info.get("report_format_version")
    return not (isinstance(version, int) and version < ADDED_IN["timings"])


def _samples(results, phase: str) -> dict:
    """(dataset, model) -> the seconds of every timed call of ``phase`` (fit | predict)."""
    part = results.timings[results.timings["phase"] == phase]
    return {key: group["seconds"].to_numpy(dtype=float) for key, group in part.groupby(["dataset", "model"])}


def runtime_verdict(base: np.ndarray, cur: np.ndarray, rule: Rule) -> tuple[float, float, bool, str]:
    """(ratio of medians, p, regressed, how it was judged) for two runs' normalised samples."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(np.median(cur) / np.median(base))
    few = rule.threshold if rule.few_samples_threshold is None else rule.few_samples_threshold
    # the smallest p a one-sided test of these sizes can give: every current sample above every baseline one
    if 1 / math.comb(len(base) + len(cur), len(base)) >= rule.p_value:
        text = f"grows x<={few:g}, ratio alone ({len(base)} vs {len(cur)} samples)"
        return ratio, np.nan, ratio > few, text
    from scipy.stats import mannwhitneyu

    p = float(mannwhitneyu(cur, base, alternative="greater").pvalue)
    return ratio, p, ratio > rule.threshold and p < rule.p_value, f"grows x<={rule.threshold:g} or p>={rule.p_value:g}"


def _speeds(baseline, current, cell: tuple[str, str], around: tuple[dict, dict]) -> tuple[float, float]:
    """The machine's speed when ``cell`` ran in each run: the median of the workload timed around
    it (``bench.runner.cell.REFERENCE_CALLS``) where both runs have it, else each run's
    ``speed_reference_seconds`` (the same workload, timed around all the cells)."""
    base, cur = around[0].get(cell), around[1].get(cell)
    if base is not None and cur is not None and len(base) and len(cur):
        return float(np.median(base)), float(np.median(cur))
    return (
        baseline.run_info.get("speed_reference_seconds") or 1.0,
        current.run_info.get("speed_reference_seconds") or 1.0,
    )


def _fits_checks(baseline, current, rule: Rule) -> list[dict]:
    """Runtime: every timed call divided by the machine-speed workload timed around its cell
    (or the run's), medians and a Mann-Whitney U test (``runtime_verdict``); without samples,
    the minima in ``fits.csv``."""
    b_ref = baseline.run_info.get("speed_reference_seconds") or 1.0
    c_ref = current.run_info.get("speed_reference_seconds") or 1.0
    around = (_samples(baseline, "reference"), _samples(current, "reference"))
    ok = ["dataset", "model", rule.quantity]
    joined = baseline.fits[baseline.fits["status"] == "ok"][ok].merge(
        current.fits[current.fits["status"] == "ok"][ok], on=["dataset", "model"], suffixes=("_base", "")
    )
    phase = rule.quantity.removesuffix("_seconds")  # fit | predict
    samples = (_samples(baseline, phase), _samples(current, phase)) if rule.direction == "ratio" else ({}, {})
    out = []
    # the CNN's probes are timed once on purpose (Dataset.time_once)
    once = {
        *probe_datasets(baseline.run_info.get("datasets", {})),
        *probe_datasets(current.run_info.get("datasets", {})),
    }
    for dataset, model, b, c in joined.itertuples(index=False):
        if dataset in once:  # the CNN's probes: timed once on purpose, their fits are the point
            continue
        base, cur = samples[0].get((dataset, model)), samples[1].get((dataset, model))
        if base is not None and cur is not None and len(base) and len(cur):
            b_speed, c_speed = _speeds(baseline, current, (dataset, model), around)
            ratio, p, bad, text = runtime_verdict(base / b_speed, cur / c_speed, rule)
            b_med, c_med = float(np.median(base)), float(np.median(cur))
            out.append(_row(dataset, model, f"timings.{rule.quantity}", b_med, c_med, rule, bad, ratio, p, text))
            continue
        if not (np.isfinite(b) and np.isfinite(c)):
            continue
        if rule.direction == "ratio":  # no samples: the old rule, on the minima
            expected = b * c_ref / b_ref  # the baseline's time on this run's machine speed
            bad = c > rule.threshold * expected and c - expected > rule.floor_seconds
            text = f"x<={rule.threshold:g} on minima, rises <{rule.floor_seconds:g} s ignored"
            out.append(_row(dataset, model, f"fits.{rule.quantity}", b, c, rule, bool(bad), c / expected, text=text))
        else:
            out.append(_row(dataset, model, f"fits.{rule.quantity}", b, c, rule, bool(abs(c - b) > rule.threshold)))
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
    notes = []
    runtime = [r for r in rules if r.table == "fits" and r.direction == "ratio"]
    for label, results in (("baseline", baseline), ("current run", current)):
        if runtime and not _has_samples(results):
            notes.append(
                f"the {label} (report format {results.run_info.get('report_format_version')}) has no "
                "timings.csv: runtime is judged the old way, on the minima in fits.csv "
                f"(grows x<={runtime[0].threshold:g}, rises under {runtime[0].floor_seconds:g} s never count); "
                f"re-create the {label} with this version to judge every timed call"
            )
    alone = [r for r in rows if "ratio alone" in r["rule"]]
    if alone:
        notes.append(
            f"{len(alone)} runtime check(s) had too few samples for the Mann-Whitney U test to reach its level "
            "(one on a side, or 5 against 5): judged on the ratio of medians alone, against the wider "
            "few_samples_threshold"
        )
    return Comparison(
        pd.DataFrame(rows, columns=CHECK_COLUMNS),
        missing=missing,
        new=sorted(cur_cells - base_cells),
        notes=notes,
    )


def notable(checks: pd.DataFrame) -> pd.DataFrame:
    """Regressions, and values that moved (timings always move: only their regressions)."""
    timing = checks["quantity"].str.match(r"(fits|timings)\.\w+_seconds$")
    shown = checks[(checks["verdict"] == "REGRESSED") | (~timing & (checks["change"].abs() > 1e-12))]
    return shown.drop(columns=[c for c in ("ratio", "p") if shown[c].isna().all()])  # runtime columns, if any


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
    for note in comparison.notes:
        lines.append(f"note: {note}")
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
    for note in comparison.notes:
        out += [f"Note: {note}.", ""]
    if comparison.missing:
        out += ["Missing or no longer ok: " + ", ".join(comparison.missing), ""]
    if comparison.new:
        out += ["New in this run: " + ", ".join(comparison.new), ""]
    if len(changed):
        out += [table(changed), ""]
    out.append("Verdict: **REGRESSED**" if comparison.regressed else "Verdict: no regression")
    return "\n".join(out) + "\n"
