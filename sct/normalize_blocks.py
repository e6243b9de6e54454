"""Normalize, its blocks: a function body's statements, ``if``, ``while`` and ``for``, in three-address form.

Contract: :class:`BlockNormalizer` turns a block of the user's statements into
IR statements, keeping ``if``/``while``/``for`` as blocks and unrolling a
``for`` over a literal sequence (or ``enumerate``/``zip`` of literals): each
element is assigned to the loop variable, then the body follows. It is a part
of :class:`sct.normalize._Normalizer`, whose methods it calls for each simple
statement (``small``), test (``condition``), target (``assign_to``) and line
(``origin``).
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from . import ir
from .errors import InternalError, UnsupportedError
from .normalize_arrays import _bare
from .source import FunctionSource


class BlockNormalizer:
    fs: FunctionSource
    small: Any
    condition: Any
    assign_to: Any
    origin: Any

    def body(self, block: cst.BaseSuite) -> list[ir.Stmt]:
        out: list[ir.Stmt] = []
        statements = block.body if isinstance(block, cst.IndentedBlock) else [block]
        for stmt in statements:
            if isinstance(stmt, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
                for small in stmt.body:
                    self.small(small, self.origin(small), out)
            elif isinstance(stmt, cst.If):
                out.append(self.if_(stmt))
            elif isinstance(stmt, cst.While):
                out.append(ir.While(self.condition(stmt.test), self.body(stmt.body), self.origin(stmt)))
            elif isinstance(stmt, cst.For):
                self.for_(stmt, out)
            else:
                raise InternalError(f"normalize: unexpected compound statement {type(stmt).__name__}")
        return out

    def if_(self, node: cst.If) -> ir.If:
        orelse: list[ir.Stmt] = []
        if isinstance(node.orelse, cst.If):  # elif
            orelse = [self.if_(node.orelse)]
        elif node.orelse is not None:
            orelse = self.body(node.orelse.body)
        return ir.If(self.condition(node.test), self.body(node.body), orelse, self.origin(node))

    def for_(self, node: cst.For, out: list[ir.Stmt]) -> None:
        origin = self.origin(node)
        it = node.iter
        if isinstance(node.target, cst.Name) and not (
            isinstance(it, (cst.Tuple, cst.List))
        ) and not self._is_call(it, ("builtins.enumerate", "builtins.zip")):
            out.append(ir.For(node.target.value, _bare(it), self.body(node.body), origin))
            return
        # A loop over a literal sequence (or enumerate / zip of literals) is unrolled:
        # each element is assigned to the loop variable, then the body follows.
        for values in self._unrolled(it):
            targets = [node.target] if isinstance(node.target, cst.Name) else [e.value for e in node.target.elements]  # type: ignore[attr-defined]
            if len(targets) != len(values):
                raise unpack_error(self.fs, node.target, len(values))
            for target, value in zip(targets, values):
                self.assign_to(target, value, out, origin)
            out.extend(self.body(node.body))

    def _is_call(self, node: cst.BaseExpression, names: tuple[str, ...]) -> bool:
        return isinstance(node, cst.Call) and bool(self.fs.file.qualified_names(node.func) & set(names))

    def _unrolled(self, it: cst.BaseExpression) -> list[list[cst.BaseExpression]]:
        if isinstance(it, (cst.Tuple, cst.List)):
            return [[e.value] for e in it.elements]
        sequences = [[e.value for e in a.value.elements] for a in it.args]  # type: ignore[attr-defined]
        if self._is_call(it, ("builtins.enumerate",)):
            return [[cst.Integer(str(i)), v] for i, v in enumerate(sequences[0])]
        return [list(vs) for vs in zip(*sequences)]


def unpack_error(fs: FunctionSource, value: cst.BaseExpression, n: int) -> Exception:
    return UnsupportedError(
        f"unpacking into {n} names needs a tuple of {n} values on the right",
        fs.file.location(value),
        "write `a, b = x, y` or assign each name separately",
    )
