"""Gradient checks: are the generated derivatives right, and if not, where do they go wrong?

Contract: :func:`check` (exported as ``sct.check(fn, *args, wrt=None, seed=0)``)
and :func:`check_source` (``sct check FILE``, which never imports or runs the
file) run four checks at a point and return a :class:`Report`; when one fails
they raise :class:`GradientCheckError`, naming what disagrees and, when it can
be found, the first operation whose derivative is wrong and the user's line it
came from.

1. value: the tangent's value equals the function's.
2. tangent vs central finite differences of the function, along ``directions``
   random directions ``v`` (component ``i`` scaled by ``max(1, |x_i|)``).
3. adjoint vs tangent by the dot-product identity ``<adjoint(x, 1), v> =
   tangent(x, v)``, which holds to rounding.
4. Taylor test along the first direction: the remainder ``|f(x + h v) - f(x) -
   h * tangent|`` for h = 1e-2, 5e-3, ... must shrink at least quadratically
   (observed order ``log2(r(h) / r(h/2))``, the median over pairs above rounding
   noise, at least 1.8); a wrong tangent leaves a first-order term (order 1).
   Remainders all at rounding level mean f is linear along v: that passes.

The function is the user's own: the live function for :func:`check`; for
:func:`check_source`, its definition's text (decorators dropped) compiled into
the generated module's namespace, which holds only the imports the function
uses and the file's literal constants, as ``sct table`` does.

Localization, when a check fails, uses :mod:`sct.table`, which runs the
instrumented generated code: one row per executed operation, with its value and
its tangent for each parameter seeded in turn. The table is built at ``x``,
``x + h v`` and ``x - h v`` (same rows: the control flow must not change).
Forward pass, in execution order: a row's tangent along ``v`` (the seeds'
tangents combined by ``v``) is compared with the central difference of its
value. The first row that disagrees reads only rows whose tangents agree, so
its own derivative (its rule's partials) is wrong: that row is named. This
catches a wrong rule even though the tangent and the adjoint, read from the
same rule, agree with each other. If every tangent is right, the adjoint is
checked the same way backwards: each row's adjoint must equal the sum over
its readers of reader's adjoint times partial (the partials' values recorded
by the table), 1 for the result; the last row in execution order (the first
the reverse sweep reaches) that disagrees is named, with its readers' lines,
whose adjoint statements accumulate into it. Rows no derivative flows through
(inactive, dead code) are skipped.
"""

from __future__ import annotations

import math
import numbers
import random
import statistics
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import libcst as cst

from . import emit, pipeline, table
from .api import Differentiated
from .errors import Location, SctError, UsageError
from .instrument import line_location, run_located
from .source import FunctionSource

EPS = 2.0**-52
DOT_RTOL = 1e-9
TAYLOR_STEPS = 8
TAYLOR_H0 = 1e-2
MIN_ORDER = 1.8


class GradientCheckError(SctError):
    """A derivative disagrees with finite differences, the dot-product identity or the Taylor test."""

    kind = "gradient check failed"

    def __init__(self, message: str, location: Location | None, hint: str, report: "Report"):
        self.report = report
        super().__init__(message, location, hint)

    def render(self) -> str:
        return super().render() + "\n" + str(self.report).rstrip("\n")


@dataclass
class Outcome:
    name: str
    passed: bool
    detail: str


@dataclass
class Report:
    function: str
    point: dict[str, Any]
    wrt: list[str]
    outcomes: list[Outcome] = field(default_factory=list)
    culprit: str = ""  # where the derivative first goes wrong, when found
    location: Location | None = None

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)

    def __str__(self) -> str:
        at = ", ".join(f"{p}={table.number(v)}" for p, v in self.point.items())
        lines = [f"gradient check of {self.function} at {at} (wrt {', '.join(self.wrt)})"]
        lines += [f"  {'ok  ' if o.passed else 'FAIL'}  {o.name}: {o.detail}" for o in self.outcomes]
        if self.culprit:
            lines.append(f"  first wrong: {self.culprit}")
        return "\n".join(lines) + "\n"


Fn = Callable[..., Any]


