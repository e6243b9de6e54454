"""Graph: the computational graph of a function, as the exercise draws it.

Contract: :func:`build` gives a :class:`Graph` whose vertices are the rows of
``sct table`` (:func:`sct.table.build`), in execution order and numbered from
1: the parameters, then every executed instance of an operation (a loop is
unrolled for the evaluated point, one vertex per trip, as the table's rows
are), the returned node last in most programs. There is one edge from each
vertex to each vertex that reads it, labelled with the reader's symbolic
partial with respect to it (``dv/dx = w``); the read instance is the latest
one before the reader (the table's ``reads``). No number is computed here:
values, tangents, adjoints and partials' values all come from the table, which
runs generated code.

At a point, a vertex shows its value, its tangent for one seed (``--seed x``,
by default the first parameter) and its adjoint for a result adjoint of 1,
written as the sum of its contributions, one per reader, reader's adjoint
times partial: ``z_bar = 14 * 1 + 14 * 1 = 28`` (the total is the table's
number; a vertex no derivative flows through says so). Without a point the
graph is symbolic, and only for straight-line programs (after normalization,
which unrolls loops over literal tuples): loops and branches make the graph
depend on the point, and :class:`NeedsPointError` says to give one.

:func:`to_dot` and :func:`to_mermaid` write the text themselves (same input,
byte-identical output); :func:`to_svg` runs Graphviz's ``dot`` program when it
is installed and raises :class:`GraphvizMissingError`, saying how to install
it, when it is not.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import Any, Mapping

import libcst as cst

from . import expr as E
from . import ir, pipeline, table
from .errors import SctError, UsageError
from .source import FunctionSource
from .table import Row, Table

FORMATS = ("dot", "mermaid", "svg")
MAX_TERMS = 4  # an adjoint with more contributions shows the first ones and how many there are


class NeedsPointError(UsageError):
    """A graph (or order) of a function with loops or branches needs a point."""


class GraphvizMissingError(SctError):
    """``--format svg`` without Graphviz's ``dot`` program."""

    kind = "missing tool"


@dataclass(frozen=True)
class Edge:
    source: int  # the read vertex (a row index of the table)
    target: int  # the reading vertex
    node: str  # the read node's name
    partial: str | None  # d target / d node, as the table prints it (None: no derivative)
    value: Any = None  # the partial's value at the point


@dataclass
class Graph:
    function: str
    filename: str
    table: Table
    edges: list[Edge]
    point: Mapping[str, Any] | None = None  # None: the symbolic graph
    seed: str | None = None

    @property
    def rows(self) -> list[Row]:
        return self.table.rows

    def readers(self, index: int) -> list[Edge]:
        """The edges out of vertex ``index``, in execution order of the readers."""
        return [e for e in self.edges if e.source == index]


def build(
    fs: FunctionSource, point: Mapping[str, Any] | None = None, seed: str | None = None, *, exact: bool = False
) -> Graph:
    """The graph of ``fs``, evaluated at ``point`` (symbolic when None)."""
    if point is None:
        if seed is not None or exact:
            raise UsageError("--seed and --exact need a point", hint="give one with --at x=5,w=2,...")
        tab = symbolic_table(fs)
    else:
        tab = table.build(fs, point, exact=exact)
        seed = tab.seeds[0] if seed is None else seed
        if seed not in tab.seeds:
            raise UsageError(f"--seed {seed}: not a parameter of {fs.name!r}", hint=f"parameters: {', '.join(tab.seeds)}")
    edges = [
        Edge(src, q, name, row.partials.get(name), row.partial_values.get(name))
        for q, row in enumerate(tab.rows)
        for name, src in row.reads.items()
    ]
    return Graph(fs.name, fs.file.filename, tab, edges, point, seed)


def symbolic_table(fs: FunctionSource) -> Table:
    """The table's rows without numbers, for a straight-line program."""
    norm = pipeline.transform(fs, modes=()).normalized
    body = [s for s in norm.body if not isinstance(s, (ir.Comment, ir.ExprStmt))]
    if any(isinstance(s, (ir.If, ir.For, ir.While, ir.Break, ir.Continue)) for s in body) or any(
        isinstance(s, ir.Return) for s in body[:-1]
    ):
        raise NeedsPointError(
            f"{fs.name!r} has loops or branches, so its graph depends on the point",
            hint="give the point with --at (the graph then shows each executed operation, loops unrolled)",
        )
    assigns = [s for s in body if isinstance(s, ir.Assign)]
    nodes = set(norm.params) | {s.target for s in assigns}
    rows = [Row(p, p, None, {}, {}, None) for p in norm.params]
    latest = {p: i for i, p in enumerate(norm.params)}
    for s in assigns:
        partials = table.partials_of(s, nodes)
        row = Row(s.target, E.code(s.value), None, partials, {}, None)
        row.line, row.reads = s.origin.line, {m: latest[m] for m in partials if m in latest}
        latest[s.target] = len(rows)
        rows.append(row)
    returned = body[-1].value if body and isinstance(body[-1], ir.Return) else None
    result = returned.value if isinstance(returned, cst.Name) else rows[-1].node
    return Table(fs.name, list(norm.params), result, rows, latest.get(result, len(rows) - 1))


# ---- what a vertex and an edge say ------------------------------------------------


def number(value: Any) -> str:
    return table.number(value)


def _factor(value: Any) -> str:
    text = number(value)
    return f"({text})" if text.startswith("-") else text


