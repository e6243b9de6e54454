"""Analysis: which variables carry derivatives, and which statements are needed.

Contract:
- :func:`activity` finds the *active* variables of a normalized function: those
  that depend on a differentiated input through a differentiable argument
  (*varied*) and influence the returned value (*useful*). Only active
  variables get a ``_dot`` or a ``_bar``; everything else is plain code.
- :func:`prune` removes statements whose results nobody reads (dead code) from
  any program in IR form, generated ones included, given what is read after it.

Both are flow-insensitive fixpoints over :mod:`sct.ir`: they are exact for
straight-line code and safe (never too small) with branches and loops.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ir
from . import rules


@dataclass(frozen=True)
class Activity:
    varied: frozenset[str]
    useful: frozenset[str]

    @property
    def active(self) -> frozenset[str]:
        return self.varied & self.useful

    def is_active(self, name: str) -> bool:
        return name in self.varied and name in self.useful


def differentiable_reads(stmt: ir.Assign) -> list[str]:
    """Names whose derivative flows into ``stmt.target`` (partial not None)."""
    if stmt.op is None:
        return stmt.reads
    rule = rules.lookup(stmt.op, len(stmt.args))
    names: list[str] = []
    for i, arg in enumerate(stmt.args):
        if rule is not None and not rule.differentiable(i):
            continue
        names.extend(ir.names_in(arg))
    return names


def _definitions(fn: ir.Function) -> list[tuple[list[str], list[str]]]:
    """(names a statement binds, names whose derivative flows into them), per statement.

    A call of the user's function passes derivatives from every argument to
    every returned value: safe, and exact enough, since the callee is
    differentiated for the arguments that are active.
    """
    out: list[tuple[list[str], list[str]]] = []
    for s in ir.walk(fn.body):
        if isinstance(s, ir.Assign):
            out.append(([s.target], differentiable_reads(s)))
        elif isinstance(s, ir.Call):
            out.append((s.targets, s.reads))
        elif isinstance(s, ir.SetItem):  # y[i] = v: y's other elements stay, v's value comes in
            out.append(([s.target], [s.target] + ir.names_in(s.value)))
        elif ir.pushed(s) is not None:  # stack.append(v): the stack holds v's derivative too
            stack, value = ir.pushed(s)  # type: ignore[misc]
            out.append(([stack], ir.names_in(value)))
    return out


def returned_names(fn: ir.Function) -> set[str]:
    return {n for s in ir.walk(fn.body) if isinstance(s, ir.Return) for n in ir.names_in(s.value)}


def activity(fn: ir.Function, wrt: list[str]) -> Activity:
    definitions = _definitions(fn)
    varied = set(wrt)
    changed = True
    while changed:
        changed = False
        for targets, reads in definitions:
            if not set(targets) <= varied and any(n in varied for n in reads):
                varied.update(targets)
                changed = True
    useful = returned_names(fn)
    changed = True
    while changed:
        changed = False
        for targets, reads in definitions:
            if set(targets) & useful:
                new = set(reads) - useful
                if new:
                    useful |= new
                    changed = True
    return Activity(frozenset(varied), frozenset(useful))


# ---- dead code ----------------------------------------------------------------


def _reads(stmt: ir.Stmt) -> set[str]:
    if isinstance(stmt, (ir.Assign, ir.AugAssign, ir.Call, ir.SetItem)):
        return set(stmt.reads)
    if isinstance(stmt, (ir.ExprStmt, ir.Return)):
        return set(ir.names_in(stmt.value))
    return set()


def prune(body: list[ir.Stmt], live_out: set[str]) -> list[ir.Stmt]:
    """``body`` without the assignments whose targets are never read afterwards."""
    kept, _ = _prune(body, set(live_out))
    return kept


def _prune(body: list[ir.Stmt], live: set[str]) -> tuple[list[ir.Stmt], set[str]]:
    """Backwards liveness over one block: (kept statements, live-in)."""
    kept: list[ir.Stmt] = []
    for stmt in reversed(body):
        if isinstance(stmt, ir.Assign):
            if stmt.target not in live and stmt.op != "pop":
                continue
            live = (live - {stmt.target}) | _reads(stmt)
        elif isinstance(stmt, ir.Call):
            if not set(stmt.targets) & live:
                continue
            live = (live - set(stmt.targets)) | _reads(stmt)
        elif isinstance(stmt, (ir.AugAssign, ir.SetItem)):  # updates: the old value stays live
            if stmt.target not in live:
                continue
            live = live | _reads(stmt)
        elif isinstance(stmt, ir.If):
            body_kept, live_body = _prune(stmt.body, set(live))
            else_kept, live_else = _prune(stmt.orelse, set(live))
            if not body_kept and not else_kept:
                continue
            stmt = ir.If(stmt.test, body_kept, else_kept, stmt.origin)
            live = live_body | live_else | set(ir.names_in(stmt.test))
        elif isinstance(stmt, (ir.For, ir.While)):
            stmt, live = _prune_loop(stmt, live)
            if stmt is None:
                continue
        else:
            live = live | _reads(stmt)
        kept.append(stmt)
    kept.reverse()
    return kept, live


def _prune_loop(stmt: ir.For | ir.While, live: set[str]) -> tuple[ir.Stmt | None, set[str]]:
    header = set(ir.names_in(stmt.iter if isinstance(stmt, ir.For) else stmt.test))
    entry = set(live) | header
    while True:  # what is live at the top of the body is live at its bottom
        body_kept, live_body = _prune(stmt.body, entry | live)
        new_entry = entry | live_body
        if new_entry == entry:
            break
        entry = new_entry
    if isinstance(stmt, ir.For):
        entry.discard(stmt.target)
        entry |= header
        if not body_kept:
            return None, live
        return ir.For(stmt.target, stmt.iter, body_kept, stmt.origin), entry
    if not body_kept and not _has_exit(stmt.body):
        return None, live
    return ir.While(stmt.test, body_kept or [], stmt.origin), entry


def _has_exit(body: list[ir.Stmt]) -> bool:
    return any(isinstance(s, (ir.Break, ir.Return)) for s in ir.walk(body))
