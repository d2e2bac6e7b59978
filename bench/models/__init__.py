"""The models a run can name, and how a name becomes a model.

``--models`` takes, each optionally followed by ``[key=value,...]`` (keyword arguments of the
class, benchopt-style: ``sklearn_logit[solver=lbfgs]``; the cell is named as given):

- a built-in name (``REGISTRY``);
- ``path/to/file.py:ClassName``, a plug-in in the user's own file;
- ``package.module:ClassName``, an importable class;
- a name an installed package registers in the entry-point group ``logitbench.models``.

Classes are imported on first use, so listing models or datasets does not import torch or
statsmodels. Every failure to find or build a model is bad input: one line naming the spec.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import inspect
import re
import sys
from dataclasses import dataclass
from importlib import import_module, metadata
from pathlib import Path

from bench.errors import BenchInputError

REGISTRY: dict[str, str] = {
    "sklearn_logit": "bench.models.sklearn_logit:SklearnLogit",
    "statsmodels_logit": "bench.models.statsmodels_logit:StatsmodelsLogit",
    "torch_linear": "bench.models.torch_linear:TorchLinear",
    "torch_softmax2": "bench.models.torch_softmax2:TorchSoftmax2",
    "torch_cnn": "bench.models.torch_cnn:TorchCNN",
    "glum_logit": "bench.models.glum_logit:GlumLogit",
}
ENTRY_POINTS = "logitbench.models"
_FILE_MODULE = "logitbench_plugin_"  # the made-up module a plug-in file is loaded as
_SPEC = re.compile(r"^(?P<base>[^\[\]]+?)(?:\[(?P<params>[^\[\]]*)\])?$")


def entry_points() -> dict[str, metadata.EntryPoint]:
    """Models that installed packages register (``[project.entry-points."logitbench.models"]``)."""
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINTS)}


def parse_spec(spec: str) -> tuple[str, dict]:
    """``"name[key=value,...]"`` -> ("name", {key: value}); values are ints, floats, booleans or text."""
    match = _SPEC.match(spec.strip())
    if not match:
        raise BenchInputError(f"--models: {spec!r} is not NAME or NAME[key=value,...]")
    params = {}
    for item in filter(None, (part.strip() for part in (match["params"] or "").split(","))):
        key, sep, raw = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise BenchInputError(f"--models: {spec!r}: {item!r} is not key=value")
        params[key.strip()] = _value(raw.strip())
    return match["base"].strip(), params


def _value(raw: str):
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw


def _from_file(spec: str, path: Path, name: str):
    if not path.is_file():
        raise BenchInputError(f"--models {spec}: no such file {path}; expected a Python file holding class {name}")
    module_name = f"{_FILE_MODULE}{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]}"
    if module_name not in sys.modules:
        loader = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(loader)
        sys.modules[module_name] = module
        try:
            loader.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001 - whatever the plug-in raises is the user's to see
            del sys.modules[module_name]
            raise BenchInputError(f"--models {spec}: importing {path} failed: {type(exc).__name__}: {exc}") from None
    return sys.modules[module_name]


@dataclass(frozen=True)
class FromFile:
    """Builds a model from a plug-in file wherever it is called. Worker processes (``-j``, dask,
    ``--cell-timeout``) cannot import the file's made-up module, so a task carries this small
    object, importable from here, and the worker loads the file itself (at the same absolute
    path: on a cluster the file must be there on every machine)."""

    spec: str
    path: str
    name: str
    params: tuple[tuple[str, object], ...]

    def __call__(self):
        return getattr(_from_file(self.spec, Path(self.path), self.name), self.name)(**dict(self.params))


def _find(spec: str, base: str):
    from bench.models.base import Model

    if base in REGISTRY:
        module, _, name = REGISTRY[base].partition(":")
        cls = getattr(import_module(module), name)
    elif ":" in base:
        where, _, name = base.rpartition(":")
        if where.endswith(".py") or "/" in where or "\\" in where:
            module = _from_file(spec, Path(where), name)
        else:
            try:
                module = import_module(where)
            except Exception as exc:  # noqa: BLE001 - an import error inside the plug-in included
                why = f"{type(exc).__name__}: {exc}"
                raise BenchInputError(f"--models {spec}: importing {where} failed: {why}") from None
        cls = getattr(module, name, None)
        if cls is None:
            raise BenchInputError(f"--models {spec}: {where} has no {name!r}; expected a class deriving bench.Model")
    elif base in (found := entry_points()):
        try:
            cls = found[base].load()
        except Exception as exc:  # noqa: BLE001
            raise BenchInputError(f"--models {spec}: loading entry point {found[base].value} failed: {exc}") from None
    else:
        known = ", ".join([*REGISTRY, *found])
        raise BenchInputError(
            f"--models: unknown model {spec!r}; expected one of {known}, FILE.py:Class or package.module:Class"
        )
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        raise BenchInputError(f"--models {spec}: {cls!r} is not a subclass of bench.Model")
    return cls


def model_class(spec: str):
    """The class a model spec names (parameters checked against its constructor)."""
    base, params = parse_spec(spec)
    cls = _find(spec, base)
    try:
        inspect.signature(cls).bind(**params)
    except TypeError as exc:
        raise BenchInputError(f"--models {spec}: {cls.__name__} does not take these parameters ({exc})") from None
    return cls


def model_factory(spec: str):
    """A callable that builds the model a spec names, with its parameters (picklable for workers)."""
    cls = model_class(spec)
    base, params = parse_spec(spec)
    if cls.__module__.startswith(_FILE_MODULE):
        where, _, name = base.rpartition(":")
        return FromFile(spec, str(Path(where).resolve()), name, tuple(params.items()))
    return functools.partial(cls, **params) if params else cls


def create(spec: str):
    return model_factory(spec)()


def source(spec: str) -> str:
    """Where a model comes from, for ``logitbench models``."""
    base = parse_spec(spec)[0]
    if base in REGISTRY:
        return "built-in"
    found = entry_points()
    if base in found:
        return f"entry point {found[base].value} ({found[base].dist.name if found[base].dist else '?'})"
    return base.rpartition(":")[0]
