"""The functions of the exercise, as ordinary Python: relu, heaviside, mse, sigmoid.

They work on Python numbers (float, int, ``fractions.Fraction``) and on NumPy
arrays, and sct knows their derivatives (see :mod:`sct.rules`). Conventions
follow the exercise: ``heaviside(0) = 1``, so ``relu'(0) = 1``; ``mse`` of two
scalars is the squared difference, of arrays the mean of squared differences.

NumPy is never imported here: an array is recognised by its ``ndim``.
"""

from __future__ import annotations

import math
from typing import Any


def _is_array(value: Any) -> bool:
    return getattr(value, "ndim", 0) != 0


def heaviside(z: Any, at_zero: Any = 1) -> Any:
    """1 where ``z >= 0`` (``at_zero`` where ``z == 0``), else 0, in ``z``'s own type."""
    if _is_array(z):
        import numpy as np

        return np.heaviside(z, at_zero).astype(z.dtype, copy=False)
    if z > 0:
        return 1
    return at_zero if z == 0 else 0


def relu(z: Any) -> Any:
    """max(z, 0), keeping z's type; relu'(0) is taken as heaviside(0) = 1."""
    if _is_array(z):
        import numpy as np

        return np.maximum(z, 0)
    return z if z > 0 else z - z


def mse(yhat: Any, y: Any) -> Any:
    """Squared difference of two scalars; mean of squared differences of arrays."""
    d = yhat - y
    if _is_array(d):
        return (d * d).mean()
    return d * d


def sigmoid(x: Any) -> Any:
    """The logistic function 1 / (1 + exp(-x)), without overflow for large |x|."""
    if _is_array(x):
        import numpy as np

        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    if x >= 0:
        return 1 / (1 + math.exp(-x))
    e = math.exp(x)
    return e / (1 + e)


def sign(x: Any) -> Any:
    """-1, 0 or 1: the derivative of abs, with abs'(0) = 0."""
    if _is_array(x):
        import numpy as np

        return np.sign(x)
    return 1 if x > 0 else (-1 if x < 0 else 0)
