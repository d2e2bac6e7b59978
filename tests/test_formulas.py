"""CSVs as statisticians have them: Wilkinson formulas (formulaic), chosen columns, the full-data
fit (``--test-fraction 0``), cards run from their path, and every way such input can be wrong
(one line, exit 2, nothing written).

The published fit is Hosmer & Lemeshow's low birth weight logit (Applied Logistic Regression;
Stata's ``lbw`` data): ``glm low age lwt race_black race_other smoke ptl ht ui,
family(binomial)``, white the reference, 189 births, as recorded in statsmodels' own GLM tests
(``statsmodels/genmod/tests/results/results_glm.py``, class ``Lbw``; the CSV ships here as
``bench/datasets/builtin/lbw.csv``, a copy of statsmodels' ``stata_lbw_glm.csv``).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bench
from bench.cli import main
from bench.config import LINEAR_MODELS, TOLERANCES
from bench.datasets import CARDS_DIR, load_csv
from bench.errors import BenchInputError

ROOT = Path(__file__).resolve().parents[1]
LBW_CSV = CARDS_DIR / "lbw.csv"
WHITE_REFERENCE = "C(race, contr.treatment('white'))"
FORMULA = f"low ~ age + lwt + {WHITE_REFERENCE} + smoke + ptl + ht + ui"

# Published (Stata glm, statsmodels' results_glm.Lbw): 8 significant figures.
PUBLISHED_COEF = {
    "age": -0.02710031,
    "lwt": -0.01515082,
    f"{WHITE_REFERENCE}[T.black]": 1.26264728,
    f"{WHITE_REFERENCE}[T.other]": 0.86207916,
    "smoke": 0.92334482,
    "ptl": 0.54183656,
    "ht": 1.83251780,
    "ui": 0.75851348,
    "intercept": 0.46122388,
}
PUBLISHED_SE = dict(
    zip(
        PUBLISHED_COEF,
        [
            0.036449917,
            0.006925765,
            0.526405169,
            0.439146744,
            0.400820976,
            0.346246857,
            0.691623875,
            0.459373871,
            1.204574885,
        ],
    )
)
PUBLISHED_DEVIANCE = 201.4479911325021
# Coefficients and deviance: the printed digits (rounding <= 5e-9) plus the 1e-6 contract.
# Standard errors: Stata's glm stops its IRLS at its default tolerance, and its printed SEs are
# ~1.5e-5 (relative) from those of the exact MLE; statsmodels' own test of these numbers uses
# atol 1e-4, rtol 1e-5 (test_glm.py, CheckModelResultsMixin.test_standard_errors). So do we.
SE_ATOL, SE_RTOL = 1e-4, 1e-5


def _run(*args) -> int:
    return main(["run", *args, "--repeats", "1", "-q", "--no-history"])


@pytest.fixture
def user_folder(tmp_path, monkeypatch):
    """A folder outside the checkout holding the user's CSV, as the README's example has it."""
    shutil.copy(LBW_CSV, tmp_path / "lbw.csv")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def readme_commands() -> list[str]:
    """The bash block of the README's "Your own CSV" section, continuation lines joined."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Your own CSV") :]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def _estimates(results, model):
    part = results.coefficients[results.coefficients["model"] == model]
    return part.set_index("term")


