"""Instrument: generated code that reports what it computes, for :mod:`sct.table`.

Contract: :func:`instrument` copies a normalized program, or a tangent, adding
a call to a :class:`Recorder` after each assignment (its value, its tangent,
and in the primal run each partial's value, through a ``lambda`` so that a
partial that fails to evaluate records None) and at the top of each loop trip;
:func:`sweep_reads` adds to an adjoint a recording of each node's adjoint
where its reverse sweep starts. :func:`run_located` calls generated code and
turns a failure into an :class:`EvaluationError` at the user's line, found
through the provenance comments. Nothing here changes what the code computes.
"""

from __future__ import annotations

import linecache
import re
from typing import Any, Callable, Mapping

import libcst as cst

from . import expr as E
from . import ir
from .errors import Location, SctError
from .names import Namer
from .source import FunctionSource

VALUE, TANGENT, ADJOINT = "value", "tangent", "adjoint"


class EvaluationError(SctError):
    """The generated code failed at the requested point (``log(-1)``, an unknown constant)."""

    kind = "evaluation error"


class LoggingNamer(Namer):
    """A Namer that remembers every fresh name it hands out (to find the adjoint's versions)."""

    def __init__(self, taken: set[str]):
        super().__init__(taken)
        self.log: list[tuple[str, str]] = []

    def fresh(self, base: str) -> str:
        name = super().fresh(base)
        self.log.append((base, name))
        return name


Seen = dict[tuple[int, str], list[Any]]  # (row, kind) -> the values recorded, in execution order


class Recorder:
    """What generated code calls to report a value: ``_sct_record(row, kind, value)``.

    Loops call ``.trip(depth, label, value)`` at the top of their body (a ``for``
    loop with its variable's value, a ``while`` loop with None: the iteration
    number, from 1) and ``.reset(depth)`` before a ``while`` loop; ``.returned(name)``
    says which variable a ``return`` returns.
    """

    def __init__(self, name: str, origin: ir.Origin):
        self.name, self.origin = name, origin
        self.seen: Seen = {}
        self.depth: dict[int, int] = {}  # row -> how many loops enclose its statement
        self.frames: list[tuple[str, Any]] = []
        self.order: list[tuple[int, int, dict[str, Any]]] = []
        self.returned: str | None = None
        self.partials: dict[int, dict[str, E.Expr | None]] = {}  # row -> its partials, as expressions

    def __call__(self, key: int, kind: str, value: Any) -> None:
        found = self.seen.setdefault((key, kind), [])
        if kind == VALUE:
            self.order.append((key, len(found), dict(self.frames[: self.depth.get(key, 0)])))
        found.append(value)

    def trip(self, depth: int, label: str, value: Any) -> None:
        if value is None:
            value = self.frames[depth][1] + 1 if len(self.frames) > depth else 1
        del self.frames[depth:]
        while len(self.frames) < depth:  # not expected: a loop entered without its outer trip
            self.frames.append(("?", None))
        self.frames.append((label, value))

    def reset(self, depth: int) -> None:
        del self.frames[depth:]

    def return_(self, name: str) -> None:
        self.returned = name

    def partial(self, key: int, kind: str, thunk: Callable[[], Any]) -> None:
        """A partial's value where it is defined; None where evaluating it fails."""
        try:
            value = thunk()
        except Exception:  # noqa: BLE001 - e.g. log of a negative base, read by no derivative
            value = None
        self.seen.setdefault((key, kind), []).append(value)

    def partial_stmts(self, key: int, origin: ir.Origin) -> list[ir.Stmt]:
        """``_sct_record.partial(key, "d/dx", lambda: <partial>)`` for each partial of row ``key``."""
        out: list[ir.Stmt] = []
        for name, p in self.partials.get(key, {}).items():
            if p is not None:
                thunk = cst.Lambda(cst.Parameters(), p)
                out.append(self.call("partial", [E.number(key), cst.SimpleString(f'"d/d{name}"'), thunk], origin))
        return out

    def stmt(self, key: int, kind: str, var: str, origin: ir.Origin | None = None) -> ir.ExprStmt:
        args = [cst.Arg(E.number(key)), cst.Arg(cst.SimpleString(f'"{kind}"')), cst.Arg(cst.Name(var))]
        return ir.ExprStmt(cst.Call(cst.Name(self.name), args), origin or self.origin)

    def call(self, method: str, args: list[E.Expr], origin: ir.Origin) -> ir.ExprStmt:
        return ir.ExprStmt(E.call(f"{self.name}.{method}", *args), origin)

    def run(
        self, fn: Callable[..., Any], args: list[float], fs: FunctionSource, at: Mapping[str, float]
    ) -> tuple[Seen, Any]:
        """What ``fn(*args)`` recorded, and what it returned."""
        self.seen, self.frames, self.order, self.returned = {}, [], [], None
        return self.seen, run_located(fn, args, fs, at)


