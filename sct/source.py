"""Source: where a function's text comes from, and positions in the user's file.

Contract: sct never runs the code it reads. :func:`read_file` parses a file
with libcst; :func:`for_callable` finds a live function's definition in the
file it came from (through ``inspect``), so that both the CLI and the
decorator hand the same thing to the pipeline: a :class:`FunctionSource`, the
``FunctionDef`` node inside its parsed module. Every later error is located
against that module, so line numbers are the user's file's, never counted
from a snippet. The decorator's file is parsed as a skeleton (the other
definitions' bodies left out, :mod:`sct.skeleton`) until something outside
the function is read; then :meth:`SourceFile.whole` parses the rest.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import linecache
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import libcst as cst
from libcst.metadata import (
    MetadataWrapper,
    ParentNodeProvider,
    QualifiedNameProvider,
)

from . import scope
from .errors import InternalError, Location, SourceError, SyntaxProblem, UsageError
from .positions import Positions
from .skeleton import skeleton
from .walk import children, find, nodes, select  # noqa: F401 - the walks, where the pipeline has always found them


@dataclass
class SourceFile:
    """A parsed user file with the metadata the pipeline asks of it."""

    filename: str
    text: str
    wrapper: MetadataWrapper
    positions: Positions = field(repr=False)
    cache: dict[str, Any] = field(default_factory=dict, repr=False)  # what is computed once per file
    _parents: Any = field(default=None, repr=False)
    cut: frozenset[int] = frozenset()  # the def/class lines whose bodies were left out (sct.skeleton)

    def whole(self) -> None:
        """Parse the bodies :mod:`sct.skeleton` left out, keeping every node handed out so far.

        The statements parsed whole before keep their nodes (a FunctionSource
        holds them); each must have the text the full parse gives it.
        """
        if not self.cut:
            return
        full = cst.parse_module(self.text)
        if len(full.body) != len(self.module.body):
            raise InternalError(f"sct.skeleton: {self.filename} has {len(full.body)} statements, its skeleton {len(self.module.body)}")
        body = []
        for mine, theirs in zip(self.module.body, full.body):
            if isinstance(mine, (cst.FunctionDef, cst.ClassDef)) and self.line(mine) in self.cut:
                body.append(theirs)
            elif self.module.code_for_node(mine) == full.code_for_node(theirs):
                body.append(mine)
            else:
                raise InternalError(f"sct.skeleton changed a statement of {self.filename} at line {self.line(mine)}")
        self.wrapper = MetadataWrapper(full.with_changes(body=body), unsafe_skip_copy=True)
        self.positions = Positions(self.wrapper, self.text)
        self.cache = {k: v for k, v in self.cache.items() if k in ("names", "lines", "tree")}
        self._parents = None
        self.cut = frozenset()

    @property
    def tree(self) -> ast.Module | None:
        """The file as Python's own parser reads it (None if it cannot)."""
        if "tree" not in self.cache:
            self.cache["tree"] = self.positions.tree if not self.cut else _ast(self.text)
        return self.cache["tree"]

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
        key = ("qualified names", None if stmt is None else id(stmt))
        if key in self.cache:
            return self.cache[key]
        if "bindings" not in self.cache:  # the module scope, once per file
            self.cache["bindings"] = scope.module_bindings(self.module, self.text)
        ours = None
        if stmt is not None and self.cache["bindings"] is not None:
            index = next(i for i, s in enumerate(self.module.body) if s is stmt)
            ours = scope.qualified_table(stmt, index, self.cache["bindings"])
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
        self.whole()  # their bodies are read
        return {
            stmt.name.value: stmt
            for stmt in self.module.body
            if isinstance(stmt, cst.FunctionDef)
        }


@dataclass
class FunctionSource:
    """One function to differentiate: its node inside its parsed file."""

    file: SourceFile
    node: cst.FunctionDef
    _body_nodes: list[cst.CSTNode] | None = field(default=None, repr=False, compare=False)

    def body_nodes(self) -> list[cst.CSTNode]:
        """Every node of the function's body, parents first: walked once, read by every stage."""
        if self._body_nodes is None:
            self._body_nodes = list(nodes(self.node.body))
        return self._body_nodes

    def find(self, kind: type | tuple[type, ...]) -> list[Any]:
        """The nodes of one kind in the function's body, parents first."""
        return select(self.body_nodes(), kind)

    @property
    def name(self) -> str:
        return self.node.name.value

    @property
    def params(self) -> list[str]:
        return [p.name.value for p in self.node.params.params]


def parse(text: str, filename: str, keep: int | None = None) -> SourceFile:
    """Parse ``text``; a syntax error becomes a located :class:`SyntaxProblem`.

    With ``keep`` (a line), only the top-level statement holding it is parsed
    whole, and the bodies of the other functions and classes when first read
    (:mod:`sct.skeleton`).
    """
    if keep is not None:
        tree = _ast(text)
        cut = skeleton(text, tree, keep) if tree is not None else None
        if cut is not None:
            try:
                module = cst.parse_module(cut[0])
            except cst.ParserSyntaxError:  # pragma: no cover - a skeleton of valid Python is valid
                pass
            else:
                wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
                file = SourceFile(filename, text, wrapper, Positions(wrapper, cut[0]), cut=cut[1])
                file.cache["tree"] = tree
                return file
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


def read_file(path: str | Path, keep: int | None = None) -> SourceFile:
    """Read and parse a file without importing it (``keep``: see :func:`parse`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise SourceError(f"{path} is a directory, not a Python file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read {path}: {exc}") from None
    return parse(text, str(path), keep)


def _ast(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


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
        file = _SOURCE_CACHE[key] = read_file(filename, keep=code.co_firstlineno)
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
            if any(node is s for s in top_level):
                if file.line(node) in file.cut:
                    file.whole()  # a body the skeleton left out
                    return _find_def(file, name, first)
                file.positions.index(node)
            return FunctionSource(file, node)
    if file.cut:  # nested in a body the skeleton left out
        file.whole()
        return _find_def(file, name, first)
    raise SourceError(
        f"cannot find the definition of {name!r} at line {first} of {file.filename}",
        hint="the file changed since it was imported; re-import it",
    )


_GLOBAL = re.compile(r"\bglobal\b")


def _stub(stmt: cst.BaseStatement) -> cst.BaseStatement:
    """A function or class with an empty body (``...``): the same binding, nothing inside to analyse."""
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
        return stmt.with_changes(body=cst.IndentedBlock([cst.SimpleStatementLine([cst.Expr(cst.Ellipsis())])]))
    return stmt