@pytest.mark.slow
def test_the_readme_formula_reproduces_the_published_fit(tmp_path, monkeypatch):
    """The README's two commands, verbatim, in a folder outside the checkout."""
    copy, command = readme_commands()
    env = {**os.environ, "PYTHONPATH": str(Path(bench.__file__).resolve().parents[1])}
    python, *rest = shlex.split(copy)
    assert python == "python"
    subprocess.run([sys.executable, *rest], cwd=tmp_path, env=env, check=True)
    monkeypatch.chdir(tmp_path)
    args = shlex.split(command)
    assert args[:2] == ["logitbench", "run"] and FORMULA in args
    assert _run(*args[2:], "--models", ",".join(LINEAR_MODELS)) == 0
    results = bench.load(tmp_path / args[args.index("--out") + 1])
    assert results.run_info["datasets"]["lbw"]["n_train"] == results.run_info["datasets"]["lbw"]["n_test"] == 189
    for model in LINEAR_MODELS:
        mine = _estimates(results, model)
        assert list(mine.index) == list(PUBLISHED_COEF), model  # formulaic's names, the published order
        for term, published in PUBLISHED_COEF.items():
            assert mine.loc[term, "estimate"] == pytest.approx(published, abs=1e-6), (model, term)
            assert mine.loc[term, "std_error"] == pytest.approx(PUBLISHED_SE[term], abs=SE_ATOL, rel=SE_RTOL)
        loglik = results.fits.set_index("model").loc[model, "loglik"]
        assert -2 * loglik == pytest.approx(PUBLISHED_DEVIANCE, abs=1e-6), model
    assert (results.agreement["max_abs_diff"] <= results.agreement["quantity"].map(TOLERANCES)).all()


def test_treatment_coding_takes_the_first_sorted_level_as_reference():
    """C(race) without a reference: 'black' (first in sorted order) is the reference, as in R and
    statsmodels; the fit is the published one reparameterised (closed form: the white-reference
    coefficients minus black's), with the same deviance."""
    import statsmodels.api as sm

    ds = load_csv(LBW_CSV, formula="low ~ age + lwt + C(race) + smoke + ptl + ht + ui", penalty="none", test_fraction=0)
    assert ds.feature_names == ("age", "lwt", "C(race)[T.other]", "C(race)[T.white]", "smoke", "ptl", "ht", "ui")
    fit = sm.Logit(ds.y_train, sm.add_constant(np.asarray(ds.X_train), prepend=False)).fit(disp=0)
    coef = dict(zip([*ds.feature_names, "intercept"], fit.params))
    black = PUBLISHED_COEF[f"{WHITE_REFERENCE}[T.black]"]
    assert coef["C(race)[T.white]"] == pytest.approx(-black, abs=1e-6)
    assert coef["C(race)[T.other]"] == pytest.approx(PUBLISHED_COEF[f"{WHITE_REFERENCE}[T.other]"] - black, abs=1e-6)
    assert coef["intercept"] == pytest.approx(PUBLISHED_COEF["intercept"] + black, abs=1e-6)
    assert -2 * fit.llf == pytest.approx(PUBLISHED_DEVIANCE, abs=1e-6)


def test_interactions_and_functions_are_columns_of_the_design(tmp_path):
    frame = pd.read_csv(LBW_CSV)
    ds = load_csv(LBW_CSV, formula="low ~ age * smoke + np.log(lwt)", test_fraction=0)
    column = dict(zip(ds.feature_names, ds.X_train.T))  # formulaic orders terms by degree
    assert set(column) == {"age", "smoke", "age:smoke", "np.log(lwt)"}
    np.testing.assert_array_equal(column["age:smoke"], frame["age"] * frame["smoke"])
    np.testing.assert_allclose(column["np.log(lwt)"], np.log(frame["lwt"]), rtol=1e-15)


def test_the_card_runs_by_name_and_from_its_path(tmp_path):
    card_folder = tmp_path / "elsewhere"
    card_folder.mkdir()
    for name in ("lbw.toml", "lbw.csv"):
        shutil.copy(CARDS_DIR / name, card_folder / name)
    by_name = bench.datasets.load("lbw")
    by_path = bench.datasets.load(str(card_folder / "lbw.toml"))
    assert by_name.feature_names == by_path.feature_names == tuple(list(PUBLISHED_COEF)[:-1])
    np.testing.assert_array_equal(by_name.X_train, by_path.X_train)
    assert by_name.n_train == by_path.X_test.shape[0] == 189  # split.method = "none"


