"""Source: where a function's text comes from, and positions in the user's file.

Contract: sct never runs the code it reads. :func:`read_file` parses a file
with libcst; :func:`for_callable` finds a live function's definition in the
file it came from (through ``inspect``), so that both the CLI and the
decorator hand the same thing to the pipeline: a :class:`FunctionSource`, the
``FunctionDef`` node inside its whole parsed module. Every later error is
located against that module, so line numbers are the user's file's, never
counted from a snippet.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import linecache
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import libcst as cst
from libcst.metadata import (
    CodePosition,
    CodeRange,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
)

from .errors import Location, SourceError, SyntaxProblem, UsageError
from .expr import fields


@dataclass
class SourceFile:
    """A parsed user file with the metadata the pipeline asks of it."""

    filename: str
    text: str
    wrapper: MetadataWrapper
    positions: "Positions" = field(repr=False)
    _qualnames: Any = field(default=None, repr=False)
    cache: dict[str, Any] = field(default_factory=dict, repr=False)  # what is computed once per file
    _parents: Any = field(default=None, repr=False)

    @property
    def module(self) -> cst.Module:
        return self.wrapper.module

    @property
    def lines(self) -> list[str]:
        if "lines" not in self.cache:
            self.cache["lines"] = self.text.splitlines()
        return self.cache["lines"]

    def line(self, node: cst.CSTNode) -> int:
        """The line ``node`` starts on (for a statement, without tracking positions)."""
        return self.positions.line(node)

    def location(self, node: cst.CSTNode) -> Location:
        """The file position where ``node`` starts, with its source line."""
        start = self.positions[node].start
        lines = self.lines
        text = lines[start.line - 1] if 0 < start.line <= len(lines) else ""
        return Location(self.filename, start.line, start.column, text)

    def qualified_names(self, node: cst.CSTNode) -> set[str]:
        """What a name or attribute refers to, resolved through the file's imports."""
        if node not in self.positions:
            return set()  # a node sct made itself, not the file's
        table, ours = self._qualified_table(self._statement_of(node))
        found = table.get(node)
        if found is None:
            return set()
        if ours:
            return set(found)
        if not isinstance(found, (set, frozenset)):
            found = found()  # libcst resolves some entries lazily
        return {q.name for q in found}

    def _qualified_table(self, stmt: cst.CSTNode | None) -> tuple[Any, bool]:
        """The qualified names of one top-level statement's names, and whether :mod:`sct.scope` made them.

        :mod:`sct.scope` resolves the two scopes of the functions sct accepts
        in one walk; whatever it does not model goes to libcst's scope
        analysis, most of the cost of a first transform. libcst analyses the
        statement in a copy of the file whose other functions and classes have
        empty bodies, which binds the same global names, unless a ``global``
        statement binds globals from inside a body: then the whole file is
        analysed, as is a node that no top-level statement holds.
        """
        from . import scope

        key = ("qualified names", None if stmt is None else id(stmt))
        if key in self.cache:
            return self.cache[key]
        if "bindings" not in self.cache:  # the module scope, once per file
            self.cache["bindings"] = scope.module_bindings(self.module, self.text)
        ours = None
        if stmt is not None and self.cache["bindings"] is not None:
            ours = scope.qualified_table(stmt, self.cache["bindings"])
        if ours is not None:
            self.cache[key] = ours, True
        elif stmt is None or _GLOBAL.search(self.text):
            self.cache[key] = self.wrapper.resolve(QualifiedNameProvider), False
        else:
            body = [s if s is stmt else _stub(s) for s in self.module.body]
            reduced = MetadataWrapper(self.module.with_changes(body=body), unsafe_skip_copy=True)
            self.cache[key] = reduced.resolve(QualifiedNameProvider), False
        return self.cache[key]

    def _statement_of(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The top-level statement that holds ``node`` (decorators included)."""
        return self.positions.statement_of(node)

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The node that holds ``node``, found in its top-level statement (not the whole file)."""
        if node not in self.positions:
            return None
        stmt = self._statement_of(node)
        if stmt is None:
            if self._parents is None:
                self._parents = self.wrapper.resolve(ParentNodeProvider)
            return self._parents.get(node)
        key = ("parents", id(stmt))
        if key not in self.cache:
            self.cache[key] = {child: n for n in nodes(stmt) for child in children(n)}
        return self.cache[key].get(node, self.module if node is stmt else None)

    def top_level_functions(self) -> dict[str, cst.FunctionDef]:
        return {
            stmt.name.value: stmt
            for stmt in self.module.body
            if isinstance(stmt, cst.FunctionDef)
        }


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

    def _statement_lines(self) -> dict[cst.CSTNode, int]:
        """Every statement's (and decorator's) first line, from ``ast``: empty if the two parsers' statements differ."""
        if self._lines is None:
            self._lines = {}
            try:
                tree = ast.parse(self._text)
            except (SyntaxError, ValueError):
                return self._lines
            if not _pair(self._wrapper.module.body, tree.body, self._lines):
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


@dataclass
class FunctionSource:
    """One function to differentiate: its node inside its parsed file."""

    file: SourceFile
    node: cst.FunctionDef

    @property
    def name(self) -> str:
        return self.node.name.value

    @property
    def params(self) -> list[str]:
        return [p.name.value for p in self.node.params.params]


def parse(text: str, filename: str) -> SourceFile:
    """Parse ``text``; a syntax error becomes a located :class:`SyntaxProblem`."""
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        lines = text.splitlines()
        line, column = exc.editor_line, max(exc.editor_column - 1, 0)
        message = exc.message.split(": ", 1)[-1] if ": " in exc.message else exc.message
        # libcst's native parser often points at the line after the error;
        # Python's own compiler (which only parses here, never runs) knows where.
        try:
            compile(text, filename, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
        except SyntaxError as py_exc:
            if py_exc.lineno:
                line, column = py_exc.lineno, max((py_exc.offset or 1) - 1, 0)
                message = py_exc.msg
                if isinstance(py_exc, IndentationError) and 0 < line <= len(lines):
                    column = len(lines[line - 1]) - len(lines[line - 1].lstrip())  # the first character
        except (ValueError, OverflowError):  # e.g. a null byte: keep libcst's report
            pass
        source_line = lines[line - 1] if 0 < line <= len(lines) else ""
        where = Location(filename, line, column, source_line)
        raise SyntaxProblem(
            f"this is not valid Python ({message})", where, "fix the syntax, then run sct again"
        ) from None
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)  # just parsed: no node occurs twice, no copy needed
    return SourceFile(filename, text, wrapper, Positions(wrapper, text))


def read_file(path: str | Path) -> SourceFile:
    """Read and parse a file without importing it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise SourceError(f"{path} is a directory, not a Python file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read {path}: {exc}") from None
    return parse(text, str(path))


def select_functions(file: SourceFile, names: list[str] | None) -> list[FunctionSource]:
    """The named top-level functions of ``file`` (all of them when ``names`` is empty)."""
    functions = file.top_level_functions()
    if not names:
        if not functions:
            raise UsageError(f"{file.filename} defines no top-level function")
        return [FunctionSource(file, node) for node in functions.values()]
    chosen = []
    for name in names:
        if name not in functions:
            known = ", ".join(functions) or "none"
            raise UsageError(
                f"{file.filename} has no top-level function named {name!r}",
                hint=f"functions defined there: {known}",
            )
        chosen.append(FunctionSource(file, functions[name]))
    return chosen


_SOURCE_CACHE: dict[tuple[str, float], SourceFile] = {}


def for_callable(fn: Callable[..., Any]) -> FunctionSource:
    """Find the definition of a live function in its own file."""
    name = getattr(fn, "__name__", repr(fn))
    code = getattr(fn, "__code__", None)
    filename = inspect.getsourcefile(fn) if code is not None else None
    generated = filename is not None and filename.startswith("<sct generated") and filename in linecache.cache
    if generated:  # code sct generated: differentiated again from the text it was compiled from
        file = _SOURCE_CACHE.get((filename, 0.0))
        if file is None:
            file = _SOURCE_CACHE[(filename, 0.0)] = parse("".join(linecache.cache[filename][2]), filename)
        return _find_def(file, name, code.co_firstlineno)  # type: ignore[union-attr]
    if code is None or filename is None or not Path(filename).is_file():
        raise SourceError(
            f"cannot find the source of {name!r}",
            hint="sct reads a function's source: define it in a .py file, not in a REPL "
            "or with exec()/eval()",
        )
    key = (filename, Path(filename).stat().st_mtime)
    file = _SOURCE_CACHE.get(key)
    if file is None:
        file = _SOURCE_CACHE[key] = read_file(filename)
    if name == "<lambda>":
        raise SourceError(
            "a lambda cannot be differentiated", hint="define the function with `def`"
        )
    return _find_def(file, name, code.co_firstlineno)


def _find_def(file: SourceFile, name: str, first: int) -> FunctionSource:
    """The definition of ``name`` whose ``def`` (or a decorator) is on line ``first``.

    Top-level functions first: walking the whole file for nested ones (methods,
    closures) cost more than the rest of finding the function.
    """
    top_level = [s for s in file.module.body if type(s) is cst.FunctionDef]
    nested = (n for n in nodes(file.module) if type(n) is cst.FunctionDef)  # walked only if needed
    for node in itertools.chain(top_level, nested):
        if node.name.value != name:
            continue
        starts = [file.line(d) for d in node.decorators]
        starts.append(file.line(node))
        if first in starts:
            if node in top_level:
                file.positions.index(node)
            return FunctionSource(file, node)
    raise SourceError(
        f"cannot find the definition of {name!r} at line {first} of {file.filename}",
        hint="the file changed since it was imported; re-import it",
    )


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The nodes directly under ``node``, read from its fields.

    libcst's own ``children`` runs a visitor that rebuilds the node, which cost
    a sixth of a transform. This reads the dataclass fields instead: the same
    nodes, in the fields' order, which is the source's order except for a few
    node types (an ``IfExp``'s test comes before its body, a keyword argument's
    value before its name, decorators after the function's body). Nothing
    here depends on that order, only on which nodes there are.
    """
    out: list[cst.CSTNode] = []
    for name in fields(node):
        value = getattr(node, name)
        kind = type(value)
        if kind is tuple or kind is list:
            out.extend(v for v in value if _is_node(type(v)))
        elif _is_node(kind):
            out.append(value)
    return out


_NODE_TYPES: dict[type, bool] = {}


def _is_node(kind: type) -> bool:
    """Whether values of ``kind`` are libcst nodes (a dict lookup: ``isinstance`` on libcst's ABCs is slow)."""
    known = _NODE_TYPES.get(kind)
    if known is None:
        known = _NODE_TYPES[kind] = issubclass(kind, cst.CSTNode)
    return known


def nodes(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node under ``node`` (itself included), parents before children.

    A plain walk over :func:`children`: libcst's visitors and ``findall``
    rebuild the tree as they go, which costs far more than reading it.
    """
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(children(n)))


def find(node: cst.CSTNode, kind: type | tuple[type, ...]) -> list[Any]:
    """The nodes of one kind under ``node``, parents before children."""
    return [n for n in nodes(node) if isinstance(n, kind)]


_GLOBAL = re.compile(r"\bglobal\b")


def _stub(stmt: cst.BaseStatement) -> cst.BaseStatement:
    """A function or class with an empty body (``...``): the same binding, nothing inside to analyse."""
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
        return stmt.with_changes(body=cst.IndentedBlock([cst.SimpleStatementLine([cst.Expr(cst.Ellipsis())])]))
    return stmt
