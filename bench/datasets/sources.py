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
from bench.stats.logistic import sigmoid


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
    try:
        return loader(as_frame=True).frame  # bundled loaders need no argument and no network
    except (TypeError, AttributeError):
        raise BenchInputError(
            f"{where}: sklearn:{name} is not a bundled table (load_{name}(as_frame=True) needs more); "
            "expected e.g. sklearn:breast_cancer, sklearn:iris, sklearn:wine, sklearn:digits"
        ) from None


def csv_path(card_path: Path, relative: str) -> Path:
    """A card's CSV, which must lie inside the card's own folder."""
    if "\x00" in relative:
        raise BenchInputError(f"{card_path}: source {relative!r} holds a NUL byte; expected a file name")
    folder = card_path.parent.resolve()
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder):
        raise BenchInputError(
            f"{card_path}: source {relative!r} points outside {folder}; expected a file beside the card"
        )
    return path


GENERATION_CHUNK_ROWS = 65_536  # rows drawn per call: bounds the temporaries, not the result


def synthetic_arrays(
    spec: dict, chunk_rows: int = GENERATION_CHUNK_ROWS
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], Truth]:
    """Standard-normal features, coefficients drawn once from the card's seed,
    y ~ Bernoulli(sigmoid(intercept + X @ coef)). The truth goes into the report.

    X (n, p) is allocated once and filled ``chunk_rows`` rows at a time, straight from the
    generator (``standard_normal(out=...)``): no second copy of X exists at any moment, and
    the result is bit-identical to one ``standard_normal((n, p))`` call (the generator fills
    rows in order; a test checks it). The linear predictor is computed chunk by chunk too.
    """
    rng = np.random.default_rng(spec["seed"])
    n, p = spec["n"], spec["p"]
    coef = rng.normal(0.0, float(spec.get("coef_scale", 1.0)), size=p)
    intercept = float(spec.get("intercept", 0.0))
    X = np.empty((n, p))  # (n, p) float64: the dataset's only copy of the features
    eta = np.empty(n)  # (n,)
    for start in range(0, n, chunk_rows):
        block = X[start : start + chunk_rows]  # a view: rows start.. of X
        rng.standard_normal(out=block)
        np.matmul(block, coef, out=eta[start : start + chunk_rows])
    eta += intercept
    y = (rng.random(n) < sigmoid(eta)).astype(np.float64)
    names = tuple(f"x{j + 1}" for j in range(p))
    return X, y, names, Truth(coef=coef, intercept=intercept)


def select_labels(frame: pd.DataFrame, target: str, labels: tuple, where: str) -> tuple[pd.DataFrame, tuple[str, str]]:
    """Keep the rows whose target is one of ``labels`` and code them 0 / 1 in that order."""
    if target not in frame.columns:
        raise BenchInputError(f"{where}: no target column {target!r}")
    negative, positive = labels
    present = set(frame[target].unique().tolist())
    for value in labels:
        if value not in present:
            raise BenchInputError(f"{where}: 'labels' names {value!r}, which never occurs in {target!r}")
    kept = frame[frame[target].isin(labels)].copy()
    kept[target] = (kept[target] == positive).astype(np.float64)
    return kept.reset_index(drop=True), (str(negative), str(positive))


def code_classes(frame: pd.DataFrame, target: str, where: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Code a K-class target as 0..K-1 in sorted order of its values (class 0 is the reference)."""
    if target not in frame.columns:
        raise BenchInputError(f"{where}: no target column {target!r}")
    values = frame[target]
    if values.isna().any():
        raise BenchInputError(f"{where}: target {target!r} has missing values; expected a class label in every row")
    classes = sorted(values.unique().tolist())
    if len(classes) < 3:
        raise BenchInputError(
            f"{where}: 'multiclass = true' needs 3 or more classes in {target!r}, found {len(classes)}"
        )
    coded = frame.copy()
    coded[target] = values.map({c: float(i) for i, c in enumerate(classes)})
    names = tuple(str(int(c)) if isinstance(c, float) and c.is_integer() else str(c) for c in classes)
    return coded, names


def pixel_images(X: np.ndarray, height: int, width: int, size: int) -> np.ndarray:
    """Grayscale pixel features (n, height * width) -> uint8 images (n, 3, size, size).

    Nearest-neighbour upsampling (each pixel becomes a block), the gray value copied to
    three channels and scaled so that the largest value in the data is 255.
    """
    n = X.shape[0]
    scale = 255.0 / max(float(X.max()), 1e-12)
    small = np.clip(np.rint(X.reshape(n, height, width) * scale), 0, 255).astype(np.uint8)  # (n, h, w)
    big = small.repeat(size // height, axis=1).repeat(size // width, axis=2)  # (n, size, size)
    return np.ascontiguousarray(np.broadcast_to(big[:, None], (n, 3, size, size)))


def shapes_arrays(spec: dict) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], Truth, np.ndarray]:
    """Images drawn from three latent features with a known logistic model.

    Latents z ~ N(0, 1), clipped to [-2.5, 2.5]; y ~ Bernoulli(sigmoid(intercept + z @ coef)).
    Each latent is drawn into one channel of a 3 x 200 x 200 image:
      red    a centred 80 x 80 square whose brightness is 128 + 50 z1,
      green  a centred disc of radius 45 + 15 z2,
      blue   a 20-pixel horizontal bar whose centre row is 100 + 30 z3.
    The linear models see z itself (their tabular view), so their coefficients estimate
    ``coef``; the CNN must read z off the pixels. The true log-odds of every row are
    known, and so is the Bayes log loss.
    """
    rng = np.random.default_rng(spec["seed"])
    n, p = spec["n"], 3
    coef = rng.normal(0.0, float(spec.get("coef_scale", 1.0)), size=p)
    intercept = float(spec.get("intercept", 0.0))
    z = np.clip(rng.standard_normal((n, p)), -2.5, 2.5)
    eta = intercept + z @ coef
    y = (rng.random(n) < sigmoid(eta)).astype(np.float64)

    size = 200
    rows = np.arange(size, dtype=np.float64)[:, None]  # (200, 1)
    cols = np.arange(size, dtype=np.float64)[None, :]  # (1, 200)
    images = np.zeros((n, 3, size, size), dtype=np.uint8)
    images[:, 0, 60:140, 60:140] = np.clip(np.rint(128 + 50 * z[:, 0]), 0, 255).astype(np.uint8)[:, None, None]
    radius = 45 + 15 * z[:, 1]  # (n,)
    distance2 = (rows - 99.5) ** 2 + (cols - 99.5) ** 2  # (200, 200)
    images[:, 1] = np.where(distance2[None] <= (radius**2)[:, None, None], 200, 0).astype(np.uint8)
    centre = 100 + 30 * z[:, 2]  # (n,)
    images[:, 2] = (
        np.where(np.abs(rows[None] - centre[:, None, None]) <= 10, 220, 0).astype(np.uint8).repeat(size, axis=2)
    )
    names = ("z1_red_brightness", "z2_green_radius", "z3_blue_position")
    return z, y, names, Truth(coef=coef, intercept=intercept), images
