"""Datasets: cards in ``datasets/*.toml`` loaded into frozen ``Dataset`` objects."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from bench.datasets.builder import build
from bench.datasets.cards import CARDS_DIR, Card, card_paths, parse_card
from bench.datasets.csv_reader import read_csv, to_arrays
from bench.datasets.dataset import Dataset, Truth
from bench.datasets.formula import design
from bench.datasets.image_folder import load_image_folder
from bench.datasets.sources import (
    code_classes,
    csv_path,
    pixel_images,
    select_labels,
    shapes_arrays,
    sklearn_frame,
    statsmodels_frame,
    synthetic_arrays,
)
from bench.errors import BenchInputError

__all__ = ["Dataset", "Truth", "available", "load", "load_csv", "load_image_folder", "CARDS_DIR"]


def available(cards: Path | tuple[Path, ...] = ()) -> dict[str, Card]:
    """Every card, parsed (a malformed card raises BenchInputError naming it): the built-in ones
    and those of the ``cards`` folders (--cards, $LOGITBENCH_CARDS), or of one folder given as a Path."""
    return {name: parse_card(path) for name, path in card_paths(cards).items()}


def _from_card(card: Card, seed: int) -> Dataset:
    where = str(card.path)
    truth = images = None
    labels = ("0", "1")
    if card.source_kind == "synthetic":
        X, y, names, truth = synthetic_arrays(card.synthetic)
    elif card.source_kind == "shapes":
        X, y, names, truth, images = shapes_arrays(card.synthetic)
    else:
        if card.source_kind == "statsmodels":
            frame = statsmodels_frame(card.source_name, where)
        elif card.source_kind == "sklearn":
            frame = sklearn_frame(card.source_name, where)
        else:
            path = csv_path(card.path, card.source_name)
            frame = read_csv(path)
            where = str(path)
        if card.labels is not None:
            frame, labels = select_labels(frame, card.target, card.labels, where)
        elif card.multiclass:
            frame, labels = code_classes(frame, card.target, where)
        X, y, names = table_arrays(frame, card.target, card.features, card.formula, where, n_classes=len(labels))
        if card.images is not None:
            spec = card.images
            if X.shape[1] != spec["height"] * spec["width"]:
                raise BenchInputError(
                    f"{where}: [images] is {spec['height']} x {spec['width']} but there are {X.shape[1]} features"
                )
            images = pixel_images(X, spec["height"], spec["width"], spec["size"])
    return build(
        name=card.name,
        description=card.description,
        source=f"{card.source_kind}:{card.source_name}" if card.source_name else card.source_kind,
        X=X,
        y=y,
        feature_names=names,
        split=card.split,
        test_fraction=card.test_fraction,
        standardize=card.standardize,
        penalty=card.penalty,
        C=card.C,
        seed=seed,
        truth=truth,
        images=images,
        labels=labels,
        cnn=card.cnn or {},
        contiguous=card.contiguous,
        where=where,
    )


def table_arrays(frame, target: str, features, formula: str | None, where: str, n_classes: int = 2):
    """X, y and term names of a table: chosen columns (``features``; None: all but the target)
    or a formula's design (``formula``), checked by ``to_arrays``."""
    if formula is not None:
        frame, target, features = design(frame, formula, where)
    return to_arrays(frame, target, features, where, n_classes=n_classes)


def load(name: str, seed: int = 0, cards: Path | tuple[Path, ...] = ()) -> Dataset:
    """Load the dataset named by a card (built-in, or in the ``cards`` folders), split with ``seed``.
    A name ending in ``.toml`` is a card's path, read from wherever it is."""
    if name.endswith(".toml"):
        return _from_card(parse_card(Path(name)), seed)
    paths = card_paths(cards)
    if name not in paths:
        raise BenchInputError(
            f"--datasets: unknown dataset {name!r}; expected one of {', '.join(paths) or '(no cards)'}, "
            "or a card's path (path/to/card.toml)"
        )
    return _from_card(parse_card(paths[name]), seed)


def load_csv(
    path: Path,
    target: str | None = None,
    *,
    formula: str | None = None,
    features: tuple[str, ...] | None = None,
    penalty: str = "l2",
    C: float = 1.0,
    seed: int = 0,
    test_fraction: float = 0.25,
) -> Dataset:
    """A user's CSV with a 0/1 target: every other column a feature, the ``features`` named, or
    a ``formula``'s terms (its left-hand side the target). Columns the fit does not use may
    hold anything. A stratified holdout of ``test_fraction`` (0: every row is train and test,
    as R's glm and Stata's logit fit). Features as given (not standardised: coefficients are in
    the user's units)."""
    if (target is None) == (formula is None):
        raise BenchInputError(f"{path}: give a target column or a formula (not both)")
    frame = read_csv(path)
    X, y, names = table_arrays(frame, target, features, formula, str(path))
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem) or "csv"
    what = f"formula {formula}" if formula else f"target {target}"
    return build(
        name=name,
        description=f"user CSV {path.name}, {what}",
        source=f"csv:{path}",
        X=X,
        y=y,
        feature_names=names,
        split="holdout",
        test_fraction=test_fraction,
        standardize=False,
        penalty=penalty,
        C=C,
        seed=seed,
        where=str(path),
    )


def with_penalty(dataset: Dataset, penalty: str | None, C: float | None) -> Dataset:
    """The same data under a penalty given on the command line."""
    return replace(
        dataset,
        penalty=penalty if penalty is not None else dataset.penalty,
        C=C if C is not None else dataset.C,
    )
