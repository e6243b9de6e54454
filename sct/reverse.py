"""Reverse: the adjoint of a normalized function (reverse mode).

Contract: :func:`adjoint` returns an IR function ``<name>_adjoint`` taking the
original parameters and the adjoint of the result last, and returning a tuple
with one adjoint per differentiated parameter. Its body is the forward sweep
(the primal statements the adjoint needs, and no others) followed by the
adjoint statements in explicit reverse order. For ``t = op(a, b)`` the
adjoint multiplies ``t_bar`` by each partial from the rule table and
accumulates into the argument's adjoint (``w_bar += v_bar * x``): the first
contribution assigns, later ones add, nothing is emitted for inactive
variables or for an adjoint known to be zero.

Straight-line code records nothing: at the top level a variable that is
assigned again gets a new version (``z``, then ``z2``), so every value the
adjoint reads is still there when it runs.
"""

from __future__ import annotations

import libcst as cst

from . import expr as E
from . import ir, rules
from .analysis import Activity, prune
from .errors import InternalError
from .forward import zeros_like
from .names import Namer


class _Versions:
    """Top-level renaming: each re-assignment writes a new name (SSA)."""

    def __init__(self, fn: ir.Function, namer: Namer):
        self.namer = namer
        self.current: dict[str, str] = {p: p for p in fn.params}
        self.origins: dict[str, str] = {}  # version -> user variable

    def read(self, node: E.Expr) -> E.Expr:
        current = self.current

        class Rename(cst.CSTTransformer):
            def leave_Name(self, o: cst.Name, u: cst.Name) -> cst.Name:
                return u.with_changes(value=current.get(u.value, u.value))

            def visit_Attribute(self, n: cst.Attribute) -> bool:
                return True

            def leave_Attribute(self, o: cst.Attribute, u: cst.Attribute) -> cst.Attribute:
                return u.with_changes(attr=o.attr)  # only the base of a.b is a variable

        return node.visit(Rename())  # type: ignore[return-value]

    def write(self, name: str) -> str:
        if name in self.current:
            version = self.namer.fresh(name)
        else:
            version = name
        self.current[name] = version
        self.origins[version] = name
        return version


def _rename(body: list[ir.Stmt], versions: _Versions) -> list[ir.Stmt]:
    out: list[ir.Stmt] = []
    for stmt in body:
        if isinstance(stmt, ir.Assign):
            value = versions.read(stmt.value)
            args = tuple(versions.read(a) for a in stmt.args)
            out.append(ir.Assign(versions.write(stmt.target), value, stmt.op, args, stmt.origin))
        elif isinstance(stmt, ir.Return):
            out.append(ir.Return(versions.read(stmt.value), stmt.origin))
        else:
            raise InternalError(f"reverse: {type(stmt).__name__} at the top level is not supported yet")
    return out


class _Adjoints:
    """Emits adjoint statements, tracking which adjoints are known to be zero."""

    def __init__(self, act: Activity, namer: Namer):
        self.act = act
        self.namer = namer
        self.nonzero: set[str] = set()  # adjoints holding a value (others are zero)

    def active(self, node: E.Expr) -> str | None:
        if isinstance(node, cst.Name) and self.act.is_active(node.value):
            return node.value
        return None

    def accumulate(self, var: str, contribution: E.Expr, origin: ir.Origin, out: list[ir.Stmt]) -> None:
        bar = self.namer.bar(var)
        if var in self.nonzero:
            out.append(ir.AugAssign(bar, contribution, origin))
        else:
            out.append(ir.Assign(bar, contribution, None, (), origin))
            self.nonzero.add(var)

    def assign(self, stmt: ir.Assign, out: list[ir.Stmt]) -> None:
        target = stmt.target
        if not self.act.is_active(target) or target not in self.nonzero:
            return
        self.nonzero.discard(target)  # the value it was the adjoint of is gone
        t_bar = cst.Name(self.namer.bar(target))
        rule = rules.lookup(stmt.op, len(stmt.args)) if stmt.op is not None else None
        for i, arg in enumerate(stmt.args):
            var = self.active(arg)
            if var is None:
                continue
            partial = E.number(1) if rule is None else rule.partial(i, stmt.args, cst.Name(target))
            if partial is None:
                continue
            self.accumulate(var, E.mul(t_bar, partial), stmt.origin, out)

    def block(self, body: list[ir.Stmt]) -> list[ir.Stmt]:
        out: list[ir.Stmt] = []
        for stmt in reversed(body):
            if isinstance(stmt, ir.Assign):
                self.assign(stmt, out)
            elif isinstance(stmt, ir.Return):
                continue
            else:
                raise InternalError(f"reverse: {type(stmt).__name__} is not supported yet")
        return out


def adjoint(fn: ir.Function, wrt: list[str], act: Activity, namer: Namer) -> ir.Function:
    versions = _Versions(fn, namer)
    primal = _rename(fn.body, versions)
    returns = [s for s in primal if isinstance(s, ir.Return)]
    result = returns[-1].value
    # Activity of the renamed program: a version is active when its variable is.
    renamed_act = Activity(
        frozenset(v for v, n in versions.origins.items() if n in act.varied) | (act.varied & set(fn.params)),
        frozenset(v for v, n in versions.origins.items() if n in act.useful) | (act.useful & set(fn.params)),
    )
    adj = _Adjoints(renamed_act, namer)
    seed_var = result.value if isinstance(result, cst.Name) else None
    seed = namer.bar(seed_var) if seed_var is not None else namer.fresh("result_bar")
    if seed_var is not None and renamed_act.is_active(seed_var):
        adj.nonzero.add(seed_var)
    sweep = adj.block([s for s in primal if not isinstance(s, ir.Return)])
    grads: list[E.Expr] = []
    for p in wrt:
        grads.append(cst.Name(namer.bar(p)) if p in adj.nonzero else zeros_like(cst.Name(p)))
    origin = returns[-1].origin
    ret = ir.Return(E.tuple_(grads), origin)
    forward = [s for s in primal if not isinstance(s, ir.Return)]
    body = prune(forward + sweep + [ret], set())
    return ir.Function(namer.fresh(f"{fn.name}_adjoint"), fn.params + [seed], body, fn.filename, fn.line)