def nth(seen: Seen, key: int, kind: str, n: int, default: Any) -> Any:
    found = seen.get((key, kind), [])
    return found[n] if n < len(found) else default


def loop_depths(body: list[ir.Stmt], key_of: dict[int, int], depth: int = 0) -> dict[int, int]:
    out: dict[int, int] = {}
    for s in body:
        if isinstance(s, ir.Assign) and id(s) in key_of:
            out[key_of[id(s)]] = depth
        elif isinstance(s, ir.If):
            out |= loop_depths(s.body, key_of, depth) | loop_depths(s.orelse, key_of, depth)
        elif isinstance(s, (ir.For, ir.While)):
            out |= loop_depths(s.body, key_of, depth + 1)
    return out


def instrument(
    body: list[ir.Stmt],
    key_of: dict[int, int],
    rec: Recorder,
    namer: Namer,
    primal_of: dict[str, int] | None,
    depth: int = 0,
) -> list[ir.Stmt]:
    """``body`` (the normalized program, or the tangent when ``primal_of`` is a dict)
    recording each value (and tangent) as it is assigned, and each loop trip."""
    out: list[ir.Stmt] = []
    rec_ = lambda b, d=depth: instrument(b, key_of, rec, namer, primal_of, d)  # noqa: E731
    for s in body:
        if isinstance(s, ir.Assign) and id(s) in key_of:  # forward mode keeps the primal statement itself
            out += [s, rec.stmt(key_of[id(s)], VALUE, s.target, s.origin)]
            if primal_of is not None:
                primal_of[namer.dot(s.target)] = key_of[id(s)]
            else:  # the primal run also records each partial's value, as the rule writes it
                out += rec.partial_stmts(key_of[id(s)], s.origin)
        elif isinstance(s, ir.Assign) and primal_of is not None and s.target in primal_of:  # its tangent, next
            out += [s, rec.stmt(primal_of.pop(s.target), TANGENT, s.target, s.origin)]
        elif isinstance(s, ir.If):
            out.append(ir.If(s.test, rec_(s.body), rec_(s.orelse), s.origin))
        elif isinstance(s, ir.For):
            trip = rec.call("trip", [E.number(depth), cst.SimpleString(f'"{s.target}"'), cst.Name(s.target)], s.origin)
            out.append(ir.For(s.target, s.iter, [trip] + rec_(s.body, depth + 1), s.origin))
        elif isinstance(s, ir.While):
            trip = rec.call("trip", [E.number(depth), cst.SimpleString('"iter"'), cst.Name("None")], s.origin)
            out.append(rec.call("reset", [E.number(depth)], s.origin))
            out.append(ir.While(s.test, [trip] + rec_(s.body, depth + 1), s.origin))
        elif isinstance(s, ir.Return) and primal_of is None and isinstance(s.value, cst.Name):
            out += [rec.call("return_", [cst.SimpleString(f'"{s.value.value}"')], s.origin), s]
        else:
            out.append(s)
    return out


def reverse_order(body: list[ir.Stmt]) -> list[ir.Assign]:
    """The assignments in the order the adjoint's text handles them: a block backwards,
    a branch's body before its ``else``, a loop's body backwards."""
    out: list[ir.Assign] = []
    for s in reversed(body):
        if isinstance(s, ir.Assign):
            out.append(s)
        elif isinstance(s, ir.If):
            out += reverse_order(s.body) + reverse_order(s.orelse)
        elif isinstance(s, (ir.For, ir.While)):
            out += reverse_order(s.body)
    return out


