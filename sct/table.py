"""Table: the exercise's table for one function, computed by running generated code.

Contract: :func:`build` takes a :class:`~sct.source.FunctionSource` and a point
(a float for every parameter) and returns a :class:`Table`; :func:`render`
prints it as ``text`` (an aligned terminal table), ``markdown`` (a GitHub
table) or ``json`` (``{"function": ..., "rows": [...]}``).

Rows: the parameters in order (``expression`` is the parameter's own name,
``partials`` is empty), then every assignment of the normalized program in
order (a valid execution order); the returned node is the last assignment to
the returned name (``result``), or a parameter if one is returned as is. A
variable assigned twice gives two rows of that name, as in the program. Each
row has its value, its symbolic partial with respect to every node it reads
(from :mod:`sct.rules`, the one rule table; ``None`` where the rule passes no
derivative), its tangent for each seed (each parameter's tangent 1 in turn,
the others 0) and its adjoint for a result adjoint of 1. Nodes that carry no
derivative (inactive) show tangent and adjoint 0.

The numbers are never computed here: the pipeline's tangent and adjoint are
copied with recording calls added (after each assignment in the tangent,
before the return in the adjoint), emitted with :mod:`sct.emit`, compiled and
run. A statement the tangent drops as dead code takes its value from the
normalized program, instrumented the same way. The user's file is never
imported or run; literal module-level constants (``SCALE = 2.0``) are known.

Every recorded value is keyed by (row, kind) and kept as a list of instances,
so that loops can later add one row per executed instance (``s [i=3]``).
"""

from __future__ import annotations

import ast
import json
import linecache
import math
import re
import sys
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
        return {
            "node": self.node,
            "expression": self.expression,
            "value": _jsonable(self.value),
            "partials": dict(self.partials),
            "tangent": {k: _jsonable(v) for k, v in self.tangent.items()},
            "adjoint": _jsonable(self.adjoint),
        }


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
    missing = [p for p in fs.params if p not in point]
    if missing:
        raise UsageError(f"no value for {', '.join(missing)}", hint=f"give every parameter: {', '.join(fs.params)}")
    namer = _LoggingNamer(pipeline.file_names(fs.file))
    tr = pipeline.transform(fs, namer=namer)
    norm, tan, adj = tr.normalized, tr.tangent, tr.adjoint
    assigns = [s for s in norm.body if isinstance(s, ir.Assign)]
    ret = norm.body[-1] if norm.body else None
    if tan is None or adj is None or not isinstance(ret, ir.Return) or not isinstance(ret.value, cst.Name):
        raise InternalError("table: expected a tangent, an adjoint and a normalized program returning a name")
    if len(assigns) != len(norm.body) - 1 or not isinstance(adj.body[-1], ir.Return):
        raise UsageError(f"sct table supports straight-line functions only; {fs.name!r} has control flow")
    params = list(norm.params)
    names = params + [s.target for s in assigns]
    key_of = {id(s): len(params) + i for i, s in enumerate(assigns)}
    rec = _Recorder(namer.fresh("_sct_record"), (norm.body[0]).origin)

    # The primal (values of statements the tangent drops as dead code), then the
    # tangent: each assignment's value, and its tangent, which forward mode puts right after it.
    primal = [rec.stmt(k, VALUE, p) for k, p in enumerate(params)]
    for s in norm.body:
        primal += [s, rec.stmt(key_of[id(s)], VALUE, s.target, s.origin)] if isinstance(s, ir.Assign) else [s]
    tangent = [rec.stmt(k, kind, v) for k, p in enumerate(params) for kind, v in ((VALUE, p), (TANGENT, namer.dot(p)))]
    j, body = 0, tan.body
    while j < len(body):
        s, j = body[j], j + 1
        tangent.append(s)
        if isinstance(s, ir.Assign) and id(s) in key_of:
            tangent.append(rec.stmt(key_of[id(s)], VALUE, s.target, s.origin))
            after = body[j] if j < len(body) else None
            if isinstance(after, ir.Assign) and after.target == namer.dot(s.target):
                tangent += [after, rec.stmt(key_of[id(s)], TANGENT, after.target, after.origin)]
                j += 1
    # The adjoint: every node's (summed) adjoint, read just before the return.
    versions = params + _versions(params, assigns, namer, {tan.name, adj.name})
    available = ir.assigned(adj.body) | set(adj.params)
    bars = [(k, namer.bar(v)) for k, v in enumerate(versions)]
    reads = [rec.stmt(k, ADJOINT, b, adj.body[-1].origin) for k, b in bars if b in available]

    fns = [
        ir.Function(namer.fresh(f"{fs.name}_primal"), params, primal, norm.filename, norm.line),
        ir.Function(tan.name, tan.params, tangent, tan.filename, tan.line),
        ir.Function(adj.name, adj.params, adj.body[:-1] + reads + adj.body[-1:], adj.filename, adj.line),
    ]
    text = emit.module_source(fs.file.filename, [emit.function_source(f, tr.imports) for f in fns], tr.imports)
    namespace = {**_module_constants(fs), rec.name: rec}
    compiled = emit.compile_functions(text, f"{fs.name} table", namespace)
    run_primal, run_tangent, run_adjoint = (compiled[f.name] for f in fns)
    at = [float(point[p]) for p in params]
    seeds = list(tr.wrt)
    values = rec.run(run_primal, at, fs, point)
    by_seed = {s: rec.run(run_tangent, at + [1.0 if q == s else 0.0 for q in seeds], fs, point) for s in seeds}
    adjoints = rec.run(run_adjoint, at + [1.0], fs, point)

    rows: list[Row] = []
    for k, name in enumerate(names):
        stmt = assigns[k - len(params)] if k >= len(params) else None
        value = _last(by_seed[seeds[0]], k, VALUE, None) if seeds else None
        rows.append(
            Row(
                node=name,
                expression=name if stmt is None else E.code(stmt.value),
                value=_last(values, k, VALUE, None) if value is None else value,
                partials={} if stmt is None else _partials(stmt, set(names[:k])),
                tangent={s: _last(by_seed[s], k, TANGENT, 0.0) for s in seeds},
                adjoint=_last(adjoints, k, ADJOINT, 0.0),
            )
        )
    return Table(fs.name, seeds, ret.value.value, rows)


