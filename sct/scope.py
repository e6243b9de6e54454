"""Scope: what each name in a top-level statement of the user's file refers to.

Contract: :func:`qualified_table` maps the ``Name`` and ``Attribute`` nodes of
one top-level statement to their qualified names, the same strings libcst's
``QualifiedNameProvider`` gives: ``numpy.exp`` for ``np.exp`` after ``import
numpy as np``, ``math.cos`` for ``c`` after ``from math import cos as c``,
``builtins.max``, ``f.<locals>.x`` for a local of ``f``, ``g`` for the file's
own function ``g``. It returns None when the file or the statement holds
anything this resolver does not model (``global``, a nested function, class,
lambda or comprehension, ``:=``, a star or un-aliased dotted import, ``del``,
``match``, a class body): the caller then asks libcst.

Why not libcst alone: its scope analysis of one function costs about 30 ms,
the whole budget of a first transform (issue 7). The code sct differentiates
has exactly two scopes, the function's and the module's, and resolving a name
in them is one walk over the statement. ``tests/test_scope.py`` checks this
resolver against libcst's on every name of a corpus of files.
"""

from __future__ import annotations

import ast
import builtins
import re

import libcst as cst
from libcst.helpers import get_full_name_for_node

from .walk import children, nodes

Table = dict[cst.CSTNode, frozenset[str]]
Bindings = dict[str, tuple[tuple[int, str], ...]]  # name -> (top-level statement index, qualified name), per binding

_BUILTINS = frozenset(dir(builtins))

# Constructs with a scope (or a binding rule) of their own: their presence sends a statement to libcst.
# Sets of exact types, not isinstance: every libcst class is an ABC, whose isinstance is slow.
_NESTED = frozenset({
    cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp,
    cst.Global, cst.Nonlocal, cst.Import, cst.ImportFrom, cst.NamedExpr, cst.Del, cst.Match,
})
_NAMES = frozenset({cst.Name, cst.Attribute, cst.Call, cst.Subscript})  # what libcst names: f(x) as f, a.b[i] as a.b
_STRINGS = frozenset({cst.SimpleString, cst.ConcatenatedString, cst.FormattedString})
_TARGETED = frozenset({cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For})
# Text that means a file-wide binding rule this resolver does not model; searched once per file.
_FILE_WIDE = re.compile(r"\bglobal\b|\bnonlocal\b|:=")


class _Unmodelled(Exception):
    """Something only libcst's full scope analysis resolves."""


def module_bindings(module: cst.Module, text: str) -> Bindings | None:
    """The module scope: each name bound at the top level -> what it may refer to, and where (None: ask libcst)."""
    if _FILE_WIDE.search(text):
        return None
    found: dict[str, set[tuple[int, str]]] = {}
    try:
        for index, stmt in enumerate(module.body):
            _bind_statement(stmt, _Binder(found, index))
    except _Unmodelled:
        return None
    return {name: tuple(sorted(qs)) for name, qs in found.items()}


def qualified_table(stmt: cst.CSTNode, index: int, module: Bindings) -> Table | None:
    """The qualified names of the names in ``stmt``, the top-level statement ``index`` (None: ask libcst).

    A function's body runs after the whole module has: it sees every binding.
    Its decorators, defaults and annotations, and a module-level statement,
    run in order: they see the bindings of the statements before theirs.
    """
    table: Table = {}
    try:
        if isinstance(stmt, cst.FunctionDef):
            local = _function_locals(stmt)
            if any(type(n) in _STRINGS for n in nodes(stmt.params)) or (
                stmt.returns is not None and any(type(n) in _STRINGS for n in nodes(stmt.returns))
            ):
                raise _Unmodelled  # a string annotation names a type: only libcst reads it
            for d in stmt.decorators:
                _resolve(d.decorator, _Scope(module, index), table)
                full = get_full_name_for_node(d.decorator)
                named = _Scope(module, None).lookup(full) if full is not None else frozenset()
                if named:  # libcst names the decorator node by every binding, wherever it is
                    table[d] = named
            own = frozenset(q for _, q in module.get(stmt.name.value, ())) or frozenset({stmt.name.value})
            table[stmt] = table[stmt.name] = own
            for param in _params(stmt.params):
                table[param.name] = frozenset({f"{stmt.name.value}.<locals>.{param.name.value}"})
                for part in (param.default, param.annotation):
                    if part is not None:
                        _resolve(part, _Scope(module, index), table)
            if stmt.returns is not None:
                _resolve(stmt.returns, _Scope(module, index), table)
            _resolve(stmt.body, _Scope(module, None, local, stmt.name.value), table)
        elif isinstance(stmt, cst.SimpleStatementLine):
            inside = list(nodes(stmt))
            if any(type(n) in _NESTED and type(n) not in (cst.Import, cst.ImportFrom) for n in inside):
                raise _Unmodelled
            bound: dict[str, set[tuple[int, str]]] = {}
            for small in stmt.body:
                _bind_small(small, _Binder(bound, index))
            targets = _bound_names(stmt)
            if any(type(n) is cst.Name and n.value in bound for n in inside if n not in targets):
                raise _Unmodelled  # it reads a name it binds (`y = y + 1`, `a = 1; b = a`): libcst orders those
            for small in stmt.body:
                if type(small) not in (cst.Import, cst.ImportFrom):  # an import's own names refer to nothing
                    _resolve(small, _Scope(module, index), table)
            for target in _bound_names(stmt, imports=False):  # a target names what it binds, and what came before
                table[target] = _Scope(module, index + 1).lookup(target.value)  # type: ignore[attr-defined]
        else:
            return None
    except _Unmodelled:
        return None
    return table


