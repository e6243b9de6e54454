"""Higher order: generated code differentiated again; jacobian, hessian, hvp, value_and_grad.

Specification (issue 4): the generated tangent and adjoint are inside the
subset sct differentiates, so they can be transformed again.
``sct.hessian`` (forward over reverse) and ``sct.hvp`` are checked against
central finite differences of the gradient; ``sct.jacobian`` in both modes
against finite differences of the function.
"""

from __future__ import annotations

import pytest
from helpers import FD_STEP, SAMPLES, close, import_path

import sct

FUNCTIONS = {
    "polynomial": (
        """
        def f(x, y):
            return x * x * y + 3 * y ** 3 - x / y
        """,
        (0.7, 1.3),
    ),
    "exercise": (
        """
        from sct import mse, relu


        def f(x, w, b, y):
            v = w * x
            z = v + b
            h = relu(z)
            yhat = h + z
            return mse(yhat, y)
        """,
        (5.0, 2.0, -3.0, 7.0),
    ),
    "loop and branch": (
        """
        import math


        def f(x, a):
            s = x
            for i in range(6):
                if s > 1.0:
                    s = math.sin(s) * a + s * 0.25
                else:
                    s = s * s + a * 0.1
            return s * x
        """,
        (0.9, 1.4),
    ),
    "while loop with break": (
        """
        import math


        def f(x, a):
            s = x
            n = 0
            while True:
                s = s * 0.5 + math.exp(-s * a)
                n = n + 1
                if n >= 7:
                    break
            return s
        """,
        (0.8, 0.6),
    ),
    "calls, a primitive and recursion": (
        """
        import math

        import sct


        @sct.primitive
        def softplus(x):
            return math.log1p(math.exp(x))


        @softplus.partials
        def softplus_partials(x):
            return 1 / (1 + math.exp(-x))


        def power(x, n):
            if n == 0:
                return 1.0
            return x * power(x, n - 1)


        def scaled(a, b=2.0):
            return a * b + softplus(a * a)


        def f(x, y):
            s = scaled(x) + scaled(y, b=x)
            for i in range(3):
                s = s * 0.5 + softplus(s * y)
            return s * x + power(y, 3)
        """,
        (0.7, 1.3),
    ),
}


def _fd_hessian(d: sct.Differentiated, point: tuple) -> list[list[float]]:
    """Central differences of the gradient (itself checked elsewhere against the function)."""
    n = len(point)
    columns = []
    for j in range(n):
        hi = list(point)
        lo = list(point)
        hi[j] += FD_STEP
        lo[j] -= FD_STEP
        g_hi, g_lo = d.grad(*hi), d.grad(*lo)
        columns.append([(a - b) / (2 * FD_STEP) for a, b in zip(g_hi, g_lo)])
    return [[columns[j][i] for j in range(n)] for i in range(n)]


@pytest.mark.parametrize("source, point", FUNCTIONS.values(), ids=list(FUNCTIONS))
def test_hessian_against_differences_of_the_gradient(load, source: str, point: tuple) -> None:
    f = load(source)
    hessian = sct.hessian(f.fn)(*point)
    expected = _fd_hessian(f, point)
    for i, row in enumerate(hessian):
        for j, value in enumerate(row):
            assert close(value, expected[i][j], 1e-5), (i, j, value, expected[i][j])
            assert close(value, hessian[j][i], 1e-9)  # symmetric


@pytest.mark.parametrize("source, point", FUNCTIONS.values(), ids=list(FUNCTIONS))
def test_hvp_is_the_hessian_times_v(load, source: str, point: tuple) -> None:
    f = load(source)
    v = [0.5 - 0.3 * i for i in range(len(point))]
    hessian = sct.hessian(f.fn)(*point)
    product = sct.hvp(f.fn)(*point, v)
    for i, row in enumerate(hessian):
        assert close(product[i], sum(h * vj for h, vj in zip(row, v)), 1e-9)


