"""Refold: one-use temporaries written back into their reader (before/after pairs)."""

from __future__ import annotations

import black
import pytest

from sct.refold import refold

CASES = [
    (  # the forward sweep of one line becomes the line's own expression
        "def f(X, W1, b1):\n    # line 3: H = abs(X * W1 + b1)\n    t1 = X * W1\n    t2 = t1 + b1\n    H = abs(t2)\n    # adjoints\n    return H\n",
        "def f(X, W1, b1):\n    # line 3: H = abs(X * W1 + b1)\n    H = abs(X * W1 + b1)\n    # adjoints\n    return H\n",
    ),
    (  # parentheses only where precedence needs them
        "def f(a, b, c):\n    # line 2\n    t1 = a + b\n    t2 = c * t1\n    t3 = t2 - c\n    y = -t3\n    # adjoints\n    return y\n",
        "def f(a, b, c):\n    # line 2\n    y = -(c * (a + b) - c)\n    # adjoints\n    return y\n",
    ),
    (  # a - (b - c) keeps its parentheses; a power's operand folds only when black's spacing stays
        "def f(a, b, c):\n    # line 2\n    t1 = b - c\n    t2 = a - t1\n    t3 = a * b\n    t4 = t3**2\n    t5 = a.real\n    t6 = t5**2\n    y = t2 + t4 + t6\n    # adjoints\n    return y\n",
        "def f(a, b, c):\n    # line 2\n    t3 = a * b\n    y = a - (b - c) + t3**2 + a.real**2\n    # adjoints\n    return y\n",
    ),
    (  # read twice, read in another group, the group's last statement, a swap: all stay
        "def f(a, b):\n    # line 2\n    t1 = a * b\n    x = t1 + t1\n    # line 3\n    t2 = a + b\n    # line 4\n    y = t2 * x\n    # line 5\n    t3 = b\n    t4 = a\n    a = t3\n    b = t4\n    # adjoints\n    return y, a, b\n",
        "def f(a, b):\n    # line 2\n    t1 = a * b\n    x = t1 + t1\n    # line 3\n    t2 = a + b\n    # line 4\n    y = t2 * x\n    # line 5\n    t4 = a\n    a = b\n    b = t4\n    # adjoints\n    return y, a, b\n",
    ),
]


@pytest.mark.parametrize("before, after", CASES, ids=["one-line", "precedence", "associativity", "stays"])
def test_refold(before: str, after: str) -> None:
    assert refold(before) == after
    assert black.format_str(after, mode=black.Mode()) == after
    namespace: dict = {}
    exec(before + after.replace("def f(", "def g("), namespace)
    for args in [(1.5, -2.0, 3.25), (0.5, 4.0, -1.0)]:
        n = namespace["f"].__code__.co_argcount
        assert namespace["f"](*args[:n]) == namespace["g"](*args[:n])  # the same numbers


def test_a_line_black_would_split_is_not_made() -> None:
    long = "a_rather_long_name_for_a_value"
    before = f"def f({long}):\n    # line 2\n    t1 = {long} * {long} * {long}\n    y = t1 + {long} * {long}\n    # adjoints\n    return y\n"
    assert refold(before) == before
