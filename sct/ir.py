"""IR: the normalized program, one operation per statement.

Contract: a :class:`Function` is the user's function in three-address form,
the exercise's own shape (``v = w * x``): every :class:`Assign` computes one
operation on *atoms* (names and literals) or copies an atom. Control flow
keeps its structure (:class:`If`, :class:`For`, :class:`While`). Every
statement remembers its :class:`Origin`, the line of the user's file it came
from, which becomes the provenance comment of generated code.

Expressions are libcst nodes, so any stage's program prints as Python
(:func:`to_source`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Union

import libcst as cst

from . import expr as E
from .walk import children


INACTIVE = "inactive"  # the op of a comparison or boolean: evaluated, never differentiated
STACK = "stack"  # ``s = []``: a new list used as a stack (``s.append(v)``, ``v = s.pop()``)
POP = "pop"  # ``v = s.pop()``: the value last pushed


@dataclass(frozen=True)
class Origin:
    """Where a statement came from: a line of the user's file and its text."""

    line: int
    text: str

    def comment(self) -> str:
        if self.line == 0:  # a note of sct's own, not a line of the user's file
            return f"# {self.text}"
        return f"# line {self.line}: {self.text}"


@dataclass
class Assign:
    """``target = value``: one operation ``op`` on ``args``, or a copy (op None)."""

    target: str
    value: E.Expr
    op: str | None
    args: tuple[E.Expr, ...]
    origin: Origin
    # the rule's keyword parameters that are never differentiated (``axis=0``), by name
    statics: tuple[tuple[str, E.Expr], ...] = ()

    @property
    def reads(self) -> list[str]:
        return names_in(self.value)


@dataclass
class Call:
    """``target = func(args)``: a call of a function sct differentiates as a whole.

    In a normalized program, ``func`` is a user's function (``callee`` says
    which, and how its arguments bind); ``target`` is a name, or a tuple of
    names when the callee returns several values. Generated code uses the same
    node for the calls it makes (``y, y_dot = g_tangent(x, x_dot)``), whose
    targets may nest (``(a, b), (a_dot, b_dot) = ...``).
    """

    target: E.Expr
    func: E.Expr
    args: tuple[E.Expr, ...]
    origin: Origin
    callee: Any = None

    @property
    def targets(self) -> list[str]:
        return target_names(self.target)

    @property
    def reads(self) -> list[str]:
        return [n for a in self.args for n in names_in(a)]

    @property
    def value(self) -> E.Expr:
        if self.func is None:
            return self.args[0]
        return cst.Call(self.func, [cst.Arg(a) for a in self.args])


def target_names(target: E.Expr) -> list[str]:
    """The names a (possibly nested) tuple target binds, in order."""
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in target_names(e.value)]
    raise TypeError(f"not a target: {type(target).__name__}")


def tuple_target(names: list[str], force: bool = False) -> E.Expr:
    """``a`` for one name (``a,`` with ``force``), ``a, b`` for several."""
    if len(names) == 1 and not force:
        return cst.Name(names[0])
    if len(names) == 1:
        return cst.Tuple([cst.Element(cst.Name(names[0]), comma=cst.Comma())])
    return cst.Tuple([cst.Element(cst.Name(n)) for n in names])


def retarget(target: E.Expr, names: list[str]) -> E.Expr:
    """A target of the same shape as ``target`` (a name or tuple of names) binding ``names``."""
    if isinstance(target, cst.Name):
        return cst.Name(names[0])
    return tuple_target(names, force=True)


@dataclass
class SetItem:
    """``target[index] = value``: a write into an array (``y[i] += v`` is a read, an add, this).

    ``index`` is the subscript as written (``i``, ``1:3``, ``:, j``); ``value`` an atom.
    """

    target: str
    index: tuple[cst.SubscriptElement, ...]
    value: E.Expr
    origin: Origin

    @property
    def reads(self) -> list[str]:
        return [self.target] + names_in(self.value) + [n for e in self.index for n in names_in(e)]

    def at(self, array: E.Expr) -> cst.Subscript:
        """``array[index]``: the same place in another array (``y_bar[i]``)."""
        return cst.Subscript(array, list(self.index))


