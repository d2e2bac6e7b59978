"""Wilkinson formulas on a table: ``y ~ x1 + x2 + C(group) + x1:x2`` -> X, y, term names.

formulaic builds the design matrix. Its conventions are statsmodels' and R's:
- ``C(name)`` is a categorical with treatment (dummy) coding; the reference level is the
  first in sorted order, and the terms are named ``C(group)[T.b]``. Another reference:
  ``C(group, contr.treatment('b'))``.
- ``x1:x2`` is the product of the two columns; ``x1*x2`` is ``x1 + x2 + x1:x2``;
  ``log(x)``, ``I(x**2)`` and ``center(x)`` are evaluated on the column.
- The left-hand side is the target: one column, coded as for ``--target``.

Every model fits its own intercept, so the formula's ``Intercept`` column is dropped; a
formula without one (``- 1``, ``0 +``) is bad input. What formulaic would do silently and a
statistician would not want is bad input here too: a string column used without ``C()``
(formulaic would dummy-code it), and missing values (formulaic would drop the rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.errors import BenchInputError, first_line


def _parse(text: str, where: str):
    import formulaic

    try:
        formula = formulaic.Formula(text)
    except Exception as exc:  # formulaic's syntax errors have no common base class
        raise BenchInputError(f"{where}: formula {text!r} does not parse ({first_line(exc)})") from None
    if not hasattr(formula, "lhs"):
        raise BenchInputError(f"{where}: formula {text!r} has no left-hand side; expected 'target ~ terms'")
    lhs = [factor for term in formula.lhs for factor in term.factors]
    if len(lhs) != 1 or lhs[0].eval_method.value != "lookup":
        raise BenchInputError(f"{where}: formula {text!r}: the left-hand side must be one column name (the target)")
    return formula, str(lhs[0].expr)


def formula_target(text: str, where: str = "--formula") -> str:
    """The target column a formula names on its left-hand side (the formula is checked)."""
    return _parse(text, where)[1]


def design(frame: pd.DataFrame, text: str, where: str) -> tuple[pd.DataFrame, str, tuple[str, ...]]:
    """The formula's target and design on ``frame``.

    Returns (a frame whose first column is the target and whose other columns are the
    design matrix without its intercept, the target's name, the term names). The values
    are checked later with the rest of the table (``csv_reader.to_arrays``).
    """
    import formulaic

    formula, target = _parse(text, where)
    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    used = [c for c in columns if c in formula.rhs.required_variables]  # in the file's order
    unknown = [target] * (target not in columns) + sorted(formula.rhs.required_variables - set(columns))
    if unknown:
        shown = ", ".join(columns[:10]) + (" ..." if len(columns) > 10 else "")
        raise BenchInputError(f"{where}: the formula names {unknown[0]!r}, which is not a column; columns are {shown}")
    if target in used:
        raise BenchInputError(f"{where}: the target {target!r} also appears on the right-hand side of the formula")
    for name in [target, *used]:
        missing = np.flatnonzero(frame[name].isna().to_numpy())
        if missing.size:
            raise BenchInputError(
                f"{where}: column {name!r} row {missing[0] + 1} is missing ({missing.size} missing in all); "
                "expected a value in every row the formula uses (drop or fill those rows first)"
            )
    looked_up = {str(f.expr) for term in formula.rhs for f in term.factors if f.eval_method.value == "lookup"}
    for name in sorted(looked_up):
        values = frame[name]
        if not pd.api.types.is_numeric_dtype(values):  # bool counts as numeric: 0 and 1
            text_rows = np.flatnonzero(pd.to_numeric(values, errors="coerce").isna().to_numpy())
            row = text_rows[0] if text_rows.size else 0
            raise BenchInputError(
                f"{where}: column {name!r} holds text ({str(values.iloc[row])!r} in row {row + 1}) but the formula "
                f"uses it as a number; write C({name}) for a categorical with treatment coding"
            )
    data = frame[used].astype({c: float for c in used if pd.api.types.is_bool_dtype(frame[c])})
    try:
        matrix = formulaic.model_matrix(formula.rhs, data, na_action="raise")
    except Exception as exc:  # a function that fails on the column, an unknown contrast
        raise BenchInputError(f"{where}: formula {text!r} cannot be evaluated ({first_line(exc)})") from None
    names = [str(c) for c in matrix.columns]
    if "Intercept" not in names:
        raise BenchInputError(
            f"{where}: formula {text!r} removes the intercept; every model fits one, so keep it (drop '- 1' / '0 +')"
        )
    design_frame = pd.DataFrame(np.asarray(matrix, dtype=np.float64), columns=names).drop(columns="Intercept")
    if design_frame.shape[1] == 0:
        raise BenchInputError(f"{where}: formula {text!r} has no terms besides the intercept")
    design_frame.insert(0, target, frame[target].to_numpy())
    return design_frame, target, tuple(design_frame.columns[1:])
