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
recording calls added (by :mod:`sct.instrument`), emitted with :mod:`sct.emit`, compiled and run. The
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
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Mapping

import libcst as cst

from . import emit, ir, pipeline, rules
from . import expr as E
from .errors import InternalError, UsageError
from .instrument import (  # noqa: F401 - EvaluationError, run_located, user_location: for sct.gradcheck too
    ADJOINT,
    TANGENT,
    VALUE,
    EvaluationError,
    LoggingNamer,
    Recorder,
    loop_depths,
    nth,
    instrument,
    reverse_order,
    run_located,
    sweep_reads,
    user_location,
)
from .source import FunctionSource

FORMATS = ("text", "markdown", "json")


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
        return f"{self.node} [{', '.join(f'{k}={number(v)}' for k, v in self.iteration.items())}]"

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
    namer = LoggingNamer(pipeline.file_names(fs.file))
    tr = pipeline.transform(fs, namer=namer)
    norm, tan, adj = tr.normalized, tr.tangent, tr.adjoint
    if tan is None or adj is None or not norm.body or not isinstance(adj.body[-1], ir.Return):
        raise InternalError("table: expected a tangent, an adjoint and a non-empty program")
    params = list(norm.params)
    assigns = [s for s in ir.walk(norm.body) if isinstance(s, ir.Assign)]
    key_of = {id(s): len(params) + i for i, s in enumerate(assigns)}
    names = params + [s.target for s in assigns]
    nodes = set(names)
    rec = Recorder(namer.fresh("_sct_record"), norm.body[0].origin)
    rec.depth = {**{k: 0 for k in range(len(params))}, **loop_depths(norm.body, key_of)}
    rec.partials = {key_of[id(s)]: _partial_exprs(s, nodes) for s in assigns}

    primal = [rec.stmt(k, VALUE, p) for k, p in enumerate(params)] + instrument(norm.body, key_of, rec, namer, None)
    tangent = [rec.stmt(k, kind, v) for k, p in enumerate(params) for kind, v in ((VALUE, p), (TANGENT, namer.dot(p)))]
    tangent += instrument(tan.body, key_of, rec, namer, {})
    order = reverse_order(norm.body)
    adjoint = sweep_reads(adj.body, order, key_of, namer, rec)

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
        value = nth(by_seed[seeds[0]], k, VALUE, n, None)  # the tangent's, or the primal's for dead code
        value = nth(values, k, VALUE, n, None) if value is None else value
        expression = name if stmt is None else E.code(stmt.value)
        partials = {} if stmt is None else partials_of(stmt, nodes)
        tangents = {s: nth(by_seed[s], k, TANGENT, n, zero) for s in seeds}
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
        row.partial_values = {m: nth(values, k, f"d/d{m}", n, None) for m in partials}
        row.differentiated = stmt is None or (k, TANGENT) in by_seed[seeds[0]]
        rows.append(row)
        latest[name] = j
    return Table(fs.name, seeds, result, rows, last_result, exact)


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


# ---- rendering ----------------------------------------------------------------


def _jsonable(value: Any, exact: bool = False) -> Any:
    if exact and isinstance(value, (int, Fraction)) and not isinstance(value, bool):
        return int(value) if value.denominator == 1 else str(value)  # JSON has no fractions
    if isinstance(value, (int, float)) or hasattr(value, "denominator"):
        return float(value)
    return value if value is None else str(value)


def number(value: Any) -> str:
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
        tangents = [number(r.tangent[s]) for s in table.seeds]
        body.append([r.label, code(r.expression), number(r.value), partials, *tangents, number(r.adjoint)])
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