Seen = dict[tuple[int, str], list[Any]]  # (row, kind) -> the values recorded, in execution order


class _Recorder:
    """The function generated code calls to report a value: ``_sct_record(row, kind, value)``."""

    def __init__(self, name: str, origin: ir.Origin):
        self.name, self.origin, self.seen = name, origin, {}  # type: tuple[str, ir.Origin, Seen]

    def __call__(self, key: int, kind: str, value: Any) -> None:
        self.seen.setdefault((key, kind), []).append(value)

    def stmt(self, key: int, kind: str, var: str, origin: ir.Origin | None = None) -> ir.ExprStmt:
        args = [cst.Arg(E.number(key)), cst.Arg(cst.SimpleString(f'"{kind}"')), cst.Arg(cst.Name(var))]
        return ir.ExprStmt(cst.Call(cst.Name(self.name), args), origin or self.origin)

    def run(self, fn: Callable[..., Any], args: list[Any], fs: FunctionSource, point: Mapping[str, float]) -> Seen:
        self.seen = {}
        _run(fn, tuple(args), fs, point)
        return self.seen


def _last(seen: Seen, key: int, kind: str, default: Any) -> Any:
    return seen.get((key, kind), [default])[-1]


def _versions(params: list[str], assigns: list[ir.Assign], namer: _LoggingNamer, exclude: set[str]) -> list[str]:
    """The adjoint's name for each assignment's value: a re-assigned variable gets a
    fresh version (``a``, then ``a2``), in program order (see :mod:`sct.reverse`)."""
    taken = set(params) | {s.target for s in assigns} | exclude
    pools: dict[str, list[str]] = {}
    for base, name in namer.log:
        if name not in taken:
            pools.setdefault(base, []).append(name)
    seen, out = set(params), []
    for s in assigns:
        if s.target in seen:
            pool = pools.get(s.target)
            if not pool:
                raise InternalError(f"table: cannot find the adjoint's version of {s.target!r}")
            out.append(pool.pop(0))
        else:
            out.append(s.target)
        seen.add(s.target)
    return out


_SCT_PREFIX = re.compile(r"(?<![\w.])sct\.(?:runtime\.|functions\.)?")


def _partials(stmt: ir.Assign, nodes: set[str]) -> dict[str, str | None]:
    """d target / d node for each node ``stmt`` reads, from the rule table (None: no derivative)."""
    rule = rules.lookup(stmt.op, len(stmt.args)) if stmt.op is not None else None
    if stmt.op is not None and rule is None:
        raise InternalError(f"table: no rule for {stmt.op!r}")
    found: dict[str, E.Expr | None] = {}
    for i, arg in enumerate(stmt.args):
        if not (isinstance(arg, cst.Name) and arg.value in nodes):
            continue
        p = E.number(1) if rule is None else rule.partial(i, stmt.args, cst.Name(stmt.target))
        before = found.get(arg.value)
        found[arg.value] = E.add(before, p) if before is not None and p is not None else (before or p)
    return {n: None if p is None else _SCT_PREFIX.sub("", E.code(p)) for n, p in found.items()}


def _module_constants(fs: FunctionSource) -> dict[str, Any]:
    """``NAME = <literal>`` at the top of the user's file, read without running it."""
    found: dict[str, Any] = {}
    for stmt in fs.file.module.body:
        for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
            target = small.targets[0].target if isinstance(small, cst.Assign) and len(small.targets) == 1 else (
                small.target if isinstance(small, cst.AnnAssign) and small.value is not None else None
            )
            if isinstance(target, cst.Name):
                try:
                    found[target.value] = ast.literal_eval(cst.Module([]).code_for_node(small.value))
                except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                    pass
    return found


def _run(fn: Callable[..., Any], args: tuple[Any, ...], fs: FunctionSource, point: Mapping[str, float]) -> None:
    """Call generated code; a failure becomes an error located at the user's line."""
    try:
        fn(*args)
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
            return str(int(v)) if v != 0 else "0"
        return format(v, ".10g")
    return str(value)


def _partials_text(row: Row, code: Callable[[str], str] = str) -> str:
    return ", ".join(f"d{row.node}/d{n} = {code('none' if p is None else p)}" for n, p in row.partials.items())


def _cells(table: Table, code: Callable[[str], str] = str) -> tuple[list[str], list[list[str]]]:
    head = ["node", "expression", "value", "partials", *(f"{s}_dot=1" for s in table.seeds)]
    head.append(f"adjoint ({table.result}_bar=1)")
    body = [
        [r.node, code(r.expression), _number(r.value), _partials_text(r, code)]
        + [_number(r.tangent[s]) for s in table.seeds]
        + [_number(r.adjoint)]
        for r in table.rows
    ]
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
