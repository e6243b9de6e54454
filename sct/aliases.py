"""Aliases: which adjoints an array adjoint returns may be one array, or a parameter's own.

Contract: :func:`needs_copy` takes the body of an adjoint (ir statements,
forward and reverse sweep) and the names it returns, one per differentiated
parameter, and gives the returned names whose array may also be another
returned adjoint's, or one of the function's parameters: each of those is
returned as a copy, so that a caller who updates one gradient in place
(``w -= lr * w_bar`` is not that, but ``w_bar *= 0.5`` is) changes nothing
else. Without it, ``np.sum((x + y) * z)`` returned one array as both
``x_bar`` and ``y_bar``: ``unbroadcast(t1_bar, x)`` is ``t1_bar`` itself
when nothing was broadcast, and so is ``unbroadcast(t1_bar, y)``.

A value *may be* the array of each name it can hand back unchanged or as a
view: a name itself, a subscript or attribute of it (``g.T``), either branch
of a conditional expression, and the first argument of the helpers that
can return it (:data:`PASSES_FIRST`). Arithmetic and the other helpers of
:mod:`sct.arrays` make new arrays; any other call may return any of its
arguments. Top-level statements are followed in order (the last assignment
counts); inside a branch or loop every assignment adds to what a name may
be. The answer errs towards copying: a copy costs time, a shared array
would cost a wrong gradient.
"""

from __future__ import annotations

import libcst as cst

from . import expr as E
from . import ir

# helpers that can hand back their first argument, or a view of it
PASSES_FIRST = frozenset(
    {
        "sct.arrays.unbroadcast",
        "sct.arrays.like",
        "sct.arrays.transpose_vjp",
        "sct.arrays.reshape_vjp",
        "sct.arrays.broadcast_like",
    }
)
NEW_ARRAY_MODULE = "sct.arrays."  # every other helper there computes a new array
FRESH = (cst.BinaryOperation, cst.UnaryOperation, cst.Comparison, cst.Integer, cst.Float, cst.SimpleString)

Roots = frozenset[str]


def _may_be(node: cst.CSTNode, env: dict[str, Roots]) -> Roots:
    """The names whose arrays ``node`` may be (the names themselves and what they may be)."""
    if isinstance(node, cst.Name):
        return frozenset({node.value}) | env.get(node.value, frozenset())
    if isinstance(node, FRESH):
        return frozenset()
    if isinstance(node, (cst.Attribute, cst.Subscript)):
        return _may_be(node.value, env)
    if isinstance(node, cst.IfExp):
        return _may_be(node.body, env) | _may_be(node.orelse, env)
    if isinstance(node, cst.Call):
        func = E.dotted(node.func) or ""
        if func in PASSES_FIRST:
            return _may_be(node.args[0].value, env) if node.args else frozenset()
        if func.startswith(NEW_ARRAY_MODULE):
            return frozenset()
        args: Roots = frozenset()
        for arg in node.args:
            args |= _may_be(arg.value, env)
        return args
    out: Roots = frozenset()
    for child in node.children:
        if isinstance(child, cst.BaseExpression) or isinstance(child, (cst.Element, cst.Arg)):
            out |= _may_be(child.value if isinstance(child, (cst.Element, cst.Arg)) else child, env)
    return out


def _assign(stmt: ir.Stmt, env: dict[str, Roots], join: bool) -> None:
    if isinstance(stmt, ir.Assign):
        targets, roots = [stmt.target], _may_be(stmt.value, env)
    elif isinstance(stmt, ir.Call):
        targets, roots = stmt.targets, frozenset().union(*(_may_be(a, env) for a in stmt.args))
    else:
        return
    for target in targets:
        env[target] = (env.get(target, frozenset()) | roots) if join else roots


def _block(body: list[ir.Stmt], env: dict[str, Roots]) -> None:
    for stmt in body:
        if isinstance(stmt, (ir.If, ir.For, ir.While)):
            nested = [s for s in ir.walk([stmt]) if s is not stmt]
            for _ in range(2):  # a loop may hand a value round once more
                for inner in nested:
                    _assign(inner, env, join=True)
        else:
            _assign(stmt, env, join=False)


def needs_copy(body: list[ir.Stmt], returned: list[str], params: list[str]) -> set[str]:
    """The returned names that may share their array with an earlier returned one or a parameter."""
    env: dict[str, Roots] = {}
    _block(body, env)
    taken: set[str] = set(params)
    out: set[str] = set()
    for name in returned:
        roots = {name} | env.get(name, frozenset())
        if roots & taken:
            out.add(name)
        taken |= roots
    return out