@dataclass
class AugAssign:
    """``target += value``: the chain rule's accumulation into an adjoint."""

    target: str
    value: E.Expr
    origin: Origin

    @property
    def reads(self) -> list[str]:
        return [self.target] + names_in(self.value)


@dataclass
class ExprStmt:
    """An expression evaluated for its effect (``stack.append(x)``)."""

    value: E.Expr
    origin: Origin


def pushed(stmt: "Stmt") -> tuple[str, E.Expr] | None:
    """(stack, value) for ``stack.append(value)``; None for any other statement."""
    if isinstance(stmt, ExprStmt) and isinstance(stmt.value, cst.Call):
        func = stmt.value.func
        if isinstance(func, cst.Attribute) and func.attr.value == "append" and isinstance(func.value, cst.Name):
            return func.value.value, stmt.value.args[0].value
    return None


@dataclass
class Comment:
    """A note of sct's own in generated code (``# reverse sweep``)."""

    text: str
    origin: Origin = Origin(0, "")


@dataclass
class Return:
    value: E.Expr
    origin: Origin


@dataclass
class If:
    test: E.Expr
    body: list["Stmt"]
    orelse: list["Stmt"]
    origin: Origin


@dataclass
class For:
    target: str
    iter: E.Expr
    body: list["Stmt"]
    origin: Origin


@dataclass
class While:
    test: E.Expr
    body: list["Stmt"]
    origin: Origin


@dataclass
class Break:
    origin: Origin


@dataclass
class Continue:
    origin: Origin


Stmt = Union[Assign, Call, SetItem, AugAssign, ExprStmt, Comment, Return, If, For, While, Break, Continue]


@dataclass
class Function:
    """A normalized function: name, parameters, body."""

    name: str
    params: list[str]
    body: list[Stmt]
    filename: str = ""
    line: int = 0
    locals: set[str] = field(default_factory=set)
    arrays: bool = False  # uses NumPy: rules take their array forms, adjoints are summed back to shapes


def names_in(node: cst.CSTNode) -> list[str]:
    """Names read by an expression, without attribute names or keywords.

    In source order, but for a few node types (:func:`sct.walk.children`).

    A plain walk (no visitor): this runs for every statement of every stage.
    """
    found: list[str] = []
    stack = [node]
    while stack:
        n = stack.pop()
        kind = type(n)  # no ABC isinstance here (see sct.expr.is_node)
        if kind is cst.Name:
            found.append(n.value)  # type: ignore[attr-defined]
        elif kind is cst.Attribute or kind is cst.Arg:
            stack.append(n.value)  # type: ignore[attr-defined]  # `np.exp`: exp is not a name; nor is a keyword
        elif kind is cst.BinaryOperation:  # the commonest nodes, without reading all their fields
            stack += (n.right, n.left)  # type: ignore[attr-defined]
        elif kind is cst.UnaryOperation:
            stack.append(n.expression)  # type: ignore[attr-defined]
        elif kind is cst.Call:
            stack += (*reversed(n.args), n.func)  # type: ignore[attr-defined]
        elif kind not in _NO_NAMES:
            stack.extend(reversed(children(n)))
    return found


# nodes that hold no name, skipped without looking inside: literals, whitespace, parentheses, commas, operators
_NO_NAMES = frozenset({
    cst.Integer, cst.Float, cst.SimpleString, cst.SimpleWhitespace, cst.ParenthesizedWhitespace, cst.LeftParen, cst.RightParen,
    cst.Comma, cst.Add, cst.Subtract, cst.Multiply, cst.Divide, cst.FloorDivide, cst.Modulo, cst.Power, cst.MatrixMultiply,
    cst.Minus, cst.Plus, cst.Not, cst.Equal, cst.NotEqual, cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual,
})


