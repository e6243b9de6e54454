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

from typing import Any, Callable

import libcst as cst

from . import expr as E
from . import aliases, ir, rules
from .analysis import Activity
from .names import Namer

ZEROS_LIKE = "sct.runtime.zeros_like"


def rule_of(stmt: ir.Assign, arrays: bool = False) -> rules.Rule | None:
    """The rule of an assignment's operation (its array form in code that uses arrays)."""
    if stmt.op in (None, ir.INACTIVE):
        return None
    return rules.lookup(stmt.op, len(stmt.args), arrays)


def partials(stmt: ir.Assign, act: Activity, arrays: bool = False) -> list[tuple[str, E.Expr]]:
    """(active argument, partial of the result with respect to it), from the rule table.

    An argument that appears twice (``x * x``) gets one entry, the sum of its
    partials. A rule written as jvp/vjp pairs has none (see :func:`linear_terms`).
    """
    found: dict[str, E.Expr] = {}
    rule = rule_of(stmt, arrays)
    if rule is not None and rule.linear:
        return []
    statics = dict(stmt.statics)
    for i, arg in enumerate(stmt.args):
        if not (isinstance(arg, cst.Name) and act.is_active(arg.value)):
            continue
        if stmt.op is None:
            partial: E.Expr | None = E.number(1)
        else:
            partial = rule.partial(i, stmt.args, cst.Name(stmt.target), statics) if rule else None
        if partial is None:
            continue
        var = arg.value
        found[var] = E.add(found[var], partial) if var in found else partial
    return list(found.items())


def linear_terms(stmt: ir.Assign, act: Activity, arrays: bool, make: Callable[[rules.Rule, int, str], E.Expr | None]) -> list[tuple[str, E.Expr]]:
    """(active argument, its jvp or vjp term) for a rule written as jvp/vjp pairs."""
    rule = rule_of(stmt, arrays)
    if rule is None or not rule.linear:
        return []
    out = []
    for i, arg in enumerate(stmt.args):
        if isinstance(arg, cst.Name) and act.is_active(arg.value) and rule.differentiable(i):
            term = make(rule, i, arg.value)
            if term is not None:
                out.append((arg.value, term))
    return out


def tangent_terms(stmt: ir.Assign, act: Activity, namer: Namer, arrays: bool = False) -> E.Expr:
    """The tangent of ``stmt.target``: sum of partial * argument tangent (or of the rule's jvps)."""
    statics = dict(stmt.statics)
    out = cst.Name(stmt.target)

    def jvp(rule: rules.Rule, i: int, var: str) -> E.Expr | None:
        d = cst.Name(namer.dot(var))
        if stmt.op == "getitem":  # x_dot[1:3, None], indexed as the value is
            return stmt.value.with_changes(value=d)  # type: ignore[attr-defined]
        return rule.jvp(i, stmt.args, out, statics, d)

    linear = linear_terms(stmt, act, arrays, jvp)
    if linear:
        return E.total([term for _, term in linear])
    return E.total([E.mul(p, cst.Name(namer.dot(var))) for var, p in partials(stmt, act, arrays)])


# link(callee, active parameters, mode) -> the name of the callee's generated function
Link = Callable[[Any, tuple[str, ...], str], str]


def active_params(stmt: ir.Call, act: Activity) -> list[tuple[str, E.Expr]]:
    """(callee parameter, argument) for each argument that carries a derivative.

    An argument is a name or a tuple of atoms (several seeds); a tuple is
    active when one of its names is.
    """
    return [
        (param, arg)
        for param, arg in zip(stmt.callee.params, stmt.args)
        if any(act.is_active(n) for n in ir.names_in(arg))
    ]


def dot_of_argument(arg: E.Expr, act: Activity, namer: Namer) -> E.Expr:
    """``x_dot`` for an active name; a tuple of tangents (0 where inactive) for a tuple."""
    if isinstance(arg, cst.Tuple):
        dots = [dot_of_argument(e.value, act, namer) for e in arg.elements]
        return E.tuple_(dots).with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    if isinstance(arg, cst.Name) and act.is_active(arg.value):
        return cst.Name(namer.dot(arg.value))
    return E.number(0)


