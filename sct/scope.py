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
from typing import Iterator

import libcst as cst
from libcst.helpers import get_full_name_for_node

from .walk import children

Table = dict[cst.CSTNode, frozenset[str]]

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


def module_bindings(module: cst.Module, text: str) -> dict[str, frozenset[str]] | None:
    """The module scope: each name bound at the top level -> what it may refer to (None: ask libcst)."""
    if _FILE_WIDE.search(text):
        return None
    found: dict[str, set[str]] = {}
    try:
        for stmt in module.body:
            _bind_statement(stmt, found)
    except _Unmodelled:
        return None
    return {name: frozenset(qs) for name, qs in found.items()}


def qualified_table(stmt: cst.CSTNode, module: dict[str, frozenset[str]]) -> Table | None:
    """The qualified names of the names in ``stmt``, a top-level statement (None: ask libcst)."""
    table: Table = {}
    try:
        if isinstance(stmt, cst.FunctionDef):
            local = _function_locals(stmt)
            if any(type(n) in _STRINGS for n in _walk(stmt.params)) or (
                stmt.returns is not None and any(type(n) in _STRINGS for n in _walk(stmt.returns))
            ):
                raise _Unmodelled  # a string annotation names a type: only libcst reads it
            for d in stmt.decorators:
                _resolve(d.decorator, module, None, "", table)
                if d.decorator in table:
                    table[d] = table[d.decorator]
            table[stmt] = table[stmt.name] = module.get(stmt.name.value, frozenset({stmt.name.value}))
            for param in _params(stmt.params):
                table[param.name] = frozenset({f"{stmt.name.value}.<locals>.{param.name.value}"})
                for part in (param.default, param.annotation):
                    if part is not None:
                        _resolve(part, module, None, "", table)
            if stmt.returns is not None:
                _resolve(stmt.returns, module, None, "", table)
            _resolve(stmt.body, module, local, stmt.name.value, table)
        elif isinstance(stmt, cst.SimpleStatementLine):
            if any(type(n) in _NESTED and type(n) not in (cst.Import, cst.ImportFrom) for n in _walk(stmt)):
                raise _Unmodelled
            if not any(isinstance(small, (cst.Import, cst.ImportFrom)) for small in stmt.body):
                _resolve(stmt, module, None, "", table)
        else:
            return None
    except _Unmodelled:
        return None
    return table


# ---- the module scope ---------------------------------------------------------------------------


def _bind_statement(stmt: cst.CSTNode, found: dict[str, set[str]]) -> None:
    """Add the names ``stmt`` binds in the module scope (compound statements' bodies included)."""
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            _bind_small(small, found)
    elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
        _add(found, stmt.name.value, stmt.name.value)
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
                _add(found, name, name)
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


def _bind_small(small: cst.BaseSmallStatement, found: dict[str, set[str]]) -> None:
    if isinstance(small, cst.Import):
        for alias in small.names:
            dotted = get_full_name_for_node(alias.name) or ""
            if alias.asname is not None:
                _add(found, alias.asname.name.value, dotted)  # type: ignore[attr-defined]
            elif "." in dotted:
                raise _Unmodelled  # `import a.b` binds `a` to a package only libcst models
            else:
                _add(found, dotted, dotted)
    elif isinstance(small, cst.ImportFrom):
        if isinstance(small.names, cst.ImportStar):
            raise _Unmodelled
        dots = "." * len(small.relative)
        module = get_full_name_for_node(small.module) if small.module is not None else ""
        prefix = f"{dots}{module}." if module else dots
        for alias in small.names:
            name = get_full_name_for_node(alias.name) or ""
            local = alias.asname.name.value if alias.asname is not None else name  # type: ignore[attr-defined]
            _add(found, local, prefix + name)
    elif isinstance(small, cst.Assign):
        for target in small.targets:
            for name in _target_names(target.target):
                _add(found, name, name)
    elif isinstance(small, (cst.AugAssign, cst.AnnAssign)):
        for name in _target_names(small.target):
            _add(found, name, name)
    elif isinstance(small, (cst.Global, cst.Nonlocal, cst.Del)):
        raise _Unmodelled


def _add(found: dict[str, set[str]], name: str, qualified: str) -> None:
    found.setdefault(name, set()).add(qualified)


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
    for node in _walk(fn.body):
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


def _resolve(
    node: cst.CSTNode, module: dict[str, frozenset[str]], local: frozenset[str] | None, function: str, table: Table
) -> None:
    """Record every name read or bound under ``node``; ``local`` is None in the module scope."""
    stack = [node]
    while stack:
        n = stack.pop()
        kind = type(n)
        if kind in _NAMES:
            full = get_full_name_for_node(n)
            if full is not None:
                found = _lookup(full, module, local, function)
                if found:
                    table[n] = found
            if kind is cst.Attribute:
                stack.append(n.value)  # type: ignore[attr-defined]  # `.exp` refers to nothing by itself
                continue
        if kind is cst.Arg:
            stack.append(n.value)  # a keyword's name is not a read
            continue
        stack.extend(children(n))


def _lookup(full: str, module: dict[str, frozenset[str]], local: frozenset[str] | None, function: str) -> frozenset[str]:
    root, _, rest = full.partition(".")
    suffix = f".{rest}" if rest else ""
    if local is not None and root in local:
        return frozenset({f"{function}.<locals>.{full}"})
    if root in module:
        return frozenset(q + suffix for q in module[root])
    if root in _BUILTINS:
        return frozenset({f"builtins.{root}"})  # libcst's spelling: `max`, `type(x).__name__` -> builtins.max, builtins.type
    return frozenset()


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(children(n))




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