def test_the_exercise_hessian_is_exact(load) -> None:
    f = load(FUNCTIONS["exercise"][0])
    # J = (2(wx + b) - y)^2 for z > 0: d2J/dw2 = 8 x^2, d2J/dx dw = 8 w x + 4 (2(wx+b) - y), ...
    hessian = sct.hessian(f.fn, wrt="x,w")(5.0, 2.0, -3.0, 7.0)
    assert hessian == ((32.0, 108.0), (108.0, 200.0))


def test_hessian_of_one_sample_per_file() -> None:
    module = import_path(SAMPLES / "projectile.py")
    fn = module.projectile_range
    fn = fn.fn if isinstance(fn, sct.Differentiated) else fn
    d = sct.differentiate(fn)
    point = (20.0, 0.6, 9.81)
    hessian = sct.hessian(fn)(*point)
    expected = _fd_hessian(d, point)
    assert all(close(hessian[i][j], expected[i][j], 1e-5) for i in range(3) for j in range(3))


# ---- generated code, differentiated again ----------------------------------------------


def test_tangent_of_the_tangent(load) -> None:
    f = load(FUNCTIONS["loop and branch"][0])
    point = (0.9, 1.4)
    # d/dx of (the tangent along x): the second derivative d2f/dx2
    tt = sct.differentiate(f.tangent, wrt=["x"])
    second = tt.tangent(*point, 1.0, 0.0, 1.0)[1][1]
    expected = _fd_hessian(f, point)[0][0]
    assert close(second, expected, 1e-5)


def test_adjoint_of_the_tangent(load) -> None:
    f = load(FUNCTIONS["loop and branch"][0])
    point = (0.9, 1.4)
    # reverse over forward: the gradient of (df/dx) is the Hessian's first row
    ta = sct.differentiate(f.tangent, wrt=["x", "a"])
    grads = ta.adjoint(*point, 1.0, 0.0, (0.0, 1.0))
    expected = _fd_hessian(f, point)[0]
    assert close(grads[0], expected[0], 1e-5) and close(grads[1], expected[1], 1e-5)


def test_adjoint_of_a_straight_line_adjoint(load) -> None:
    f = load(FUNCTIONS["polynomial"][0])
    aa = sct.differentiate(f.adjoint, wrt=["x", "y"])
    point = (0.7, 1.3)
    # reverse over reverse: the gradient of df/dy (the adjoint's second output)
    grads = aa.adjoint(*point, 1.0, (0.0, 1.0))
    expected = _fd_hessian(f, point)[1]
    assert close(grads[0], expected[0], 1e-5) and close(grads[1], expected[1], 1e-5)


@pytest.mark.parametrize("name", ["loop and branch", "while loop with break", "calls, a primitive and recursion"])
def test_adjoint_of_an_adjoint_that_records_in_loops(load, name: str) -> None:
    source, point = FUNCTIONS[name]
    f = load(source)
    # reverse over reverse: the recorded stacks get adjoint stacks, popped where values were pushed
    aa = sct.differentiate(f.adjoint, wrt=list(f.wrt))
    expected = sct.hessian(f.fn)(*point)
    for i in range(len(point)):
        seed = tuple(1.0 if j == i else 0.0 for j in range(len(point)))
        row = aa.adjoint(*point, 1.0, seed)[: len(point)]
        assert all(close(a, b, 1e-9) for a, b in zip(row, expected[i])), (i, row, expected[i])


TUPLES = """
import math


def pair(x, y):
    s = x * y
    return s + x, math.sin(s)


def f(x, y):
    p, q = pair(x * y, y)
    return p * q + x


def g(x, y):
    a, b = pair(x, y)
    return b, a * 2


def h(p, w):
    a, b = p
    return a * w + b * b
"""


def test_hessian_through_a_callee_returning_a_tuple(load) -> None:
    f = load(TUPLES)
    point = (0.7, 1.3)
    hessian = sct.hessian(f.fn)(*point)
    expected = _fd_hessian(f, point)
    assert all(close(hessian[i][j], expected[i][j], 1e-5) for i in range(2) for j in range(2))


