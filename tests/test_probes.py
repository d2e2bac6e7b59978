"""Probes through the seed CNN: the hooks, the untrained control, the probe datasets and probes.csv.

References: the layers applied by hand with torch.nn.functional (the seed's Net.features, step by
step); a fresh ``Net`` built with the run's seed (the control's weights); the last-layer refit
(the trained fc2 probe reads its 84 features); and the LP separation check run here.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import bench
from bench.config import LINEAR_MODELS, TOLERANCES
from bench.models._torch import probes
from bench.models._torch.cnn import Net
from bench.models.torch_cnn import TorchCNN
from bench.runner import run_cell
from bench.stats.separation import detect_separation
from bench.tables.schema import PROBE_COLUMNS
from tests.test_cnn import TINY, tiny_images


@pytest.fixture(scope="module")
def net_and_batch():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        net = Net().eval()
        x = torch.rand(5, 3, 200, 200) * 4 - 2  # standardised-looking inputs
    return net, x


def by_hand(net: Net, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Net.features one layer at a time, reduced as the probes reduce (2 x 2 averages per channel)."""
    out = {}
    with torch.no_grad():
        for layer in ("conv1", "conv2", "conv3"):
            x = F.max_pool2d(F.relu(getattr(net, layer)(x)), 2)
            out[layer] = F.adaptive_avg_pool2d(x, 2).reshape(x.shape[0], -1)
        x = F.relu(net.fc1(torch.flatten(x, 1)))
        out["fc1"] = x
        out["fc2"] = F.relu(net.fc2(x))
    return out


def test_hooks_return_the_layers_applied_by_hand(net_and_batch):
    net, x = net_and_batch
    hooked, manual = probes.hooked_probes(net, x), by_hand(net, x)
    for layer in probes.LAYERS:
        assert hooked[layer].shape == (5, len(probes.feature_names(layer)))
        torch.testing.assert_close(hooked[layer], manual[layer], rtol=0, atol=0)


def test_the_fast_path_taps_give_the_hooks_numbers(net_and_batch):
    """tapped_probes reads features_pool_first (ReLU after the pool, conv1 as 8 channels):
    ReLU commutes with max, so the numbers are the same (float32 rounding at most)."""
    net, x = net_and_batch
    hooked = probes.hooked_probes(net, x)
    tapped, logits = probes.tapped_probes(net, x)
    for layer in probes.LAYERS:
        torch.testing.assert_close(tapped[layer], hooked[layer], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(logits, net(x), rtol=1e-5, atol=1e-5)


def test_feature_names_count_channels_times_quadrants():
    assert [len(probes.feature_names(layer)) for layer in probes.LAYERS] == [24, 64, 128, 120, 84]
    assert probes.feature_names("conv2")[:5] == (
        "conv2_c00_q0",
        "conv2_c00_q1",
        "conv2_c00_q2",
        "conv2_c00_q3",
        "conv2_c01_q0",
    )


@pytest.fixture(scope="module")
def tiny_cnn():
    """A TorchCNN trained one epoch on the tiny image set, and its result."""
    dataset = tiny_images()
    model = TorchCNN()
    model.prepare(dataset, TINY)
    model.fit()
    model.predict()
    return dataset, model, model.result()


def test_the_control_is_the_untrained_network_of_the_seed(tiny_cnn):
    dataset, model, _ = tiny_cnn
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TINY.seed)
        fresh = Net(n_classes=dataset.n_classes)
    control = model._control_network()
    for name, value in fresh.state_dict().items():
        assert torch.equal(control.state_dict()[name].cpu(), value), name
    trained = model.net.state_dict()
    assert any(not torch.equal(trained[name].cpu(), value) for name, value in fresh.state_dict().items())


