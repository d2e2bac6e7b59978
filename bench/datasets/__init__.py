"""Datasets: cards in ``datasets/*.toml`` loaded into frozen ``Dataset`` objects."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from bench.datasets.builder import build
from bench.datasets.cards import CARDS_DIR, Card, card_paths, parse_card
from bench.datasets.csv_reader import read_csv, to_arrays
from bench.datasets.dataset import Dataset, Truth
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

__all__ = ["Dataset", "Truth", "available", "load", "load_csv", "CARDS_DIR"]


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
        X, y, names = to_arrays(frame, card.target, card.features, where, n_classes=len(labels))
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


def load(name: str, seed: int = 0, cards: Path | tuple[Path, ...] = ()) -> Dataset:
    """Load the dataset named by a card (built-in, or in the ``cards`` folders), split with ``seed``."""
    paths = card_paths(cards)
    if name not in paths:
        raise BenchInputError(
            f"--datasets: unknown dataset {name!r}; expected one of {', '.join(paths) or '(no cards)'}"
        )
    return _from_card(parse_card(paths[name]), seed)


def load_csv(
    path: Path, target: str, *, penalty: str = "l2", C: float = 1.0, seed: int = 0, test_fraction: float = 0.25
) -> Dataset:
    """A user's CSV: every column but ``target`` is a feature, a stratified holdout split,
    features as given (not standardised, so coefficients are in the user's units)."""
    frame = read_csv(path)
    X, y, names = to_arrays(frame, target, None, str(path))
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem) or "csv"
    return build(
        name=name,
        description=f"user CSV {path.name}, target {target}",
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
