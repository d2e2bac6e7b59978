"""logitbench: logistic regressions from scikit-learn, statsmodels and torch, side by side.

    >>> import bench
    >>> results = bench.run(bench.RunConfig(suite="quick"))
    >>> results.agreement            # a pandas DataFrame, as agreement.csv
    >>> results.save("reports/mine") # every report file
    >>> bench.load("reports/mine")   # back again

The names are imported on first use, so `python -m bench --help` does not pay for
pandas, torch or statsmodels.
"""

from importlib import import_module

__all__ = ["run", "load", "Results", "RunConfig", "BenchInputError", "Model", "FitResult", "Dataset"]
__version__ = "0.1.0"

_WHERE = {
    "run": "bench.api",
    "load": "bench.api",
    "Results": "bench.api",
    "RunConfig": "bench.config",
    "BenchInputError": "bench.errors",
    # the plug-in contract (README, "Your own model")
    "Model": "bench.models.base",
    "FitResult": "bench.fit_result",
    "Dataset": "bench.datasets.dataset",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'bench' has no attribute {name!r}")
