"""Users' own models: the README's plug-in (run from a folder outside the checkout, as the README
says), model parameters, and every way a plug-in can be wrong (one line, exit 2, nothing written)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import bench
from bench.cli import main
from bench.config import TOLERANCES

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "my_model.py:NumpyNewton"


def _run(*args) -> int:
    """``logitbench run ARGS`` with one timed repeat, quietly, without a history file."""
    return main(["run", *args, "--repeats", "1", "-q", "--no-history"])


def readme_plugin() -> str:
    """The python block of the README's "Your own model" section, verbatim."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Your own model") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def in_user_folder(tmp_path, monkeypatch):
    (tmp_path / "my_model.py").write_text(readme_plugin(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_readme_plugin_agrees_with_the_built_ins(in_user_folder):
    models = f"sklearn_logit,statsmodels_logit,{PLUGIN}"
    assert _run("--datasets", "spector,breast_cancer", "--models", models, "--out", "mine") == 0
    results = bench.load(in_user_folder / "mine")
    assert (results.fits["model"] == PLUGIN).sum() == 2 and (results.fits["status"] == "ok").all()
    mine = results.agreement[(results.agreement["model_b"] == PLUGIN) | (results.agreement["model_a"] == PLUGIN)]
    assert set(mine["quantity"]) >= {"coef", "logit", "proba", "loglik"}
    for row in mine.itertuples():
        assert row.max_abs_diff <= TOLERANCES[row.quantity], row
    assert mine["max_abs_diff"].max() <= 1e-10  # measured ~1e-13: it solves the same objective exactly
    assert PLUGIN in (in_user_folder / "mine" / "report.md").read_text(encoding="utf-8")


def test_a_file_plugin_runs_in_worker_processes(in_user_folder):
    models = f"sklearn_logit,{PLUGIN}"
    assert _run("--datasets", "spector,breast_cancer", "--models", models, "-j", "2", "--out", "j2") == 0
    assert (bench.load(in_user_folder / "j2").fits["status"] == "ok").all()


def test_model_parameters_name_the_cell(tmp_path):
    out = tmp_path / "out"
    models = "sklearn_logit,sklearn_logit[solver=lbfgs]"
    assert _run("--datasets", "spector", "--models", models, "--out", str(out)) == 0
    fits = pd.read_csv(out / "fits.csv")
    assert list(fits["model"]) == ["sklearn_logit", "sklearn_logit[solver=lbfgs]"]
    solvers = bench.load(out).run_info["solvers"]
    assert solvers["spector/sklearn_logit[solver=lbfgs]"] == "sklearn lbfgs"


@pytest.mark.parametrize(
    ("spec", "files", "message"),
    [
        ("missing.py:Thing", {}, "no such file missing.py"),
        (
            "broken.py:Thing",
            {"broken.py": "import not_a_module_anywhere\n"},
            "importing broken.py failed: ModuleNotFoundError",
        ),
        ("empty.py:Thing", {"empty.py": "X = 1\n"}, "empty.py has no 'Thing'"),
        ("plain.py:Thing", {"plain.py": "class Thing:\n    pass\n"}, "is not a subclass of bench.Model"),
        ("sklearn_logit[nope=1]", {}, "SklearnLogit does not take these parameters"),
        ("sklearn_logit[solver]", {}, "'solver' is not key=value"),
        ("no_such_model", {}, "unknown model 'no_such_model'"),
    ],
)
def test_a_bad_plugin_is_one_line(tmp_path, monkeypatch, capsys, spec, files, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--datasets", "spector", "--models", spec, "--out", "out", "-q"]) == 2
    err = capsys.readouterr().err
    assert message in err and spec.split("[")[0] in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists() and not (tmp_path / "history.parquet").exists()


def test_the_contract_is_public():
    from bench.datasets.dataset import Dataset
    from bench.fit_result import FitResult
    from bench.models.base import Model

    assert bench.Model is Model and bench.FitResult is FitResult and bench.Dataset is Dataset


def test_an_installed_package_registers_a_model(tmp_path, monkeypatch, capsys):
    """A distribution with an entry point in the group logitbench.models, as pip would install it."""
    info = tmp_path / "my_models-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-models\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[logitbench.models]\nnumpy_newton = my_model:NumpyNewton\n", "utf-8")
    (tmp_path / "my_model.py").write_text(readme_plugin(), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["models"]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("numpy_newton")]
    assert listed and "entry point my_model:NumpyNewton (my-models)" in listed[0]
    out = tmp_path / "out"
    assert _run("--datasets", "spector", "--models", "sklearn_logit,numpy_newton", "--out", str(out)) == 0
    agreement = bench.load(out).agreement
    assert agreement["max_abs_diff"].max() <= TOLERANCES["coef"]


def test_a_file_plugin_runs_in_the_timed_child(in_user_folder):
    """--cell-timeout runs each cell in a spawned child, which cannot import my_model.py's made-up
    module: the task carries the file's path and the child loads it."""
    assert (
        _run("--datasets", "spector", "--models", f"sklearn_logit,{PLUGIN}", "--cell-timeout", "120", "--out", "timed")
        == 0
    )
    assert (bench.load(in_user_folder / "timed").fits["status"] == "ok").all()
