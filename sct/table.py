"""Table: the exercise's table for one function, computed by running generated code.

Contract: :func:`build` takes a :class:`~sct.source.FunctionSource` and a point
(a number for every parameter, passed as given, so an int loop count stays an
int) and returns a :class:`Table`; :func:`render` prints it as ``text``
(aligned columns), ``markdown`` (a GitHub table) or ``json`` (``{"function":
..., "rows": [...]}``). Branches and loops included. With ``exact=True`` the
point's values become :class:`~fractions.Fraction` and the seeds the integers
1 and 0: generated code adds no float of its own, so rational code gives exact
numbers, printed as integers and fractions (``-21/2``; JSON writes a fraction
as the string ``"-21/2"``).

Rows: the parameters in order (``expression`` is the parameter's own name,
``partials`` empty), then one row per *executed instance* of an assignment of
the normalized program, in execution order: a statement in a branch not taken
has no row, one in a loop has a row per trip, labelled with the enclosing
loops' state, innermost last (``s [i=1, j=2]``: a ``for`` loop's variable; a
``while`` loop's iteration number, from 1: ``[iter=3]``); JSON keeps ``node``
plain and adds ``"iteration": {"i": 1, "j": 2}`` to such rows. The run's last
instance is the returned node in straight-line code and in most loops (in
execution order, an instance assigned after the returned one comes after it).
A row has its value, its symbolic partial with respect to each node it reads
(from :mod:`sct.rules`; ``None`` where the operation passes no derivative;
evaluated, it reads the latest instance of each node before the row), its
tangent for each seed (each parameter's tangent 1 in turn, the others 0) and
its adjoint for a result adjoint of 1. Inactive nodes and dead code (no
derivative) show tangent and adjoint 0. For :mod:`sct.graph` and
:mod:`sct.gradcheck` (not in JSON), a row also has its user's ``line``, the
row each partial ``reads`` (the latest instance before it), the partials'
values there (``partial_values``, recorded by the primal run from the rule
table's expressions; None where evaluating one fails) and whether it is
``differentiated`` (False: inactive or dead code).

No number is computed here: the pipeline's tangent and adjoint are copied with
recording calls added, emitted with :mod:`sct.emit`, compiled and run. The
tangent records each value and tangent as it is assigned, and each loop trip;
the adjoint records a node's adjoint where the reverse sweep starts using it
(the value of its ``_bar`` variable there), and returns the parameters'. The
k-th forward instance of an assignment is matched with the k-th-from-last
recording of its adjoint (the reverse sweep replays the trips backwards).
Dead code, which the tangent drops, takes its value (and the row order) from
the normalized program, instrumented the same way. The user's file is never
imported or run (its literal module-level constants, ``C = 2.0``, are read).
"""

from __future__ import annotations

import ast
import contextlib
import json
import linecache
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Mapping

import libcst as cst

from . import emit, ir, pipeline, rules
from . import expr as E
from .errors import InternalError, Location, SctError, UsageError
from .names import Namer
from .source import FunctionSource

FORMATS = ("text", "markdown", "json")
VALUE, TANGENT, ADJOINT = "value", "tangent", "adjoint"


class EvaluationError(SctError):
    """The generated code failed at the requested point (``log(-1)``, an unknown constant)."""

    kind = "evaluation error"


