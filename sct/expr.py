"""Expression building for generated code: arithmetic that simplifies as it builds.

Contract: :func:`add`, :func:`mul`, ... return libcst expressions with the
identities applied (``0 * e`` and ``e * 1`` never appear; integer literals
are folded, so ``x ** (2 - 1)`` becomes ``x``), and :func:`parenthesize`
adds exactly the parentheses that precedence requires. No float is ever
introduced: folding stays within the literals the rules and the user wrote,
so generated code stays exact on ``fractions.Fraction`` inputs.

Functions every node of an expression passes through test its kind with
``type(node) is ...``: libcst's classes are ABCs, whose ``isinstance`` costs
several times as much (see :func:`is_node`).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
from typing import Callable, Sequence

import libcst as cst

from . import text

Expr = cst.BaseExpression

_PRECEDENCE: dict[type, int] = {
    cst.Or: 2,
    cst.And: 3,
    cst.BitOr: 6,
    cst.BitXor: 7,
    cst.BitAnd: 8,
    cst.LeftShift: 9,
    cst.RightShift: 9,
    cst.Add: 10,
    cst.Subtract: 10,
    cst.Multiply: 11,
    cst.Divide: 11,
    cst.FloorDivide: 11,
    cst.Modulo: 11,
    cst.MatrixMultiply: 11,
    cst.Power: 13,
}


# libcst nodes are immutable: one node of each operator serves every expression built here
_ADD, _SUB, _MUL, _DIV, _POW, _MINUS = cst.Add(), cst.Subtract(), cst.Multiply(), cst.Divide(), cst.Power(), cst.Minus()


def name(identifier: str) -> cst.Name:
    return cst.Name(identifier)


def number(value: int | float) -> Expr:
    """A literal; negative values become a unary minus."""
    if value < 0:
        return cst.UnaryOperation(_MINUS, number(-value))
    if isinstance(value, int):
        return cst.Integer(str(value))
    return cst.Float(repr(value))


@functools.lru_cache(maxsize=None)
def _evaluated(text: str) -> int | float:
    """A literal's value, as libcst's ``evaluated_value`` gives it (which parses it every time)."""
    return ast.literal_eval(text)


def literal_value(node: Expr) -> int | float | None:
    """The number a literal denotes (``-2`` included), or None."""
    kind = type(node)
    if kind is cst.Integer or kind is cst.Float:
        return _evaluated(node.value)  # type: ignore[attr-defined]
    if kind is cst.UnaryOperation and type(node.operator) is cst.Minus:  # type: ignore[attr-defined]
        inner = literal_value(node.expression)  # type: ignore[attr-defined]
        return None if inner is None else -inner
    return None


def is_zero(node: Expr) -> bool:
    return literal_value(node) == 0


def is_one(node: Expr) -> bool:
    return literal_value(node) == 1


def _binary(left: Expr, op: cst.BaseBinaryOp, right: Expr) -> Expr:
    return cst.BinaryOperation(left=left, operator=op, right=right)


def _fold(left: Expr, op: cst.BaseBinaryOp, right: Expr) -> Expr | None:
    """Fold two literals when the result is exact and no float appears from ints."""
    a, b = literal_value(left), literal_value(right)
    if a is None or b is None:
        return None
    if isinstance(op, cst.Add):
        return number(a + b)
    if isinstance(op, cst.Subtract):
        return number(a - b)
    if isinstance(op, cst.Multiply):
        return number(a * b)
    if isinstance(op, cst.Power) and isinstance(a, int) and isinstance(b, int) and 0 <= b <= 8:
        return number(a**b)
    return None


def neg(e: Expr) -> Expr:
    value = literal_value(e)
    if value is not None:
        return number(-value)
    if isinstance(e, cst.UnaryOperation) and isinstance(e.operator, cst.Minus):
        return e.expression
    return cst.UnaryOperation(_MINUS, e)


def _unminus(e: Expr) -> tuple[bool, Expr]:
    """(True, -e) when ``e`` reads as a negation: ``-a``, ``-2 * a``, ``-a / b``."""
    if isinstance(e, cst.UnaryOperation) and isinstance(e.operator, cst.Minus) and not e.lpar:
        return True, e.expression
    if isinstance(e, cst.BinaryOperation) and isinstance(e.operator, (cst.Multiply, cst.Divide)) and not e.lpar:
        negative, inner = _unminus(e.left)
        if negative:
            return True, e.with_changes(left=inner) if not is_one(inner) or isinstance(e.operator, cst.Divide) else e.right
    value = literal_value(e)
    if value is not None and value < 0:
        return True, number(-value)
    return False, e


def add(a: Expr, b: Expr) -> Expr:
    if is_zero(a):
        return b
    if is_zero(b):
        return a
    negative, inner = _unminus(b)
    if negative:
        return sub(a, inner)
    return _fold(a, _ADD, b) or _binary(a, _ADD, b)


def sub(a: Expr, b: Expr) -> Expr:
    if is_zero(b):
        return a
    if is_zero(a):
        return neg(b)
    negative, inner = _unminus(b)
    if negative:
        return add(a, inner)
    return _fold(a, _SUB, b) or _binary(a, _SUB, b)


def mul(a: Expr, b: Expr) -> Expr:
    if is_zero(a) or is_zero(b):
        return number(0)
    if is_one(a):
        return b
    if is_one(b):
        return a
    if literal_value(a) == -1:
        return neg(b)
    if literal_value(b) == -1:
        return neg(a)
    folded = _fold(a, _MUL, b)
    if folded is not None:
        return folded
    for first, second in ((a, b), (b, a)):
        negative, inner = _unminus(first)
        if negative and literal_value(first) is None:
            return neg(mul(inner, second) if first is a else mul(second, inner))
    if isinstance(b, cst.BinaryOperation) and isinstance(b.operator, cst.Divide) and is_one(b.left) and not b.lpar:
        return div(a, b.right)  # a * (1 / b) is a / b
    if isinstance(a, cst.BinaryOperation) and isinstance(a.operator, cst.Divide) and is_one(a.left) and not a.lpar:
        return div(b, a.right)  # (1 / a) * b is b / a
    return _binary(a, _MUL, b)


def div(a: Expr, b: Expr) -> Expr:
    if is_one(b):
        return a
    if is_zero(a):
        return number(0)
    return _binary(a, _DIV, b)


def power(a: Expr, b: Expr) -> Expr:
    if is_one(b):
        return a
    if is_zero(b):
        return number(1)
    return _fold(a, _POW, b) or _binary(a, _POW, b)


def tuple_(items: Sequence[Expr]) -> cst.Tuple:
    """``a, b`` (``a,`` for one item), without parentheses; a nested tuple gets its own."""
    items = [
        i.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()]) if isinstance(i, cst.Tuple) and not i.lpar else i
        for i in items
    ]
    elements = [cst.Element(item, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for item in items]
    if len(elements) > 1:
        elements[-1] = elements[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    if not elements:
        return cst.Tuple([])  # () needs its parentheses
    return cst.Tuple(elements, lpar=[], rpar=[])


def dotted(node: cst.BaseExpression) -> str | None:
    """``np.linalg.norm`` for a chain of attributes on a name, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


