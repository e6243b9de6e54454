"""The analysis stages, each on its own: activity, dead-code elimination, what the adjoint records.

Each is a table of specifications over normalized programs (``sct transform
--stage normalize`` prints them): a function, and what the stage must find.
"""

from __future__ import annotations

import re

import libcst as cst
import pytest

from sct import analysis, ir, pipeline, source


def normalized(text: str, wrt: list[str] | None = None) -> pipeline.Transformed:
    file = source.parse(text, "<spec>")
    (fs,) = source.select_functions(file, None)
    return pipeline.transform(fs, wrt, modes=())


# ---- activity: varied (depends on a wrt input) and useful (reaches the result) ----

# (function, wrt, active names, names that must not be active)
ACTIVITY = [
    # the exercise: every intermediate is active; y is an input we do not differentiate
    (
        "def f(x, w, b, y):\n    v = w * x\n    z = v + b\n    yhat = z * z\n    return (yhat - y) ** 2\n",
        ["x", "w"],
        {"x", "w", "v", "z", "yhat"},
        {"b", "y"},
    ),
    # a value that reaches the result but depends on no input is not active
    ("def f(x):\n    c = 2.0 * 3.0\n    return x * c\n", ["x"], {"x"}, {"c"}),
    # a value that depends on the input but never reaches the result is not active
    ("def f(x):\n    unused = x * x\n    return x + 1.0\n", ["x"], {"x"}, {"unused"}),
    # a comparison's result is a flag: never active, though it depends on x
    ("def f(x):\n    if x > 0:\n        y = x\n    else:\n        y = -x\n    return y\n", ["x"], {"x", "y"}, set()),
    # a loop carries activity around its back edge
    ("def f(x, a):\n    y = a\n    for i in range(3):\n        y = y * x\n    return y\n", ["x"], {"x", "y"}, {"a", "i"}),
    # an integer counter is never active
    ("def f(x):\n    n = 0\n    while n < 3:\n        x = x * 2.0\n        n += 1\n    return x\n", ["x"], {"x"}, {"n"}),
]


@pytest.mark.parametrize("text, wrt, active, inactive", ACTIVITY)
def test_activity(text: str, wrt: list[str], active: set[str], inactive: set[str]) -> None:
    result = normalized(text, wrt)
    found = result.activity.active
    assert active <= found, (active - found, result.normalized_source)
    assert not inactive & found, (inactive & found, result.normalized_source)


def test_activity_gives_derivatives_only_to_active_names() -> None:
    # the generated code matches the analysis: no _dot or _bar for an inactive name
    text = "def f(x, w, b, y):\n    v = w * x\n    c = b * 2.0\n    z = v + c\n    return (z - y) ** 2\n"
    file = source.parse(text, "<spec>")
    (fs,) = source.select_functions(file, None)
    out = pipeline.transform(fs, ["x", "w"])
    text_out = out.tangent_source + out.adjoint_source
    for name in ("b", "c", "y"):
        assert not re.search(rf"\b{name}_(dot|bar)\b", text_out), name
    for name in ("x", "w", "v", "z"):
        assert re.search(rf"\b{name}_bar\b", out.adjoint_source), name


# ---- dead-code elimination -------------------------------------------------------------

def _program(text: str) -> list[ir.Stmt]:
    """A straight-line IR body from ``a = b + c`` lines (copies and one operation each)."""
    body: list[ir.Stmt] = []
    for line in text.strip().splitlines():
        target, value = (part.strip() for part in line.split("=", 1))
        node = cst.parse_expression(value)
        body.append(ir.Assign(target, node, None if isinstance(node, cst.Name) else "op", (), ir.Origin(1, line)))
    return body


# (program, names read afterwards, targets kept in order)
PRUNE = [
    ("a = x * 2\nb = a + 1\nc = x * 3", {"b"}, ["a", "b"]),  # c is never read
    ("a = x * 2\na = x * 3\nb = a + 1", {"b"}, ["a", "b"]),  # the first a is overwritten unread
    ("a = x\nb = a\nc = b", set(), []),  # nothing read afterwards: nothing kept
    ("a = x * 2\nb = a * a\nc = a + b", {"c", "a"}, ["a", "b", "c"]),
]


@pytest.mark.parametrize("text, live_out, kept", PRUNE)
def test_prune_straight_line(text: str, live_out: set[str], kept: list[str]) -> None:
    body = analysis.prune(_program(text), live_out)
    assert [s.target for s in body] == kept  # type: ignore[attr-defined]


def test_prune_keeps_a_loop_carried_value() -> None:
    # y is read by the next trip of the loop: kept although nothing after the loop reads t
    loop = ir.For("i", cst.parse_expression("range(3)"), _program("t = y * 2\ny = t + 1"), ir.Origin(1, "for"))
    body = analysis.prune([loop], {"y"})
    assert [s.target for s in body[0].body] == ["t", "y"]  # type: ignore[attr-defined]
    assert analysis.prune([loop], set()) == []  # and a loop whose results nobody reads goes


def test_prune_keeps_a_pop() -> None:
    # a pop restores a value the reverse sweep reads: it is kept even when its target looks dead
    pop = ir.Assign("v", cst.parse_expression("v_stack.pop()"), ir.POP, (), ir.Origin(1, "pop"))
    assert analysis.prune([pop], set()) == [pop]


# ---- what the adjoint records ------------------------------------------------------------

# (function, names pushed per trip in the adjoint, names that must not be pushed)
RECORDED = [
    # straight-line code records nothing at all
    ("def f(x, w):\n    v = w * x\n    return v * v\n", set(), {"v", "x", "w"}),
    # a loop records the value each trip overwrites and a partial reads (y), not the constant w
    ("def f(x, w):\n    y = x\n    for i in range(3):\n        y = y * y + w\n    return y\n", {"y"}, {"w", "x"}),
    # a sum in a loop has constant partials: nothing to record
    ("def f(x, w):\n    y = x\n    for i in range(3):\n        y = y + w\n    return y\n", set(), {"y", "w"}),
]


@pytest.mark.parametrize("text, pushed, not_pushed", RECORDED)
def test_records_only_what_the_reverse_sweep_reads(text: str, pushed: set[str], not_pushed: set[str]) -> None:
    file = source.parse(text, "<spec>")
    (fs,) = source.select_functions(file, None)
    adjoint = pipeline.transform(fs, None, modes=("adjoint",)).adjoint_source
    found = set(re.findall(r"(\w+)_stack\d*\.append\(", adjoint))
    assert found == pushed, adjoint
    assert not found & not_pushed


def test_no_copy_back_in_the_adjoint() -> None:
    # x = x + w * c normalizes to t2 = x + t1; x = t2: its adjoints would read t2_bar = x_bar; x_bar = t2_bar
    text = "def f(x, w):\n    for i in range(3):\n        x = x + w * x\n    return x\n"
    file = source.parse(text, "<spec>")
    (fs,) = source.select_functions(file, None)
    adjoint = pipeline.transform(fs, None, modes=("adjoint",)).adjoint_source
    lines = [line.strip() for line in adjoint.splitlines()]
    for first, second in zip(lines, lines[1:]):
        a = re.fullmatch(r"(\w+) = (\w+)", first)
        b = re.fullmatch(r"(\w+) = (\w+)", second)
        assert not (a and b and a.groups() == b.groups()[::-1]), (first, second)
    assert re.search(r"t\d+_bar = x_bar", adjoint)  # the copy itself is there