@dataclass
class Row:
    node: str
    expression: str
    value: Any
    partials: dict[str, str | None]
    tangent: dict[str, Any]
    adjoint: Any
    iteration: dict[str, Any] | None = None  # the enclosing loops' variables (``{"i": 3}``), innermost last
    # Not in JSON: what the graph and the gradient check read.
    line: int = field(default=0, compare=False)  # the user's line (0 for a parameter)
    reads: dict[str, int] = field(default_factory=dict, compare=False)  # node -> the row it reads
    partial_values: dict[str, Any] = field(default_factory=dict, compare=False)  # None: no value
    differentiated: bool = field(default=True, compare=False)  # False: inactive or dead code

    @property
    def label(self) -> str:
        """``s``, or ``s [i=1, j=2]`` inside loops."""
        if not self.iteration:
            return self.node
        return f"{self.node} [{', '.join(f'{k}={_number(v)}' for k, v in self.iteration.items())}]"

    def as_json(self, exact: bool = False) -> dict[str, Any]:
        num = lambda v: _jsonable(v, exact)  # noqa: E731
        out: dict[str, Any] = {"node": self.node, "expression": self.expression, "value": num(self.value)}
        out |= {"partials": dict(self.partials), "tangent": {k: num(v) for k, v in self.tangent.items()}}
        out["adjoint"] = num(self.adjoint)
        if self.iteration is not None:
            out["iteration"] = {k: v if isinstance(v, (int, float)) else num(v) for k, v in self.iteration.items()}
        return out


@dataclass
class Table:
    function: str
    seeds: list[str]  # the parameters, each seeded 1 in turn
    result: str  # the returned node's name
    rows: list[Row]
    result_row: int = -1  # the index of the returned node's final instance
    exact: bool = False  # Fraction arithmetic: JSON keeps integers and writes fractions as "n/d"

    def as_json(self) -> dict[str, Any]:
        return {"function": self.function, "rows": [r.as_json(self.exact) for r in self.rows]}


class _LoggingNamer(Namer):
    """A Namer that remembers every fresh name it hands out (to find the adjoint's versions)."""

    def __init__(self, taken: set[str]):
        super().__init__(taken)
        self.log: list[tuple[str, str]] = []

    def fresh(self, base: str) -> str:
        name = super().fresh(base)
        self.log.append((base, name))
        return name


