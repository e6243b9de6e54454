"""Runtime: the few helpers generated code may call.

Contract: generated code is plain Python; it calls into sct only for the
exercise's functions (:mod:`sct.functions`) and for what cannot be written
inline without knowing the type of a value, collected here.
"""

from __future__ import annotations

from typing import Any


def zeros_like(value: Any) -> Any:
    """A zero of ``value``'s type and shape: 0.0 for a float, zeros for an array."""
    if getattr(value, "ndim", 0):
        import numpy as np

        return np.zeros_like(value)
    return type(value)(0) if isinstance(value, (int, float)) or hasattr(value, "denominator") else value * 0
