"""Calls to the user's functions: each callee is differentiated beside its caller.

Specification (issue 4): a differentiated function may call functions the
user wrote, in its module or in another, and itself. sct emits
``callee_tangent`` / ``callee_adjoint`` (once per pattern of active
arguments) and calls them from the caller's generated code. Every case is
checked in both modes against finite differences and the dot-product identity.
"""

from __future__ import annotations

import importlib
import sys

import pytest
from helpers import FD_STEP, check_derivatives, close, import_path, write_module

import sct
import sct.cli

HELPERS = """
import math


def square_plus(a, b=2.0):
    return a * a + b


def pair(x, y):
    s = x * y
    return s + x, math.sin(s)
"""

CASES = {
    "called twice, keyword and default arguments": (
        HELPERS
        + """
def f(x, y):
    return square_plus(x) + square_plus(y, b=x)
""",
        (0.7, -1.3),
    ),
    "several return values, unpacked": (
        HELPERS
        + """
def f(x, y):
    p, q = pair(x, y)
    return p * q
""",
        (0.4, 1.1),
    ),
    "nested in an expression": (
        HELPERS
        + """
def f(x, y):
    return math.exp(square_plus(x, y) * 0.1) - square_plus(square_plus(y), x) / 4
""",
        (0.3, 0.9),
    ),
    "inside a loop": (
        HELPERS
        + """
def f(x, y):
    s = 0.0
    for i in range(4):
        s = s + square_plus(s * 0.1 + x, y * i)
    return s
""",
        (0.2, 0.5),
    ),
    "inside a while loop with a branch": (
        HELPERS
        + """
def f(x, y):
    s = x
    n = 0
    while n < 5:
        if s > 1.0:
            s = square_plus(s * 0.5, y) * 0.3
        else:
            a, b = pair(s, y)
            s = a + b
        n = n + 1
    return s
""",
        (0.6, 0.8),
    ),
    "the same variable for two parameters": (
        HELPERS
        + """
def f(x, y):
    return square_plus(x, x) * y
""",
        (1.5, -0.5),
    ),
    "a callee calling a callee": (
        HELPERS
        + """
def inner(u, v):
    a, b = pair(u, v)
    return square_plus(a, b)


def f(x, y):
    return inner(x, y) + inner(y, x)
""",
        (0.3, -0.4),
    ),
    "recursion": (
        """
def power(x, n):
    if n == 0:
        return 1.0
    return x * power(x, n - 1)


def f(x, y):
    return power(x, 4) + power(y, 3) * x
""",
        (1.3, 0.7),
    ),
    "mutual recursion through a branch": (
        """
def even_part(x, n):
    if n <= 0:
        return x
    return odd_part(x * 0.5, n - 1) + x


def odd_part(x, n):
    if n <= 0:
        return x * x
    return even_part(x + 1.0, n - 1) * x


def f(x, y):
    return even_part(x, 5) * y
""",
        (0.9, 1.7),
    ),
    "a callee whose arguments are partly inactive": (
        HELPERS
        + """
def f(x, y):
    c = 3.0
    return square_plus(c, x) + square_plus(x, c) + square_plus(c, c)
""",
        (0.8, 0.1),
    ),
}


@pytest.mark.parametrize("source, point", CASES.values(), ids=list(CASES))
def test_calls_in_both_modes(load, source: str, point: tuple) -> None:
    f = load(source)
    check_derivatives(f, point)
    assert f.tangent(*point, *[0.0] * len(point))[0] == pytest.approx(f(*point))


def test_callee_functions_are_emitted_beside_the_caller(load) -> None:
    f = load(CASES["called twice, keyword and default arguments"][0])
    tangent, adjoint = f.tangent_source, f.adjoint_source
    # the call with a default is differentiated for `a` only; the other for both parameters
    assert "t1, t1_dot = square_plus_tangent_wrt_a(x, 2.0, x_dot)" in tangent
    assert "t2, t2_dot = square_plus_tangent(y, x, y_dot, x_dot)" in tangent
    assert "def square_plus_tangent_wrt_a(a, b, a_dot):" in tangent
    assert "def square_plus_tangent(a, b, a_dot, b_dot):" in tangent
    assert "def square_plus_adjoint_wrt_a(a, b, result_bar):" in adjoint
    # the first contribution to an adjoint is assigned, the next one accumulated
    assert "y_bar, x_bar = square_plus_adjoint(y, x, t2_bar)" in adjoint
    assert "x_bar += x_bar_square_plus" in adjoint


def test_recursion_calls_its_own_generated_functions(load) -> None:
    f = load(CASES["recursion"][0], name="power", wrt="x")
    assert "power_tangent(x, t2, n, x_dot)" not in f.tangent_source
    assert "= power_tangent(x, t2, x_dot)" in f.tangent_source
    assert "= power_adjoint(x, t2, t1_bar)" in f.adjoint_source
    for n in (0, 1, 5):
        value, dot = f.tangent(1.1, n, 1.0)
        assert close(dot, n * 1.1 ** (n - 1) if n else 0.0, 1e-12)
        assert close(f.grad(1.1, n), dot, 1e-12)


# ---- several results ---------------------------------------------------------------


