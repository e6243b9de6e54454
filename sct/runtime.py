"""Runtime: the few helpers generated code may call.

Contract: generated code is plain Python; it calls into sct only for the
exercise's functions (:mod:`sct.functions`) and for what cannot be written
inline without knowing the type of a value, collected here.
"""

from __future__ import annotations

import warnings
from typing import Any


class KinkWarning(UserWarning):
    """A run landed exactly on a kink, where the derivative is a convention (heaviside0)."""


def kink_check(gap: Any, what: str, where: str) -> None:
    """Warn when ``gap`` (the distance from a kink) is exactly zero (anywhere, for an array)."""
    hit = (gap == 0).any() if getattr(gap, "ndim", 0) else gap == 0
    if hit:
        warnings.warn(
            f"{where}: {what} is evaluated exactly at its kink; the derivative there is the "
            "heaviside0 convention",
            KinkWarning,
            stacklevel=2,
        )


def zeros_like(value: Any) -> Any:
    """A zero of ``value``'s type and shape: 0.0 for a float, zeros for an array."""
    if getattr(value, "ndim", 0):
        import numpy as np

        return np.zeros_like(value)
    return type(value)(0) if isinstance(value, (int, float)) or hasattr(value, "denominator") else value * 0