def check(
    fn: Fn, *args: Any, wrt: Sequence[str] | str | None = None, seed: int = 0,
    directions: int = 3, step: float = 1e-6, rtol: float = 1e-6,
) -> Report:  # fmt: skip
    """Check the derivatives of ``fn`` (a function or ``sct.differentiate``'s result) at ``args``."""
    if isinstance(fn, Differentiated):
        d = fn if wrt is None else Differentiated(fn.fn, wrt)
    else:
        d = Differentiated(fn, wrt)
    params = fs_of(d).params
    if len(args) != len(params):
        raise UsageError(f"sct.check: {d.fn.__name__} takes {len(params)} arguments ({', '.join(params)}), got {len(args)}")
    point = dict(zip(params, args))
    report = _run(d.fn, d.tangent, d.adjoint, point, d.wrt, seed, directions, step, rtol, d.__name__)
    return _finish(report, fs_of(d), point, d.wrt, seed, step, rtol, d._namespace())


def check_source(
    fs: FunctionSource, point: Mapping[str, Any], wrt: Sequence[str] | str | None = None, seed: int = 0,
    directions: int = 3, step: float = 1e-6, rtol: float = 1e-6,
) -> Report:  # fmt: skip
    """:func:`check` for a function read from its file, which is never imported or run."""
    tr = pipeline.transform(fs, wrt)
    text = emit.module_source(fs.file.filename, tr.functions_source(), tr.imports)
    compiled = emit.compile_functions(text, f"{fs.name} check", table._module_constants(fs))
    tangent, adjoint = compiled[tr.tangent.name], compiled[tr.adjoint.name]  # type: ignore[union-attr]
    original = _user_function(fs, dict(tangent.__globals__))
    point = dict(point)
    located = lambda g: _located(g, fs, point)  # noqa: E731
    report = _run(located(original), located(tangent), located(adjoint), point, tr.wrt, seed, directions, step, rtol, fs.name)
    return _finish(report, fs, point, tr.wrt, seed, step, rtol, None)


def fs_of(d: Differentiated) -> FunctionSource:
    return d.transformed.source


# ---- the four checks ------------------------------------------------------------


def _close(a: float, b: float, rtol: float, noise: float = 0.0) -> bool:
    return abs(a - b) <= rtol * max(1.0, abs(a), abs(b)) + noise


def _directions(point: Mapping[str, Any], wrt: list[str], seed: int, count: int) -> list[list[float]]:
    rng = random.Random(seed)
    scale = [max(1.0, abs(float(point[p]))) for p in wrt]
    return [[rng.choice((-1, 1)) * rng.uniform(0.5, 1.5) * s for s in scale] for _ in range(max(count, 1))]


def _shift(point: Mapping[str, Any], wrt: list[str], v: list[float], h: float) -> dict[str, Any]:
    moved = dict(point)
    for p, vi in zip(wrt, v):
        moved[p] = point[p] + h * vi
    return moved


def _run(
    f: Fn, tangent: Fn, adjoint: Fn, point: dict[str, Any], wrt: list[str],
    seed: int, count: int, step: float, rtol: float, name: str,
) -> Report:  # fmt: skip
    report = Report(name, point, list(wrt))
    args = list(point.values())
    call = lambda q: f(*q.values())  # noqa: E731
    f0 = f(*args)
    if not isinstance(f0, numbers.Real):
        raise UsageError(
            f"sct check compares derivatives of a function returning one number; {name} returned {type(f0).__name__}",
            hint="check a function that returns one component (or a scalar loss) of the result",
        )
    value = tangent(*args, *[0.0] * len(wrt))[0]
    report.outcomes.append(
        Outcome("value", _close(value, f0, 1e-12), f"the tangent's value {table.number(value)}, the function's {table.number(f0)}")
    )
    if not wrt:
        return report
    vs = _directions(point, wrt, seed, count)
    grads = adjoint(*args, 1.0)
    worst_fd, worst_dot, fd_fail, dot_fail = 0.0, 0.0, "", ""
    for i, v in enumerate(vs, 1):
        t = tangent(*args, *v)[1]
        fp, fm = call(_shift(point, wrt, v, step)), call(_shift(point, wrt, v, -step))
        fd = (fp - fm) / (2 * step)
        noise = 64 * EPS * (abs(fp) + abs(fm)) / (2 * step)
        rel = abs(t - fd) / max(1.0, abs(t), abs(fd))
        worst_fd = max(worst_fd, rel)
        if not _close(t, fd, rtol, noise) and not fd_fail:
            fd_fail = f"direction {i}: tangent {table.number(t)}, central difference {table.number(fd)}"
        lhs = sum(g * vi for g, vi in zip(grads, v))
        scale = max(1.0, abs(t), sum(abs(g * vi) for g, vi in zip(grads, v)))
        worst_dot = max(worst_dot, abs(lhs - t) / scale)
        if abs(lhs - t) > DOT_RTOL * scale and not dot_fail:
            dot_fail = f"direction {i}: <adjoint, v> = {table.number(lhs)}, tangent {table.number(t)}"
    n = f"{len(vs)} random direction{'s' * (len(vs) > 1)}, seed {seed}"
    report.outcomes.append(Outcome("tangent vs central differences", not fd_fail, fd_fail or f"{n}, largest relative difference {worst_fd:.1e}"))
    report.outcomes.append(Outcome("adjoint vs tangent (dot-product identity)", not dot_fail, dot_fail or f"largest relative difference {worst_dot:.1e}"))
    report.outcomes.append(_taylor(call, tangent, point, wrt, vs[0], f0))
    return report