def adjoint_text(graph: Graph, index: int) -> str:
    """``z_bar = 14 * 1 + 14 * 1 = 28``: the adjoint of vertex ``index`` as its readers' contributions."""
    row, rows = graph.rows[index], graph.rows
    bar = f"{row.node}_bar"
    if index == graph.table.result_row:
        return f"{bar} = {number(row.adjoint)} (the seed)"
    if not row.differentiated:
        return f"{bar} = {number(row.adjoint)} (no derivative flows through {row.node})"
    terms = [f"{_factor(rows[e.target].adjoint)} * {_factor(e.value)}" for e in graph.readers(index) if e.partial]
    if not terms:
        return f"{bar} = {number(row.adjoint)}"
    shown = terms if len(terms) <= MAX_TERMS else terms[: MAX_TERMS - 1] + [f"... ({len(terms)} terms)"]
    return f"{bar} = {' + '.join(shown)} = {number(row.adjoint)}"


def _is_input(graph: Graph, index: int) -> bool:
    return index < len(graph.table.seeds)  # the table's first rows are the parameters


def vertex_lines(graph: Graph, index: int) -> list[str]:
    """The vertex's text: its number and operation, then (at a point) value, tangent, adjoint."""
    row = graph.rows[index]
    head = f"{index + 1}: {row.label}" + (" (input)" if _is_input(graph, index) else f" = {row.expression}")
    if graph.point is None:
        return [head]
    return [
        head,
        f"{row.node} = {number(row.value)}",
        f"{row.node}_dot = {number(row.tangent[graph.seed])}",  # type: ignore[index]
        adjoint_text(graph, index),
    ]


def edge_text(graph: Graph, edge: Edge) -> str:
    """``dv/dx = w``, and its value at a point: ``dv/dx = w = 2``."""
    name = f"d{graph.rows[edge.target].node}/d{edge.node}"
    if edge.partial is None:
        return f"{name}: none (no derivative)"
    text = f"{name} = {edge.partial}"
    if graph.point is not None and edge.value is not None and not _is_literal(edge.partial):
        text += f" = {number(edge.value)}"
    return text


def _is_literal(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def title(graph: Graph) -> str:
    where = f"{graph.function} in {graph.filename}"
    if graph.point is None:
        return f"computational graph of {where} (symbolic)"
    at = ", ".join(f"{p}={number(v)}" for p, v in graph.point.items())
    return f"computational graph of {where} at {at}; tangents for {graph.seed}_dot=1, adjoints for {graph.table.result}_bar=1"


# ---- formats --------------------------------------------------------------------


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: Graph) -> str:
    """Graphviz DOT, one vertex per table row, edges labelled with partials."""
    lines = [
        f"// sct graph: {title(graph)}",
        "// vertices in execution order; an edge goes from a value to each operation that reads it",
        f"digraph {_dot_string(graph.function)} {{",
        "  rankdir=TB;",
        f"  label={_dot_string(title(graph))};",
        "  labelloc=t;",
        '  node [shape=box, fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for i, row in enumerate(graph.rows):
        label = "\\n".join(v.replace("\\", "\\\\").replace('"', '\\"') for v in vertex_lines(graph, i))
        shape = ", shape=ellipse" if _is_input(graph, i) else ""
        shape += ", peripheries=2" if i == graph.table.result_row else ""
        lines.append(f'  n{i + 1} [label="{label}"{shape}];')
    for e in graph.edges:
        style = ", style=dashed" if e.partial is None else ""
        lines.append(f"  n{e.source + 1} -> n{e.target + 1} [label={_dot_string(edge_text(graph, e))}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_string(text: str) -> str:
    for raw, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(raw, code)
    return text


def to_mermaid(graph: Graph) -> str:
    """A Mermaid flowchart of the same vertices and edges."""
    lines = ["flowchart TB", f"  %% sct graph: {title(graph)}"]
    for i, row in enumerate(graph.rows):
        label = "<br/>".join(_mermaid_string(v) for v in vertex_lines(graph, i))
        if _is_input(graph, i):
            lines.append(f'  n{i + 1}(["{label}"])')
        elif i == graph.table.result_row:
            lines.append(f'  n{i + 1}[["{label}"]]')
        else:
            lines.append(f'  n{i + 1}["{label}"]')
    for e in graph.edges:
        arrow = "-.->" if e.partial is None else "-->"
        lines.append(f'  n{e.source + 1} {arrow}|"{_mermaid_string(edge_text(graph, e))}"| n{e.target + 1}')
    return "\n".join(lines) + "\n"


INSTALL_HINT = (
    "install Graphviz (Debian/Ubuntu: `apt install graphviz`; macOS: `brew install graphviz`), "
    "or write --format dot and render it elsewhere"
)


def to_svg(graph: Graph) -> str:
    """SVG drawn by Graphviz's ``dot`` from :func:`to_dot`."""
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizMissingError("--format svg needs Graphviz's `dot` program, which is not installed", hint=INSTALL_HINT)
    try:
        done = subprocess.run([dot, "-Tsvg"], input=to_dot(graph), capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GraphvizMissingError(f"running Graphviz's `dot` failed: {exc}", hint=INSTALL_HINT) from None
    if done.returncode != 0:
        raise GraphvizMissingError(f"Graphviz's `dot` failed: {done.stderr.strip()}", hint=INSTALL_HINT)
    return done.stdout


def render(graph: Graph, fmt: str = "dot") -> str:
    if fmt == "dot":
        return to_dot(graph)
    if fmt == "mermaid":
        return to_mermaid(graph)
    if fmt == "svg":
        return to_svg(graph)
    raise UsageError(f"unknown graph format {fmt!r}", hint=f"choose one of: {', '.join(FORMATS)}")