def owned(value: E.Expr, like: str) -> E.Expr:
    """A derivative an array write will go into: a fresh array, never another's object."""
    if isinstance(value, (cst.Integer, cst.Float)) and float(value.value) == 0:
        return zeros_like(cst.Name(like))
    if isinstance(value, (cst.BinaryOperation, cst.UnaryOperation)):
        return value  # arithmetic makes a new array
    return E.call("sct.arrays.copy_of", value)


def _block(
    body: list[ir.Stmt], act: Activity, namer: Namer, link: Link | None, arrays: bool = False, written: frozenset[str] = frozenset()
) -> list[ir.Stmt]:
    out: list[ir.Stmt] = []
    block = lambda b: _block(b, act, namer, link, arrays, written)  # noqa: E731
    for stmt in body:
        if isinstance(stmt, ir.SetItem):  # y[i] = v, then y_dot[i] = v_dot
            out.append(stmt)
            if act.is_active(stmt.target):
                v = stmt.value
                dot = cst.Name(namer.dot(v.value)) if isinstance(v, cst.Name) and act.is_active(v.value) else E.number(0)
                out.append(ir.SetItem(namer.dot(stmt.target), stmt.index, dot, stmt.origin))
            continue
        if isinstance(stmt, ir.Assign) and stmt.op in (ir.STACK, ir.POP):
            out.append(stmt)
            stack = stmt.target if stmt.op == ir.STACK else stmt.args[0].value  # type: ignore[attr-defined]
            if act.is_active(stack):  # a stack of values carries a stack of their tangents
                value: E.Expr = cst.List([]) if stmt.op == ir.STACK else cst.parse_expression(f"{namer.dot(stack)}.pop()")
                args = () if stmt.op == ir.STACK else (cst.Name(namer.dot(stack)),)
                out.append(ir.Assign(namer.dot(stmt.target), value, stmt.op, args, stmt.origin))
        elif ir.pushed(stmt) is not None:
            out.append(stmt)
            stack, pushed = ir.pushed(stmt)  # type: ignore[misc]
            if act.is_active(stack):
                dot = _dot_of(pushed, act, namer) if isinstance(pushed, cst.Name) and act.is_active(pushed.value) else E.number(0)
                out.append(ir.ExprStmt(E.call(f"{namer.dot(stack)}.append", dot), stmt.origin))
        elif isinstance(stmt, ir.Assign):
            out.append(stmt)
            if act.is_active(stmt.target):
                dot = tangent_terms(stmt, act, namer, arrays)
                if arrays and _may_be_smaller(stmt, dot, act, namer):
                    dot = E.call("sct.arrays.broadcast_like", dot, cst.Name(stmt.target))
                if stmt.target in written:
                    dot = owned(dot, stmt.target)
                out.append(ir.Assign(namer.dot(stmt.target), dot, None, (), stmt.origin))
        elif isinstance(stmt, ir.Call) and stmt.func is None:  # a, b = t: the tangents unpack alike
            out.append(stmt)
            (source,) = stmt.args
            if any(act.is_active(t) for t in stmt.targets) and act.is_active(source.value):  # type: ignore[attr-defined]
                dots = ir.retarget(stmt.target, [namer.dot(t) for t in stmt.targets])
                out.append(ir.Call(dots, None, (cst.Name(namer.dot(source.value)),), stmt.origin))  # type: ignore[attr-defined]
        elif isinstance(stmt, ir.Call):
            active = active_params(stmt, act)
            if not active or not any(act.is_active(t) for t in stmt.targets) or link is None:
                out.append(stmt)
                continue
            # y, y_dot = g_tangent(a, b, a_dot): the callee's tangent, for the active arguments
            name = link(stmt.callee, tuple(p for p, _ in active), "tangent")
            dots = ir.retarget(stmt.target, [namer.dot(t) for t in stmt.targets])
            target = E.tuple_([stmt.target, dots])
            args = stmt.args + tuple(dot_of_argument(a, act, namer) for _, a in active)
            out.append(ir.Call(target, cst.Name(name), args, stmt.origin))
        elif isinstance(stmt, ir.Return):
            out.append(ir.Return(E.tuple_([stmt.value, _dot_of(stmt.value, act, namer)]), stmt.origin))
        elif isinstance(stmt, ir.If):
            out.append(ir.If(stmt.test, block(stmt.body), block(stmt.orelse), stmt.origin))
        elif isinstance(stmt, ir.For):
            out.append(ir.For(stmt.target, stmt.iter, block(stmt.body), stmt.origin))
        elif isinstance(stmt, ir.While):
            out.append(ir.While(stmt.test, block(stmt.body), stmt.origin))
        else:
            out.append(stmt)
    return out


