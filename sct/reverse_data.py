"""Reverse, for data: the adjoints of calls, tuples, stacks and writes into arrays.

Contract: :class:`DataAdjoints` is the part of :class:`sct.reverse._Reverse`
that moves adjoints through data rather than through arithmetic, each method
returning the statements of the forward sweep and of the reverse sweep:

- a call of the user's function ``y = g(a, b)`` becomes
  ``a_bar, b_bar = g_adjoint(a, b, y_bar)`` (tuple arguments and results too);
- an unpacked tuple ``a, b = p`` gives ``p_bar = (a_bar, b_bar)``;
- a stack of values that carry derivatives (generated code differentiated
  again) gets an adjoint stack: a push's adjoint pops, a pop's adjoint pushes;
- a write ``y[i] = v`` keeps what it overwrites, and its adjoint takes
  ``v_bar`` from ``y_bar[i]``, zeroes it there, and restores ``y[i]``.

It reads the state of ``_Reverse`` (activity, names, what adjoints are
nonzero, records) and calls its ``accumulate``, ``saved`` and ``record``.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from . import expr as E
from . import ir
from .forward import active_params


_call = E.call


def _parenthesized(node: cst.Tuple) -> cst.Tuple:
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


class DataAdjoints:
    """Mixed into ``_Reverse``: the attributes named here are its own."""

    act: Any
    namer: Any
    nonzero: set[str]
    stacks: dict[str, None]
    written: set[str]
    link: Any
    depth: int
    scope: set[str]

    def setitem(self, stmt: ir.SetItem) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        """``y[i] = v``: forward, keep what it overwrites; backward, ``v_bar`` from ``y_bar[i]``, then restore.

        Restoring the overwritten elements in reverse order gives every earlier
        statement's adjoint the array as it was when that statement ran.
        """
        y, origin = stmt.target, stmt.origin
        old = self.record(stmt, "old", f"{y}_old")
        if self.depth:
            self.scope.add(old)  # overwritten on every trip of a loop
        save = ir.Assign(old, _call("sct.arrays.copy_of", stmt.at(cst.Name(y))), ir.INACTIVE, (), origin)
        pushes, pops = self.saved({old}, stmt)
        back: list[ir.Stmt] = []
        if self.act.is_active(y) and y in self.nonzero:
            v = stmt.value
            if isinstance(v, cst.Name) and self.act.is_active(v.value):
                part = _call("sct.arrays.copy_of", stmt.at(self.bar(y)))  # not a view: zeroed next
                self.accumulate(v.value, _call("sct.arrays.unbroadcast", part, v), origin, back)
            back.append(ir.SetItem(self.namer.bar(y), stmt.index, E.number(0), origin))
        back.append(ir.SetItem(y, stmt.index, cst.Name(old), origin))
        reads = {n for s in back for n in (ir.names_in(s.value) if isinstance(s, ir.Assign) else s.reads)} - {old}
        more_pushes, more_pops = self.saved(reads, stmt)
        return [save, stmt] + pushes + more_pushes, pops + more_pops + back

    # ---- statements ---------------------------------------------------------

    def stack_op(self, stmt: ir.Stmt) -> tuple[list[ir.Stmt], list[ir.Stmt]] | None:
        """Stacks of values that carry derivatives (a generated adjoint, differentiated again).

        A push's adjoint pops the adjoint stack into the value's adjoint; a pop's
        adjoint pushes the popped value's adjoint. The reverse sweep meets the
        pops first, so each adjoint lands where its value was pushed.
        """
        pushed = ir.pushed(stmt)
        if pushed is not None and self.act.is_active(pushed[0]):
            stack, value = pushed
            popped = _call(f"{self.adjoint_stack(stack)}.pop")
            back: list[ir.Stmt] = []
            if isinstance(value, cst.Name) and self.act.is_active(value.value):
                self.accumulate(value.value, popped, stmt.origin, back)
            else:
                back.append(ir.ExprStmt(popped, stmt.origin))
            return [stmt], back
        if isinstance(stmt, ir.Assign) and stmt.op == ir.POP and stmt.args:
            stack = stmt.args[0].value  # type: ignore[attr-defined]
            if not self.act.is_active(stack):
                return None
            bar = self.bar(stmt.target) if stmt.target in self.nonzero else E.number(0)
            self.nonzero.discard(stmt.target)
            push = ir.ExprStmt(_call(f"{self.adjoint_stack(stack)}.append", bar), stmt.origin)
            return [stmt], [push]
        if isinstance(stmt, ir.Assign) and stmt.op == ir.STACK and self.act.is_active(stmt.target):
            self.adjoint_stack(stmt.target)
            return [stmt], []
        return None

    def adjoint_stack(self, stack: str) -> str:
        name = self.namer.bar(stack)
        self.stacks[name] = None  # made empty at the start, with the records' stacks
        return name

    def call(self, stmt: ir.Call) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        """``y = g(a, b)``: forward, the call itself; backward, ``a_bar, b_bar = g_adjoint(a, b, y_bar)``."""
        live = [t for t in stmt.targets if self.act.is_active(t) and t in self.nonzero]
        if not live:
            return [stmt], []
        seeds = [self.bar(t) if t in live else E.number(0) for t in stmt.targets]
        seed = seeds[0] if isinstance(stmt.target, cst.Name) else _parenthesized(E.tuple_(seeds))
        for t in stmt.targets:
            self.nonzero.discard(t)
        out: list[ir.Stmt] = []
        if stmt.func is None:  # a, b = p: p's adjoint is the tuple of theirs
            source = stmt.args[0].value  # type: ignore[attr-defined]
            self.accumulate_tuple(source, seed, stmt.origin, out)
            return [stmt], out
        active = active_params(stmt, self.act)
        if not active or self.link is None:
            return [stmt], []
        name = self.link(stmt.callee, tuple(p for p, _ in active), "adjoint")
        # an argument's adjoint takes the result directly when it is its first contribution
        names = [a.value for _, a in active if isinstance(a, cst.Name)]
        received: list[str] = []
        direct: list[str] = []
        later: list[tuple[E.Expr, str]] = []
        for _, arg in active:
            if isinstance(arg, cst.Name) and arg.value not in self.nonzero and names.count(arg.value) == 1:
                received.append(self.namer.bar(arg.value))
                direct.append(arg.value)
            else:
                label = arg.value if isinstance(arg, cst.Name) else "args"
                part = self.namer.fresh(f"{self.namer.bar(label)}_{stmt.callee.name}")
                received.append(part)
                later.append((arg, part))
        target = cst.Tuple([cst.Element(cst.Name(n)) for n in received])
        out.append(ir.Call(target, cst.Name(name), stmt.args + (seed,), stmt.origin))
        self.nonzero.update(direct)
        for arg, part in later:
            if isinstance(arg, cst.Name):
                self.accumulate(arg.value, cst.Name(part), stmt.origin, out)
            else:  # a tuple argument: its adjoint is a tuple, one entry per element
                parts = [self.namer.fresh(f"{part}_{i + 1}") for i in range(len(arg.elements))]  # type: ignore[attr-defined]
                out.append(ir.Call(ir.tuple_target(parts, force=True), None, (cst.Name(part),), stmt.origin))
                for element, p in zip(arg.elements, parts):  # type: ignore[attr-defined]
                    if isinstance(element.value, cst.Name) and self.act.is_active(element.value.value):
                        self.accumulate(element.value.value, cst.Name(p), stmt.origin, out)
        pushes, pops = self.saved(set(stmt.reads), stmt)
        return [stmt] + pushes, pops + out

    def accumulate_tuple(self, var: str, contribution: E.Expr, origin: ir.Origin, out: list[ir.Stmt]) -> None:
        """``p_bar = (a_bar, b_bar)``, or added entry by entry to what ``p_bar`` holds."""
        if var not in self.nonzero:
            out.append(ir.Assign(self.namer.bar(var), contribution, None, (), origin))
            self.nonzero.add(var)
            return
        items = [e.value for e in contribution.elements] if isinstance(contribution, cst.Tuple) else [contribution]
        held = [self.namer.fresh(f"{self.namer.bar(var)}_{i + 1}") for i in range(len(items))]
        out.append(ir.Call(ir.tuple_target(held, force=True), None, (self.bar(var),), origin))
        total = _parenthesized(E.tuple_([E.add(cst.Name(h), c) for h, c in zip(held, items)]))
        out.append(ir.Assign(self.namer.bar(var), total, None, (), origin))