# ---- the module scope ---------------------------------------------------------------------------


class _Binder:
    """Collects the bindings of one top-level statement (and what it holds) into a name -> bindings map."""

    def __init__(self, found: dict[str, set[tuple[int, str]]], index: int):
        self.found, self.index = found, index

    def add(self, name: str, qualified: str) -> None:
        self.found.setdefault(name, set()).add((self.index, qualified))


def _bind_statement(stmt: cst.CSTNode, found: _Binder) -> None:
    """Add the names ``stmt`` binds in the module scope (compound statements' bodies included)."""
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            _bind_small(small, found)
    elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
        found.add(stmt.name.value, stmt.name.value)
    elif isinstance(stmt, (cst.If, cst.Else, cst.While, cst.For, cst.Try, cst.ExceptHandler, cst.Finally, cst.With)):
        bound: list[cst.CSTNode] = []
        if isinstance(stmt, cst.For):
            bound.append(stmt.target)
        elif isinstance(stmt, cst.With):
            bound.extend(item.asname.name for item in stmt.items if item.asname is not None)
        elif isinstance(stmt, cst.ExceptHandler) and stmt.name is not None:
            bound.append(stmt.name.name)
        for target in bound:
            for name in _target_names(target):
                found.add(name, name)
        if isinstance(stmt.body, cst.SimpleStatementSuite):  # `if x: a = 1` on one line
            for small in stmt.body.body:
                _bind_small(small, found)
        else:
            for inner in stmt.body.body:
                _bind_statement(inner, found)
        for clause in (getattr(stmt, "orelse", None), getattr(stmt, "finalbody", None), *getattr(stmt, "handlers", ())):
            if clause is not None:
                _bind_statement(clause, found)
    else:
        raise _Unmodelled


def _bind_small(small: cst.BaseSmallStatement, found: _Binder) -> None:
    if isinstance(small, cst.Import):
        for alias in small.names:
            dotted = get_full_name_for_node(alias.name) or ""
            if alias.asname is not None:
                found.add(alias.asname.name.value, dotted)  # type: ignore[attr-defined]
            elif "." in dotted:
                raise _Unmodelled  # `import a.b` binds `a` to a package only libcst models
            else:
                found.add(dotted, dotted)
    elif isinstance(small, cst.ImportFrom):
        if isinstance(small.names, cst.ImportStar):
            raise _Unmodelled
        dots = "." * len(small.relative)
        module = get_full_name_for_node(small.module) if small.module is not None else ""
        prefix = f"{dots}{module}." if module else dots
        for alias in small.names:
            name = get_full_name_for_node(alias.name) or ""
            local = alias.asname.name.value if alias.asname is not None else name  # type: ignore[attr-defined]
            found.add(local, prefix + name)
    elif isinstance(small, cst.Assign):
        for target in small.targets:
            for name in _target_names(target.target):
                found.add(name, name)
    elif isinstance(small, (cst.AugAssign, cst.AnnAssign)):
        for name in _target_names(small.target):
            found.add(name, name)
    elif isinstance(small, (cst.Global, cst.Nonlocal, cst.Del)):
        raise _Unmodelled


def _target_names(target: cst.CSTNode) -> list[str]:
    """The names an assignment target binds (``a``, ``a, (b, *c)``; not ``a.x`` or ``a[i]``)."""
    kind = type(target)
    if kind is cst.Name:
        return [target.value]  # type: ignore[attr-defined]
    if kind is cst.Tuple or kind is cst.List:
        return [n for e in target.elements for n in _target_names(e.value)]  # type: ignore[attr-defined]
    if kind is cst.StarredElement:
        return _target_names(target.value)
    return []


# ---- the function scope -------------------------------------------------------------------------


