"""Finished cells on disk, so that an interrupted run can resume (``--resume DIR``).

While ``run --out DIR`` works, every finished cell is saved beside DIR, in
``.DIR.cells/``: ``config.json`` (the run's configuration) and, per cell, a JSON file of
its scalars and an ``.npz`` of its arrays, each written to a temporary name and moved
into place with ``os.replace``, so a kill leaves whole files or none. No pickle: arrays
are read with ``allow_pickle=False``. When the report is written the folder is removed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

from bench import files
from bench.datasets import Dataset
from bench.datasets.builder import frozen
from bench.errors import BenchInputError
from bench.fit_result import FitResult

ARRAY_FIELDS = ("coef", "intercept", "std_error", "test_logits", "test_proba")
SCALAR_FIELDS = (
    "model",
    "dataset",
    "status",
    "message",
    "loglik",
    "n_iter",
    "converged",
    "solver",
    "fit_seconds",
    "fit_seconds_median",
    "predict_seconds",
    "predict_seconds_median",
    "repeats",
    "exact",
    "peak_extra_bytes",
)
SAMPLE_FIELDS = ("fit_times", "predict_times", "reference_times")  # every timed call, as JSON lists
DATASET_ARRAYS = ("X_train", "y_train", "X_test", "y_test")
DATASET_SCALARS = (
    "name",
    "description",
    "source",
    "feature_names",
    "penalty",
    "C",
    "seed",
    "split",
    "standardized",
    "labels",
    "cnn",
    "notes",
    "time_once",
)


def cells_dir(out: Path) -> Path:
    return out.parent / f".{out.name}.cells"


def _key(dataset: str, model: str) -> str:
    return hashlib.sha1(f"{dataset}\0{model}".encode()).hexdigest()[:20]


def _result_parts(result: FitResult, prefix: str, arrays: dict) -> dict:
    """Scalars of ``result`` as JSON-able values; its arrays into ``arrays`` under ``prefix``."""
    scalars = {name: getattr(result, name) for name in SCALAR_FIELDS + SAMPLE_FIELDS}
    scalars["classes"] = list(result.classes)
    for name in ARRAY_FIELDS:
        value = getattr(result, name)
        if value is not None:
            arrays[f"{prefix}{name}"] = np.asarray(value)
    extra = dict(result.extra)
    if "effects" in extra:
        ame, se, classes = extra.pop("effects")
        arrays[f"{prefix}effects_ame"], arrays[f"{prefix}effects_se"] = np.asarray(ame), np.asarray(se)
        scalars["effects_classes"] = list(classes)
    scalars["derived_datasets"] = []
    for i, derived in enumerate(extra.pop("derived_datasets", [])):
        scalars["derived_datasets"].append({name: getattr(derived, name) for name in DATASET_SCALARS})
        for name in DATASET_ARRAYS:
            arrays[f"{prefix}derived{i}_{name}"] = getattr(derived, name)
    scalars["derived_results"] = [
        _result_parts(r, f"{prefix}d{i}_", arrays) for i, r in enumerate(extra.pop("derived_results", []))
    ]
    scalars["extra"] = extra  # metrics, losses, images_trained: plain JSON
    return scalars


def _result_from_parts(scalars: dict, prefix: str, arrays) -> FitResult:
    fields = {name: scalars[name] for name in SCALAR_FIELDS}
    fields |= {name: list(scalars.get(name, [])) for name in SAMPLE_FIELDS}
    fields["classes"] = tuple(scalars["classes"])
    for name in ARRAY_FIELDS:
        fields[name] = arrays[f"{prefix}{name}"] if f"{prefix}{name}" in arrays else None
    result = FitResult(**fields)
    result.extra = dict(scalars["extra"])
    if "effects_classes" in scalars:
        result.extra["effects"] = (
            arrays[f"{prefix}effects_ame"],
            arrays[f"{prefix}effects_se"],
            tuple(scalars["effects_classes"]),
        )
    derived = []
    for i, meta in enumerate(scalars.get("derived_datasets", [])):
        meta = dict(meta, feature_names=tuple(meta["feature_names"]), labels=tuple(meta["labels"]))
        data = {name: frozen(arrays[f"{prefix}derived{i}_{name}"]) for name in DATASET_ARRAYS}
        derived.append(Dataset(**meta, **data))
    if derived:
        result.extra["derived_datasets"] = derived
    if scalars["derived_results"]:
        result.extra["derived_results"] = [
            _result_from_parts(s, f"{prefix}d{i}_", arrays) for i, s in enumerate(scalars["derived_results"])
        ]
    return result


class CellStore:
    """The finished cells of one run, on disk."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def fresh(cls, out: Path, config: dict) -> "CellStore":
        directory = cells_dir(out)
        shutil.rmtree(directory, ignore_errors=True)  # a new run does not mix with an old one
        directory.mkdir(parents=True)
        store = cls(directory)
        files.write_text(directory / "config.json", json.dumps(config, indent=2))
        return store

    @classmethod
    def existing(cls, out: Path) -> tuple["CellStore", dict]:
        directory = cells_dir(out)
        try:
            config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BenchInputError(f"--resume {out}: no unfinished run there (no {directory}/config.json)") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BenchInputError(f"--resume {out}: {directory}/config.json is not valid JSON ({exc})") from None
        return cls(directory), config

    def save(self, result: FitResult) -> None:
        key = _key(result.dataset, result.model)
        arrays: dict = {}
        scalars = _result_parts(result, "", arrays)

        # arrays first, then the JSON that marks the cell finished
        def write_arrays(tmp: str) -> None:
            with open(tmp, "wb") as handle:
                np.savez(handle, **arrays)

        files.write_file(self.directory / f"{key}.npz", write_arrays)
        files.write_text(self.directory / f"{key}.json", json.dumps(scalars, default=_json))

    def load(self, dataset: str, model: str) -> FitResult | None:
        key = _key(dataset, model)
        scalars_path, arrays_path = self.directory / f"{key}.json", self.directory / f"{key}.npz"
        if not (scalars_path.exists() and arrays_path.exists()):
            return None
        scalars = json.loads(scalars_path.read_text(encoding="utf-8"))
        with np.load(arrays_path, allow_pickle=False) as arrays:
            return _result_from_parts(scalars, "", {k: arrays[k] for k in arrays.files})

    def count(self) -> int:
        """Finished cells saved here (one JSON file each, beside config.json)."""
        if not self.directory.is_dir():
            return 0
        return sum(1 for p in self.directory.glob("*.json") if p.name != "config.json")

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _json(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot store {type(value).__name__} in a cell file")
