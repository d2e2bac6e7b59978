"""Command line: ``python -m bench run | datasets | models``.

Thin: parse arguments, build a RunConfig, call the API, write the report.
Exit status: 0 ok, 1 a failed cell (report still written), 2 bad input.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from bench.config import SUITES, RunConfig, parse_cnn_settings
from bench.errors import BenchInputError, DiskFault, describe_os_error


def _names(text: str) -> tuple[str, ...]:
    """Comma-separated names; commas inside [...] belong to a model's parameters."""
    names = tuple(part.strip() for part in re.split(r",(?![^\[]*\])", text) if part.strip())
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return names


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse prints usage too; keep it short)
        raise BenchInputError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m bench", description="logitbench: logistic regressions and logits, side by side.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="fit every model on every dataset and write a report")
    run.add_argument(
        "--suite", default="quick", choices=list(SUITES), help="default datasets and models (default: quick)"
    )
    run.add_argument(
        "--datasets",
        type=_names,
        default=(),
        help="comma-separated dataset names (see `datasets`) or card paths (path/to/card.toml)",
    )
    run.add_argument(
        "--models",
        type=_names,
        default=(),
        help="comma-separated models: built-in names (see `models`), FILE.py:Class, package.module:Class, "
        "or an entry point; each may take [key=value,...], e.g. sklearn_logit[solver=lbfgs]",
    )
    run.add_argument(
        "--out", type=Path, default=Path("reports/latest"), help="report directory (default: reports/latest)"
    )
    run.add_argument("--seed", type=int, default=0, help="seed for splits and inits (default: 0)")
    _cards_option(run)
    run.add_argument("--csv", type=Path, help="a CSV file of your own with a 0/1 target (--target or --formula)")
    run.add_argument("--target", help="the target column of --csv")
    run.add_argument(
        "--formula",
        help='the target and terms of --csv as a Wilkinson formula, e.g. "y ~ x1 + x2 + C(group) + x1:x2" '
        "(formulaic; treatment coding, the first level in sorted order the reference)",
    )
    run.add_argument("--features", type=_names, default=(), help="comma-separated columns of --csv (default: all)")
    run.add_argument(
        "--images",
        type=Path,
        metavar="DIR",
        help="a folder of your own images, one sub-folder per class (png, jpg, bmp; any size)",
    )
    run.add_argument(
        "--test-fraction",
        type=_fraction,
        default=0.25,
        help="holdout fraction of --csv and --images (default 0.25; 0: every row is train and test, as glm fits)",
    )
    run.add_argument("--penalty", choices=["none", "l2"], help="override every dataset's penalty")
    run.add_argument("--C", type=_positive_float, help="inverse L2 strength, scikit-learn's convention")
    run.add_argument(
        "--repeats",
        type=int,
        help="timed repeats per fit and predict (default: the suite's, fast ones getting more; given: exactly these)",
    )
    run.add_argument(
        "--time-budget",
        type=float,
        metavar="SECONDS",
        help="a fit or predict faster than this in all is repeated until its calls add up to it (default 0.15, "
        "or 0 with --repeats: exactly --repeats calls)",
    )
    run.add_argument("--threads", type=int, default=1, help="BLAS/torch threads per fit (default: 1)")
    run.add_argument("--epochs", type=int, help="CNN training epochs at most (default: the suite's, else the card's)")
    run.add_argument(
        "--cnn",
        metavar="KEY=VALUE,...",
        help="CNN training settings: lr, weight_decay, batch_size, warmup, validation_fraction, patience, epochs "
        "(e.g. lr=0.003,patience=6; beats the suite and the card)",
    )
    run.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="device for the torch models")
    run.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        help="worker processes (joblib); workers x threads <= cores (default: 2 for the quick suite's own "
        "datasets where 2 cores allow, else 1)",
    )
    run.add_argument(
        "--scheduler", help="run the cells on a dask.distributed cluster at this address (tcp://host:8786)"
    )
    run.add_argument(
        "--cell-timeout", type=_positive_float, help="stop a cell after this many seconds (it is reported as failed)"
    )
    run.add_argument(
        "--resume",
        type=Path,
        metavar="DIR",
        help="finish an interrupted run whose report was to go to DIR (its settings are reused)",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    run.add_argument("--no-history", action="store_true", help="do not append this run to OUT/../history.parquet")

    compare = sub.add_parser("compare", help="compare a run with a baseline; exit 1 on a regression")
    compare.add_argument("baseline", type=Path, help="the baseline report directory (e.g. reports/baseline)")
    compare.add_argument("current", type=Path, help="the report directory to judge (e.g. reports/latest)")
    compare.add_argument("--rules", type=Path, help="a TOML rules file (default: bench/rules.toml)")
    compare.add_argument("--json", action="store_true", help="print the result as JSON")

    hist = sub.add_parser("history", help="plot chosen metrics across the runs in a history file")
    hist.add_argument(
        "--history", type=Path, default=Path("reports/history.parquet"), help="default: reports/history.parquet"
    )
    hist.add_argument(
        "--metrics",
        type=_names,
        help="comma-separated metrics (default: log_loss,accuracy,ece,fit_seconds; with --regressions, "
        "every tracked metric is searched)",
    )
    hist.add_argument("--out", type=Path, default=Path("reports/history.html"), help="default: reports/history.html")
    hist.add_argument(
        "--regressions",
        action="store_true",
        help="find the runs where a tracked metric stepped up or down for good; print them and mark them on the page",
    )

    # --- penalty path (bench/path.py, bench/path_report.py) ---
    path = sub.add_parser("path", help="fit every linear model along a log grid of C; plot the paths")
    path.add_argument(
        "--dataset", required=True, help="one dataset name (see `datasets`); its penalty becomes L2 at each C"
    )
    path.add_argument(
        "--models",
        type=_names,
        default=("sklearn_logit", "statsmodels_logit", "torch_linear", "torch_softmax2"),
        help="comma-separated (default: sklearn_logit,statsmodels_logit,torch_linear,torch_softmax2)",
    )
    path.add_argument(
        "--C-grid",
        dest="C_grid",
        default="1e-3:1e3:13",
        help="LOW:HIGH:N, N log-spaced values of C from LOW to HIGH inclusive (default: 1e-3:1e3:13)",
    )
    path.add_argument("--out", type=Path, help="report directory (default: reports/path-<dataset>)")
    path.add_argument("--seed", type=int, default=0, help="seed for the split (default: 0)")
    _cards_option(path)
    path.add_argument("--threads", type=int, default=1, help="BLAS/torch threads per fit (default: 1)")
    path.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    # --- end penalty path ---

    curves = sub.add_parser(
        "curves", help="each exact model's objective against wall time: how fast it reaches the optimum"
    )
    curves.add_argument("--dataset", required=True, help="one binary dataset name (see `datasets`) or card path")
    curves.add_argument(
        "--models",
        type=_names,
        help="comma-separated exact models (default: every library's solvers: sklearn newton-cholesky and lbfgs, "
        "statsmodels, glum irls and lbfgs, torch_linear)",
    )
    curves.add_argument("--out", type=Path, help="report directory (default: reports/curves-<dataset>)")
    curves.add_argument("--seed", type=int, default=0, help="seed for the split (default: 0)")
    _cards_option(curves)
    curves.add_argument("--threads", type=int, default=1, help="BLAS/torch threads per fit (default: 1)")
    curves.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    _cards_option(sub.add_parser("datasets", help="list the dataset cards"))
    sub.add_parser("shapes", help="the seed CNN's layer-by-layer shape trace and parameter count")
    sub.add_parser("models", help="list the models")
    return parser


def _cards_option(parser) -> None:
    parser.add_argument(
        "--cards",
        metavar="DIR",
        type=Path,
        action="append",
        default=[],
        help="a folder of your own dataset cards (*.toml), read beside the built-in ones; repeatable "
        "(also: $LOGITBENCH_CARDS, folders separated by the OS path separator)",
    )


def cmd_run(args) -> int:
    import bench
    from bench.runner.cellstore import CellStore

    if args.resume is not None:
        _, saved = CellStore.existing(args.resume)
        config = RunConfig.from_json(saved)
    else:
        config = RunConfig(
            suite=args.suite,
            datasets=args.datasets,
            models=args.models,
            out=args.out,
            seed=args.seed,
            csv=args.csv,
            target=args.target,
            formula=args.formula,
            features=args.features,
            images=args.images,
            test_fraction=args.test_fraction,
            penalty=args.penalty,
            C=args.C,
            repeats=args.repeats,
            time_budget=args.time_budget,
            threads=args.threads,
            device=args.device,
            epochs=args.epochs,
            cnn=parse_cnn_settings(args.cnn) if args.cnn else (),
            cards=tuple(args.cards),
            jobs=args.jobs,
            scheduler=args.scheduler,
            cell_timeout=args.cell_timeout,
        )
    from bench.report.writer import check_out

    check_out(config.out)
    _check_reachable(config.out)
    history_path = config.out.parent / "history.parquet"
    if not args.no_history and history_path.exists():
        from bench.tracking import history

        history.read(history_path)  # a damaged history is bad input, found before anything is written
    if config.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise BenchInputError("--device cuda: no CUDA device is available here; expected --device cpu")
    store = CellStore(cells_dir_of(config.out))
    try:
        results = bench.run(config, progress=not args.quiet, checkpoint=config.out, resume=args.resume is not None)
        results.run_info["command"] = ["python", "-m", "bench", *sys.argv[1:]] if sys.argv[1:2] == ["run"] else None
        out = results.save(config.out, jobs=config.n_jobs)
    except OSError as exc:  # the disk, not the user's input: keep what finished, say how to go on
        kept = store.count()
        hint = (
            f"{kept} finished cell(s) are kept in {store.directory}: free space (or fix the folder) and run "
            f"`python -m bench run --resume {config.out}`"
            if kept
            else "nothing was kept: choose a folder you can write to with --out"
        )
        raise DiskFault(f"cannot write the report: {describe_os_error(exc)}; {hint}") from None
    store.remove()  # the report is whole: the checkpoint has served
    if not args.no_history:
        from bench.tracking import history

        try:
            history.append(results, history_path)
        except OSError as exc:
            raise DiskFault(
                f"the report is written to {out}/, but the history is not: {describe_os_error(exc)}; "
                "the history file is unchanged (use --no-history, or fix the folder)"
            ) from None
    failed = results.failed
    print(f"report written to {out}/: open {out / 'index.html'} in a browser, or read {out / 'report.md'}")
    if len(failed):
        for row in failed.itertuples():
            print(f"failed: {row.dataset} / {row.model}: {row.message}", file=sys.stderr)
        return 1
    return 0


def _check_reachable(out: Path) -> None:
    """``--out`` may add one folder to a folder that exists (``reports/latest`` in a new checkout),
    not a path whose start is missing (a disk that is not mounted): that would write the report
    somewhere the user does not expect."""
    missing = [parent for parent in Path(out).absolute().parents if not parent.exists()]
    if len(missing) > 1:
        raise DiskFault(
            f"--out {out}: {missing[-1]} does not exist (is the disk mounted?); expected a folder inside one "
            "that exists"
        )


def cells_dir_of(out: Path) -> Path:
    from bench.runner.cellstore import cells_dir

    return cells_dir(out)


def cmd_compare(args) -> int:
    import json

    import bench
    from bench import files
    from bench.tracking import compare, rules

    rule_list = rules.load_rules(args.rules) if args.rules else rules.load_rules()
    baseline, current = bench.load(args.baseline), bench.load(args.current)
    comparison = compare.compare(baseline, current, rule_list)
    files.write_text(
        args.current / "comparison.md", compare.render_comparison_markdown(comparison, args.baseline, args.current)
    )
    if args.json:
        print(json.dumps(comparison.to_json(), indent=2))
    else:
        print(compare.render_comparison_text(comparison, args.baseline, args.current))
    return 1 if comparison.regressed else 0


def cmd_history(args) -> int:
    from bench import files
    from bench.tracking import history

    frame = history.read(args.history)
    metrics, steps = args.metrics or history.DEFAULT_METRICS, None
    if args.regressions:
        steps = history.find_steps(frame, args.metrics)
        if not args.metrics:  # the default plots that exist, and every metric that stepped
            known = set(frame["metric"])
            metrics = tuple(dict.fromkeys([*(m for m in history.DEFAULT_METRICS if m in known), *steps["metric"]]))
    page = history.render_page(frame, metrics, steps)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    files.write_text(args.out, page)
    if steps is not None:
        print(history.render_steps_text(steps, frame["started"].nunique()))
    print(f"{frame['started'].nunique()} runs; trend page written to {args.out}")
    return 0


# --- penalty path ---
def cmd_path(args) -> int:
    from bench.penalty_path import report as path_report
    from bench.penalty_path import run as path

    grid = path.parse_grid(args.C_grid)
    run = path.run(
        args.dataset,
        grid,
        args.models,
        seed=args.seed,
        threads=args.threads,
        progress=not args.quiet,
        cards=tuple(args.cards),
    )
    out = path_report.write(run, args.out or Path(f"reports/path-{run.dataset}"))
    print(f"path written to {out}/: open {out / 'index.html'} in a browser, or read {out / 'path.md'}")
    for row in run.failed.itertuples():
        print(f"failed: {row.model} at C = {row.C:g}: {row.message}", file=sys.stderr)
    for row in run.disagreements.itertuples():
        print(
            f"FAIL: {row.model_a} vs {row.model_b} at C = {row.C:g}: max |difference| {row.max_abs_diff:.3g} "
            f"> {row.tolerance:g}",
            file=sys.stderr,
        )
    return 0 if run.ok else 1


# --- end penalty path ---


def cmd_curves(args) -> int:
    from bench.curves import report as curve_report
    from bench.curves import run as curves

    if args.threads < 1:
        raise BenchInputError(f"--threads: expected an integer >= 1, got {args.threads}")
    models = args.models or curves.DEFAULT_MODELS
    run = curves.run(
        args.dataset, models, seed=args.seed, threads=args.threads, progress=not args.quiet, cards=tuple(args.cards)
    )
    out = curve_report.write(run, args.out or Path(f"reports/curves-{run.dataset}"))
    print(f"curves written to {out}/: open {out / 'index.html'} in a browser, or read {out / 'curves.md'}")
    for row in run.reach.itertuples():
        print(f"  {row.model:<32} final (F - F*)/|F*| = {row.final_suboptimality:.1e}")
    return 0


def cmd_datasets(args) -> int:
    from bench import datasets

    for name, card in datasets.available(tuple(args.cards)).items():
        penalty = "unpenalised" if card.penalty == "none" else f"L2, C = {card.C:g}"
        first = card.description.split(". ")[0].rstrip(".")
        source = card.source_kind + (":" + card.source_name if card.source_name else "")
        print(f"{name:<18} {source:<24} {penalty:<14} {first}")
    return 0


def cmd_models(args) -> int:
    from bench.models import REGISTRY, entry_points, model_class, source

    for name in [*REGISTRY, *entry_points()]:
        print(f"{name:<20} {model_class(name).description}  [{source(name)}]")
    return 0


def cmd_shapes(args) -> int:
    from bench.models._torch.cnn import format_shape_trace

    print(format_shape_trace())
    return 0


COMMANDS = {
    "run": cmd_run,
    "compare": cmd_compare,
    "history": cmd_history,
    "datasets": cmd_datasets,
    "models": cmd_models,
    "shapes": cmd_shapes,
    "path": cmd_path,
    "curves": cmd_curves,
}


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except BenchInputError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    except DiskFault as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a write refused elsewhere (comparison.md, the trend page, a path report)
        print(f"bench: error: {describe_os_error(exc)}; nothing half-written is left", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted; no report written", file=sys.stderr)
        return 130