def _may_be_smaller(stmt: ir.Assign, dot: E.Expr, act: Activity, namer: Namer) -> bool:
    """Whether an elementwise tangent may lack axes its value has (array code).

    ``t = x + c``: ``t_dot = x_dot`` has only ``x``'s shape, and ``c`` may
    broadcast it; so may a zero partial (``0.0 * a``). A tangent that reads
    the tangent of every operand has the shape of them all, the value's.
    """
    rule = rule_of(stmt, True)
    if rule is None or not rule.broadcasts:
        return E.is_zero(dot) and stmt.op not in (None, ir.INACTIVE)
    reads = set(ir.names_in(dot))
    for arg in stmt.args:
        if isinstance(arg, cst.Name) and arg.value not in ("None", "True", "False"):
            if not act.is_active(arg.value) or namer.dot(arg.value) not in reads:
                return True
    return False


def _dot_of(value: E.Expr, act: Activity, namer: Namer) -> E.Expr:
    if isinstance(value, cst.Tuple):  # several values: a tuple of their tangents
        return E.tuple_([_dot_of(e.value, act, namer) for e in value.elements])
    if isinstance(value, cst.Name) and act.is_active(value.value):
        return cst.Name(namer.dot(value.value))
    return zeros_like(value)


def _returned_dots(stmt: ir.Return) -> list[str]:
    dots = stmt.value.elements[1].value  # type: ignore[attr-defined]
    items = [e.value for e in dots.elements] if isinstance(dots, cst.Tuple) else [dots]
    return [e.value for e in items if isinstance(e, cst.Name)]


def _owned_returns(body: list[ir.Stmt], given: list[str]) -> list[ir.Stmt]:
    """``return y, own(y_dot)`` where ``y_dot`` may be a given tangent, or another returned one."""
    returns = [s for s in ir.walk(body) if isinstance(s, ir.Return)]
    env = aliases.may_be(body, in_order=False)
    shared = {n for r in returns for n in aliases.shared(env, list(dict.fromkeys(_returned_dots(r))), given)}
    if not shared:
        return body

    def own(node: E.Expr) -> E.Expr:
        if isinstance(node, cst.Name) and node.value in shared:
            return E.call("sct.arrays.own", node)
        if isinstance(node, cst.Tuple):
            return E.tuple_([own(e.value) for e in node.elements])
        return node

    def owned_return(stmt: ir.Stmt) -> ir.Stmt:
        if not isinstance(stmt, ir.Return):
            return stmt
        value, dots = (e.value for e in stmt.value.elements)  # type: ignore[attr-defined]
        return ir.Return(E.tuple_([value, own(dots)]), stmt.origin)

    return ir.each(body, owned_return)


def zeros_like(value: E.Expr) -> E.Expr:
    """A zero derivative shaped like ``value`` (0.0 for a float, zeros for an array)."""
    return E.call(ZEROS_LIKE, value)


def tangent(
    fn: ir.Function, wrt: list[str], act: Activity, namer: Namer, link: Link | None = None, name: str | None = None
) -> ir.Function:
    written = frozenset(s.target for s in ir.walk(fn.body) if isinstance(s, ir.SetItem))
    body = _block(fn.body, act, namer, link, fn.arrays, written)
    # A parameter that is not differentiated but becomes active starts at zero.
    starts = [p for p in fn.params if p not in wrt and act.is_active(p)]
    origin = ir.Origin(fn.line, f"def {fn.name}(...)")
    body = [ir.Assign(namer.dot(p), owned(E.number(0), p) if p in written else E.number(0), None, (), origin) for p in starts] + [
        ir.Assign(namer.dot(p), owned(cst.Name(namer.dot(p)), p), None, (), origin) for p in wrt if p in written
    ] + body
    params = fn.params + [namer.dot(p) for p in wrt]
    if fn.arrays:  # each returned tangent its own array, never a given one or a view of it
        body = _owned_returns(body, params[len(fn.params) :])
    returned = {n for s in ir.walk(body) if isinstance(s, ir.Return) for n in ir.names_in(s.value)}
    from .analysis import prune

    body = prune(body, returned)
    return ir.Function(name or namer.fresh(f"{fn.name}_tangent"), params, body, fn.filename, fn.line, arrays=fn.arrays)