def build(
    fs: FunctionSource,
    point: Mapping[str, Any],
    *,
    exact: bool = False,
    namespace: Mapping[str, Any] | None = None,
) -> Table:
    """The table of ``fs`` at ``point``, from the instrumented tangent and adjoint.

    The point's values are passed as given (an int loop count stays an int);
    with ``exact`` they become :class:`~fractions.Fraction` and the seeds the
    integers 1 and 0, so rational code gives exact numbers. ``namespace`` adds
    globals for the generated code (the live function's, for :func:`sct.check`).
    """
    if not fs.params or any(p not in point for p in fs.params):
        raise UsageError(f"sct table needs a value for every parameter of {fs.name!r}, and at least one")
    namer = _LoggingNamer(pipeline.file_names(fs.file))
    tr = pipeline.transform(fs, namer=namer)
    norm, tan, adj = tr.normalized, tr.tangent, tr.adjoint
    if tan is None or adj is None or not norm.body or not isinstance(adj.body[-1], ir.Return):
        raise InternalError("table: expected a tangent, an adjoint and a non-empty program")
    params = list(norm.params)
    assigns = [s for s in ir.walk(norm.body) if isinstance(s, ir.Assign)]
    key_of = {id(s): len(params) + i for i, s in enumerate(assigns)}
    names = params + [s.target for s in assigns]
    nodes = set(names)
    rec = _Recorder(namer.fresh("_sct_record"), norm.body[0].origin)
    rec.depth = {**{k: 0 for k in range(len(params))}, **_loop_depths(norm.body, key_of)}
    rec.partials = {key_of[id(s)]: _partial_exprs(s, nodes) for s in assigns}

    primal = [rec.stmt(k, VALUE, p) for k, p in enumerate(params)] + _instrument(norm.body, key_of, rec, namer, None)
    tangent = [rec.stmt(k, kind, v) for k, p in enumerate(params) for kind, v in ((VALUE, p), (TANGENT, namer.dot(p)))]
    tangent += _instrument(tan.body, key_of, rec, namer, {})
    order = _reverse_order(norm.body)
    adjoint = _sweep_reads(adj.body, order, key_of, namer, rec)

    fns = [
        ir.Function(namer.fresh(f"{fs.name}_primal"), params, primal, norm.filename, norm.line),
        ir.Function(tan.name, tan.params, tangent, tan.filename, tan.line),
        ir.Function(adj.name, adj.params, adjoint, adj.filename, adj.line),
    ]
    text = emit.module_source(fs.file.filename, [emit.function_source(f, tr.imports) for f in fns], tr.imports)
    globals_ = {**_module_constants(fs), **(namespace or {}), rec.name: rec}
    compiled = emit.compile_functions(text, f"{fs.name} table", globals_)
    run_primal, run_tangent, run_adjoint = (compiled[f.name] for f in fns)
    one, zero = (1, 0) if exact else (1.0, 0.0)
    at = [Fraction(point[p]) if exact else point[p] for p in params]
    seeds = list(tr.wrt)
    values, _ = rec.run(run_primal, at, fs, point)
    executed, returned = list(rec.order), rec.returned  # (key, instance, iteration) in execution order
    by_seed = {s: rec.run(run_tangent, at + [one if q == s else zero for q in seeds], fs, point)[0] for s in seeds}
    adjoints, grads = rec.run(run_adjoint, at + [one], fs, point)

    count = {k: 0 for k in range(len(names))}
    for k, _, _ in executed:
        count[k] += 1
    result = returned if returned is not None else names[executed[-1][0]]
    last_result = max((j for j, (k, _, _) in enumerate(executed) if names[k] == result), default=len(executed) - 1)
    rows: list[Row] = []
    latest: dict[str, int] = {}  # node -> the row of its latest instance
    for j, (k, n, iteration) in enumerate(executed):
        name = names[k]
        stmt = assigns[k - len(params)] if k >= len(params) else None
        value = _nth(by_seed[seeds[0]], k, VALUE, n, None)  # the tangent's, or the primal's for dead code
        value = _nth(values, k, VALUE, n, None) if value is None else value
        expression = name if stmt is None else E.code(stmt.value)
        partials = {} if stmt is None else partials_of(stmt, nodes)
        tangents = {s: _nth(by_seed[s], k, TANGENT, n, zero) for s in seeds}
        if stmt is None:  # a parameter's adjoint is what the adjoint function returns for it
            adjoint_value = grads[seeds.index(name)] if name in seeds else zero
        else:  # the k-th forward instance is the k-th-from-last reverse one
            found = adjoints.get((k, ADJOINT), [])
            adjoint_value = found[len(found) - 1 - n] if len(found) == count[k] else zero
            if j == last_result and not found:
                adjoint_value = one  # the result's adjoint is the seed, even where nothing flows back
        row = Row(name, expression, value, partials, tangents, adjoint_value, iteration or None)
        row.line = 0 if stmt is None else stmt.origin.line
        row.reads = {m: latest[m] for m in partials if m in latest}
        row.partial_values = {m: _nth(values, k, f"d/d{m}", n, None) for m in partials}
        row.differentiated = stmt is None or (k, TANGENT) in by_seed[seeds[0]]
        rows.append(row)
        latest[name] = j
    return Table(fs.name, seeds, result, rows, last_result, exact)


Seen = dict[tuple[int, str], list[Any]]  # (row, kind) -> the values recorded, in execution order


class _Recorder:
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
        return ir.ExprStmt(cst.Call(cst.parse_expression(f"{self.name}.{method}"), [cst.Arg(a) for a in args]), origin)

    def run(
        self, fn: Callable[..., Any], args: list[float], fs: FunctionSource, at: Mapping[str, float]
    ) -> tuple[Seen, Any]:
        """What ``fn(*args)`` recorded, and what it returned."""
        self.seen, self.frames, self.order, self.returned = {}, [], [], None
        return self.seen, _run(fn, args, fs, at)


def _nth(seen: Seen, key: int, kind: str, n: int, default: Any) -> Any:
    found = seen.get((key, kind), [])
    return found[n] if n < len(found) else default