def sweep_reads(
    body: list[ir.Stmt], order: list[ir.Assign], key_of: dict[int, int], namer: LoggingNamer, rec: Recorder
) -> list[ir.Stmt]:
    """``body`` (an adjoint) recording each assignment's adjoint where its reverse sweep
    starts: the run of adjoint statements from its line whose value reads its adjoint
    first (``w_bar = v_bar * x``). Runs come in ``order`` (see :func:`reverse_order`),
    nested in the adjoint's own branches and loops; a variable may have versions
    (``a``, ``a2``, fresh names from the namer), and several versions may share one
    adjoint variable, reset between them. No run: the adjoint is 0."""
    versions: dict[str, set[str]] = {}
    for base, name in namer.log:
        versions.setdefault(base, {base}).add(name)
    bars = [{namer.bar(v) for v in versions.get(s.target, {s.target})} for s in order]
    every = set().union(*bars) if bars else set()
    state: dict[str, Any] = {"i": 0, "run": None}

    def walk(block: list[ir.Stmt]) -> list[ir.Stmt]:
        out: list[ir.Stmt] = []
        for s in block:
            if isinstance(s, ir.If):
                out.append(ir.If(s.test, walk(s.body), walk(s.orelse), s.origin))
                continue
            if isinstance(s, ir.For):
                out.append(ir.For(s.target, s.iter, walk(s.body), s.origin))
                continue
            if isinstance(s, ir.While):
                out.append(ir.While(s.test, walk(s.body), s.origin))
                continue
            sweep = isinstance(s, ir.AugAssign) or (isinstance(s, ir.Assign) and s.op is None and not s.args)
            read = ir.names_in(s.value) if sweep else []  # type: ignore[union-attr]
            if read and read[0] in every and state["run"] != (read[0], s.origin):
                j = state["i"]
                while j < len(order) and not (order[j].origin == s.origin and read[0] in bars[j]):
                    j += 1
                if j < len(order):
                    out.append(rec.stmt(key_of[id(order[j])], ADJOINT, read[0], s.origin))
                    state["run"], state["i"] = (read[0], s.origin), j + 1
            out.append(s)
        return out

    return walk(body)


NOT_RUN = "sct does not run your file: only its imports and literal module-level constants (NAME = 2.5) are known"


def run_located(
    fn: Callable[..., Any], args: list[Any], fs: FunctionSource, point: Mapping[str, Any], near: str = "at", not_run: str = NOT_RUN
) -> Any:
    """Call generated code (or the user's function); a failure becomes an error located at the user's line.

    ``near`` words the point in the message; ``not_run`` is the hint for a
    name the file defines but sct never ran.
    """
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - any failure of the user's operations
        where, tb = None, exc.__traceback__
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if filename == fs.file.filename:  # the user's own definition
                where = line_location(fs, tb.tb_lineno)
            elif filename.startswith("<sct generated"):  # generated code: its provenance comment
                where = user_location(fs, linecache.getlines(filename), tb.tb_lineno)
            tb = tb.tb_next
        from .table import number  # the table's compact numbers (a late import: table imports this module)

        at = ", ".join(f"{p}={number(v)}" for p, v in point.items())
        hint = not_run if isinstance(exc, NameError) else "choose a point where every operation is defined"
        raise EvaluationError(f"{fs.name} {near} {at}: {type(exc).__name__}: {exc}", where, hint) from None


def line_location(fs: FunctionSource, line: int) -> Location | None:
    """Line ``line`` of the user's file, as an error's location (its indentation as the column)."""
    lines = fs.file.lines
    if not 0 < line <= len(lines):
        return None
    text = lines[line - 1]
    return Location(fs.file.filename, line, len(text) - len(text.lstrip()), text)


def user_location(fs: FunctionSource, lines: list[str], lineno: int) -> Location | None:
    """The user's line a generated line came from, found through its provenance comment."""
    for text in reversed(lines[:lineno]):
        found = re.match(r"\s*# line (\d+): ", text)
        if found:
            return line_location(fs, int(found.group(1)))
    return None
