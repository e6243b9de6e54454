"""Order: a valid execution order, derived from the graph as the exercise derives it.

Contract: :func:`derive` starts at the result (the returned node's final
instance) and asks, depth first, which values each operation needs, in the
order the operation reads them; an operation is listed once everything it
reads is known, so each comes after what it reads. Parameters are known from
the start; a value already listed is not derived again. The derivation's steps,
the resulting order and its reverse (the order the adjoint's statements run
in) are kept on the returned :class:`Derivation`, and :func:`render` prints
them. Operations the result does not need (dead code) are named apart.

The graph is :mod:`sct.graph`'s: symbolic for straight-line code, and for
loops and branches the graph at a point (``--at``), one vertex per executed
instance, so the order lists instances (``s [i=1]``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping

from . import graph as G
from .source import FunctionSource


@dataclass
class Derivation:
    function: str
    filename: str
    steps: list[str] = field(default_factory=list)  # the derivation, indented by depth
    order: list[int] = field(default_factory=list)  # row indices of the table, execution order
    labels: list[str] = field(default_factory=list)  # every row's label (``s [i=1]``)
    unneeded: list[int] = field(default_factory=list)  # operations the result does not read
    evaluated: bool = False

    @property
    def order_labels(self) -> list[str]:
        return [self.labels[i] for i in self.order]

    @property
    def reverse_labels(self) -> list[str]:
        return self.order_labels[::-1]


def derive(fs: FunctionSource, point: Mapping[str, Any] | None = None) -> Derivation:
    """The derivation of an execution order for ``fs`` (at ``point`` for loops and branches)."""
    return derive_graph(G.build(fs, point))


def derive_graph(graph: G.Graph) -> Derivation:
    rows = graph.rows
    n_inputs = len(graph.table.seeds)
    labels = [r.label for r in rows]
    repeated = {label for label, n in Counter(labels).items() if n > 1}  # unrolled by normalize: say which vertex
    labels = [f"{label} (vertex {i + 1})" if label in repeated else label for i, label in enumerate(labels)]
    out = Derivation(graph.function, graph.filename, labels=labels, evaluated=graph.point is not None)
    statement = [f"{label} = {r.expression}" for label, r in zip(labels, rows)]
    listed: dict[int, int] = {}  # row -> its position in the order, from 1
    # An explicit stack (no recursion: an unrolled loop can be thousands of vertices deep).
    # Each frame: (row, depth, reads still to visit).
    start = graph.table.result_row % len(rows)
    stack: list[tuple[int, int, list[int]]] = []

    def enter(row: int, depth: int) -> None:
        pad = "  " * depth
        if row < n_inputs:
            out.steps.append(f"{pad}{labels[row]}: an input, known from the start")
        elif row in listed:
            out.steps.append(f"{pad}{labels[row]}: already listed ({listed[row]}.)")
        else:
            reads = list(dict.fromkeys(rows[row].reads.values()))
            needs = ", ".join(labels[r] for r in reads)
            out.steps.append(f"{pad}{statement[row]} needs {needs}" if reads else f"{pad}{statement[row]} needs no other value")
            stack.append((row, depth, reads))

    enter(start, 0)
    while stack:
        row, depth, reads = stack[-1]
        if reads:
            enter(reads.pop(0), depth + 1)
            continue
        stack.pop()
        out.order.append(row)
        listed[row] = len(out.order)
        out.steps.append(f"{'  ' * depth}{listed[row]}. {statement[row]}")
    out.unneeded = [r for r in range(n_inputs, len(rows)) if r not in listed]
    return out


def render(d: Derivation) -> str:
    """The derivation, the order and the reverse order, as text."""
    lines = [
        f"Execution order of {d.function} ({d.filename}), derived from its graph"
        + (" at the given point (loops unrolled, the branches taken):" if d.evaluated else ":"),
        "start at the result and ask which values each operation needs;",
        "an operation is listed once every value it reads is known.",
        "",
        *d.steps,
        "",
        f"order:   {', '.join(d.order_labels)}",
        f"reverse: {', '.join(d.reverse_labels)}  (the order the adjoint runs in)",
    ]
    if d.unneeded:
        lines.append(f"not needed for the result: {', '.join(d.labels[r] for r in d.unneeded)}")
    return "\n".join(lines) + "\n"
