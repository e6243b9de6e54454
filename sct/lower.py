"""Lower: the shapes the adjoint needs, made from a normalized function.

Contract: two rewrites of an :class:`~sct.ir.Function`, both semantics-preserving,
used by :mod:`sct.reverse` only (the tangent keeps the program as written):

- :func:`version` gives each top-level re-assignment whose old value a
  derivative still reads a new name (``z`` then ``z2``), and before a
  top-level loop or branch that assigns such a variable, copies it into a new
  name used inside (``y2 = y``). After this, a value read by a straight-line
  statement's partial is never overwritten: straight-line code records nothing.
- :func:`single_exit` replaces ``break``, ``continue`` and early ``return``
  with flags (``broke = True``) and guards (``if not broke:``), so that every
  loop body is structured code whose branches the adjoint can replay; the
  only remaining exits are ``if broke: break`` at the end of a loop body and
  one ``return`` at the end of the function.
"""

from __future__ import annotations

import libcst as cst

from . import expr as E
from . import ir, rules
from .names import Namer


def partial_reads(stmt: ir.Assign, arrays: bool = False) -> set[str]:
    """Names any partial (or vjp) of ``stmt`` reads (the result included, for ``exp``)."""
    if stmt.op is None or stmt.op == ir.INACTIVE:
        return set()
    rule = rules.lookup(stmt.op, len(stmt.args), arrays)
    if rule is None:
        return set()
    out: set[str] = set()
    statics = dict(stmt.statics)
    seed = cst.Name("__sct_seed__")
    for i in range(len(stmt.args)):
        if rule.linear:
            partial = rule.vjp(i, stmt.args, cst.Name(stmt.target), statics, seed)
        else:
            partial = rule.partial(i, stmt.args, cst.Name(stmt.target), statics)
        if partial is not None:
            out |= set(ir.names_in(partial)) - {seed.value}
    return out


def _all_partial_reads(body: list[ir.Stmt], arrays: bool = False) -> set[str]:
    found = {n for s in ir.walk(body) if isinstance(s, ir.Assign) for n in partial_reads(s, arrays)}
    # the adjoint of a call of the user's function calls its adjoint with every argument
    return found | {n for s in ir.walk(body) if isinstance(s, ir.Call) for n in s.reads}


def rename(node: E.Expr, mapping: dict[str, str]) -> E.Expr:
    """``node`` with every name in ``mapping`` renamed, but an attribute's (``s.append``: not ``s``'s).

    A plain walk (no libcst transformer): a node is copied only when a name under it changes.
    """
    if not mapping:
        return node

    def renamed(n: cst.CSTNode) -> cst.CSTNode:
        if type(n) is cst.Name:
            new = mapping.get(n.value, n.value)  # type: ignore[attr-defined]
            return n if new == n.value else n.with_changes(value=new)  # type: ignore[attr-defined]
        if type(n) is cst.Attribute:
            value = renamed(n.value)  # type: ignore[attr-defined]
            return n if value is n.value else n.with_changes(value=value)  # type: ignore[attr-defined]
        return E.map_children(n, renamed)

    return renamed(node)  # type: ignore[return-value]