def call(func: str, *args: Expr) -> cst.Call:
    """``func(args)`` for a dotted name written as text (``sct.arrays.copy_of``, ``t1_stack.pop``)."""
    first, *rest = func.split(".")
    node: Expr = cst.Name(first)  # the nodes parsing the text makes, without parsing it
    for attr in rest:
        node = cst.Attribute(node, cst.Name(attr))
    return cst.Call(node, [cst.Arg(a) for a in args])


def total(terms: Sequence[Expr]) -> Expr:
    """The sum of ``terms`` (0 when there are none)."""
    result: Expr = number(0)
    for term in terms:
        result = add(result, term)
    return result


_FIELDS: dict[type, tuple[str, ...]] = {}
_IS_NODE: dict[type, bool] = {}
# nodes with no expression inside (whitespace: its two kinds, SimpleWhitespace and ParenthesizedWhitespace)
_LEAVES = frozenset({cst.Name, cst.Integer, cst.Float, cst.SimpleString, cst.SimpleWhitespace, cst.ParenthesizedWhitespace, cst.LeftParen, cst.RightParen})


def fields(node: cst.CSTNode) -> tuple[str, ...]:
    """The names of a node's dataclass fields (what may hold its children), per node type."""
    names = _FIELDS.get(type(node))
    if names is None:
        names = _FIELDS[type(node)] = tuple(f.name for f in dataclasses.fields(node))
    return names


def is_node(value: object) -> bool:
    """``isinstance(value, cst.CSTNode)``, answered once per type from its MRO: libcst's classes are
    ABCs, whose first "no" for a type (a ``str`` field) walks every subclass of ``CSTNode``."""
    kind = type(value)
    known = _IS_NODE.get(kind)
    if known is None:
        known = _IS_NODE[kind] = cst.CSTNode in kind.__mro__
    return known


def map_children(node: cst.CSTNode, change: Callable[[cst.CSTNode], cst.CSTNode]) -> cst.CSTNode:
    """``node`` with ``change`` applied to each node directly under it; copied only if one changed."""
    changes: dict[str, object] = {}
    for name in fields(node):
        value = getattr(node, name)
        if is_node(value):
            new = change(value)
            if new is not value:
                changes[name] = new
        elif isinstance(value, (tuple, list)) and value:
            items = [change(v) if is_node(v) else v for v in value]
            if any(a is not b for a, b in zip(items, value)):
                changes[name] = type(value)(items)
    return node.with_changes(**changes) if changes else node


def rebuild(node: cst.CSTNode, leave: Callable[[cst.CSTNode], cst.CSTNode]) -> cst.CSTNode:
    """``node`` rebuilt bottom-up, ``leave`` applied to every node after its children.

    What a libcst transformer's ``leave_*`` methods do, without its visitor
    machinery (ten times faster on the small expressions rules produce): a node
    is copied only when one of its children changed.
    """
    if type(node) in _LEAVES:
        return leave(node)
    return leave(map_children(node, lambda child: rebuild(child, leave)))


