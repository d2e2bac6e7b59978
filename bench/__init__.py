"""logitbench: logistic regressions from scikit-learn, statsmodels and torch, side by side.

    >>> import bench
    >>> results = bench.run(bench.RunConfig(suite="quick"))
    >>> results.agreement            # a pandas DataFrame, as agreement.csv
    >>> results.save("reports/mine") # every report file
    >>> bench.load("reports/mine")   # back again
"""

from bench.api import run
from bench.config import RunConfig
from bench.errors import BenchInputError
from bench.results import Results, load

__all__ = ["run", "load", "Results", "RunConfig", "BenchInputError"]
__version__ = "0.1.0"
