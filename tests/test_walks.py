"""The plain walks and caches the transform stages use instead of libcst's machinery.

Each gives what libcst's own (slower) way gave: a libcst transformer, code
generation, ``isinstance`` on libcst's ABCs, parsing a template anew. The
golden files check the output of whole programs; these pin the pieces,
including the cases the golden files do not reach.
"""

from __future__ import annotations

import libcst as cst
import pytest

from sct import expr as E
from sct import kinks, rules
from sct.lower import rename
from sct.normalize_arrays import _bare


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


@pytest.mark.parametrize("text", ["x", "(x)", "2", "((2.5))", "'s'", "a * (b + c)", "-(x ** 2)", "f(x, y=1)[0]"])
def test_code_is_libcsts_code_generation(text: str) -> None:
    node = cst.parse_expression(text)
    assert E.code(node) == _code(E.parenthesize(node))


def test_is_node_agrees_with_isinstance() -> None:
    values = [cst.Name("x"), cst.Integer("1"), cst.Add(), cst.SimpleWhitespace(" "), "x", None, (), [], cst.MaybeSentinel.DEFAULT, 1]
    assert [E.is_node(v) for v in values] == [isinstance(v, cst.CSTNode) for v in values]


def test_call_builds_the_nodes_parsing_gives() -> None:
    for func in ("range", "t1_stack.pop", "sct.arrays.copy_of"):
        built = E.call(func, cst.Name("x"))
        assert built.deep_equals(cst.Call(cst.parse_expression(func), [cst.Arg(cst.Name("x"))]))


def test_rename_reaches_every_read_but_an_attributes_name() -> None:
    node = cst.parse_expression("x.append(x) + np.sum(x[i], axis=k) * append")
    renamed = rename(node, {"x": "y", "append": "push", "i": "j", "k": "m", "np": "numpy"})  # type: ignore[arg-type]
    assert _code(renamed) == "y.append(y) + numpy.sum(y[j], axis=m) * push"
    assert rename(node, {"z": "w"}) is node  # nothing to rename: the same node, not a copy  # type: ignore[arg-type]


def test_bare_strips_every_parenthesis_but_a_tuples() -> None:
    node = cst.parse_expression("f((a), ((b + c)), (1, 2))")
    assert _code(_bare(node)) == "f(a, b + c, (1, 2))"


def test_parenthesize_keeps_a_node_that_needs_nothing() -> None:
    node = E.mul(cst.Name("a"), E.add(cst.Name("b"), cst.Name("c")))
    assert E.parenthesize(node.left) is node.left  # type: ignore[attr-defined]
    plain = E.mul(cst.Name("a"), cst.Name("b"))
    assert E.parenthesize(plain) is plain


def test_a_partial_is_parsed_once_and_its_convention_kept_apart() -> None:
    relu = rules.lookup("sct.relu", 1)
    assert relu is not None
    z, out = cst.Name("z"), cst.Name("out")
    assert relu.partial(0, [z], out) is relu.partial(0, [z], out)  # one parse per text
    written = []
    for h0 in (1, 0, 0.0, 0.5):  # 0 and 0.0 are equal, and written differently
        with kinks.convention(h0):
            written.append(E.code(relu.partial(0, [z], out)))  # type: ignore[arg-type]
    assert written == ["sct.heaviside(z)", "sct.heaviside(z, 0)", "sct.heaviside(z, 0.0)", "sct.heaviside(z, 0.5)"]


def test_default_keywords_are_dropped_from_a_filled_template() -> None:
    total = rules.lookup("numpy.sum", 1)
    assert total is not None
    d, out = cst.Name("x_dot"), cst.Name("s")
    assert E.code(total.jvp(0, [cst.Name("x")], out, {}, d)) == "numpy.sum(x_dot)"  # type: ignore[arg-type]
    axis = {"axis": cst.Integer("0")}
    assert E.code(total.jvp(0, [cst.Name("x")], out, axis, d)) == "numpy.sum(x_dot, axis=0)"  # type: ignore[arg-type]