def _loop_depths(body: list[ir.Stmt], key_of: dict[int, int], depth: int = 0) -> dict[int, int]:
    out: dict[int, int] = {}
    for s in body:
        if isinstance(s, ir.Assign) and id(s) in key_of:
            out[key_of[id(s)]] = depth
        elif isinstance(s, ir.If):
            out |= _loop_depths(s.body, key_of, depth) | _loop_depths(s.orelse, key_of, depth)
        elif isinstance(s, (ir.For, ir.While)):
            out |= _loop_depths(s.body, key_of, depth + 1)
    return out


def _instrument(
    body: list[ir.Stmt],
    key_of: dict[int, int],
    rec: _Recorder,
    namer: Namer,
    primal_of: dict[str, int] | None,
    depth: int = 0,
) -> list[ir.Stmt]:
    """``body`` (the normalized program, or the tangent when ``primal_of`` is a dict)
    recording each value (and tangent) as it is assigned, and each loop trip."""
    out: list[ir.Stmt] = []
    rec_ = lambda b, d=depth: _instrument(b, key_of, rec, namer, primal_of, d)  # noqa: E731
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


def _reverse_order(body: list[ir.Stmt]) -> list[ir.Assign]:
    """The assignments in the order the adjoint's text handles them: a block backwards,
    a branch's body before its ``else``, a loop's body backwards."""
    out: list[ir.Assign] = []
    for s in reversed(body):
        if isinstance(s, ir.Assign):
            out.append(s)
        elif isinstance(s, ir.If):
            out += _reverse_order(s.body) + _reverse_order(s.orelse)
        elif isinstance(s, (ir.For, ir.While)):
            out += _reverse_order(s.body)
    return out