def _simplified(node: cst.CSTNode) -> cst.CSTNode:
    """The identities, at one node whose children are simplified; parentheses dropped (added back where needed)."""
    kind = type(node)  # every node of an expression comes here: no ABC isinstance (see is_node)
    if kind is cst.BinaryOperation:
        identities = _IDENTITIES.get(type(node.operator))  # type: ignore[attr-defined]
        if identities is not None:
            return identities(node.left, node.right)  # type: ignore[attr-defined]
        return node.with_changes(lpar=(), rpar=()) if node.lpar else node  # type: ignore[attr-defined]
    if kind is cst.UnaryOperation:
        if type(node.operator) is cst.Minus:  # type: ignore[attr-defined]
            return neg(node.expression)  # type: ignore[attr-defined]
        return node.with_changes(lpar=(), rpar=()) if node.lpar else node  # type: ignore[attr-defined]
    return node


_IDENTITIES: dict[type, Callable[[Expr, Expr], Expr]] = {cst.Add: add, cst.Subtract: sub, cst.Multiply: mul, cst.Divide: div, cst.Power: power}


def simplify(node: Expr) -> Expr:
    """Apply the identities to an expression built from a template."""
    return rebuild(node, _simplified)  # type: ignore[return-value]


def _precedence(node: Expr) -> int:
    if node.lpar:
        return 100
    kind = type(node)
    if kind is cst.BinaryOperation or kind is cst.BooleanOperation:
        return _PRECEDENCE[type(node.operator)]  # type: ignore[attr-defined]
    if kind is cst.UnaryOperation:
        return 4 if type(node.operator) is cst.Not else 12  # type: ignore[attr-defined]
    return _OTHER_PRECEDENCE.get(kind, 100)


_OTHER_PRECEDENCE: dict[type, int] = {cst.Comparison: 5, cst.IfExp: 1, cst.Lambda: 1, cst.NamedExpr: 0}


def _wrap(node: Expr) -> Expr:
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _parenthesized(node: cst.CSTNode) -> cst.CSTNode:
    """The parentheses precedence needs around one node's operands (its children are done)."""
    parens = _PARENS.get(type(node))
    return node if parens is None else parens(node)


def _binary_parens(node: cst.BinaryOperation) -> Expr:
    p = _PRECEDENCE[type(node.operator)]
    right_assoc = isinstance(node.operator, cst.Power)
    left, right = node.left, node.right
    if _precedence(left) < p or (right_assoc and _precedence(left) <= p):
        left = _wrap(left)
    if _precedence(right) < p or (not right_assoc and _precedence(right) == p):
        right = _wrap(right)
    return _with(node, left=left, right=right)


def _unary_parens(node: cst.UnaryOperation) -> Expr:
    p = 4 if isinstance(node.operator, cst.Not) else 12
    if _precedence(node.expression) < p:
        return node.with_changes(expression=_wrap(node.expression))
    return node


def _comparison_parens(node: cst.Comparison) -> Expr:
    left = _wrap(node.left) if _precedence(node.left) <= 5 else node.left
    targets = [c.with_changes(comparator=_wrap(c.comparator)) if _precedence(c.comparator) <= 5 else c for c in node.comparisons]
    if left is node.left and all(a is b for a, b in zip(targets, node.comparisons)):
        return node
    return node.with_changes(left=left, comparisons=targets)


def _ifexp_parens(node: cst.IfExp) -> Expr:
    parts = {k: _wrap(v) if _precedence(v) <= 1 else v for k, v in (("body", node.body), ("test", node.test))}
    return _with(node, **parts)  # a conditional's else may chain: left as it is


def _boolean_parens(node: cst.BooleanOperation) -> Expr:
    p = _PRECEDENCE[type(node.operator)]
    left, right = node.left, node.right
    if _precedence(left) < p:
        left = _wrap(left)
    if _precedence(right) <= p:
        right = _wrap(right)
    return _with(node, left=left, right=right)


def _with(node: cst.CSTNode, **changes: cst.CSTNode) -> cst.CSTNode:
    """``node.with_changes(**changes)``, or ``node`` itself when no field changes (no copy, no validation)."""
    changed = {k: v for k, v in changes.items() if getattr(node, k) is not v}
    return node.with_changes(**changed) if changed else node


_PARENS: dict[type, Callable[..., Expr]] = {
    cst.BinaryOperation: _binary_parens,
    cst.UnaryOperation: _unary_parens,
    cst.Comparison: _comparison_parens,
    cst.IfExp: _ifexp_parens,
    cst.BooleanOperation: _boolean_parens,
}


def parenthesize(node: cst.CSTNode) -> cst.CSTNode:
    """Add the parentheses precedence needs, and no others."""
    return rebuild(node, _parenthesized)


_ATOMS = (cst.Name, cst.Integer, cst.Float, cst.SimpleString)


def code(node: cst.CSTNode) -> str:
    """Source text of a node."""
    if type(node) in _ATOMS and not node.lpar and not node.rpar:  # type: ignore[attr-defined]
        return node.value  # type: ignore[attr-defined]  # what libcst's code generation writes
    return text.code(parenthesize(node))
