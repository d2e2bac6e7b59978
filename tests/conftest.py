"""Shared fixtures: small datasets, a fast RunConfig, a CSV factory and one cached run.

Everything here is small on purpose: the default test run must stay well under a
minute on two cores, so every config times a single repeat and the datasets are
the shipped small ones (spector: 32 rows, breast_cancer: 569, synthetic: 2,000).
"""

from __future__ import annotations

from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bench
from bench import datasets
from bench.config import LINEAR_MODELS, RunConfig
from bench.datasets import build
from bench.runner import memory

# One timed repeat: the tests check numbers, never timings (those live in tests/benchmarks).
# The models are named, not the suite's: a suite may grow (the CNN) without slowing the tests.
FAST = RunConfig(repeats=1, models=LINEAR_MODELS)


@pytest.fixture
def fast_config() -> RunConfig:
    """A RunConfig with one timed repeat. Frozen: derive variants with ``dataclasses.replace``."""
    return FAST


@pytest.fixture
def make_config():
    """``make_config(**fields)``: the fast config with some fields replaced (it is frozen)."""

    def make(**fields) -> RunConfig:
        return replace(FAST, **fields)

    return make


@pytest.fixture
def cells_as_in_a_run():
    """Many ``run_cell`` calls in one test, measured as a run's cells are (``memory.young_only``,
    bench.runner.executors): each cell's memory measurement freezes what survives its
    ``gc.collect()``, so the next one scans only the objects made since. Outside a run every
    cell's full collection of this pytest process (torch, pandas, hypothesis, ... imported)
    took 0.2-0.4 s, more than the fits of a small dataset. What the cells compute is unchanged."""
    with memory.young_only():
        yield


def fits_only(dataset: datasets.Dataset) -> datasets.Dataset:
    """``dataset`` timed as a probe dataset is (``Dataset.time_once``): ``run_cell`` fits, predicts
    and checks it as always, but skips the machine-speed reference timings around the cell (~50 ms
    a cell here). For tests that call ``run_cell`` hundreds of times and read only the fits;
    with ``repeats=1`` (a budget of 0) the fits are the same calls either way."""
    return replace(dataset, time_once=True)


@pytest.fixture(scope="session")
def spector() -> datasets.Dataset:
    """Spector & Mazzeo: 32 rows, all both train and test, unpenalised."""
    return datasets.load("spector")


@pytest.fixture(scope="session")
def breast_cancer() -> datasets.Dataset:
    """Wisconsin breast cancer: standardised, holdout 0.25, L2 with C = 1."""
    return datasets.load("breast_cancer")


@pytest.fixture(scope="session")
def synthetic() -> datasets.Dataset:
    """2,000 generated rows with known coefficients, L2 with C = 1."""
    return datasets.load("synthetic")


@pytest.fixture(scope="session")
def small_datasets(spector, breast_cancer) -> dict[str, datasets.Dataset]:
    return {"spector": spector, "breast_cancer": breast_cancer}


def logistic_frame(n: int = 300, p: int = 4, seed: int = 12345, target: str = "y") -> pd.DataFrame:
    """A seeded logistic-regression table: columns x1..xp (standard normal) and a 0/1 target.

    The coefficients are modest (|beta| < 1.5), so the classes overlap and the MLE exists.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))  # (n, p)
    beta = np.linspace(-1.0, 1.5, p)  # (p,)
    eta = 0.3 + X @ beta  # (n,)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(int)
    frame = pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(p)])
    frame[target] = y
    return frame


@pytest.fixture
def write_csv(tmp_path):
    """``write_csv(frame_or_text, name="data.csv") -> Path``: a file under ``tmp_path``.

    A DataFrame is written with pandas (no index); a str is written verbatim, for
    malformed files pandas would refuse to produce.
    """

    def write(content, name: str = "data.csv") -> Path:
        path = tmp_path / name
        if isinstance(content, pd.DataFrame):
            content.to_csv(path, index=False)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def small_run() -> bench.Results:
    """One small run (spector + synthetic, the three linear models, one repeat), shared
    by the report tests. Session-scoped: the tests only read it."""
    return bench.run(replace(FAST, datasets=("spector", "synthetic")))


@pytest.fixture(scope="session")
def saved_small_run(small_run, tmp_path_factory) -> Path:
    """``small_run`` saved once to a fresh directory."""
    return small_run.save(tmp_path_factory.mktemp("report") / "run")


@pytest.fixture(scope="session")
def digits_cnn_run() -> bench.Results:
    """digits with the CNN (two epochs), its derived datasets (features, probes) and the three linear
    models on every one of them, one repeat. One end-to-end CNN run (~10 s) shared by the recipe,
    probe and determinism tests, which only read it; each used to make its own."""
    config = RunConfig(datasets=("digits",), models=(*LINEAR_MODELS, "torch_cnn"), epochs=2, repeats=1)
    return bench.run(config)


@pytest.fixture(scope="session")
def saved_digits_cnn_run(digits_cnn_run, tmp_path_factory) -> Path:
    """``digits_cnn_run`` saved once to a fresh directory."""
    return digits_cnn_run.save(tmp_path_factory.mktemp("digits_cnn") / "run")


class _TagCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def html_tags(text: str) -> list[tuple[str, dict]]:
    """Every start tag of an HTML page, with its attributes: (tag, {name: value})."""
    parser = _TagCollector()
    parser.feed(text)
    return parser.tags


def synthetic_dataset(X, y, *, contiguous=False, penalty="l2", seed=0) -> datasets.Dataset:
    """A Dataset built from arrays as a synthetic card builds it: holdout 0.25, no standardising."""
    return build(
        name="small",
        description="test data",
        source="synthetic",
        X=X,
        y=y,
        feature_names=tuple(f"x{j}" for j in range(X.shape[1])),
        split="holdout",
        test_fraction=0.25,
        standardize=False,
        penalty=penalty,
        C=1.0,
        seed=seed,
        contiguous=contiguous,
        where="test",
    )


def tall_arrays(n=40_000, p=5, seed=1):
    """(X, y): n standard-normal rows drawn from a logistic model with intercept 0.2."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    coef = rng.normal(0.0, 0.6, size=p)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(0.2 + X @ coef)))).astype(np.float64)
    return X, y