def rename_block(body: list[ir.Stmt], mapping: dict[str, str]) -> list[ir.Stmt]:
    """``body`` with every read and write of a mapped name renamed."""
    mapping = {k: v for k, v in mapping.items() if k != v}  # a name kept as it is needs no walk
    out: list[ir.Stmt] = []
    r = lambda e: rename(e, mapping)  # noqa: E731
    for s in body:
        if isinstance(s, ir.Assign):
            statics = tuple((k, r(v)) for k, v in s.statics)
            out.append(ir.Assign(mapping.get(s.target, s.target), r(s.value), s.op, tuple(map(r, s.args)), s.origin, statics))
        elif isinstance(s, ir.Call):
            out.append(ir.Call(r(s.target), s.func, tuple(map(r, s.args)), s.origin, s.callee))
        elif isinstance(s, ir.AugAssign):
            out.append(ir.AugAssign(mapping.get(s.target, s.target), r(s.value), s.origin))
        elif isinstance(s, ir.SetItem):
            index = tuple(r(e) for e in s.index)  # type: ignore[arg-type]
            out.append(ir.SetItem(mapping.get(s.target, s.target), index, r(s.value), s.origin))  # type: ignore[arg-type]
        elif isinstance(s, ir.Return):
            out.append(ir.Return(r(s.value), s.origin))
        elif isinstance(s, ir.ExprStmt):
            out.append(ir.ExprStmt(r(s.value), s.origin))
        elif isinstance(s, ir.If):
            out.append(ir.If(r(s.test), rename_block(s.body, mapping), rename_block(s.orelse, mapping), s.origin))
        elif isinstance(s, ir.For):
            out.append(ir.For(mapping.get(s.target, s.target), r(s.iter), rename_block(s.body, mapping), s.origin))
        elif isinstance(s, ir.While):
            out.append(ir.While(r(s.test), rename_block(s.body, mapping), s.origin))
        else:
            out.append(s)
    return out


def version(fn: ir.Function, namer: Namer, arrays: bool = False) -> tuple[list[ir.Stmt], dict[str, str]]:
    """Top-level renaming; returns the new body and each version's original name."""
    current = {p: p for p in fn.params}
    origin_of = {p: p for p in fn.params}
    read_before: set[str] = set()
    out: list[ir.Stmt] = []
    for stmt in fn.body:
        if isinstance(stmt, ir.Assign):
            renamed = rename_block([stmt], current)[0]
            assert isinstance(renamed, ir.Assign)
            target = stmt.target
            if target in current and current[target] in read_before:
                name = namer.fresh(target)
            else:
                name = current.get(target, target)
            current[target] = name
            origin_of[name] = target
            renamed = ir.Assign(name, renamed.value, renamed.op, renamed.args, renamed.origin, renamed.statics)
            read_before |= partial_reads(renamed, arrays)
            out.append(renamed)
        elif isinstance(stmt, ir.Call):
            call = rename_block([stmt], current)[0]
            assert isinstance(call, ir.Call)
            for target in stmt.targets:
                if target in current and current[target] in read_before:
                    current[target] = namer.fresh(target)
                else:
                    current[target] = current.get(target, target)
                origin_of[current[target]] = target
            names = [current[t] for t in stmt.targets]
            renamed_call = ir.Call(ir.retarget(stmt.target, names), call.func, call.args, call.origin, call.callee)
            read_before |= set(renamed_call.reads)
            out.append(renamed_call)
        elif isinstance(stmt, (ir.If, ir.For, ir.While)):
            written = ir.assigned([stmt])
            for w in sorted(written):
                if w in current and current[w] in read_before:
                    new = namer.fresh(w)
                    out.append(ir.Assign(new, cst.Name(current[w]), None, (cst.Name(current[w]),), stmt.origin))
                    current[w] = new
                    origin_of[new] = w
                elif w not in current:
                    current[w] = w
                    origin_of[w] = w
            (renamed_stmt,) = rename_block([stmt], current)
            read_before |= _all_partial_reads([renamed_stmt], arrays)
            out.append(renamed_stmt)
        else:
            out.extend(rename_block([stmt], current))
    return out, origin_of


# ---- single exit ---------------------------------------------------------------


