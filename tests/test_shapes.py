"""sct.shapes: the shape helpers an array adjoint no longer calls, and the ones it must keep.

Each case is a function, what its adjoint must and must not contain, and a
point: the derivatives are checked against central differences and the
dot-product identity, and ``.grad`` against the adjoint with seed 1, at shapes
that broadcast as well as at equal ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from helpers import check_array_derivatives

HEADER = "import numpy as np\n\n\n"


def rng_array(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.5, 1.5, size=shape)


# (id, source of f, text the adjoint must contain, text it must not contain, point, wrt positions)
CASES: list[tuple[str, str, list[str], list[str], tuple[Any, ...], tuple[int, ...]]] = [
    (
        # every value has x's shape: no helper call at all, the sum's adjoint stays one number
        "elementwise",
        "def f(x):\n    return np.sum(np.exp(np.sin(x)) * x**2)\n",
        ["t4_bar = result_bar", "x_bar = t3_bar * (2 * x)"],
        ["unbroadcast", "sum_vjp"],
        (rng_array(5),),
        (0,),
    ),
    (
        # a mean's adjoint is the seed over the number of elements, read from a value of that shape
        "mean",
        "def f(x):\n    return np.mean(np.tanh(x) ** 2)\n",
        ["result_bar / np.size(x)"],
        ["unbroadcast", "mean_vjp"],
        (rng_array(3, 4),),
        (0,),
    ),
    (
        # a literal operand broadcasts to anything: a number has no shape to sum back to
        "literal operands",
        "def f(x):\n    y = 2.0 * x + 1.0\n    return np.sum(-y / 3.0)\n",
        [],
        ["unbroadcast", "sum_vjp"],
        (rng_array(2, 3),),
        (0,),
    ),
    (
        # b may be broadcast against x: its adjoint is summed back, so the sum's adjoint is an array
        "a parameter that may broadcast",
        "def f(x, b):\n    return np.sum(np.sin(x) * b)\n",
        ["sum_vjp(result_bar, t2)", "unbroadcast(t2_bar * t1, b)"],
        [],
        (rng_array(3, 4), rng_array(4, seed=1)),
        (0, 1),
    ),
    (
        # the same function where the shapes happen to be equal
        "a parameter of the same shape",
        "def f(x, b):\n    return np.sum(np.sin(x) * b)\n",
        ["sum_vjp(result_bar, t2)"],
        [],
        (rng_array(3, 4), rng_array(3, 4, seed=1)),
        (0, 1),
    ),
    (
        # a Python number parameter: its adjoint is a sum over every element
        "a scalar parameter",
        "def f(x, c):\n    return np.sum(x * c + c)\n",
        ["unbroadcast"],
        [],
        (rng_array(4), 0.7),
        (0, 1),
    ),
    (
        # a matrix product's adjoint needs the whole array: the compact adjoint is not used there
        "a matrix product reads the adjoint",
        "def f(A, x):\n    return np.sum(A @ x)\n",
        ["sum_vjp(result_bar, t1)", "matmul_vjp_a"],
        [],
        (rng_array(3, 4), rng_array(4, 2, seed=1)),
        (0, 1),
    ),
    (
        # the compact adjoint meets an array (1 - y * y) before the matrix product reads it
        "a product further up",
        "def f(A, x):\n    y = np.tanh(A @ x)\n    return np.sum(2.0 * y)\n",
        ["t2_bar = result_bar", "y_bar = t2_bar * 2.0", "matmul_vjp_a(t1_bar, A, x)"],
        ["sum_vjp", "unbroadcast"],
        (rng_array(3, 4), rng_array(4, seed=1)),
        (0, 1),
    ),
    (
        # a loop's adjoint reads the result's adjoint trip after trip: it is a full array
        "a loop reads the adjoint",
        "def f(x, w):\n    y = x\n    for i in range(3):\n        y = np.sin(y) * w\n    return np.sum(y)\n",
        ["sum_vjp(result_bar, y)"],
        [],
        (rng_array(4), rng_array(4, seed=1)),
        (0, 1),
    ),
    (
        # a reduction along an axis has a shape of its own; the whole-array sum after it is compact
        "a reduction along an axis",
        "def f(x):\n    s = np.sum(x * x, axis=0)\n    return np.sum(np.exp(s))\n",
        ["t2_bar = result_bar", "sum_vjp(s_bar, t1, axis=0)"],
        ["unbroadcast"],
        (rng_array(3, 2),),
        (0,),
    ),
    (
        # a mean of squares: the seed over the size times 2 is one number, applied in one pass
        "numbers first",
        "def f(x, y):\n    return np.mean((x - y) ** 2)\n",
        ["t2_bar = result_bar / np.size(t1)", "t1_bar = t2_bar * 2 * t1"],
        ["mean_vjp"],
        (rng_array(3, 2), rng_array(2, seed=1)),
        (0, 1),
    ),
    (
        # a difference of two values of the same shape: the negated adjoint needs no sum either
        "negation",
        "def f(x):\n    return np.sum(np.cos(x) - x)\n",
        ["x_bar = -t2_bar"],
        ["unbroadcast", "sum_vjp"],
        (rng_array(6),),
        (0,),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_adjoint_helpers_and_derivatives(load, case) -> None:
    _, source, present, absent, point, wrt = case
    f = load(HEADER + source)
    text = f.adjoint_source
    for piece in present:
        assert piece in text, f"{piece!r} not in\n{text}"
    for piece in absent:
        assert piece not in text, f"{piece!r} in\n{text}"
    check_array_derivatives(f.fn, f.tangent, f.adjoint, point, wrt)
    grads = f.grad(*point)
    grads = grads if len(wrt) > 1 else (grads,)  # one parameter: the derivative itself
    full = f.adjoint(*point, 1.0)
    for g, expected, p in zip(grads, full, (point[i] for i in wrt)):
        np.testing.assert_allclose(g, expected, rtol=1e-13, atol=1e-15)
        assert np.shape(g) == np.shape(p)


def test_gradient_of_a_sum_is_a_fresh_array_of_ones(load) -> None:
    # x_bar is the compact seed 1: like() spreads it into an array the caller owns
    f = load(HEADER + "def f(x):\n    return np.sum(x + 1.0)\n")
    x = np.zeros((2, 3), dtype=np.float32)
    g = f.grad(x)
    assert g.dtype == np.float32 and g.shape == (2, 3) and g.flags.writeable
    np.testing.assert_array_equal(g, np.ones((2, 3)))
    g[0, 0] = 5.0  # its own memory: another call is unaffected
    np.testing.assert_array_equal(f.grad(x), np.ones((2, 3)))


def test_gradient_of_a_sum_for_a_float_is_a_float(load) -> None:
    f = load(HEADER + "def f(x):\n    return np.sum(x + 1.0)\n")
    g = f.grad(2.0)
    assert g == 1.0 and type(g) is float


def test_a_gradient_is_never_an_input(load) -> None:
    # with the seed fixed at 1, t_bar * y would simplify to y: the gradient must still be new memory
    f = load(HEADER + "def f(x, y):\n    return np.sum(x * y)\n")
    x, y = rng_array(4), rng_array(4, seed=1)
    gx, gy = f.grad(x, y)
    assert gx is not y and gy is not x
    assert not np.shares_memory(gx, y) and not np.shares_memory(gy, x)
    np.testing.assert_array_equal(gx, y)


def test_float32_stays_float32(load) -> None:
    f = load(HEADER + "def f(x, w):\n    return np.mean(np.tanh(x * w) ** 2)\n")
    x, w = rng_array(5).astype(np.float32), rng_array(5, seed=1).astype(np.float32)
    gx, gw = f.grad(x, w)
    assert gx.dtype == np.float32 and gw.dtype == np.float32
    t = np.tanh(x.astype(np.float64) * w)
    np.testing.assert_allclose(gx, 2 * t * (1 - t * t) * w / 5, rtol=1e-5)


# (shape of g, shape of x): every path of unbroadcast, the fast ones included
UNBROADCAST_CASES = [
    ((4, 3), (4, 3)),  # nothing broadcast
    ((4, 3), (3,)),  # a bias: leading axes only
    ((2, 4, 3), (4, 3)),
    ((4, 3), (4, 1)),  # an axis of one
    ((4, 3), (1, 3)),
    ((2, 4, 3), (1, 3)),
    ((4, 3), ()),  # a 0-d array
    ((), (4, 3)),  # a constant partial, spread up
]


@pytest.mark.parametrize("g_shape, x_shape", UNBROADCAST_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_unbroadcast_sums_what_was_broadcast(g_shape, x_shape, dtype) -> None:
    from sct.arrays import unbroadcast

    g = rng_array(*g_shape).astype(dtype) if g_shape else dtype(1.5)
    x = np.zeros(x_shape, dtype=dtype)
    # reference: the adjoint of x in x + zeros(g_shape) is g summed over what x was broadcast along
    full = np.broadcast_shapes(g_shape, x_shape)
    expanded = np.broadcast_to(g, full).astype(np.float64)
    lead = len(full) - len(x_shape)
    expected = expanded.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(x_shape) if n == 1 and expected.shape[i] != 1)
    expected = expected.sum(axis=axes, keepdims=True) if axes else expected
    got = unbroadcast(g, x)
    assert np.shape(got) == x_shape and np.asarray(got).dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=1e-6)
