"""Decidable: what a first call's arguments decide in a generated gradient, and where that is sound.

Contract, for :mod:`sct.firstcall`:

- :data:`RESOLVE` maps each helper of :mod:`sct.arrays` (and ``np.size``)
  whose outcome the types, shapes and dtypes of its arguments decide to a
  function of those arguments giving its written-out form, a template over
  the call's argument texts (``"{0}.sum(axis=0)"``), or None where the helper
  must stay a call. Each form is the helper's own fast path for those
  arguments, so it computes the same numbers; firstcall still compares the
  two on the first call's values.
- :func:`eligible` says, from a gradient's source alone, whether it is
  straight-line code calling such a helper.
- :func:`sound_names` says, at the first call, whether every call in it is to
  a function whose result's shape follows from its arguments' shapes (and int
  arguments), and whether no global the guard does not hold is read as a
  value. Together these make every value's type, shape and dtype a function
  of the arguments' types, shapes, dtypes and int values, which the guard
  checks.
"""

from __future__ import annotations

import ast
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from . import arrays

# NumPy functions whose result's shape follows from their arguments' shapes (and int arguments)
NUMPY = frozenset(
    "sum mean prod max min amax amin var std dot matmul vdot inner outer tensordot transpose reshape ravel "
    "squeeze expand_dims swapaxes moveaxis broadcast_to concatenate stack hstack vstack clip trace "
    "zeros_like ones_like full_like zeros ones full eye size shape ndim asarray array result_type "
    "einsum take diagonal diag tril triu flip roll cumsum cumprod sort".split()
)
NUMPY_LINALG = frozenset("det inv solve norm".split())
METHODS = frozenset(
    "sum mean prod max min var std dot reshape transpose ravel flatten squeeze astype copy trace swapaxes".split()
)
BUILTINS = frozenset({float, abs, len, complex})
VALUE_ATTRIBUTES = frozenset({"T", "shape", "size", "ndim", "dtype", "real", "imag"})

# ---- which helper calls the first call's shapes decide, and how they are written out ----


def _unbroadcast(g: Any, x: Any) -> str | None:
    if type(g) is np.ndarray and type(x) is np.ndarray and g.dtype == x.dtype:
        if g.shape == x.shape:
            return "{0}"
        lead = g.ndim - x.ndim
        if lead > 0 and x.shape and g.shape[lead:] == x.shape:
            return "{0}.sum(axis=0)" if lead == 1 else f"{{0}}.sum(axis={tuple(range(lead))})"
    if type(g) is float and type(x) is float:
        return "{0}"
    return None


def _like(g: Any, x: Any) -> str | None:
    if type(x) is np.ndarray and type(g) is np.ndarray and g.shape == x.shape and g.dtype == x.dtype:
        return "{0}" if g.flags.writeable else None
    if type(x) is float and type(g) is float:
        return "{0}"
    return None


def _matrices(a: Any, b: Any) -> bool:
    return type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2 and b.ndim == 2


def _matmul_a(g: Any, a: Any, b: Any) -> str | None:
    if _matrices(a, b) and type(g) is np.ndarray:
        return "{0} * {2}.T" if b.shape[1] == 1 else "{0} @ {2}.T"
    return None


def _matmul_b(g: Any, a: Any, b: Any) -> str | None:
    if _matrices(a, b) and type(g) is np.ndarray:
        return "{1}.T * {0}" if a.shape[0] == 1 else "{1}.T @ {0}"
    return None


def _size(x: Any, axis: Any = None) -> str | None:
    return repr(x.size) if type(x) is np.ndarray and axis is None else None


RESOLVE: dict[Any, Callable[..., str | None]] = {
    arrays.unbroadcast: _unbroadcast,
    arrays.like: _like,
    arrays.matmul_vjp_a: _matmul_a,
    arrays.matmul_vjp_b: _matmul_b,
    np.size: _size,
}
RESOLVED_NAMES = frozenset(helper.__name__ for helper in RESOLVE)  # how eligible() sees them in a source


# ---- eligibility, from the source alone ----

