"""Positions: where each node of the user's file is, computed only where asked.

Contract: :class:`Positions` is the mapping libcst's ``PositionProvider``
gives (node -> ``CodeRange``), filled one top-level statement at a time, and
:meth:`Positions.line` gives a statement's first line from Python's own
parser without tracking positions at all. Both are checked against libcst's
whole-file tracking on every node of a corpus (tests/test_source_metadata.py).
"""

from __future__ import annotations

import ast
from typing import Any, Iterator, Mapping, Sequence

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

from .walk import nodes


class Positions(Mapping[cst.CSTNode, CodeRange]):
    """Where each node of a file starts and ends, as libcst's ``PositionProvider`` says.

    Computed one top-level statement at a time, when a node of it is first
    asked for: libcst tracks positions by generating the code of the whole
    file, which cost more than the rest of reading it, and a transform asks
    about one function. A statement's positions are those in a module of
    that statement alone, shifted to the line Python's own parser (``ast``,
    fast) says it starts on. If the two parsers' statements do not line up,
    or a node outside every statement is asked for, the whole file is
    tracked, as before.
    """

    def __init__(self, wrapper: MetadataWrapper, text: str):
        self._wrapper = wrapper
        self._text = text
        self._ranges: dict[cst.CSTNode, CodeRange] = {}
        self._owner: dict[cst.CSTNode, int] = {}  # node -> index of its top-level statement
        self._indexed: set[int] = set()  # the statements whose nodes are in _owner
        self._done: set[int] = set()
        self._lines: dict[cst.CSTNode, int] | None = None  # statement -> its first line, from ast
        self._tree: ast.Module | None | bool = False  # not parsed yet
        self._whole = False

    def statement_of(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The top-level statement that holds ``node`` (None: the module itself, its header, or not the file's)."""
        index = self._owners(node).get(node)
        return None if index is None else self._wrapper.module.body[index]

    def index(self, stmt: cst.CSTNode) -> None:
        """Note which nodes top-level ``stmt`` holds: the function a transform reads, before the rest of the file."""
        body = self._wrapper.module.body
        i = next(i for i, s in enumerate(body) if s is stmt)
        if i not in self._indexed:
            self._owner.update((n, i) for n in nodes(stmt))
            self._indexed.add(i)

    def __contains__(self, node: object) -> bool:
        return node in self._owners(node) or node in self._ranges or self._outside(node)

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        found = self._ranges.get(node)
        if found is not None:
            return found
        index = self._owners(node).get(node)
        if index is not None and index not in self._done and not self._whole:
            self._statement(index)
        elif not self._whole and self._outside(node):
            self._track_whole()
        return self._ranges[node]

    def __iter__(self) -> Iterator[cst.CSTNode]:
        self._track_whole()
        return iter(self._ranges)

    def __len__(self) -> int:
        self._track_whole()
        return len(self._ranges)

    def _owners(self, node: object) -> dict[cst.CSTNode, int]:
        """The node -> statement index, every statement indexed unless ``node`` is in one indexed already."""
        body = self._wrapper.module.body
        if node not in self._owner and len(self._indexed) < len(body):
            for i, stmt in enumerate(body):
                if i not in self._indexed:
                    self._owner.update((n, i) for n in nodes(stmt))
            self._indexed = set(range(len(body)))
        return self._owner

    def _outside(self, node: object) -> bool:
        """A node of the file outside every top-level statement: the module, its header or footer."""
        module = self._wrapper.module
        return node is module or any(node in set(nodes(line)) for line in (*module.header, *module.footer))

    def line(self, node: cst.CSTNode) -> int:
        """The line ``node`` starts on: a statement's or decorator's from ``ast``, anything else's tracked."""
        found = self._statement_lines().get(node)
        return found if found is not None else self[node].start.line

    def _statement(self, index: int) -> None:
        module = self._wrapper.module
        stmt = module.body[index]
        start = self._statement_lines().get(stmt)
        if start is None:
            self._track_whole()
            return
        alone = module.with_changes(body=[stmt], header=(), footer=())
        ranges = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
        shift = start - ranges[stmt].start.line
        for node, r in ranges.items():
            if node is not alone:
                self._ranges[node] = CodeRange(
                    CodePosition(r.start.line + shift, r.start.column), CodePosition(r.end.line + shift, r.end.column)
                )
        self._done.add(index)

    @property
    def tree(self) -> ast.Module | None:
        """The file as Python's own parser reads it (None if it cannot: libcst accepts a little more)."""
        if self._tree is False:
            try:
                self._tree = ast.parse(self._text)
            except (SyntaxError, ValueError):
                self._tree = None
        return self._tree  # type: ignore[return-value]

    def _statement_lines(self) -> dict[cst.CSTNode, int]:
        """Every statement's (and decorator's) first line, from ``ast``: empty if the two parsers' statements differ."""
        if self._lines is None:
            self._lines = {}
            if self.tree is not None and not _pair(self._wrapper.module.body, self.tree.body, self._lines):
                self._lines = {}
        return self._lines

    def _track_whole(self) -> None:
        if not self._whole:
            self._ranges.update(self._wrapper.resolve(PositionProvider))
            self._whole = True


def _pair(statements: Sequence[cst.CSTNode], parsed: list[ast.stmt], lines: dict[cst.CSTNode, int]) -> bool:
    """Give each libcst statement (and small statement) the line of its ``ast`` twin; False if they differ.

    The two trees hold the same statements in the same order, except that
    libcst groups ``a = 1; b = 2`` in one line and keeps ``else`` as a node.
    """
    j = 0
    for stmt in statements:
        kind = type(stmt)
        if kind is cst.SimpleStatementLine or kind is cst.SimpleStatementSuite:
            smalls = stmt.body  # type: ignore[attr-defined]
            if j + len(smalls) > len(parsed):
                return False
            lines[stmt] = parsed[j].lineno
            for k, small in enumerate(smalls):
                lines[small] = parsed[j + k].lineno
            j += len(smalls)
            continue
        if j >= len(parsed):
            return False
        twin = parsed[j]
        j += 1
        lines[stmt] = twin.lineno
        for decorator, expression in zip(getattr(stmt, "decorators", ()), getattr(twin, "decorator_list", ())):
            lines[decorator] = expression.lineno
        blocks = _blocks(stmt, twin)
        if blocks is None or not all(_pair(block, twins, lines) for block, twins in blocks):
            return False
    return j == len(parsed)


def _blocks(stmt: cst.CSTNode, twin: ast.stmt) -> list[tuple[Sequence[cst.CSTNode], list[ast.stmt]]] | None:
    """The statement lists of a compound statement, each with its ``ast`` twin's (None: not modelled)."""
    def suite(node: Any) -> Sequence[cst.CSTNode]:
        return [node] if isinstance(node, cst.SimpleStatementSuite) else node.body

    kind = type(stmt)
    if kind in (cst.FunctionDef, cst.ClassDef, cst.With):
        return [(suite(stmt.body), twin.body)]  # type: ignore[attr-defined]
    if kind in (cst.If, cst.For, cst.While):
        blocks = [(suite(stmt.body), twin.body)]  # type: ignore[attr-defined]
        orelse = stmt.orelse  # type: ignore[attr-defined]
        if isinstance(orelse, cst.If):
            blocks.append(([orelse], twin.orelse))  # type: ignore[attr-defined]
        elif orelse is not None:
            blocks.append((suite(orelse.body), twin.orelse))  # type: ignore[attr-defined]
        return blocks
    if kind is cst.Try and isinstance(twin, ast.Try):
        blocks = [(suite(stmt.body), twin.body)]  # type: ignore[attr-defined]
        blocks += [(suite(h.body), t.body) for h, t in zip(stmt.handlers, twin.handlers)]  # type: ignore[attr-defined]
        for clause, twins in ((stmt.orelse, twin.orelse), (stmt.finalbody, twin.finalbody)):  # type: ignore[attr-defined]
            if clause is not None:
                blocks.append((suite(clause.body), twins))
        return blocks
    return None  # anything else (match, try*): no line comes from ast


