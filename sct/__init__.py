"""sct: source-transformation automatic differentiation for Python.

``@sct.differentiate`` turns a Python function into readable tangent (forward
mode) and adjoint (reverse mode) functions, generated as source. See README.md.
"""

from .api import Differentiated, differentiate
from .errors import InternalError, SctError
from .functions import heaviside, mse, relu, sigmoid, sign

__all__ = [
    "Differentiated",
    "InternalError",
    "SctError",
    "differentiate",
    "heaviside",
    "mse",
    "relu",
    "sigmoid",
    "sign",
]
__version__ = "0.1.0"