class _Exits:
    def __init__(self, namer: Namer, result: str):
        self.namer = namer
        self.result = result
        self.returned: str | None = None

    def flag(self, base: str) -> str:
        return self.namer.fresh(base)

    def block(self, body: list[ir.Stmt], loop: dict[str, str] | None) -> tuple[list[ir.Stmt], set[str]]:
        """Lower one block; returns it and the flags it may set."""
        out: list[ir.Stmt] = []
        for i, s in enumerate(body):
            if isinstance(s, ir.Break):
                assert loop is not None
                out.append(_set(loop["break"], s.origin))
                return out, {loop["break"]}
            if isinstance(s, ir.Continue):
                assert loop is not None
                out.append(_set(loop["continue"], s.origin))
                return out, {loop["continue"]}
            if isinstance(s, ir.Return):
                if self.returned is None:
                    self.returned = self.flag("returned")
                if E.code(s.value) != self.result:
                    out.append(ir.Assign(self.result, s.value, None, (s.value,), s.origin))
                out.append(_set(self.returned, s.origin))
                return out, {self.returned}
            flags: set[str] = set()
            if isinstance(s, ir.If):
                body_, f1 = self.block(s.body, loop)
                else_, f2 = self.block(s.orelse, loop)
                out.append(ir.If(s.test, body_, else_, s.origin))
                flags = f1 | f2
            elif isinstance(s, (ir.For, ir.While)):
                lowered, flags = self.loop(s, out)
                out.append(lowered)
            else:
                out.append(s)
            if flags:
                rest, more = self.block(body[i + 1 :], loop)
                if rest:
                    out.append(ir.If(_none_set(flags), rest, [], rest[0].origin))
                return out, flags | more
        return out, set()

    def loop(self, s: ir.For | ir.While, out: list[ir.Stmt]) -> tuple[ir.Stmt, set[str]]:
        names = {"break": self.namer.fresh("broke"), "continue": self.namer.fresh("skipped")}
        body, flags = self.block(s.body, names)
        if names["continue"] in flags:
            body = [ir.Assign(names["continue"], cst.Name("False"), ir.INACTIVE, (), s.origin)] + body
        leave = sorted(flags - {names["continue"]})
        if names["break"] in flags:
            out.append(ir.Assign(names["break"], cst.Name("False"), ir.INACTIVE, (), s.origin))
        if leave:
            body.append(ir.If(_any_set(leave), [ir.Break(s.origin)], [], s.origin))
        outer = {f for f in flags if f == self.returned}
        if isinstance(s, ir.For):
            return ir.For(s.target, s.iter, body, s.origin), outer
        return ir.While(s.test, body, s.origin), outer


def _is_names(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) or (
        isinstance(node, cst.Tuple) and all(isinstance(e.value, cst.Name) for e in node.elements)
    )


def _set(flag: str, origin: ir.Origin) -> ir.Assign:
    return ir.Assign(flag, cst.Name("True"), ir.INACTIVE, (), origin)


def _any_set(flags: list[str]) -> E.Expr:
    expr: E.Expr = cst.Name(flags[0])
    for f in flags[1:]:
        expr = cst.BooleanOperation(expr, cst.Or(), cst.Name(f))
    return expr


def _none_set(flags: set[str]) -> E.Expr:
    return cst.UnaryOperation(cst.Not(), _any_set(sorted(flags)))


def needs_single_exit(body: list[ir.Stmt]) -> bool:
    if any(isinstance(s, (ir.Break, ir.Continue)) for s in ir.walk(body)):
        return True
    returns = [s for s in ir.walk(body) if isinstance(s, ir.Return)]
    return len(returns) > 1 or (bool(returns) and not isinstance(body[-1], ir.Return))


def single_exit(body: list[ir.Stmt], namer: Namer) -> tuple[list[ir.Stmt], E.Expr]:
    """Structured ``body`` ending in one ``return``; returns it and the returned name(s).

    Several values are returned in the same names by every ``return``
    (:mod:`sct.normalize` sees to it), so only flags are needed for them.
    """
    final = body[-1] if body and isinstance(body[-1], ir.Return) else None
    if not needs_single_exit(body):
        assert final is not None
        return body, final.value
    values = {E.code(s.value) for s in ir.walk(body) if isinstance(s, ir.Return)}
    only = next(iter(values)) if len(values) == 1 else None
    if only is not None and _is_names(cst.parse_expression(only)):
        result = only
    else:
        result = namer.fresh("result")
    exits = _Exits(namer, result)
    lowered, _ = exits.block(body, None)
    origin = final.origin if final else body[-1].origin
    if exits.returned is not None:
        lowered.insert(0, ir.Assign(exits.returned, cst.Name("False"), ir.INACTIVE, (), body[0].origin))
    value = cst.parse_expression(result)
    lowered.append(ir.Return(value, origin))
    return lowered, value
