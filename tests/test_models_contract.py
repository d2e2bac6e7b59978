"""The contract every registered model honours (as scikit-learn's estimator checks do).

Each model in ``bench.models.REGISTRY`` is driven exactly as the runner drives it
(prepare, fit, predict, result) on ``spector`` (unpenalised, train == test) and
``breast_cancer`` (L2, holdout), and the FitResult is checked against the shapes and
definitions in bench/ARCHITECTURE.md ("FitResult") and ``bench/models/base.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit

from bench import models
from bench.models.base import FitResult, Model

MODEL_NAMES = sorted(models.REGISTRY)
DATASET_NAMES = ["spector", "breast_cancer"]

# Two float64 sigmoids (bench's exp(-logaddexp(0, -z)) and scipy's expit) differ by a
# few ulps of 1: measured 1.1e-16 over z in [-40, 40].
SIGMOID_ATOL = 1e-15
# The log-likelihood is a sum of n terms of size ~1 (n <= 427 here); recomputing it
# from coef/intercept reorders the float64 sums: ~n * eps = 1e-13. 1e-10 is generous.
LOGLIK_ATOL = 1e-10


def fitted(name: str, dataset, config):
    """Drive one model through the runner's sequence; return (model, result).

    A model that declines the dataset (the CNN needs images) is skipped with its reason:
    the runner would not fit it either; ``test_supports_returns_bool_and_reason`` checks the reason.
    """
    model = models.create(name)
    supported, reason = model.supports(dataset)
    if not supported:
        pytest.skip(f"{name} does not support {dataset.name}: {reason}")
    model.prepare(dataset, config)
    model.fit()
    model.predict()
    return model, model.result()


@pytest.fixture(params=DATASET_NAMES)
def dataset(request, small_datasets):
    return small_datasets[request.param]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_registry_entry_is_a_named_model_class(name):
    cls = models.model_class(name)
    assert issubclass(cls, Model)
    assert cls.name == name
    assert isinstance(cls.description, str) and cls.description


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_supports_returns_bool_and_reason(name, dataset):
    supported, reason = models.create(name).supports(dataset)
    assert isinstance(supported, bool)
    assert isinstance(reason, str)
    assert supported or reason, "a model that declines a dataset must say why"
    if models.model_class(name).exact:  # the convex linear models take any binary table
        assert supported, f"{name} should support the binary dataset {dataset.name}: {reason}"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_result_shapes_and_definitions(name, dataset, fast_config):
    _, result = fitted(name, dataset, fast_config)
    n_test, p = dataset.X_test.shape

    assert isinstance(result, FitResult)
    assert (result.model, result.dataset, result.status) == (name, dataset.name, "ok")
    assert result.coef.shape == (1, p)
    assert result.intercept.shape == (1,)
    assert result.test_logits.shape == (n_test, 1)
    assert result.test_proba.shape == (n_test, 1)
    for array in (result.coef, result.intercept, result.test_logits, result.test_proba):
        assert array.dtype == np.float64
        assert np.all(np.isfinite(array))

    # test logits are the linear predictor of the reported coefficients
    assert_allclose(
        result.test_logits[:, 0], dataset.X_test @ result.coef[0] + result.intercept[0], rtol=0, atol=1e-10
    )  # same float64 product, possibly a different summation order (|eta| < 40 here)
    assert_allclose(result.test_proba, expit(result.test_logits), rtol=0, atol=SIGMOID_ATOL)

    # loglik: the Bernoulli log-likelihood on the TRAIN rows, from coef and intercept
    train_eta = dataset.X_train @ result.coef[0] + result.intercept[0]
    expected = np.sum(dataset.y_train * train_eta - np.log1p(np.exp(train_eta)))
    assert np.isfinite(result.loglik)
    assert result.loglik == pytest.approx(expected, abs=LOGLIK_ATOL)

    assert result.converged is True
    assert isinstance(result.n_iter, int) and result.n_iter >= 1
    assert isinstance(result.solver, str) and result.solver


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_refit_restarts_from_the_same_state(name, dataset, fast_config):
    """The runner times repeated fit() calls; each must redo the same computation."""
    model, first = fitted(name, dataset, fast_config)
    model.fit()
    model.predict()
    second = model.result()
    # Same deterministic float64 computation from the same start: bit-for-bit equal.
    assert_array_equal(second.coef, first.coef)
    assert_array_equal(second.intercept, first.intercept)
    assert_array_equal(second.test_logits, first.test_logits)
    assert second.n_iter == first.n_iter


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_prepare_leaves_the_dataset_untouched(name, spector, fast_config):
    X_before, y_before = spector.X_train.copy(), spector.y_train.copy()
    fitted(name, spector, fast_config)
    assert_array_equal(spector.X_train, X_before)
    assert_array_equal(spector.y_train, y_before)
    assert not spector.X_train.flags.writeable  # the Dataset stays frozen


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_std_error_shape_when_given(name, spector, fast_config):
    """std_error, where a model gives it, covers [coef..., intercept] of each class row."""
    _, result = fitted(name, spector, fast_config)
    if name == "statsmodels_logit":  # the statistical reference gives them unpenalised
        assert result.std_error is not None
    if result.std_error is not None:
        assert result.std_error.shape == (1, spector.n_features + 1)
        assert np.all(np.isfinite(result.std_error)) and np.all(result.std_error > 0)


def test_unknown_model_name_is_input_error():
    from bench.errors import BenchInputError

    with pytest.raises(BenchInputError, match=r"--models: unknown model 'nope'; expected one of"):
        models.model_class("nope")