def _check_vector_function(f, point: tuple, outputs: int) -> None:
    """Each output's tangent against finite differences; adjoint seeds against the tangents."""
    n = len(point)
    for axis in range(n):
        v = [1.0 if i == axis else 0.0 for i in range(n)]
        values, dots = f.tangent(*point, *v)
        assert len(values) == len(dots) == outputs
        hi = f(*[p + FD_STEP * vi for p, vi in zip(point, v)])
        lo = f(*[p - FD_STEP * vi for p, vi in zip(point, v)])
        for k in range(outputs):
            assert close(dots[k], (hi[k] - lo[k]) / (2 * FD_STEP), 1e-6), (k, axis)
            seed = tuple(1.0 if j == k else 0.0 for j in range(outputs))
            grads = f.adjoint(*point, seed)
            assert close(sum(g * vi for g, vi in zip(grads, v)), dots[k], 1e-12)


def test_a_function_returning_a_tuple(load) -> None:
    f = load(
        """
        import math


        def f(r, theta):
            x = r * math.cos(theta)
            y = r * math.sin(theta)
            return x, y * x
        """
    )
    _check_vector_function(f, (1.5, 0.4), 2)
    values, dots = f.tangent(1.5, 0.4, 1.0, 0.0)
    assert values == f(1.5, 0.4)


def test_a_tuple_returned_from_several_places(load) -> None:
    f = load(
        """
        def f(x, y):
            if x > 0:
                return x * y, x + y
            s = x - y
            return s * s, y
        """
    )
    for point in ((0.5, 2.0), (-0.5, 2.0)):
        _check_vector_function(f, point, 2)


def test_returning_a_callees_tuple(load) -> None:
    f = load(HELPERS + "\n\ndef f(x, y):\n    return pair(y, x)\n")
    _check_vector_function(f, (0.3, 1.2), 2)


# ---- other modules ---------------------------------------------------------------------


OTHER = """
import math as m

SCALE = 3.0


def scaled(a):
    return twice(a) * a * SCALE


def twice(a):
    return m.sin(a) * 2
"""


def test_a_callee_in_another_module(tmp_path, monkeypatch, load) -> None:
    write_module(tmp_path, OTHER, "sct_other_mod")
    monkeypatch.syspath_prepend(str(tmp_path))
    f = load(
        """
        import sct_other_mod
        from sct_other_mod import twice


        def f(x):
            return sct_other_mod.scaled(x) + twice(x * x)
        """
    )
    check_derivatives(f, (0.6,))
    # the callee's module constant and its rules are spelled for the caller's module
    assert "* 3.0" in f.tangent_source and "math.cos" in f.tangent_source


def test_cli_resolves_callees_by_reading_files(tmp_path, monkeypatch, cli) -> None:
    write_module(tmp_path, OTHER, "sct_other_cli")
    main = write_module(
        tmp_path,
        """
        import sct_other_cli


        def local(x):
            return x * x


        def f(x):
            return sct_other_cli.scaled(x) + local(x)
        """,
        "sct_main_cli",
    )
    result = cli("transform", main, "-f", "f")
    assert result.code == 0, result.err
    assert "from sct_other_cli import twice" in result.out
    assert "def local_tangent(" in result.out and "def scaled_adjoint(" in result.out
    assert "sct_main_cli" not in sys.modules and "sct_other_cli" not in sys.modules  # nothing imported
    generated = write_module(tmp_path, result.out, "sct_main_cli_generated")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = import_path(generated)
    x = 0.6
    original = importlib.import_module("sct_main_cli").f
    fd = (original(x + FD_STEP) - original(x - FD_STEP)) / (2 * FD_STEP)
    value, dot = module.f_tangent(x, 1.0)
    assert close(dot, fd, 1e-6)
    assert close(module.f_adjoint(x, 1.0)[0], dot, 1e-12)


# ---- bad input --------------------------------------------------------------------------


def test_a_callee_with_unsupported_syntax_is_reported_in_its_file(tmp_path, monkeypatch, load) -> None:
    path = write_module(
        tmp_path,
        """
        def helper(x):
            values = [x, x]
            return x
        """,
        "sct_bad_helper",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    f = load("from sct_bad_helper import helper\n\n\ndef f(x):\n    return helper(x) * 2\n")
    with pytest.raises(sct.SctError) as info:
        f.tangent_source
    assert info.value.location.filename == str(path)
    assert info.value.location.line == 2
    assert "a tuple or list held in one variable" in info.value.message


def test_a_function_without_source_points_to_primitive(load) -> None:
    f = load("import math\n\n\ndef f(x):\n    return math.gamma(x)\n")
    with pytest.raises(sct.SctError) as info:
        f.adjoint
    text = info.value.render()
    assert "`math.gamma` has no derivative rule and no Python source" in text
    assert "gamma = sct.primitive(math.gamma)" in text and "@gamma.partials" in text


@pytest.mark.parametrize(
    "call, message",
    [
        ("square_plus(x, y, x)", "takes 2 argument(s) but is given 3"),
        ("square_plus(x, c=y)", "unknown keyword argument `c`"),
        ("square_plus(b=y)", "called without its argument `a`"),
        ("pair(x, y) * 2", "returns 2 values; they must be unpacked"),
    ],
)
def test_bad_calls_are_located(load, call: str, message: str) -> None:
    f = load(HELPERS + f"\n\ndef f(x, y):\n    return {call}\n")
    with pytest.raises(sct.SctError) as info:
        f.tangent
    assert message in info.value.message
    assert info.value.location.source_line.strip() == f"return {call}"
