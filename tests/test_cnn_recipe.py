"""The CNN's training recipe (bench/models/_torch/recipe.py): validation rows from the training rows
only, standardisation statistics from the fitted rows only, the kept epoch, determinism, and what
a run writes about it (training.csv, the learning curve in both reports, run.json)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

import bench
from bench.cli import main
from bench.config import RunConfig
from bench.models import create
from bench.models._torch import recipe
from bench.runner import run_cell
from bench.tables.schema import TRAINING_COLUMNS
from tests.test_cnn import TINY, tiny_images


@pytest.fixture(scope="module")
def tiny():
    return tiny_images(60)


@pytest.fixture(scope="module")
def prepared(tiny):
    model = create("torch_cnn")
    model.prepare(tiny, replace(TINY, seed=3))
    return model


def test_validation_rows_are_a_stratified_share_of_the_training_rows(tiny, prepared):
    val, fit = prepared.val_rows, prepared.fit_rows
    assert set(val) | set(fit) == set(range(tiny.n_train)) and not set(val) & set(fit)
    labels = tiny.y_train.astype(int)
    for label in (0, 1):  # round(0.1 * n_class) of each class
        assert np.sum(labels[val] == label) == round(0.1 * np.sum(labels == label))
    # no validation image is a test image: the test rows are never used for a choice
    test_images = {image.tobytes() for image in tiny.images_test}
    assert not any(tiny.images_train[row].tobytes() in test_images for row in val)
    # seeded: the same seed draws the same rows, another seed others
    assert np.array_equal(recipe.validation_rows(labels, 0.1, 3), val)
    assert not np.array_equal(recipe.validation_rows(labels, 0.1, 4), val)


def test_standardisation_statistics_come_from_the_fitted_rows_only(tiny, prepared):
    fitted = tiny.images_train[prepared.fit_rows].astype(np.float64)  # the reference: plain numpy
    np.testing.assert_allclose(prepared.channel_mean, fitted.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(prepared.channel_std, fitted.std(axis=(0, 2, 3)), rtol=1e-12)
    everything = np.concatenate([tiny.images_train, tiny.images_test]).astype(np.float64)
    assert np.max(np.abs(prepared.channel_mean - everything.mean(axis=(0, 2, 3)))) > 1e-3
    batch = prepared._batch(prepared.images_train, torch.from_numpy(prepared.fit_rows)).double()
    np.testing.assert_allclose(batch.mean(dim=(0, 2, 3)).numpy(), 0.0, atol=1e-5)  # standardised
    np.testing.assert_allclose(batch.std(dim=(0, 2, 3), correction=0).numpy(), 1.0, atol=1e-5)


def _linear_problem(seed=0, n=240, p=40):
    """A noisy linear problem a one-layer network overfits quickly: the validation loss turns up."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = (X[:, 0] + 2.0 * rng.normal(size=n) > 0).astype(np.int64)
    return torch.tensor(X, dtype=torch.float32), torch.from_numpy(y)


@pytest.mark.parametrize("patience", [1, 3])
def test_the_kept_epoch_has_the_lowest_validation_loss_and_stopping_follows_patience(patience):
    X, y = _linear_problem()
    val = recipe.validation_rows(y.numpy(), 0.25, 0)
    fit = np.setdiff1d(np.arange(len(y)), val)
    torch.manual_seed(0)
    net = torch.nn.Linear(X.shape[1], 2)
    settings = {"batch_size": 16, "epochs": 40, "patience": patience, "lr": 0.3, "weight_decay": 0.0, "warmup": 0.1}
    curve = recipe.train(net, lambda n, x: n(x), lambda rows: X[rows], y, fit, val, settings, seed=0, eval_batch=64)
    frame = pd.DataFrame(curve.rows)
    validation = frame[frame["split"] == "validation"].set_index("epoch")["loss"]
    assert curve.chosen_epoch == validation.idxmin()
    assert curve.epochs_trained < settings["epochs"]  # it overfits: training stopped early
    assert curve.epochs_trained - curve.chosen_epoch == patience
    assert (validation.loc[curve.chosen_epoch + 1 :] >= validation.min()).all()
    # the network holds the kept epoch's weights: its validation loss is the recorded minimum
    kept_loss, _, _ = recipe.evaluate(net, lambda n, x: n(x), [(X[val], y[val])])
    assert kept_loss == pytest.approx(validation.min(), rel=1e-6)
    assert curve.images_trained == len(fit) * curve.epochs_trained