def walk(body: list[Stmt]) -> Iterator[Stmt]:
    """Every statement, nested ones included, in program order."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, If):
            yield from walk(stmt.body)
            yield from walk(stmt.orelse)
        elif isinstance(stmt, (For, While)):
            yield from walk(stmt.body)


def each(body: list[Stmt], change: Callable[[Stmt], Stmt]) -> list[Stmt]:
    """``change`` applied to every simple statement, nested ones included."""
    out: list[Stmt] = []
    for stmt in body:
        if isinstance(stmt, If):
            stmt = If(stmt.test, each(stmt.body, change), each(stmt.orelse, change), stmt.origin)
        elif isinstance(stmt, For):
            stmt = For(stmt.target, stmt.iter, each(stmt.body, change), stmt.origin)
        elif isinstance(stmt, While):
            stmt = While(stmt.test, each(stmt.body, change), stmt.origin)
        else:
            stmt = change(stmt)
        out.append(stmt)
    return out


def assigned(body: list[Stmt]) -> set[str]:
    out: set[str] = set()
    for stmt in walk(body):
        if isinstance(stmt, (Assign, AugAssign)):
            out.add(stmt.target)
        elif isinstance(stmt, Call):
            out.update(stmt.targets)
        elif isinstance(stmt, For):
            out.add(stmt.target)
    return out


# ---- printing -------------------------------------------------------------


class _Unqualify(cst.CSTTransformer):
    """``helpers.g`` -> ``g`` for the user's functions, which normalize names by qualified name."""

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        from .calls import REFERENCES

        dotted = cst.Module([]).code_for_node(original)
        return cst.Name(REFERENCES[dotted][1]) if dotted in REFERENCES else updated


def _show(node: E.Expr) -> str:
    return E.code(node.visit(_Unqualify()))  # type: ignore[arg-type]


def _line(text: str, indent: int) -> str:
    return "    " * indent + text


def _lines(body: list[Stmt], indent: int, last: list[Origin | None]) -> list[str]:
    out: list[str] = []
    for stmt in body:
        if isinstance(stmt, Comment):
            out.append(_line(f"# {stmt.text}", indent))
            last[0] = None
            continue
        if stmt.origin != last[0]:
            if stmt.origin.line or stmt.origin.text:
                out.append(_line(stmt.origin.comment(), indent))
            last[0] = stmt.origin
        if isinstance(stmt, Assign):
            out.append(_line(f"{stmt.target} = {_show(stmt.value)}", indent))
        elif isinstance(stmt, Call):
            out.append(_line(f"{_show(stmt.target)} = {_show(stmt.value)}", indent))
        elif isinstance(stmt, SetItem):
            out.append(_line(f"{_show(stmt.at(cst.Name(stmt.target)))} = {_show(stmt.value)}", indent))
        elif isinstance(stmt, AugAssign):
            out.append(_line(f"{stmt.target} += {_show(stmt.value)}", indent))
        elif isinstance(stmt, ExprStmt):
            out.append(_line(_show(stmt.value), indent))
        elif isinstance(stmt, Return):
            out.append(_line(f"return {_show(stmt.value)}", indent))
        elif isinstance(stmt, If):
            out.append(_line(f"if {_show(stmt.test)}:", indent))
            out.extend(_lines(stmt.body, indent + 1, last) or [_line("pass", indent + 1)])
            if stmt.orelse:
                out.append(_line("else:", indent))
                out.extend(_lines(stmt.orelse, indent + 1, last))
        elif isinstance(stmt, For):
            out.append(_line(f"for {stmt.target} in {_show(stmt.iter)}:", indent))
            out.extend(_lines(stmt.body, indent + 1, last) or [_line("pass", indent + 1)])
        elif isinstance(stmt, While):
            out.append(_line(f"while {_show(stmt.test)}:", indent))
            out.extend(_lines(stmt.body, indent + 1, last) or [_line("pass", indent + 1)])
        elif isinstance(stmt, Break):
            out.append(_line("break", indent))
        elif isinstance(stmt, Continue):
            out.append(_line("continue", indent))
    return out


def to_source(fn: Function) -> str:
    """The normalized program as Python, with provenance comments."""
    head = f"def {fn.name}({', '.join(fn.params)}):"
    return "\n".join([head] + (_lines(fn.body, 1, [None]) or ["    pass"])) + "\n"
