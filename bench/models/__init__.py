"""The model registry: an explicit name -> class table.

Classes are named as "module:Class" strings and imported on first use, so
listing models or datasets does not import torch or statsmodels.
"""

from __future__ import annotations

from importlib import import_module

from bench.errors import BenchInputError

REGISTRY: dict[str, str] = {
    "sklearn_logit": "bench.models.sklearn_logit:SklearnLogit",
    "statsmodels_logit": "bench.models.statsmodels_logit:StatsmodelsLogit",
    "torch_linear": "bench.models.torch_linear:TorchLinear",
    "torch_softmax2": "bench.models.torch_softmax2:TorchSoftmax2",
    "torch_cnn": "bench.models.torch_cnn:TorchCNN",
}


def model_class(name: str):
    """The class registered under ``name``; BenchInputError for an unknown name."""
    if name not in REGISTRY:
        raise BenchInputError(f"--models: unknown model {name!r}; expected one of {', '.join(REGISTRY)}")
    module, _, cls = REGISTRY[name].partition(":")
    return getattr(import_module(module), cls)


def create(name: str):
    return model_class(name)()