def _sweep_reads(
    body: list[ir.Stmt], order: list[ir.Assign], key_of: dict[int, int], namer: _LoggingNamer, rec: _Recorder
) -> list[ir.Stmt]:
    """``body`` (an adjoint) recording each assignment's adjoint where its reverse sweep
    starts: the run of adjoint statements from its line whose value reads its adjoint
    first (``w_bar = v_bar * x``). Runs come in ``order`` (see :func:`_reverse_order`),
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


_SCT_PREFIX = re.compile(r"(?<![\w.])sct\.(?:runtime\.|functions\.)?")


def _partial_exprs(stmt: ir.Assign, nodes: set[str]) -> dict[str, E.Expr | None]:
    """d target / d node for each node ``stmt`` reads, from the rule table (None: no derivative)."""
    if stmt.op == ir.INACTIVE:  # a comparison: evaluated, never differentiated
        return {n: None for n in dict.fromkeys(ir.names_in(stmt.value)) if n in nodes}
    rule = rules.lookup(stmt.op, len(stmt.args)) if stmt.op is not None else None
    if stmt.op is not None and rule is None:
        raise InternalError(f"table: no rule for {stmt.op!r}")
    found: dict[str, E.Expr | None] = {}
    for i, arg in enumerate(stmt.args):
        if not (isinstance(arg, cst.Name) and arg.value in nodes):
            continue
        p = E.number(1) if rule is None else rule.partial(i, stmt.args, cst.Name(stmt.target))
        before = found.get(arg.value)
        found[arg.value] = p if before is None else before if p is None else E.add(before, p)  # x * x
    return found


def partials_of(stmt: ir.Assign, nodes: set[str]) -> dict[str, str | None]:
    """The partials of :func:`_partial_exprs` as code, spelled as the table prints them."""
    return {n: None if p is None else _SCT_PREFIX.sub("", E.code(p)) for n, p in _partial_exprs(stmt, nodes).items()}


def _module_constants(fs: FunctionSource) -> dict[str, Any]:
    """``NAME = <literal>`` at the top of the user's file, read without running it."""
    found: dict[str, Any] = {}
    with contextlib.suppress(SyntaxError, ValueError):
        for node in ast.parse(fs.file.text).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                with contextlib.suppress(ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    found[node.targets[0].id] = ast.literal_eval(node.value)
    return found


def _run(fn: Callable[..., Any], args: list[float], fs: FunctionSource, point: Mapping[str, float]) -> Any:
    """Call generated code; a failure becomes an error located at the user's line."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - any failure of the user's operations
        where, tb = None, exc.__traceback__
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if filename.startswith("<sct generated"):
                where = _user_location(fs, linecache.getlines(filename), tb.tb_lineno)
            tb = tb.tb_next
        at = ", ".join(f"{p}={_number(v)}" for p, v in point.items())
        hint = "choose a point where every operation is defined"
        if isinstance(exc, NameError):
            hint = "sct does not run your file: only its imports and literal module-level constants (NAME = 2.5) are known"
        raise EvaluationError(f"{fs.name} at {at}: {type(exc).__name__}: {exc}", where, hint) from None


def _user_location(fs: FunctionSource, lines: list[str], lineno: int) -> Location | None:
    """The user's line a generated line came from, found through its provenance comment."""
    for text in reversed(lines[:lineno]):
        found = re.match(r"\s*# line (\d+): ", text)
        if found:
            line = int(found.group(1))
            source = fs.file.lines[line - 1] if 0 < line <= len(fs.file.lines) else ""
            return Location(fs.file.filename, line, len(source) - len(source.lstrip()), source)
    return None


# ---- rendering ----------------------------------------------------------------


def _jsonable(value: Any, exact: bool = False) -> Any:
    if exact and isinstance(value, (int, Fraction)) and not isinstance(value, bool):
        return int(value) if value.denominator == 1 else str(value)  # JSON has no fractions
    if isinstance(value, (int, float)) or hasattr(value, "denominator"):
        return float(value)
    return value if value is None else str(value)


def _number(value: Any) -> str:
    """Compact: 10.0 -> ``10``, 0.5 -> ``0.5``, 1/3 -> ``0.3333333333``; Fraction(-21, 2) -> ``-21/2``."""
    if value is None:
        return ""
    if isinstance(value, (bool, Fraction)):  # a comparison's True; exact arithmetic's -21/2
        return str(value)
    if isinstance(value, (int, float)) or hasattr(value, "denominator"):
        v = float(value)
        if math.isfinite(v) and v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return format(v, ".10g")
    return str(value)


def _cells(table: Table, code: Callable[[str], str] = str) -> tuple[list[str], list[list[str]]]:
    head = ["node", "expression", "value", "partials", *(f"{s}_dot=1" for s in table.seeds)]
    head.append(f"adjoint ({table.result}_bar=1)")
    body = []
    for r in table.rows:
        partials = ", ".join(f"d{r.node}/d{n} = {code('none' if p is None else p)}" for n, p in r.partials.items())
        tangents = [_number(r.tangent[s]) for s in table.seeds]
        body.append([r.label, code(r.expression), _number(r.value), partials, *tangents, _number(r.adjoint)])
    return head, body


def render(table: Table, fmt: str = "text") -> str:
    """``table`` as ``text``, ``markdown`` or ``json``, ending with a newline."""
    if fmt == "json":
        return json.dumps(table.as_json(), indent=2) + "\n"
    numeric = lambda i: i == 2 or i >= 4  # noqa: E731
    if fmt == "markdown":
        head, body = _cells(table, lambda t: f"`{t}`")
        rule = ["---:" if numeric(i) else "---" for i in range(len(head))]
        lines = [head, rule, *body]
        return "".join("| " + " | ".join(c.replace("|", "\\|") for c in line) + " |\n" for line in lines)
    if fmt != "text":
        raise UsageError(f"unknown table format {fmt!r}", hint=f"choose one of: {', '.join(FORMATS)}")
    head, body = _cells(table)
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
    fit = lambda line: "  ".join(  # noqa: E731
        c.rjust(w) if numeric(i) else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths))
    ).rstrip()
    return "\n".join([fit(head), fit(["-" * w for w in widths]), *map(fit, body)]) + "\n"