_STATEMENTS = (ast.Assign, ast.AugAssign, ast.Return)
_REFUSED = (
    ast.IfExp, ast.BoolOp, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
    ast.NamedExpr, ast.Starred, ast.Await, ast.Yield, ast.YieldFrom, ast.JoinedStr,
)  # fmt: skip


def function(source: str) -> ast.FunctionDef | None:
    tree = ast.parse(source)
    fn = tree.body[0] if len(tree.body) == 1 else None
    return fn if isinstance(fn, ast.FunctionDef) else None


def _constant(node: ast.AST) -> bool:
    """A literal index: numbers, slices of them, None, Ellipsis, tuples of those."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _constant(node.operand)
    if isinstance(node, ast.Slice):
        return all(part is None or _constant(part) for part in (node.lower, node.upper, node.step))
    return isinstance(node, ast.Tuple) and all(_constant(e) for e in node.elts)


def eligible(source: str) -> bool:
    """Straight-line code that calls a helper the first call could write out."""
    fn = function(source)
    if fn is None or fn.decorator_list or fn.args.vararg or fn.args.kwarg or fn.args.kwonlyargs:
        return False
    if not all(isinstance(s, _STATEMENTS) for s in fn.body):
        return False
    helpers = False
    for node in ast.walk(fn):
        if isinstance(node, _REFUSED):
            return False
        if isinstance(node, ast.Subscript) and not _constant(node.slice):
            return False
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            helpers = helpers or name in RESOLVED_NAMES
    return helpers


# ---- at the first call: what the names are, what each call came to ----


def _allowed_callee(value: Any) -> bool:
    if isinstance(value, np.ufunc) or value in BUILTINS or any(value is k for k in RESOLVE):
        return True
    module = getattr(value, "__module__", None)
    if module in ("sct.arrays", "sct.runtime", "sct.functions") and isinstance(value, types.FunctionType):
        return True
    if any(getattr(np, n, None) is value for n in NUMPY):
        return True
    return any(getattr(np.linalg, n, None) is value for n in NUMPY_LINALG)


def dotted(node: ast.AST) -> list[str] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def lookup(parts: list[str], namespace: dict[str, Any]) -> tuple[bool, Any]:
    builtins = namespace.get("__builtins__", __builtins__)
    space = builtins if isinstance(builtins, dict) else vars(builtins)
    if parts[0] in namespace:
        value = namespace[parts[0]]
    elif parts[0] in space:
        value = space[parts[0]]
    else:
        return False, None
    for part in parts[1:]:
        if not hasattr(value, part):
            return False, None
        value = getattr(value, part)
    return True, value


def sound_names(fn: ast.FunctionDef, namespace: dict[str, Any]) -> bool:
    """Every call is to a function whose result's shape follows from its arguments' shapes, and
    no global whose shape or value the guard does not hold is read as a value."""
    local = {a.arg for a in fn.args.args + fn.args.posonlyargs}
    local |= {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    callees = {id(n.func) for n in ast.walk(fn) if isinstance(n, ast.Call)}
    for node in ast.walk(fn):
        if isinstance(node, ast.Call):
            parts = dotted(node.func)
            if parts is None:
                return False
            if parts[0] in local:
                if len(parts) != 2 or parts[1] not in METHODS:
                    return False
                continue
            found, value = lookup(parts, namespace)
            if not found or not _allowed_callee(value):
                return False
        elif isinstance(node, (ast.Attribute, ast.Name)) and isinstance(node.ctx, ast.Load) and id(node) not in callees:
            parts = dotted(node)
            if parts is None or (isinstance(node, ast.Attribute) and parts[0] in local):
                if isinstance(node, ast.Attribute) and node.attr not in VALUE_ATTRIBUTES:
                    return False
                continue
            if parts[0] in local:
                continue
            found, value = lookup(parts, namespace)
            if not found:
                return False
            if isinstance(value, (types.ModuleType, types.FunctionType, np.ufunc)):
                continue  # the base of a call's name, checked with the call
            if not isinstance(value, (float, complex)):
                return False  # an int or array global: its value or shape is not in the guard
    return True