def _params(params: cst.Parameters) -> list[cst.Param]:
    star = [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
    return [*params.posonly_params, *params.params, *star, *params.kwonly_params]


def _function_locals(fn: cst.FunctionDef) -> frozenset[str]:
    """Parameters and every name the body binds (Python's rule: bound anywhere means local everywhere)."""
    names = {p.name.value for p in _params(fn.params)}
    for node in nodes(fn.body):
        kind = type(node)
        if kind in _NESTED:
            raise _Unmodelled
        if kind in _TARGETED:
            names.update(_target_names(node.target))  # type: ignore[attr-defined]
        elif kind is cst.WithItem and node.asname is not None:  # type: ignore[attr-defined]
            names.update(_target_names(node.asname.name))  # type: ignore[attr-defined]
        elif kind is cst.ExceptHandler and node.name is not None:  # type: ignore[attr-defined]
            names.update(_target_names(node.name.name))
    return frozenset(names)


# ---- resolving ----------------------------------------------------------------------------------


class _Scope:
    """Where names are looked up: a function's locals (when in its body), then the module's, then builtins.

    ``before``: the index of the top-level statement being run at import
    time (only earlier statements' bindings exist yet), None in a body.
    """

    def __init__(self, module: Bindings, before: int | None, local: frozenset[str] = frozenset(), function: str = ""):
        self.module, self.before, self.local, self.function = module, before, local, function

    def lookup(self, full: str) -> frozenset[str]:
        root, _, rest = full.partition(".")
        suffix = f".{rest}" if rest else ""
        if root in self.local:
            return frozenset({f"{self.function}.<locals>.{full}"})
        bindings = self.module.get(root, ())
        seen = [q for i, q in bindings if self.before is None or i < self.before]
        if seen:
            return frozenset(q + suffix for q in seen)
        if root in _BUILTINS:
            if bindings:
                raise _Unmodelled  # a builtin's name the module binds later
            return frozenset({f"builtins.{root}"})  # libcst's spelling: `type(x).__name__` -> builtins.type
        return frozenset()


def _resolve(node: cst.CSTNode, scope: _Scope, table: Table) -> None:
    """Record what every name read or bound under ``node`` refers to, looked up in ``scope``."""
    stack = [node]
    while stack:
        n = stack.pop()
        kind = type(n)
        if kind in _NAMES:
            full = get_full_name_for_node(n)
            if full is not None:
                found = scope.lookup(full)
                if found:
                    table[n] = found
            if kind is cst.Attribute:
                stack.append(n.value)  # type: ignore[attr-defined]  # `.exp` refers to nothing by itself
                continue
        if kind is cst.Arg:
            stack.append(n.value)  # a keyword's name is not a read
            continue
        stack.extend(children(n))


def _bound_names(stmt: cst.SimpleStatementLine, imports: bool = True) -> set[cst.CSTNode]:
    """The Name nodes a module-level line binds: assignment targets, and import aliases unless not ``imports``."""
    out: set[cst.CSTNode] = set()
    for small in stmt.body:
        kind = type(small)
        if kind is cst.AugAssign:
            raise _Unmodelled  # it reads what it binds
        targets: list[cst.CSTNode] = []
        if kind is cst.Assign:
            targets = [t.target for t in small.targets]  # type: ignore[attr-defined]
        elif kind is cst.AnnAssign:
            targets = [small.target]  # type: ignore[attr-defined]
        elif kind in (cst.Import, cst.ImportFrom) and imports:
            targets = [small]
        out.update(n for t in targets for n in nodes(t) if type(n) is cst.Name)
    return out





# ---- every identifier of a file -----------------------------------------------------------------


def identifiers(tree: ast.Module) -> set[str]:
    """Every identifier in the file ``tree`` was parsed from: the values of libcst's ``Name`` nodes.

    Read from Python's own tree, which is walked in a third of the time of
    libcst's (tests/test_scope.py checks the two agree on a corpus).
    """
    out: set[str] = set()
    for node in ast.walk(tree):
        kind = type(node)
        if kind is ast.Name:
            out.add(node.id)  # type: ignore[attr-defined]
        elif kind is ast.Attribute:
            out.add(node.attr)  # type: ignore[attr-defined]
        elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef or kind is ast.ClassDef:
            out.add(node.name)  # type: ignore[attr-defined]
        elif kind is ast.arg:
            out.add(node.arg)  # type: ignore[attr-defined]
        elif kind is ast.alias:
            out.update(node.name.split("."))  # type: ignore[attr-defined]
            if node.asname:  # type: ignore[attr-defined]
                out.add(node.asname)  # type: ignore[attr-defined]
        elif kind is ast.ImportFrom and node.module:  # type: ignore[attr-defined]
            out.update(node.module.split("."))  # type: ignore[attr-defined]
        elif kind is ast.Global or kind is ast.Nonlocal:
            out.update(node.names)  # type: ignore[attr-defined]
        elif kind is ast.Constant and type(node.value) in (bool, type(None)):  # type: ignore[attr-defined]
            out.add(repr(node.value))  # type: ignore[attr-defined]
        elif kind in _OPTIONAL_NAME and getattr(node, _OPTIONAL_NAME[kind]):
            out.add(getattr(node, _OPTIONAL_NAME[kind]))
        elif kind is ast.MatchClass:
            out.update(node.kwd_attrs)  # type: ignore[attr-defined]
    return out


_OPTIONAL_NAME = {
    ast.keyword: "arg", ast.ExceptHandler: "name", ast.MatchAs: "name", ast.MatchStar: "name", ast.MatchMapping: "rest",
}
