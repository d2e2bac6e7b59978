"""Separated data in a run: every exact linear model reports `separated`, exit status 0.

The demonstration card `separated` has one feature (dose_mg) that splits the classes
completely (bench/separation.py finds it; tests/test_separation.py checks the detector
against textbook examples). A finding is not a failure, so the run exits 0.
"""

from __future__ import annotations

import pandas as pd

from bench.cli import main
from bench.config import LINEAR_MODELS

MODELS = ",".join((*LINEAR_MODELS, "torch_softmax2"))


def _fits(out) -> pd.DataFrame:
    return pd.read_csv(out / "fits.csv", keep_default_na=False)


def test_separated_card_is_a_finding_not_a_failure(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "--datasets", "separated", "--models", MODELS, "--repeats", "1", "--out", str(out), "-q"]) == 0
    fits = _fits(out)
    assert set(fits["status"]) == {"separated"}
    assert fits["message"].str.contains("dose_mg").all()
    assert fits["message"].str.contains("--penalty l2").all()
    coefficients = pd.read_csv(out / "coefficients.csv")
    assert "separated" not in set(coefficients["dataset"])  # no estimates presented
    report = (out / "report.md").read_text()
    assert "separated" in report and "--penalty l2" in report
    capsys.readouterr()


def test_penalised_fit_of_separated_data_is_finite_and_agrees(tmp_path, capsys):
    out = tmp_path / "out"
    args = [
        "run",
        "--datasets",
        "separated",
        "--models",
        MODELS,
        "--penalty",
        "l2",
        "--repeats",
        "1",
        "--out",
        str(out),
        "-q",
    ]
    assert main(args) == 0
    assert set(_fits(out)["status"]) == {"ok"}
    agreement = pd.read_csv(out / "agreement.csv")
    assert (agreement["max_abs_diff"] <= 1e-6).all()
    capsys.readouterr()


def test_breast_cancer_unpenalised_is_separated(tmp_path, capsys):
    out = tmp_path / "out"
    args = [
        "run",
        "--datasets",
        "breast_cancer",
        "--models",
        "sklearn_logit",
        "--penalty",
        "none",
        "--repeats",
        "1",
        "--out",
        str(out),
        "-q",
    ]
    assert main(args) == 0
    fits = _fits(out)
    assert fits["status"].tolist() == ["separated"]
    assert fits["message"].iloc[0].startswith("complete separation")
    capsys.readouterr()