def test_features_pick_columns_and_unused_columns_may_hold_anything(write_csv):
    path = write_csv("id,when,x1,x2,y\n" + "a1,2026-01-01,0.5,1,0\nb2,2026-01-02,1.5,0,1\n" * 8)
    ds = load_csv(path, "y", features=("x1", "x2"), test_fraction=0)
    assert ds.feature_names == ("x1", "x2") and ds.n_train == 16
    ds = load_csv(path, formula="y ~ x1", test_fraction=0.5)
    assert ds.feature_names == ("x1",) and ds.n_train == ds.X_test.shape[0] == 8


def test_a_card_may_keep_every_row_with_test_fraction_zero(tmp_path):
    shutil.copy(LBW_CSV, tmp_path / "mine.csv")
    (tmp_path / "mine.toml").write_text(
        'name = "mine"\ndescription = "d"\nsource = "csv:mine.csv"\nformula = "low ~ age + C(race)"\n'
        '[split]\nmethod = "holdout"\ntest_fraction = 0\n[penalty]\nkind = "none"\n',
        encoding="utf-8",
    )
    ds = bench.datasets.load(str(tmp_path / "mine.toml"))
    assert ds.n_train == ds.X_test.shape[0] == 189 and ds.split.startswith("none")


BAD = [
    (["--formula", "low ~ age + race"], "column 'race' holds text ('black' in row 1)", "write C(race)"),
    (["--formula", "low ~ age + weight"], "the formula names 'weight', which is not a column", ""),
    (["--formula", "age + lwt"], "has no left-hand side", "expected 'target ~ terms'"),
    (["--formula", "low ~ age +"], "does not parse", ""),
    (["--formula", "low ~ age - 1"], "removes the intercept", ""),
    (["--formula", "low ~ low + age"], "also appears on the right-hand side", ""),
    (["--formula", "low + smoke ~ age"], "the left-hand side must be one column name", ""),
    (["--target", "low", "--formula", "low ~ age"], "--target and --formula exclude each other", ""),
    (["--target", "low", "--features", "age,race"], "column 'race' row 1 holds 'black'", "expected a number"),
    (["--target", "low", "--test-fraction", "1"], "--test-fraction", "expected a number in [0, 1)"),
    (["--target", "low", "--test-fraction", "abc"], "--test-fraction", "expected a number in [0, 1)"),
]


@pytest.mark.parametrize("args, says, hint", BAD, ids=[" ".join(b[0]) for b in BAD])
def test_bad_formulas_and_columns_are_one_line_and_exit_2(user_folder, capsys, args, says, hint):
    assert _run("--csv", "lbw.csv", *args, "--models", "sklearn_logit", "--out", "report") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and says in err and hint in err, err
    assert not (user_folder / "report").exists()


def test_missing_values_name_the_column_and_the_first_row(write_csv):
    path = write_csv("x1,g,y\n0.5,a,0\n1.5,,1\n2.0,b,1\n,c,0\n")
    with pytest.raises(BenchInputError, match=r"column 'g' row 2 is missing \(1 missing in all\)"):
        load_csv(path, formula="y ~ C(g)")
    with pytest.raises(BenchInputError, match=r"column 'x1' row 4 is missing"):
        load_csv(path, formula="y ~ x1 + C(g)")


def test_formula_and_features_need_a_csv(capsys):
    assert _run("--formula", "y ~ x", "--out", "never") == 2
    assert "--csv needs --target or --formula" in capsys.readouterr().err
    assert _run("--features", "a,b", "--out", "never") == 2
    assert "--features needs --csv" in capsys.readouterr().err
    assert not Path("never").exists()


def test_a_missing_card_path_is_one_line(tmp_path, capsys):
    assert _run("--datasets", str(tmp_path / "nope.toml"), "--models", "sklearn_logit", "--out", "never") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope.toml: dataset card not found" in err
    assert not Path("never").exists()