def test_ten_probe_datasets_with_the_parents_rows(tiny_cnn):
    dataset, _, result = tiny_cnn
    derived = result.extra["derived_datasets"]
    assert derived[0].name == "tiny_images:cnn_features"
    names = [d.name for d in derived[1:]]
    assert names == [f"tiny_images:probe:{n}:{layer}" for n in ("trained", "random") for layer in probes.LAYERS]
    for probe in derived[1:]:
        assert probe.time_once and not probe.has_images and not probe.standardized
        assert np.array_equal(probe.y_train, dataset.y_train) and np.array_equal(probe.y_test, dataset.y_test)
        assert (probe.penalty, probe.C, probe.labels) == (dataset.penalty, dataset.C, dataset.labels)
        assert probe.X_train.shape == (dataset.n_train, len(probes.feature_names(probe.notes["layer"])))
        separated = detect_separation(probe.X_train, probe.y_train, probe.feature_names) is not None
        assert probe.notes["separated"] == separated
    top = derived[5]  # trained fc2: the features the last layer reads
    np.testing.assert_array_equal(top.X_train, derived[0].X_train)
    np.testing.assert_array_equal(top.X_test, derived[0].X_test)


@pytest.mark.parametrize("model", LINEAR_MODELS)
def test_the_top_trained_probe_is_the_last_layer_refit(tiny_cnn, model):
    _, _, result = tiny_cnn
    top = result.extra["derived_datasets"][5]
    refit = {r.model: r for r in result.extra["derived_results"]}["torch_cnn_fc3_refit"]
    probe = run_cell(top, model, replace(TINY, models=(model,)))
    assert probe.status == "ok", probe.message
    assert np.max(np.abs(probe.coef - refit.coef)) <= TOLERANCES["coef"]
    assert np.max(np.abs(probe.intercept - refit.intercept)) <= TOLERANCES["coef"]


@pytest.fixture
def digits_run(digits_cnn_run):
    """digits with two epochs: the CNN, its probes, and the linear models on every probe (conftest:
    one run shared with test_cnn_recipe and test_reliability)."""
    return digits_cnn_run


def test_every_probe_datasets_exact_models_agree(digits_run):
    table = digits_run.probes
    assert list(table.columns) == PROBE_COLUMNS
    assert len(table) == 2 * len(probes.LAYERS) * len(LINEAR_MODELS)
    assert (table["max_abs_diff"] <= TOLERANCES["coef"]).all(), table[table["max_abs_diff"] > TOLERANCES["coef"]]
    assert sorted(table["depth"].unique()) == [1, 2, 3, 4, 5]
    assert set(table["n_features"]) == {24, 64, 128, 120, 84}
    # the same probe, the same model: the exact models' test log losses agree too
    spread = table.groupby(["network", "layer"])["test_log_loss"].agg(lambda v: v.max() - v.min())
    assert (spread <= 1e-6).all(), spread


def test_probes_stay_in_their_section(digits_run, saved_digits_cnn_run):
    out = saved_digits_cnn_run  # digits_run, saved
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "## Every layer is a logistic regression" in text
    before = text[: text.index("## Every layer is a logistic regression")]
    assert ":probe:" not in before  # the other sections show the run's own datasets only
    again = bench.load(out)
    assert len(again.probes) == len(digits_run.probes)


def test_k_class_probes_are_multinomial_fits_that_agree():
    """Three classes: the probes keep the parent's K labels, and the multinomial fits (contrasts
    against class 0, as everywhere else) of scikit-learn and statsmodels agree on them."""
    three = tiny_images(36, classes=3)
    model = TorchCNN()
    model.prepare(three, TINY)
    model.fit()
    model.predict()
    probe = model.result().extra["derived_datasets"][1]  # trained conv1
    assert probe.name == "tiny_images:probe:trained:conv1" and probe.n_classes == 3
    fits = [run_cell(probe, m, replace(TINY, models=(m,))) for m in ("sklearn_logit", "statsmodels_logit")]
    assert all(f.status == "ok" for f in fits), [f.message for f in fits]
    assert fits[0].coef.shape == (2, 24)  # K - 1 contrasts
    assert np.max(np.abs(fits[0].coef - fits[1].coef)) <= TOLERANCES["coef"]
