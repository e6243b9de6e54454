"""Aliases: which derivatives array code returns may be one array, or an argument's own.

Contract: :func:`needs_copy` takes the body of an adjoint (ir statements,
forward and reverse sweep) and the names it returns, one per differentiated
parameter, and gives the returned names whose array may also be another
returned adjoint's, or one of the function's parameters, or a read-only
broadcast view: each of those is returned as a copy (the tangent asks the same of its returned tangents and
the tangents it was given, through the two steps :func:`may_be` and
:func:`shared`), so that a caller who updates one gradient in place
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
be, as often as a loop could hand it round. The tangent, whose returns may
sit in branches, asks for every assignment to count wherever it is. The
answer errs towards copying: a copy costs time, a shared array would cost a
wrong gradient.
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
BROADCAST = "sct.arrays.broadcast_like"  # a read-only view: returned, it must be copied
READ_ONLY = "<a read-only view>"  # not a name: a root every broadcast view has
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
            view = frozenset({READ_ONLY}) if func == BROADCAST else frozenset()
            return view | (_may_be(node.args[0].value, env) if node.args else frozenset())
        if func.startswith(NEW_ARRAY_MODULE):
            return frozenset()
        args: Roots = frozenset()
        for arg in node.args:
            args |= _may_be(arg.value, env)
        return args
    out: Roots = frozenset()
    for child in node.children:
        if isinstance(child, (cst.Element, cst.Arg)):
            child = child.value
        if isinstance(child, cst.BaseExpression):
            out |= _may_be(child, env)
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


def _fixpoint(stmts: list[ir.Stmt], env: dict[str, Roots]) -> None:
    """Every assignment adds to what its target may be, until nothing more is added (a loop may
    hand a value round any number of times)."""
    while True:
        before = dict(env)
        for stmt in stmts:
            _assign(stmt, env, join=True)
        if env == before:
            return


def _block(body: list[ir.Stmt], env: dict[str, Roots]) -> None:
    for stmt in body:
        if isinstance(stmt, (ir.If, ir.For, ir.While)):
            _fixpoint([s for s in ir.walk([stmt]) if s is not stmt], env)
        else:
            _assign(stmt, env, join=False)


def may_be(body: list[ir.Stmt], in_order: bool = True) -> dict[str, Roots]:
    """For each name ``body`` assigns, the names whose arrays it may be.

    ``in_order``: what is asked about is returned at the end of ``body``, so its top-level
    statements count in order; else (returns inside branches) every assignment counts wherever it is.
    """
    env: dict[str, Roots] = {}
    if in_order:
        _block(body, env)
    else:
        _fixpoint(list(ir.walk(body)), env)
    return env


def needs_copy(body: list[ir.Stmt], returned: list[str], params: list[str]) -> set[str]:
    """The returned names that may share their array with an earlier returned one or a parameter."""
    return shared(may_be(body), returned, params)


def shared(env: dict[str, Roots], returned: list[str], params: list[str]) -> set[str]:
    """Of ``returned`` (in order), those that may be a parameter's array, an earlier one's, or a read-only view."""
    taken: set[str] = set(params) | {READ_ONLY}
    out: set[str] = set()
    for name in returned:
        roots = {name} | env.get(name, frozenset())
        if roots & taken:
            out.add(name)
        taken |= roots
    return out
