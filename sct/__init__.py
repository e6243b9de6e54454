"""sct: source-transformation automatic differentiation for Python.

``@sct.differentiate`` turns a Python function into readable tangent (forward
mode) and adjoint (reverse mode) functions, generated as source. See README.md.
"""

from .api import Differentiated, differentiate
from .errors import InternalError, RuleError, SctError
from .functions import heaviside, mse, relu, sigmoid, sign
from .primitives import Primitive, primitive
from .higher import hessian, hvp, jacobian
from .runtime import KinkWarning
from .gradcheck import GradientCheckError, check  # after .api: the function shadows the sct.check module

__all__ = [
    "Differentiated",
    "GradientCheckError",
    "InternalError",
    "KinkWarning",
    "Primitive",
    "RuleError",
    "SctError",
    "check",
    "differentiate",
    "heaviside",
    "hessian",
    "hvp",
    "jacobian",
    "mse",
    "primitive",
    "relu",
    "sigmoid",
    "sign",
]
__version__ = "0.1.0"
