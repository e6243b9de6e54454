"""Walk: reading libcst trees without libcst's visitors.

Contract: :func:`children`, :func:`nodes` and :func:`find` give the nodes
under a node, in a plain loop over its dataclass fields. libcst's own
``children``, visitors and ``findall`` rebuild the tree as they go, which cost
more than the analyses that used them (issue 7's transform time). Nothing
here changes a tree.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import libcst as cst

from .expr import fields, is_node


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
            out.extend(v for v in value if is_node(v))
        elif is_node(value):
            out.append(value)
    return out


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
    return select(nodes(node), kind)


def select(candidates: Iterable[cst.CSTNode], kind: type | tuple[type, ...]) -> list[Any]:
    """The nodes of one kind among ``candidates``, in their order."""
    exact = _exact(kind)
    if exact is not None:  # concrete node types: a set lookup, not isinstance on libcst's ABCs
        return [n for n in candidates if type(n) in exact]
    return [n for n in candidates if isinstance(n, kind)]


_EXACT: dict[Any, frozenset[type] | None] = {}


def _exact(kind: type | tuple[type, ...]) -> frozenset[type] | None:
    """``kind`` as a set of types when none of them has a subclass (then ``type(n) in`` it is ``isinstance``)."""
    if kind not in _EXACT:
        kinds = kind if isinstance(kind, tuple) else (kind,)
        _EXACT[kind] = None if any(k.__subclasses__() for k in kinds) else frozenset(kinds)
    return _EXACT[kind]




# Node types whose dataclass fields are not in source order (a decorator after its function's body,
# an IfExp's test before its body, a keyword's value before its name): walked by libcst's own children.
_UNORDERED = frozenset({cst.FunctionDef, cst.ClassDef, cst.Arg, cst.IfExp, cst.ExceptHandler})


def run_visitor(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """``node.visit(visitor)`` for a visitor that only reads: ``on_visit`` on the same nodes.

    Expressions and statements come in source order (whitespace, comments and
    punctuation may come earlier or later than libcst shows them). A ``False`` from ``on_visit`` (a ``visit_<Type>`` method's) skips that
    node's children, as in libcst. No ``leave_`` method is called. libcst's
    own walk rebuilds every node it passes, which cost most of ``sct.check``.
    """
    stack = [node]
    while stack:
        n = stack.pop()
        if visitor.on_visit(n) is False:
            continue
        stack.extend(reversed(list(n.children) if type(n) in _UNORDERED else children(n)))
