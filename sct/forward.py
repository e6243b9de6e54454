"""Forward: the tangent of a normalized function (forward mode).

Contract: :func:`tangent` returns an IR function ``<name>_tangent`` taking the
original parameters followed by one ``<p>_dot`` per differentiated parameter,
and returning ``(value, value_dot)``. Control flow is kept as written; each
assignment to an active variable is followed by its tangent statement, the
sum over its active arguments of the rule's partial times the argument's
tangent (``v_dot = x * w_dot + w * x_dot``). Inactive variables get no
tangent. The primal runs first, so a partial written in terms of the result
(``exp``: ``{out}``) reads the value just computed.
"""

from __future__ import annotations

import libcst as cst

from . import expr as E
from . import ir, rules
from .analysis import Activity
from .names import Namer

ZEROS_LIKE = "sct.runtime.zeros_like"


def tangent_terms(stmt: ir.Assign, act: Activity, namer: Namer) -> E.Expr:
    """The tangent of ``stmt.target``: sum of partial * argument tangent."""
    terms: list[E.Expr] = []
    if stmt.op is None:
        arg = stmt.args[0]
        if isinstance(arg, cst.Name) and act.is_active(arg.value):
            terms.append(cst.Name(namer.dot(arg.value)))
    else:
        rule = rules.lookup(stmt.op, len(stmt.args))
        assert rule is not None
        for i, arg in enumerate(stmt.args):
            if not (isinstance(arg, cst.Name) and act.is_active(arg.value)):
                continue
            partial = rule.partial(i, stmt.args, cst.Name(stmt.target))
            if partial is not None:
                terms.append(E.mul(partial, cst.Name(namer.dot(arg.value))))
    return E.total(terms)


def _block(body: list[ir.Stmt], act: Activity, namer: Namer) -> list[ir.Stmt]:
    out: list[ir.Stmt] = []
    for stmt in body:
        if isinstance(stmt, ir.Assign):
            out.append(stmt)
            if act.is_active(stmt.target):
                dot = tangent_terms(stmt, act, namer)
                out.append(ir.Assign(namer.dot(stmt.target), dot, None, (), stmt.origin))
        elif isinstance(stmt, ir.Return):
            out.append(ir.Return(E.tuple_([stmt.value, _dot_of(stmt.value, act, namer)]), stmt.origin))
        elif isinstance(stmt, ir.If):
            out.append(ir.If(stmt.test, _block(stmt.body, act, namer), _block(stmt.orelse, act, namer), stmt.origin))
        elif isinstance(stmt, ir.For):
            out.append(ir.For(stmt.target, stmt.iter, _block(stmt.body, act, namer), stmt.origin))
        elif isinstance(stmt, ir.While):
            out.append(ir.While(stmt.test, _block(stmt.body, act, namer), stmt.origin))
        else:
            out.append(stmt)
    return out


def _dot_of(value: E.Expr, act: Activity, namer: Namer) -> E.Expr:
    if isinstance(value, cst.Name) and act.is_active(value.value):
        return cst.Name(namer.dot(value.value))
    return zeros_like(value)


def zeros_like(value: E.Expr) -> E.Expr:
    """A zero derivative shaped like ``value`` (0.0 for a float, zeros for an array)."""
    return cst.Call(cst.parse_expression(ZEROS_LIKE), [cst.Arg(value)])


def tangent(fn: ir.Function, wrt: list[str], act: Activity, namer: Namer) -> ir.Function:
    body = _block(fn.body, act, namer)
    params = fn.params + [namer.dot(p) for p in wrt]
    returned = {n for s in ir.walk(body) if isinstance(s, ir.Return) for n in ir.names_in(s.value)}
    from .analysis import prune

    body = prune(body, returned)
    return ir.Function(namer.fresh(f"{fn.name}_tangent"), params, body, fn.filename, fn.line)
