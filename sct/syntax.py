"""Syntax: questions about the user's code that more than one stage asks.

Contract: pure functions of the CST (no rewriting, no errors raised): the
operator keys of the rule table (``+``, ``@``), which names a function body
assigns, which ``break``/``continue`` belong to a loop, whether every path
returns, and the shapes sct unrolls (literal tuples and lists).
"""

from __future__ import annotations

from typing import Iterable

import libcst as cst
import libcst.matchers as m

from .source import FunctionSource, nodes

_OPERATORS = {
    cst.Add: "+",
    cst.Subtract: "-",
    cst.Multiply: "*",
    cst.Divide: "/",
    cst.Power: "**",
    cst.FloorDivide: "//",
    cst.Modulo: "%",
    cst.MatrixMultiply: "@",
}


def binary_op_key(op: cst.BaseBinaryOp) -> str | None:
    return _OPERATORS.get(type(op))


def aug_op_key(op: cst.BaseAugOp) -> str | None:
    table = {
        cst.AddAssign: "+",
        cst.SubtractAssign: "-",
        cst.MultiplyAssign: "*",
        cst.DivideAssign: "/",
        cst.PowerAssign: "**",
        cst.FloorDivideAssign: "//",
        cst.ModuloAssign: "%",
        cst.MatrixMultiplyAssign: "@",
    }
    return table.get(type(op))


def _names_assigned(assigns: list[cst.Assign], value: m.BaseMatcherNode) -> set[str]:
    """Names assigned (one target, a plain name) a value that matches ``value``."""
    return {
        a.targets[0].target.value  # type: ignore[attr-defined]
        for a in assigns
        if len(a.targets) == 1 and isinstance(a.targets[0].target, cst.Name) and m.matches(a.value, value)
    }


_BINDERS = frozenset({cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For})


def _assigned_names(body: Iterable[cst.CSTNode]) -> set[str]:
    """Every name under an assignment's or a ``for``'s target (``a[i] = v`` counts ``a`` and ``i``), among ``body``'s nodes."""
    found: set[str] = set()
    for node in body:
        if type(node) in _BINDERS:  # exact types: isinstance on libcst's ABCs is slow
            found.update(n.value for n in nodes(node.target) if type(n) is cst.Name)  # type: ignore[attr-defined]
    return found


class _Exits(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found: list[cst.CSTNode] = []

    def visit_For(self, node: cst.For) -> bool:
        return False

    def visit_While(self, node: cst.While) -> bool:
        return False

    def visit_Break(self, node: cst.Break) -> None:
        self.found.append(node)

    def visit_Continue(self, node: cst.Continue) -> None:
        self.found.append(node)


def _own_exits(body: cst.CSTNode) -> list[cst.CSTNode]:
    """The `break` and `continue` statements of a loop body, not of loops nested in it."""
    visitor = _Exits()
    body.visit(visitor)
    return visitor.found


def is_literal_sequence(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.Tuple, cst.List)) and not any(isinstance(e, cst.StarredElement) for e in node.elements)


def _is_call_of(fs: FunctionSource, node: cst.BaseExpression, names: tuple[str, ...]) -> bool:
    return isinstance(node, cst.Call) and bool(fs.file.qualified_names(node.func) & set(names))


def _always_returns(statements: list[cst.BaseStatement]) -> bool:
    """Whether every path through ``statements`` ends in `return` (loops may not run)."""
    for stmt in statements:
        if isinstance(stmt, cst.Return):  # a small statement of a one-line suite
            return True
        if isinstance(stmt, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) and any(
            isinstance(s, cst.Return) for s in stmt.body
        ):
            return True
        if isinstance(stmt, cst.If) and stmt.orelse is not None:
            orelse = stmt.orelse
            else_body = [orelse] if isinstance(orelse, cst.If) else list(orelse.body.body)  # type: ignore[union-attr]
            if _always_returns(list(stmt.body.body)) and _always_returns(else_body):  # type: ignore[union-attr]
                return True
        if isinstance(stmt, cst.While) and m.matches(stmt.test, m.Name("True")) and not any(
            isinstance(e, cst.Break) for e in _own_exits(stmt.body)
        ):
            return True
    return False