def _taylor(call: Fn, tangent: Fn, point: dict[str, Any], wrt: list[str], v: list[float], f0: Any) -> Outcome:
    t = tangent(*point.values(), *v)[1]
    remainders: list[tuple[float, float]] = []  # (remainder, rounding noise)
    for k in range(TAYLOR_STEPS):
        h = TAYLOR_H0 / 2**k
        fk = call(_shift(point, wrt, v, h))
        remainders.append((abs(fk - f0 - h * t), 64 * EPS * (abs(f0) + abs(fk) + abs(h * t))))
    orders = [
        math.log2(r1 / r2) for (r1, n1), (r2, n2) in zip(remainders, remainders[1:]) if r1 > 10 * n1 and r2 > 10 * n2
    ]
    shown = ", ".join(f"{r:.1e}" for r, _ in remainders[:4])
    if not orders:
        return Outcome("Taylor test", True, f"remainders at rounding level ({shown}, ...): f is linear along the direction")
    order = statistics.median(orders)
    detail = f"remainder shrinks with order {order:.2f} as h halves (expected 2; {shown}, ...)"
    return Outcome("Taylor test", order >= MIN_ORDER, detail)


# ---- localization -------------------------------------------------------------------


def _finish(
    report: Report, fs: FunctionSource, point: dict[str, Any], wrt: list[str],
    seed: int, step: float, rtol: float, namespace: Mapping[str, Any] | None,
) -> Report:  # fmt: skip
    if report.passed:
        return report
    if wrt:
        try:
            _localize(report, fs, point, wrt, _directions(point, wrt, seed, 1)[0], step, rtol, namespace)
        except SctError as exc:  # the table cannot run here: report the checks without a culprit
            report.culprit = f"not found ({exc.message})"
    failed = "; ".join(o.name for o in report.outcomes if not o.passed)
    message = f"the derivatives of {fs.name} fail: {failed}"
    hint = "this line is where the derivative first goes wrong (see below)" if report.location else ""
    raise GradientCheckError(message, report.location, hint, report)


