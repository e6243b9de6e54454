"""Specialize: the gradient of a function returning one value, from the cheaper mode.

Contract: :func:`gradient` takes the adjoint of a function returning one
value and returns ``<name>_grad``: the same parameters without the seed,
computing exactly ``adjoint(*args, 1)``, or its one element when one
parameter is differentiated (the derivative itself, as ``jax.grad`` gives
it). :func:`forward_gradient` does the same from the tangent, for a function
differentiated with respect to one parameter: one forward sweep carrying one
tangent records nothing, where the adjoint must record what its reverse sweep
reads (``tangent(*args, 1)[1]``). The seed becomes the literal ``1``; copies of names and literals (``h_bar = yhat_bar``) are propagated forward
through straight-line code, and into each branch and loop body as far as the
body leaves them unchanged; expressions are simplified (``1 * x`` is ``x``)
and statements nobody reads are removed (:func:`sct.analysis.prune`).

In scalar code (no NumPy), the exercise's functions are written inline, as
conditional expressions, instead of calls that test for arrays:
``relu(z)`` is ``z if z > 0 else z - z`` and ``heaviside(z)`` is
``1 if z >= 0 else 0`` (``heaviside0`` kept). This is what ``.grad`` runs:
the adjoint a user reads stays the one shown.
"""

from __future__ import annotations

import dataclasses
import functools

import libcst as cst

from . import expr as E
from . import ir
from .analysis import prune
from .lower import rename

Env = dict[str, E.Expr]


def _substitute(node: E.Expr, env: Env) -> E.Expr:
    """``node`` with each propagated name replaced by its value, simplified."""
    names = set(ir.names_in(node)) & set(env)
    if not names:
        return node
    literals = {n: v for n, v in env.items() if n in names and not isinstance(v, cst.Name)}
    renames = {n: v.value for n, v in env.items() if n in names and isinstance(v, cst.Name)}  # type: ignore[attr-defined]
    node = rename(node, renames) if renames else node
    if literals:
        node = _with_literals(node, literals)  # type: ignore[assignment]
    return E.simplify(node)


def _with_literals(node: cst.CSTNode, literals: Env) -> cst.CSTNode:
    """``node`` with each name in ``literals`` replaced by its value (a plain walk, no libcst transformer)."""
    if type(node) is cst.Name:
        return literals.get(node.value, node)  # type: ignore[attr-defined]
    if type(node) is cst.Attribute:
        return node  # `x_stack.pop`: never replace the object of a method
    return E.map_children(node, lambda child: _with_literals(child, literals))


def _forget(env: Env, written: set[str]) -> None:
    """Names written, and copies of them, no longer hold their propagated values."""
    for name in list(env):
        value = env[name]
        if name in written or (isinstance(value, cst.Name) and value.value in written):
            del env[name]


def _written(stmt: ir.Stmt) -> set[str]:
    out = set(ir.assigned([stmt]))
    if isinstance(stmt, ir.SetItem):
        out.add(stmt.target)
    return out | {s.target for s in ir.walk([stmt]) if isinstance(s, ir.SetItem)}


def _block(body: list[ir.Stmt], env: Env) -> list[ir.Stmt]:
    out: list[ir.Stmt] = []
    for stmt in body:
        s = lambda e: _substitute(e, env)  # noqa: E731
        if isinstance(stmt, ir.Assign):
            new: ir.Stmt = dataclasses.replace(stmt, value=s(stmt.value))
        elif isinstance(stmt, (ir.AugAssign, ir.ExprStmt, ir.Return)):
            new = dataclasses.replace(stmt, value=s(stmt.value))
        elif isinstance(stmt, ir.Call):
            new = dataclasses.replace(stmt, args=tuple(s(a) for a in stmt.args))
        elif isinstance(stmt, ir.SetItem):
            new = dataclasses.replace(stmt, value=s(stmt.value))
        elif isinstance(stmt, ir.If):
            new = ir.If(s(stmt.test), _block(stmt.body, dict(env)), _block(stmt.orelse, dict(env)), stmt.origin)
        elif isinstance(stmt, (ir.For, ir.While)):
            inner = dict(env)
            _forget(inner, _written(stmt))  # a later trip sees what the body changed
            test = _substitute(stmt.test, inner) if isinstance(stmt, ir.While) else None  # tested every trip
            body_ = _block(stmt.body, inner)
            if isinstance(stmt, ir.For):
                new = ir.For(stmt.target, s(stmt.iter), body_, stmt.origin)
            else:
                new = ir.While(test, body_, stmt.origin)  # type: ignore[arg-type]
        else:
            new = stmt
        if isinstance(new, ir.Assign) and isinstance(new.value, cst.Name) and new.value.value == new.target:
            continue  # `x_bar = x_bar`: what propagation made of a copy there and back
        _forget(env, _written(stmt))
        if isinstance(new, ir.Assign) and new.op is None and isinstance(new.value, (cst.Name, cst.Integer, cst.Float)):
            env[new.target] = new.value  # a copy: later reads use its source
        out.append(new)
    return out