def test_training_is_deterministic_for_a_seed(tiny):
    config = replace(TINY, epochs=2)
    first, second = run_cell(tiny, "torch_cnn", config), run_cell(tiny, "torch_cnn", config)
    other = run_cell(tiny, "torch_cnn", replace(config, seed=1))
    assert first.status == second.status == other.status == "ok"
    assert np.array_equal(first.test_logits, second.test_logits)
    strip = lambda rows: [{k: v for k, v in row.items() if k != "seconds"} for row in rows]  # noqa: E731
    assert strip(first.extra["training_curve"]) == strip(second.extra["training_curve"])
    assert not np.array_equal(first.test_logits, other.test_logits)


@pytest.fixture
def cnn_report(saved_digits_cnn_run):
    """digits, the CNN trained two epochs beside the linear models (conftest: one run shared with
    test_probes and test_reliability)."""
    return saved_digits_cnn_run


def test_training_csv_and_the_learning_curve_in_both_reports(cnn_report):
    training = pd.read_csv(cnn_report / "training.csv")
    assert list(training.columns) == TRAINING_COLUMNS
    assert list(training["epoch"]) == [1, 1, 2, 2] and list(training["split"]) == ["train", "validation"] * 2
    assert training["loss"].gt(0).all() and training["accuracy"].between(0, 1).all()
    assert training["seconds"].is_monotonic_increasing
    png = cnn_report / "learning-curve-digits-torch_cnn.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![learning curve of torch_cnn on digits](learning-curve-digits-torch_cnn.png)" in (
        cnn_report / "report.md"
    ).read_text(encoding="utf-8")
    assert 'alt="learning curve of torch_cnn on digits"' in (cnn_report / "index.html").read_text(encoding="utf-8")
    assert list(bench.load(cnn_report).training.columns) == TRAINING_COLUMNS


def test_run_json_and_the_summary_say_how_it_was_trained(cnn_report):
    results = bench.load(cnn_report)
    training = results.run_info["training"]["digits/torch_cnn"]
    assert training["settings"]["epochs"] == 2 and training["fitted_rows"] + training["validation_rows"] == 267
    assert len(training["channel_mean"]) == 3 and 1 <= training["chosen_epoch"] <= 2
    chosen = results.metrics.query("dataset == 'digits' and model == 'torch_cnn' and metric == 'chosen_epoch'")
    assert chosen["value"].item() == training["chosen_epoch"]
    text = (cnn_report / "report.md").read_text(encoding="utf-8")
    assert f"epoch {training['chosen_epoch']} of 2 kept: the lowest validation log loss" in text
    assert "against" in text and "for the logistic regressions on the 64 features" in text


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("lr=2", "--cnn: CNN setting lr = 2; expected a number in (0, 1)"),
        ("momentum=0.9", "--cnn: unknown CNN setting 'momentum'"),
        ("patience", "--cnn: 'patience' is not KEY=VALUE"),
        ("patience=1.5", "--cnn: CNN setting patience = 1.5; expected an integer >= 1"),
    ],
)
def test_bad_cnn_settings_are_one_line(capsys, tmp_path, setting, message):
    assert main(["run", "--datasets", "digits", "--cnn", setting, "--out", str(tmp_path / "r"), "-q"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_cnn_settings_reach_the_model_and_run_json():
    config = RunConfig(datasets=("digits",), epochs=4, cnn=(("lr", 0.002), ("patience", 2)))
    assert config.cnn_overrides() == {"epochs": 4, "lr": 0.002, "patience": 2}
    assert RunConfig.from_json(config.to_json()) == config  # --resume rebuilds the same settings
