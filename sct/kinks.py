"""Kinks: one convention at the points where a derivative does not exist, and warnings there.

Contract:
- Every rule of :mod:`sct.rules` with a kink is written with ``sct.heaviside``
  (relu' = heaviside(z); max, min: heaviside(a - b)), so one number, the value
  of heaviside at 0, decides them all. Tools disagree on it: the exercise
  takes 1 (sct's default), autograd and JAX's maximum take 1/2, JAX's and
  PyTorch's relu take 0. Under :func:`convention`, a rule's partial writes
  ``heaviside(z)`` as ``heaviside(z, h0)``. ``abs`` keeps ``abs'(0) = 0``
  (its partial is sign(x) = heaviside(x) - heaviside(-x), 0 at 0 whatever h0).
- :func:`instrument` adds, before every operation with a kink and every branch
  on a comparison (``if z >= 0``), a call that warns (:class:`KinkWarning`,
  from :mod:`sct.runtime`) when a run lands exactly on the kink, naming the
  operation and its line in the user's file.
"""

from __future__ import annotations

import contextlib
from fractions import Fraction
from typing import Any, Iterator

import libcst as cst

from . import expr as E
from . import ir, rules

# op -> how far its argument(s) are from the kink (zero exactly there)
_KINKS = {
    "sct.relu": lambda a: a[0],
    "sct.heaviside": lambda a: a[0],
    "sct.sign": lambda a: a[0],
    "builtins.abs": lambda a: a[0],
    "math.fabs": lambda a: a[0],
    "builtins.max": lambda a: cst.BinaryOperation(a[0], cst.Subtract(), a[1]),
    "builtins.min": lambda a: cst.BinaryOperation(a[0], cst.Subtract(), a[1]),
    "numpy.abs": lambda a: a[0],
    "numpy.sign": lambda a: a[0],
    "numpy.maximum": lambda a: cst.BinaryOperation(a[0], cst.Subtract(), a[1]),
    "numpy.minimum": lambda a: cst.BinaryOperation(a[0], cst.Subtract(), a[1]),
}
_COMPARISONS = (cst.GreaterThanEqual, cst.GreaterThan, cst.LessThanEqual, cst.LessThan)

CHECK = "sct.runtime.kink_check"


@contextlib.contextmanager
def convention(heaviside0: Any) -> Iterator[None]:
    """Rules written in this block use ``heaviside(0) = heaviside0``."""
    if isinstance(heaviside0, bool) or not isinstance(heaviside0, (int, float, Fraction)):
        from .errors import UsageError

        raise UsageError(f"heaviside0 must be a number, got {heaviside0!r}", hint="use 1 (the default), 0.5 or 0")
    token = rules.HEAVISIDE0.set(heaviside0)
    try:
        yield
    finally:
        rules.HEAVISIDE0.reset(token)


def _check(value: E.Expr, what: str, where: str, origin: ir.Origin) -> ir.ExprStmt:
    args = [cst.Arg(value), cst.Arg(cst.SimpleString(repr(what))), cst.Arg(cst.SimpleString(repr(where)))]
    return ir.ExprStmt(cst.Call(cst.parse_expression(CHECK), args), origin)


def instrument(fn: ir.Function, filename: str) -> ir.Function:
    """``fn`` with a kink check before each kink operation and comparison branch."""
    import dataclasses

    return dataclasses.replace(fn, body=_block(fn.body, filename))


def _block(body: list[ir.Stmt], filename: str) -> list[ir.Stmt]:
    out: list[ir.Stmt] = []
    for stmt in body:
        where = f"{filename}:{stmt.origin.line}"
        if isinstance(stmt, ir.Assign) and stmt.op in _KINKS:
            label = stmt.op.rpartition(".")[2]
            out.append(_check(_KINKS[stmt.op](stmt.args), f"{label} in `{stmt.origin.text}`", where, stmt.origin))
        if isinstance(stmt, ir.If):
            test = stmt.test
            if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and isinstance(
                test.comparisons[0].operator, _COMPARISONS
            ):
                gap = cst.BinaryOperation(test.left, cst.Subtract(), test.comparisons[0].comparator)
                out.append(_check(E.parenthesize(gap), f"the branch `{stmt.origin.text}`", where, stmt.origin))
            stmt = ir.If(stmt.test, _block(stmt.body, filename), _block(stmt.orelse, filename), stmt.origin)
        elif isinstance(stmt, ir.For):
            stmt = ir.For(stmt.target, stmt.iter, _block(stmt.body, filename), stmt.origin)
        elif isinstance(stmt, ir.While):
            stmt = ir.While(stmt.test, _block(stmt.body, filename), stmt.origin)
        out.append(stmt)
    return out