def _inline_heaviside(node: cst.CSTNode) -> cst.CSTNode:
    """``sct.heaviside(z[, h0])`` as a conditional expression (scalar code only); any other node as it is."""
    if type(node) is not cst.Call or not 1 <= len(node.args) <= 2:  # type: ignore[attr-defined]
        return node
    func = node.func  # type: ignore[attr-defined]
    if not (type(func) is cst.Attribute and func.attr.value == "heaviside" and E.code(func) == "sct.heaviside"):
        return node
    z = node.args[0].value  # type: ignore[attr-defined]
    test = _compare(">=").with_changes(left=z)
    if len(node.args) == 1:  # type: ignore[attr-defined]
        return cst.IfExp(test=test, body=E.number(1), orelse=E.number(0))
    at_zero = cst.IfExp(test=_compare("==").with_changes(left=z), body=node.args[1].value, orelse=E.number(0))  # type: ignore[attr-defined]
    return cst.IfExp(test=_compare(">").with_changes(left=z), body=E.number(1), orelse=at_zero)


@functools.lru_cache(maxsize=None)
def _compare(op: str) -> cst.Comparison:
    """``z <op> 0``, parsed once: its ``z`` is replaced (libcst nodes are immutable)."""
    return cst.parse_expression(f"z {op} 0")  # type: ignore[return-value]


def _inline_one(stmt: ir.Stmt) -> ir.Stmt:
    """``relu(z)`` and ``heaviside(...)`` of one statement, inline."""
    if isinstance(stmt, ir.Assign) and stmt.op == "sct.relu":
        z = stmt.args[0]
        test = _compare(">").with_changes(left=z)
        value: E.Expr = cst.IfExp(test=test, body=z, orelse=cst.BinaryOperation(z, cst.Subtract(), z))
        return dataclasses.replace(stmt, value=value)
    if isinstance(stmt, (ir.Assign, ir.AugAssign)):
        return dataclasses.replace(stmt, value=E.rebuild(stmt.value, _inline_heaviside))  # type: ignore[arg-type]
    return stmt


def _inline(body: list[ir.Stmt]) -> list[ir.Stmt]:
    return ir.each(body, _inline_one)


def gradient(adjoint: ir.Function, name: str) -> ir.Function:
    """``adjoint`` with its last parameter (the result's adjoint) fixed at 1."""
    *params, seed = adjoint.params
    # the seed becomes a local set to 1 (a loop may update it); reads after that see the 1
    start = ir.Assign(seed, E.number(1), None, (), ir.Origin(0, ""))
    body = _block([start] + adjoint.body, {})
    if not adjoint.arrays:
        body = _inline(body)
    body = prune(ir.each(body, _return_single), set())
    return dataclasses.replace(adjoint, name=name, params=list(params), body=body)


def _return_single(stmt: ir.Stmt) -> ir.Stmt:
    """``return (x_bar,)`` -> ``return x_bar``: the derivative itself when there is one."""
    if isinstance(stmt, ir.Return) and isinstance(stmt.value, cst.Tuple) and len(stmt.value.elements) == 1:
        return ir.Return(stmt.value.elements[0].value, stmt.origin)
    return stmt


def _return_dot(stmt: ir.Stmt) -> ir.Stmt:
    """``return value, value_dot`` -> ``return value_dot``."""
    if isinstance(stmt, ir.Return) and isinstance(stmt.value, cst.Tuple):
        return ir.Return(stmt.value.elements[-1].value, stmt.origin)
    return stmt


def forward_gradient(tangent: ir.Function, name: str) -> ir.Function:
    """``tangent`` of one parameter, its tangent fixed at 1, returning the derivative alone."""
    *params, dot = tangent.params
    start = ir.Assign(dot, E.number(1), None, (), ir.Origin(0, ""))
    body = _block([start] + ir.each(tangent.body, _return_dot), {})
    if not tangent.arrays:
        body = _inline(body)
    body = prune(body, set())
    return dataclasses.replace(tangent, name=name, params=list(params), body=body)