def _localize(
    report: Report, fs: FunctionSource, point: dict[str, Any], wrt: list[str], v: list[float],
    step: float, rtol: float, namespace: Mapping[str, Any] | None,
) -> None:  # fmt: skip
    base = table.build(fs, point, namespace=namespace)
    plus = table.build(fs, _shift(point, wrt, v, step), namespace=namespace)
    minus = table.build(fs, _shift(point, wrt, v, -step), namespace=namespace)
    if [r.label for r in plus.rows] != [r.label for r in base.rows] or len(minus.rows) != len(base.rows):
        report.culprit = "not found: the control flow changes within the finite-difference step"
        return
    rows = base.rows
    for q, row in enumerate(rows):
        if not row.differentiated:
            continue
        t = sum(vi * row.tangent[p] for p, vi in zip(wrt, v))
        vp, vm = plus.rows[q].value, minus.rows[q].value
        fd = (vp - vm) / (2 * step)
        if not _close(t, fd, rtol, 64 * EPS * (abs(vp) + abs(vm)) / (2 * step)):
            reads = ", ".join(f"d{row.node}/d{n} = {p}" for n, p in row.partials.items()) or "none"
            report.culprit = (
                f"{_where(fs, row.line)}: `{row.label} = {row.expression}`{_from(fs, row.line)}\n"
                f"    its tangent is {table.number(t)}, a central difference of its value gives {table.number(fd)},\n"
                f"    and every value it reads has a right tangent: this operation's derivative is wrong\n"
                f"    (its partials: {reads})"
            )
            report.location = line_location(fs, row.line)
            return
    for r in range(len(rows) - 1, -1, -1):
        row = rows[r]
        if not row.differentiated:
            continue
        readers = [(q, rows[q]) for q in range(r + 1, len(rows)) if rows[q].reads.get(row.node) == r and rows[q].partials[row.node]]
        values = [reader.partial_values.get(row.node) for _, reader in readers]
        if any(p is None for p in values):
            continue
        terms = [reader.adjoint * p for (_, reader), p in zip(readers, values)]
        expected = (1 if r == base.result_row else 0) + sum(terms)
        if abs(row.adjoint - expected) > DOT_RTOL * max(1.0, abs(row.adjoint), sum(abs(x) for x in terms)):
            lines = sorted({reader.line for _, reader in readers})
            report.culprit = (
                f"the adjoint of `{row.label}` ({_where(fs, row.line)})\n"
                f"    is {table.number(row.adjoint)}, but its readers' adjoints times their partials give "
                f"{table.number(expected)}:\n    the adjoint statements of line{'s' * (len(lines) > 1)} "
                f"{', '.join(map(str, lines))} accumulate into it wrongly"
            )
            report.location = line_location(fs, lines[0] if len(lines) == 1 or not row.line else row.line)
            return
    report.culprit = "not found: every operation's tangent and adjoint agree with its neighbours"


def _where(fs: FunctionSource, line: int) -> str:
    return f"line {line}" if line else "a parameter"


def _from(fs: FunctionSource, line: int) -> str:
    """`` (from `v = math.sin(u) + x`)``: the user's line, when the operation is part of it."""
    lines = fs.file.lines
    return f" (from `{lines[line - 1].strip()}`)" if 0 < line <= len(lines) else ""


# ---- the user's function, from its text ------------------------------------------------


def _user_function(fs: FunctionSource, namespace: dict[str, Any]) -> Fn:
    """The user's definition compiled from its text, in ``namespace`` plus the imports it uses."""
    node = fs.node.with_changes(decorators=[], leading_lines=[], lines_after_decorators=[])
    def_line = fs.file.line(fs.node)
    text = "\n" * (def_line - 1) + cst.Module([]).code_for_node(node)
    used = {n.value for n in _names(fs.node)}
    _, import_lines = pipeline.module_imports(fs.file)
    imports = "\n".join(line for name, line in sorted(import_lines.items()) if name in used)
    try:
        exec(compile(imports, f"<sct check: imports of {fs.file.filename}>", "exec"), namespace)  # noqa: S102
        exec(compile(text, fs.file.filename, "exec"), namespace)  # noqa: S102 - defines it, runs nothing else
    except Exception as exc:  # noqa: BLE001 - an import or a default value that fails
        raise table.EvaluationError(f"cannot define {fs.name}: {type(exc).__name__}: {exc}", line_location(fs, def_line)) from None
    return namespace[fs.name]


def _names(node: cst.CSTNode) -> list[cst.Name]:
    import libcst.matchers as m

    return m.findall(node, m.Name())  # type: ignore[return-value]


def _located(fn: Fn, fs: FunctionSource, point: Mapping[str, Any]) -> Fn:
    """``fn`` whose failures become an error at the user's line (as ``sct table`` reports them)."""
    not_run = (
        "sct check does not run your file: only its imports and literal module-level constants "
        "(NAME = 2.5) are known; for a function that calls one defined in the file (or a primitive), "
        "call sct.check(fn, ...) from Python"
    )
    return lambda *args: run_located(fn, list(args), fs, point, near="near", not_run=not_run)
