"""Table: the exercise's table for one function, computed by running generated code.

Contract: :func:`build` takes a :class:`~sct.source.FunctionSource` and a point
(a float for every parameter) and returns a :class:`Table`; :func:`render`
prints it as ``text`` (aligned columns), ``markdown`` (a GitHub table) or
``json`` (``{"function": ..., "rows": [...]}``). Straight-line code only.

Rows: the parameters in order (``expression`` is the parameter's own name,
``partials`` empty), then each assignment of the normalized program in order
(a valid execution order), the returned node (``result``) last; a variable
assigned twice gives two rows, as in the program. A row has its value, its
symbolic partial with respect to each node it reads (from :mod:`sct.rules`;
``None`` where the operation passes no derivative), its tangent for each seed
(each parameter's tangent 1 in turn, the others 0) and its adjoint for a result
adjoint of 1. Inactive nodes (no derivative) show tangent and adjoint 0.

No number is computed here: the pipeline's tangent and adjoint are copied with
recording calls added, emitted with :mod:`sct.emit`, compiled and run. The
tangent records each value and tangent as it is assigned; the adjoint records
a node's adjoint where the reverse sweep starts using it, and returns the
parameters'. Dead code, which the tangent drops, takes its value from the
normalized program, instrumented the same way. The user's file is never
imported or run (its literal module-level constants, ``C = 2.0``, are read).
Recordings are keyed by (row, kind) and kept as lists of instances, so that
loops can later give one row per executed instance (``s [i=3]``).
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import json
import linecache
import math
import re
from dataclasses import dataclass
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

    def as_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        tangent = {k: _jsonable(v) for k, v in self.tangent.items()}
        return {**out, "value": _jsonable(self.value), "tangent": tangent, "adjoint": _jsonable(self.adjoint)}


@dataclass
class Table:
    function: str
    seeds: list[str]  # the parameters, each seeded 1 in turn
    result: str  # the returned node's name
    rows: list[Row]

    def as_json(self) -> dict[str, Any]:
        return {"function": self.function, "rows": [r.as_json() for r in self.rows]}


class _LoggingNamer(Namer):
    """A Namer that remembers every fresh name it hands out (to find the adjoint's versions)."""

    def __init__(self, taken: set[str]):
        super().__init__(taken)
        self.log: list[tuple[str, str]] = []

    def fresh(self, base: str) -> str:
        name = super().fresh(base)
        self.log.append((base, name))
        return name


def build(fs: FunctionSource, point: Mapping[str, float]) -> Table:
    """The table of ``fs`` at ``point``, from the instrumented tangent and adjoint."""
    if not fs.params or any(p not in point for p in fs.params):
        raise UsageError(f"sct table needs a value for every parameter of {fs.name!r}, and at least one")
    namer = _LoggingNamer(pipeline.file_names(fs.file))
    tr = pipeline.transform(fs, namer=namer)
    norm, tan, adj = tr.normalized, tr.tangent, tr.adjoint
    assigns = [s for s in norm.body if isinstance(s, ir.Assign)]
    ret = norm.body[-1] if norm.body else None
    if len(assigns) != len(norm.body) - 1 or not isinstance(ret, ir.Return):
        raise UsageError(f"sct table supports straight-line functions only; {fs.name!r} has branches or loops")
    if tan is None or adj is None or not isinstance(ret.value, cst.Name) or not isinstance(adj.body[-1], ir.Return):
        raise InternalError("table: expected a tangent, an adjoint and a program returning a name")
    params, result = list(norm.params), ret.value.value
    names = params + [s.target for s in assigns]
    key_of = {id(s): len(params) + i for i, s in enumerate(assigns)}
    rec = _Recorder(namer.fresh("_sct_record"), norm.body[0].origin)
    primal_of: dict[str, int] = {}  # a tangent variable -> the row whose tangent it is about to hold

    primal = [rec.stmt(k, VALUE, p) for k, p in enumerate(params)]
    for s in assigns:
        primal += [s, rec.stmt(key_of[id(s)], VALUE, s.target, s.origin)]
    tangent = [rec.stmt(k, kind, v) for k, p in enumerate(params) for kind, v in ((VALUE, p), (TANGENT, namer.dot(p)))]
    for s in tan.body:
        tangent.append(s)
        if isinstance(s, ir.Assign) and id(s) in key_of:  # forward mode keeps the primal statement itself
            primal_of[namer.dot(s.target)] = key_of[id(s)]
            tangent.append(rec.stmt(key_of[id(s)], VALUE, s.target, s.origin))
        elif isinstance(s, ir.Assign) and s.target in primal_of:  # and puts its tangent right after it
            tangent.append(rec.stmt(primal_of.pop(s.target), TANGENT, s.target, s.origin))
    result_key = max(k for k, n in enumerate(names) if n == result)
    adjoint = [rec.stmt(result_key, ADJOINT, adj.params[-1])] + _sweep_reads(adj.body, assigns, len(params), namer, rec)

    fns = [
        ir.Function(namer.fresh(f"{fs.name}_primal"), params, primal + [ret], norm.filename, norm.line),
        ir.Function(tan.name, tan.params, tangent, tan.filename, tan.line),
        ir.Function(adj.name, adj.params, adjoint, adj.filename, adj.line),
    ]
    text = emit.module_source(fs.file.filename, [emit.function_source(f, tr.imports) for f in fns], tr.imports)
    compiled = emit.compile_functions(text, f"{fs.name} table", {**_module_constants(fs), rec.name: rec})
    run_primal, run_tangent, run_adjoint = (compiled[f.name] for f in fns)
    at, seeds = [float(point[p]) for p in params], list(tr.wrt)
    values, _ = rec.run(run_primal, at, fs, point)
    by_seed = {s: rec.run(run_tangent, at + [float(q == s) for q in seeds], fs, point)[0] for s in seeds}
    adjoints, grads = rec.run(run_adjoint, at + [1.0], fs, point)

    rows: list[Row] = []
    for k, name in enumerate(names):
        stmt = assigns[k - len(params)] if k >= len(params) else None
        if stmt is None:  # a parameter's adjoint is what the adjoint function returns for it
            adjoints[(k, ADJOINT)] = [grads[seeds.index(name)]]
        value = _last(by_seed[seeds[0]], k, VALUE, None)  # the tangent's, or the primal's for dead code
        value = _last(values, k, VALUE, None) if value is None else value
        expression = name if stmt is None else E.code(stmt.value)
        partials = {} if stmt is None else _partials(stmt, set(names[:k]))
        tangents = {s: _last(by_seed[s], k, TANGENT, 0.0) for s in seeds}
        rows.append(Row(name, expression, value, partials, tangents, _last(adjoints, k, ADJOINT, 0.0)))
    return Table(fs.name, seeds, result, rows)


Seen = dict[tuple[int, str], list[Any]]  # (row, kind) -> the values recorded, in execution order


class _Recorder:
    """What generated code calls to report a value: ``_sct_record(row, kind, value)``."""

    def __init__(self, name: str, origin: ir.Origin):
        self.name, self.origin = name, origin
        self.seen: Seen = {}

    def __call__(self, key: int, kind: str, value: Any) -> None:
        self.seen.setdefault((key, kind), []).append(value)

    def stmt(self, key: int, kind: str, var: str, origin: ir.Origin | None = None) -> ir.ExprStmt:
        args = [cst.Arg(E.number(key)), cst.Arg(cst.SimpleString(f'"{kind}"')), cst.Arg(cst.Name(var))]
        return ir.ExprStmt(cst.Call(cst.Name(self.name), args), origin or self.origin)

    def run(
        self, fn: Callable[..., Any], args: list[float], fs: FunctionSource, at: Mapping[str, float]
    ) -> tuple[Seen, Any]:
        """What ``fn(*args)`` recorded, and what it returned."""
        self.seen = {}
        return self.seen, _run(fn, args, fs, at)


def _last(seen: Seen, key: int, kind: str, default: Any) -> Any:
    return seen.get((key, kind), [default])[-1]


def _sweep_reads(
    body: list[ir.Stmt], assigns: list[ir.Assign], first: int, namer: _LoggingNamer, rec: _Recorder
) -> list[ir.Stmt]:
    """``body`` (an adjoint) recording each assignment's adjoint where its reverse sweep
    starts: the run of adjoint statements from its line whose value reads its adjoint
    first (``w_bar = v_bar * x``). Runs come in reverse program order; a variable may
    have versions (``a``, ``a2``, fresh names from the namer), and several versions
    may share one adjoint variable, reset between them. No run: the adjoint is 0."""
    versions: dict[str, set[str]] = {}
    for base, name in namer.log:
        versions.setdefault(base, {base}).add(name)
    bars = {i: {namer.bar(v) for v in versions.get(s.target, {s.target})} for i, s in enumerate(assigns)}
    every = set().union(*bars.values())
    out: list[ir.Stmt] = []
    i, run = len(assigns) - 1, None
    for s in body:
        sweep = isinstance(s, ir.AugAssign) or (isinstance(s, ir.Assign) and s.op is None and not s.args)
        read = ir.names_in(s.value) if sweep else []  # type: ignore[union-attr]
        if read and read[0] in every and run != (read[0], s.origin):
            while i >= 0 and not (assigns[i].origin == s.origin and read[0] in bars[i]):
                i -= 1
            if i >= 0:
                out.append(rec.stmt(first + i, ADJOINT, read[0], s.origin))
                run, i = (read[0], s.origin), i - 1
        out.append(s)
    return out


_SCT_PREFIX = re.compile(r"(?<![\w.])sct\.(?:runtime\.|functions\.)?")


def _partials(stmt: ir.Assign, nodes: set[str]) -> dict[str, str | None]:
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
    return {n: None if p is None else _SCT_PREFIX.sub("", E.code(p)) for n, p in found.items()}


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
            hint = "sct table does not run your file: only literal module-level constants (NAME = 2.5) are known"
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


def _jsonable(value: Any) -> Any:
    if isinstance(value, (int, float)) or hasattr(value, "denominator"):
        return float(value)
    return value if value is None else str(value)


def _number(value: Any) -> str:
    """Compact: 10.0 -> ``10``, 0.5 -> ``0.5``, 1/3 -> ``0.3333333333``."""
    if value is None:
        return ""
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
        body.append([r.node, code(r.expression), _number(r.value), partials, *tangents, _number(r.adjoint)])
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
