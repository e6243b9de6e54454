"""Text: an expression's source, as libcst's code generation writes it, without running it.

Contract: :func:`code` returns ``cst.Module([]).code_for_node(node)`` for every
node (tests/test_text.py checks every expression of a corpus), writing the
expression node types generated code is made of directly, and leaving any
other type, and whitespace that holds a line break, to libcst. Why: libcst's
code generation costs ~20 µs an expression (it tracks every token), and emit,
the rules and the adjoint ask for the text of every expression they write.
"""

from __future__ import annotations

from typing import Callable

import libcst as cst


class _Unknown(Exception):
    """A node or whitespace this writer leaves to libcst."""


def code(node: cst.CSTNode) -> str:
    """The source text of ``node``."""
    out: list[str] = []
    try:
        _write(node, out)
    except _Unknown:
        return cst.Module([]).code_for_node(node)
    return "".join(out)


def _write(node: cst.CSTNode, out: list[str]) -> None:
    write = _WRITERS.get(type(node))
    if write is None:
        raise _Unknown
    for paren in node.lpar:  # type: ignore[attr-defined]
        out.append("(")
        _space(paren.whitespace_after, out)
    write(node, out)
    for paren in node.rpar:  # type: ignore[attr-defined]
        _space(paren.whitespace_before, out)
        out.append(")")


def _space(whitespace: cst.CSTNode, out: list[str]) -> None:
    if type(whitespace) is not cst.SimpleWhitespace:
        raise _Unknown  # a line break inside brackets
    out.append(whitespace.value)  # type: ignore[attr-defined]


def _op(op: cst.CSTNode, out: list[str]) -> None:
    """A one- or two-token operator (``+``, ``and``, ``not in``, ``,``, ``=``) with its whitespace."""
    _space(op.whitespace_before, out)  # type: ignore[attr-defined]
    if isinstance(op, (cst.NotIn, cst.IsNot)):
        first, second = op._get_tokens()
        out.append(first)
        _space(op.whitespace_between, out)
        out.append(second)
    else:
        out.append(op._get_token())  # type: ignore[attr-defined]
    _space(op.whitespace_after, out)  # type: ignore[attr-defined]


def _comma(comma: object, default: str | None, out: list[str]) -> None:
    if comma is cst.MaybeSentinel.DEFAULT:
        if default is not None:
            out.append(default)
    else:
        _op(comma, out)  # type: ignore[arg-type]


def _atom(node: cst.CSTNode, out: list[str]) -> None:
    out.append(node.value)  # type: ignore[attr-defined]


def _binary(node: cst.CSTNode, out: list[str]) -> None:
    _write(node.left, out)  # type: ignore[attr-defined]
    _op(node.operator, out)  # type: ignore[attr-defined]
    _write(node.right, out)  # type: ignore[attr-defined]


def _unary(node: cst.UnaryOperation, out: list[str]) -> None:
    out.append(node.operator._get_token())  # type: ignore[attr-defined]
    _space(node.operator.whitespace_after, out)  # type: ignore[attr-defined]
    _write(node.expression, out)


def _comparison(node: cst.Comparison, out: list[str]) -> None:
    _write(node.left, out)
    for target in node.comparisons:
        _op(target.operator, out)
        _write(target.comparator, out)


def _attribute(node: cst.Attribute, out: list[str]) -> None:
    _write(node.value, out)
    _op(node.dot, out)
    _write(node.attr, out)


def _call(node: cst.Call, out: list[str]) -> None:
    _write(node.func, out)
    _space(node.whitespace_after_func, out)
    out.append("(")
    _space(node.whitespace_before_args, out)
    last = len(node.args) - 1
    for i, arg in enumerate(node.args):
        out.append(arg.star)
        _space(arg.whitespace_after_star, out)
        if arg.keyword is not None:
            _write(arg.keyword, out)
            if arg.equal is cst.MaybeSentinel.DEFAULT:
                out.append(" = ")
        if isinstance(arg.equal, cst.AssignEqual):
            _op(arg.equal, out)
        _write(arg.value, out)
        _comma(arg.comma, ", " if i != last else None, out)
        _space(arg.whitespace_after_arg, out)
    out.append(")")


def _subscript(node: cst.Subscript, out: list[str]) -> None:
    _write(node.value, out)
    _space(node.whitespace_after_value, out)
    out.append("[")
    _space(node.lbracket.whitespace_after, out)
    last = len(node.slice) - 1
    for i, element in enumerate(node.slice):
        part = element.slice
        if type(part) is cst.Index:
            if part.star is not None or part.whitespace_after_star is not None:
                raise _Unknown
            _write(part.value, out)
        elif type(part) is cst.Slice:
            if part.lower is not None:
                _write(part.lower, out)
            _op(part.first_colon, out)
            if part.upper is not None:
                _write(part.upper, out)
            if part.second_colon is cst.MaybeSentinel.DEFAULT:
                if part.step is not None:
                    out.append(":")
            else:
                _op(part.second_colon, out)
            if part.step is not None:
                _write(part.step, out)
        else:
            raise _Unknown
        _comma(element.comma, ", " if i != last else None, out)
    _space(node.rbracket.whitespace_before, out)
    out.append("]")


def _elements(elements: tuple[cst.BaseElement, ...] | list[cst.BaseElement], single: str, out: list[str]) -> None:
    last = len(elements) - 1
    for i, element in enumerate(elements):
        if type(element) is not cst.Element:
            raise _Unknown  # a starred element
        _write(element.value, out)
        _comma(element.comma, single if last == 0 else (", " if i != last else None), out)


def _tuple(node: cst.Tuple, out: list[str]) -> None:
    _elements(node.elements, ",", out)  # a one-element tuple's own comma: "(a,)"


def _list(node: cst.List, out: list[str]) -> None:
    out.append("[")
    _space(node.lbracket.whitespace_after, out)
    _elements(node.elements, None, out)  # a one-element list has no comma of its own
    _space(node.rbracket.whitespace_before, out)
    out.append("]")


def _if_exp(node: cst.IfExp, out: list[str]) -> None:
    _write(node.body, out)
    _space(node.whitespace_before_if, out)
    out.append("if")
    _space(node.whitespace_after_if, out)
    _write(node.test, out)
    _space(node.whitespace_before_else, out)
    out.append("else")
    _space(node.whitespace_after_else, out)
    _write(node.orelse, out)


_WRITERS: dict[type, Callable[..., None]] = {
    cst.Name: _atom,
    cst.Integer: _atom,
    cst.Float: _atom,
    cst.Imaginary: _atom,
    cst.SimpleString: _atom,
    cst.BinaryOperation: _binary,
    cst.BooleanOperation: _binary,
    cst.UnaryOperation: _unary,
    cst.Comparison: _comparison,
    cst.Attribute: _attribute,
    cst.Call: _call,
    cst.Subscript: _subscript,
    cst.Tuple: _tuple,
    cst.List: _list,
    cst.IfExp: _if_exp,
}
