"""Dataset cards: TOML files in ``datasets/``, parsed and checked field by field.

A card::

    name = "spector"                 # must equal the file name without .toml
    description = "..."
    source = "statsmodels:spector"   # statsmodels:<name> | sklearn:<name> | synthetic | csv:<file>
    target = "GRADE"                 # ignored for synthetic
    features = ["GPA", "TUCE", "PSI"]   # or "all": every column but the target
    formula = "GRADE ~ GPA + TUCE + C(PSI)"  # instead of target and features: a Wilkinson
                                     # formula (bench.datasets.formula; formulaic)

    [split]
    method = "none"                  # "none": all rows are both train and test; "holdout"
    test_fraction = 0.25             # holdout only; 0: every row is train and test
    contiguous = false               # holdout only; true: the same stratified test rows, moved
                                     # to the end of the one array in place, train and test
                                     # views of it (no second copy of X: large cards)

    [preprocess]
    standardize = false              # true: centre and scale with training statistics

    [penalty]
    kind = "none"                    # "none" or "l2"
    C = 1.0                          # inverse L2 strength, scikit-learn's convention

    [synthetic]                      # source = "synthetic" or "shapes" only
    n = 2000
    p = 5
    seed = 20261126                  # fixes the data and the true coefficients
    intercept = -0.5

    labels = [3, 8]                  # optional: the target values read as 0 and 1; other rows dropped
    multiclass = true                # optional: K > 2 classes, the sorted target values coded 0..K-1
                                     # (class 0, the smallest, is the reference of the contrasts)

    [images]                         # optional image view of the same rows, for the CNN
    from = "pixels"                  # the features are an h x w grayscale image
    height = 8
    width = 8
    size = 200                       # upsampled (nearest) to 3 x size x size

    [cnn]                            # training settings for torch_cnn on this dataset; any of
    epochs = 12                      # bench.config.CNN_SETTINGS (epochs, batch_size, lr, weight_decay,
    lr = 0.0005                      # warmup, validation_fraction, patience); the rest keep their defaults
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bench.config import check_cnn_settings
from bench.datasets.formula import formula_target
from bench.errors import BenchInputError

# the built-in cards ship inside the package (the repository's top-level datasets/ links here)
CARDS_DIR = Path(__file__).resolve().parent / "builtin"
CARDS_ENV = "LOGITBENCH_CARDS"  # more card folders, separated by os.pathsep

MAX_SYNTHETIC_VALUES = 200_000_000  # a generated X of at most 1.5 GiB (the scale suite's: 1e8)
SOURCE_KINDS = ("statsmodels", "sklearn", "synthetic", "shapes", "csv")
GENERATED = ("synthetic", "shapes")  # sources without a name after the colon

# field -> (expected python types, what to say when it is wrong)
_TOP = {
    "name": ((str,), "a string"),
    "description": ((str,), "a string"),
    "source": ((str,), "a string such as 'sklearn:breast_cancer'"),
    "target": ((str,), "a column name"),
    "features": ((list, str), 'a list of column names or "all"'),
    "formula": ((str,), "a formula such as 'y ~ x1 + C(group)'"),
    "split": ((dict,), "a table [split]"),
    "preprocess": ((dict,), "a table [preprocess]"),
    "penalty": ((dict,), "a table [penalty]"),
    "synthetic": ((dict,), "a table [synthetic]"),
    "labels": ((list,), "a list of the two target values read as 0 and 1"),
    "multiclass": ((bool,), "true or false"),
    "images": ((dict,), "a table [images]"),
    "cnn": ((dict,), "a table [cnn]"),
}
_REQUIRED_TOP = ("name", "description", "source", "split", "penalty")
_TABLES = {
    "split": {
        "method": ((str,), '"none" or "holdout"'),
        "test_fraction": ((float, int), "a number in [0, 1)"),
        "contiguous": ((bool,), "true or false"),
    },
    "preprocess": {"standardize": ((bool,), "true or false")},
    "penalty": {"kind": ((str,), '"none" or "l2"'), "C": ((float, int), "a number > 0")},
    "synthetic": {
        "n": ((int,), "an integer >= 10"),
        "p": ((int,), "an integer >= 1"),
        "seed": ((int,), "an integer"),
        "intercept": ((float, int), "a number"),
        "coef_scale": ((float, int), "a number > 0"),
    },
    "images": {
        "from": ((str,), '"pixels"'),
        "height": ((int,), "an integer >= 1"),
        "width": ((int,), "an integer >= 1"),
        "size": ((int,), "an integer, the output image side"),
    },
}


@dataclass(frozen=True)
class Card:
    path: Path
    name: str
    description: str
    source_kind: str
    source_name: str
    target: str | None
    features: tuple[str, ...] | None  # None: every column but the target
    split: str
    test_fraction: float
    standardize: bool
    penalty: str
    C: float
    synthetic: dict
    labels: tuple | None = None
    multiclass: bool = False
    images: dict | None = None
    cnn: dict | None = None
    contiguous: bool = False  # holdout rows reordered in place; train and test are views
    formula: str | None = None  # target and terms as a Wilkinson formula (bench.datasets.formula)


def _check(where: str, key: str, value, spec) -> None:
    types, expected = spec
    # bool is an int in Python; a card saying n = true is still wrong
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    if not ok:
        raise BenchInputError(f"{where}: field {key!r} must be {expected}, got {value!r}")


def parse_card(path: Path) -> Card:
    where = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchInputError(f"{where}: dataset card not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BenchInputError(f"{where}: not valid TOML ({exc})") from None
    for key, value in raw.items():
        if key not in _TOP:
            raise BenchInputError(f"{where}: unknown field {key!r}; expected one of {', '.join(_TOP)}")
        _check(where, key, value, _TOP[key])
    for key in _REQUIRED_TOP:
        if key not in raw:
            raise BenchInputError(f"{where}: missing field {key!r} ({_TOP[key][1]})")
    for table, fields in _TABLES.items():
        for key, value in raw.get(table, {}).items():
            if key not in fields:
                raise BenchInputError(f"{where}: unknown field '{table}.{key}'; expected one of {', '.join(fields)}")
            _check(where, f"{table}.{key}", value, fields[key])
    if raw["name"] != path.stem:
        raise BenchInputError(f"{where}: field 'name' is {raw['name']!r}; expected the file name {path.stem!r}")

    kind, _, source_name = raw["source"].partition(":")
    if kind not in SOURCE_KINDS or (kind not in GENERATED and not source_name):
        raise BenchInputError(
            f"{where}: field 'source' is {raw['source']!r}; expected statsmodels:<name>, "
            "sklearn:<name>, csv:<file>, synthetic or shapes"
        )
    formula = raw.get("formula")
    if formula is not None:
        if kind in GENERATED:
            raise BenchInputError(f"{where}: field 'formula' needs a table source (statsmodels, sklearn or csv)")
        if "features" in raw:
            raise BenchInputError(f"{where}: 'formula' and 'features' exclude each other (the formula names the terms)")
        lhs = formula_target(formula, f"{where}: field 'formula'")
        if raw.get("target", lhs) != lhs:
            raise BenchInputError(f"{where}: 'target' is {raw['target']!r} but the formula's left-hand side is {lhs!r}")
        raw["target"] = lhs
    if kind not in GENERATED and "target" not in raw:
        raise BenchInputError(f"{where}: missing field 'target' (a column name)")
    if kind in GENERATED:
        syn = raw.get("synthetic")
        if syn is None:
            raise BenchInputError(f'{where}: missing table [synthetic] for source = "{kind}"')
        for key in ("n", "p", "seed"):
            if key not in syn:
                raise BenchInputError(f"{where}: missing field 'synthetic.{key}'")
        if syn["n"] < 10 or syn["p"] < 1:
            raise BenchInputError(f"{where}: synthetic.n must be >= 10 and synthetic.p >= 1")
        if syn["n"] * syn["p"] > MAX_SYNTHETIC_VALUES:
            raise BenchInputError(
                f"{where}: synthetic.n x synthetic.p = {syn['n'] * syn['p']:,} values; expected at "
                f"most {MAX_SYNTHETIC_VALUES:,} ({MAX_SYNTHETIC_VALUES * 8 / 2**30:.0f} GiB in float64)"
            )
        if syn["seed"] < 0:
            raise BenchInputError(f"{where}: synthetic.seed must be an integer >= 0, got {syn['seed']}")
        scale = syn.get("coef_scale", 1.0)
        if not 0 < scale <= 100:
            raise BenchInputError(f"{where}: synthetic.coef_scale must be in (0, 100] (log-odds units), got {scale}")

    split = raw["split"].get("method")
    if split not in ("none", "holdout"):
        raise BenchInputError(f'{where}: field \'split.method\' must be "none" or "holdout", got {split!r}')
    test_fraction = raw["split"].get("test_fraction", 0.25)
    if not 0 <= test_fraction < 1:
        raise BenchInputError(f"{where}: field 'split.test_fraction' must be in [0, 1), got {test_fraction}")
    contiguous = raw["split"].get("contiguous", False)
    if contiguous and split != "holdout":
        raise BenchInputError(f"{where}: field 'split.contiguous' needs split.method = \"holdout\"")
    penalty = raw["penalty"].get("kind")
    if penalty not in ("none", "l2"):
        raise BenchInputError(f'{where}: field \'penalty.kind\' must be "none" or "l2", got {penalty!r}')
    C = float(raw["penalty"].get("C", 1.0))
    if not (C > 0 and math.isfinite(C)):
        raise BenchInputError(f"{where}: field 'penalty.C' must be a finite number > 0, got {C}")
    features = raw.get("features", "all")
    if isinstance(features, str) and features != "all":
        raise BenchInputError(f"{where}: field 'features' must be a list of column names or \"all\"")
    if isinstance(features, list) and not all(isinstance(f, str) for f in features):
        raise BenchInputError(f"{where}: field 'features' must hold strings only")
    if isinstance(features, list) and len(set(features)) != len(features):
        raise BenchInputError(f"{where}: field 'features' names a column twice")

    labels = raw.get("labels")
    if labels is not None and not all(isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in labels):
        raise BenchInputError(
            f"{where}: field 'labels' must list two target values (numbers or strings), got {labels!r}"
        )
    if labels is not None and (len(labels) != 2 or len(set(map(repr, labels))) != 2):
        raise BenchInputError(f"{where}: field 'labels' must list two different target values, got {labels!r}")
    multiclass = raw.get("multiclass", False)
    if multiclass and labels is not None:
        raise BenchInputError(f"{where}: 'labels' (a binary task) and 'multiclass = true' exclude each other")
    images = raw.get("images")
    if images is not None:
        for key in ("from", "height", "width", "size"):
            if key not in images:
                raise BenchInputError(f"{where}: missing field 'images.{key}'")
        if images["from"] != "pixels":
            raise BenchInputError(f"{where}: field 'images.from' must be \"pixels\", got {images['from']!r}")
        if min(images["height"], images["width"], images["size"]) < 1:
            raise BenchInputError(f"{where}: images.height, images.width and images.size must be >= 1")
        if images["size"] % images["height"] or images["size"] % images["width"]:
            raise BenchInputError(f"{where}: 'images.size' must be a multiple of images.height and images.width")
    cnn = raw.get("cnn")
    if cnn is not None:  # names, types and ranges: bench.config.CNN_SETTINGS
        check_cnn_settings(cnn, f"{where}: [cnn]")

    return Card(
        path=path,
        name=raw["name"],
        description=raw["description"],
        source_kind=kind,
        source_name=source_name,
        target=raw.get("target"),
        features=None if features == "all" else tuple(features),
        formula=formula,
        split=split,
        test_fraction=float(test_fraction),
        standardize=raw.get("preprocess", {}).get("standardize", False),
        penalty=penalty,
        C=C,
        synthetic=dict(raw.get("synthetic", {})),
        labels=tuple(labels) if labels is not None else None,
        multiclass=multiclass,
        images=images,
        cnn=dict(cnn) if cnn is not None else None,
        contiguous=contiguous,
    )


def card_dirs(extra: tuple[Path, ...] = ()) -> list[Path]:
    """Where cards are read: the built-in folder, then $LOGITBENCH_CARDS, then ``extra`` (--cards)."""
    from_env = [Path(p) for p in os.environ.get(CARDS_ENV, "").split(os.pathsep) if p]
    dirs = [CARDS_DIR]
    for where, folder in [*((CARDS_ENV, p) for p in from_env), *(("--cards", Path(p)) for p in extra)]:
        if not folder.is_dir():
            raise BenchInputError(f"{where} {folder}: no such folder; expected a folder of dataset cards (*.toml)")
        if folder.resolve() not in {d.resolve() for d in dirs}:
            dirs.append(folder)
    return dirs


def card_paths(cards: Path | tuple[Path, ...] | list[Path] = ()) -> dict[str, Path]:
    """Every card by name: of one folder, or of the built-in folder and the ``cards`` folders
    (--cards, $LOGITBENCH_CARDS). Two cards with one name are bad input."""
    dirs = [cards] if isinstance(cards, Path) else card_dirs(tuple(cards))
    found: dict[str, Path] = {}
    for folder in dirs:
        for path in sorted(folder.glob("*.toml")):
            if path.stem in found:
                other = found[path.stem].parent
                raise BenchInputError(f"{path}: a card named {path.stem!r} is also in {other}; expected one per name")
            found[path.stem] = path
    return found
