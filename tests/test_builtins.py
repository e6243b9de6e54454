"""min, max and sum: written as chains of the two-argument rules.

``max(a, b, c)`` is differentiated as ``max(max(a, b), c)`` and
``sum((a, b, c))`` as ``a + b + c``; a tie gives the derivative to the
first argument, as relu'(0) = heaviside(0) = 1 does.
"""

from __future__ import annotations

import pytest

import sct
from tests.helpers import check_derivatives, load_function

CASES = [
    ("max-of-three", "def f(x, y, z):\n    return max(x, y * 2, z) * x\n", [(0.3, 0.5, 0.2), (0.2, 0.1, 0.9), (0.9, 0.1, 0.2)]),
    ("min-of-tuple", "def f(x, y):\n    return min((x, y * y)) + x\n", [(0.3, 0.7), (0.3, 0.2)]),
    ("max-of-list", "def f(x, y):\n    return max([x, y, 0.5]) * y\n", [(0.3, 0.7), (0.9, 0.2), (0.1, 0.2)]),
    ("min-of-four", "def f(a, b, c, d):\n    return min(a, b, c, d)\n", [(0.3, 0.2, 0.5, 0.9), (0.9, 0.8, 0.7, 0.1)]),
    ("sum-of-tuple", "def f(x, y):\n    return sum((x, x * y, y ** 2))\n", [(0.3, 0.7)]),
    ("sum-of-list", "def f(x, y):\n    s = sum([x * x, y])\n    return s * y\n", [(0.3, 0.7)]),
    ("sum-of-one", "def f(x):\n    return sum((x * x,))\n", [(0.3,)]),
]


@pytest.mark.parametrize(
    "source, point",
    [pytest.param(src, p, id=f"{name}-{i}") for name, src, points in CASES for i, p in enumerate(points)],
)
def test_chained_builtins(tmp_path, source, point) -> None:
    d = load_function(tmp_path, source, "f")
    check_derivatives(d, point)


@pytest.mark.parametrize(
    "source, point, expected",
    [
        ("def f(x, y):\n    return max(x, y)\n", (1.0, 1.0), (1.0, 0.0)),
        ("def f(x, y):\n    return min(x, y)\n", (1.0, 1.0), (1.0, 0.0)),
        ("def f(x, y, z):\n    return max(x, y, z)\n", (2.0, 2.0, 2.0), (1.0, 0.0, 0.0)),
        ("def f(x, y, z):\n    return max(x, y, z)\n", (1.0, 2.0, 2.0), (0.0, 1.0, 0.0)),
    ],
)
def test_a_tie_gives_the_derivative_to_the_first(tmp_path, source, point, expected) -> None:
    d = load_function(tmp_path, source, "f")
    assert d.grad(*point) == expected
    for i, e in enumerate(expected):
        dots = [0.0] * len(point)
        dots[i] = 1.0
        assert d.tangent(*point, *dots)[1] == e


def test_sum_needs_a_literal_sequence(tmp_path) -> None:
    d = load_function(tmp_path, "def f(x):\n    s = x\n    return sum(s)\n", "f")
    with pytest.raises(sct.errors.UnsupportedError, match="sum") as info:
        d.grad(1.0)
    assert info.value.location.line == 3