def test_the_adjoint_of_a_tuple_function_differentiated_in_forward_mode(load) -> None:
    g = load(TUPLES, name="g")
    point, seed = (0.7, 1.3), (1.0, 0.5)
    again = sct.differentiate(g.adjoint, wrt=["x", "y"])
    grads, dots = again.tangent(*point, seed, 1.0, 0.0)
    assert grads == g.adjoint(*point, seed)
    hi = g.adjoint(point[0] + FD_STEP, point[1], seed)
    lo = g.adjoint(point[0] - FD_STEP, point[1], seed)
    assert all(close(d, (a - b) / (2 * FD_STEP), 1e-6) for d, a, b in zip(dots, hi, lo))


def test_a_tuple_parameter(load) -> None:
    h = load(TUPLES, name="h", wrt="p,w")
    value, dot = h.tangent((0.5, 2.0), 3.0, (1.0, 0.0), 0.0)
    assert (value, dot) == (5.5, 3.0)  # a * w + b * b, d/da = w
    assert h.adjoint((0.5, 2.0), 3.0, 1.0) == ((3.0, 4.0), 0.5)  # (w, 2b), a


def test_the_adjoint_of_a_tuple_function_differentiated_in_reverse_mode(load) -> None:
    g = load(TUPLES, name="g")
    point, seed = (0.7, 1.3), (1.0, 0.5)
    again = sct.differentiate(g.adjoint, wrt=["x", "y", "result_bar"])
    # the adjoint is linear in its seed: d(<grad, e_x>)/d seed = the Jacobian's column x
    grads = again.adjoint(*point, seed, (1.0, 0.0))
    jac = sct.jacobian(g.fn)(*point)
    assert all(close(a, b, 1e-12) for a, b in zip(grads[2], (jac[0][0], jac[1][0])))


# ---- jacobian, value_and_grad ---------------------------------------------------------------

POLAR = """
import math


def f(r, theta):
    x = r * math.cos(theta)
    y = r * math.sin(theta)
    return x, y, x * y
"""


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian_of_several_outputs(load, mode: str) -> None:
    f = load(POLAR)
    point = (1.5, 0.4)
    jac = sct.jacobian(f.fn, mode=mode)(*point)
    assert len(jac) == 3 and all(len(row) == 2 for row in jac)
    for j in range(2):
        hi, lo = list(point), list(point)
        hi[j] += FD_STEP
        lo[j] -= FD_STEP
        for i in range(3):
            assert close(jac[i][j], (f(*hi)[i] - f(*lo)[i]) / (2 * FD_STEP), 1e-6)


def test_jacobian_modes_agree_and_a_scalar_jacobian_is_the_gradient(load) -> None:
    f = load(POLAR)
    reverse, forward = sct.jacobian(f.fn)(1.5, 0.4), sct.jacobian(f.fn, mode="forward")(1.5, 0.4)
    assert all(r == pytest.approx(fw, rel=1e-14) for r, fw in zip(reverse, forward))
    g = load(FUNCTIONS["polynomial"][0])
    assert sct.jacobian(g.fn)(0.7, 1.3) == g.grad(0.7, 1.3)
    assert sct.jacobian(g.fn, mode="forward")(0.7, 1.3) == pytest.approx(g.grad(0.7, 1.3), rel=1e-14)
    with pytest.raises(sct.SctError, match="jacobian mode"):
        sct.jacobian(g.fn, mode="sideways")


def test_value_and_grad(load) -> None:
    f = load(FUNCTIONS["exercise"][0])
    value, grad = f.value_and_grad(5.0, 2.0, -3.0, 7.0)
    assert value == 49.0  # yhat = 14, y = 7
    assert grad == (56.0, 140.0, 28.0, -14.0)


def test_hessian_needs_a_scalar_function(load) -> None:
    f = load(POLAR)
    with pytest.raises(sct.SctError, match="returns several values"):
        sct.hessian(f.fn)
