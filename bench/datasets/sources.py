"""Where a card's rows come from: statsmodels, scikit-learn, a generator, a CSV.

Each loader returns (frame or arrays) without splitting; ``load`` in
``__init__`` splits and freezes. Nothing here touches the network.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bench.datasets.dataset import Truth
from bench.errors import BenchInputError


def statsmodels_frame(name: str, where: str) -> pd.DataFrame:
    import statsmodels.datasets as smd

    module = getattr(smd, name, None)
    if module is None or not hasattr(module, "load_pandas"):
        raise BenchInputError(f"{where}: statsmodels has no dataset {name!r}")
    return module.load_pandas().data


def sklearn_frame(name: str, where: str) -> pd.DataFrame:
    import sklearn.datasets as skd

    loader = getattr(skd, f"load_{name}", None)
    if loader is None:
        raise BenchInputError(f"{where}: scikit-learn has no bundled dataset load_{name}()")
    bunch = loader(as_frame=True)
    return bunch.frame


def csv_path(card_path: Path, relative: str) -> Path:
    """A card's CSV, which must lie inside the card's own folder."""
    folder = card_path.parent.resolve()
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder):
        raise BenchInputError(f"{card_path}: source {relative!r} points outside {folder}; expected a file beside the card")
    return path


def synthetic_arrays(spec: dict) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], Truth]:
    """Standard-normal features, coefficients drawn once from the card's seed,
    y ~ Bernoulli(sigmoid(intercept + X @ coef)). The truth goes into the report."""
    rng = np.random.default_rng(spec["seed"])
    n, p = spec["n"], spec["p"]
    coef = rng.normal(0.0, float(spec.get("coef_scale", 1.0)), size=p)
    intercept = float(spec.get("intercept", 0.0))
    X = rng.standard_normal((n, p))
    eta = intercept + X @ coef
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(np.float64)
    names = tuple(f"x{j + 1}" for j in range(p))
    return X, y, names, Truth(coef=coef, intercept=intercept)
