"""Writes into arrays (issue 5): ``y[i] = v``, ``y[a:b] += v``, ``y[:, j] *= s``, in loops too.

The tangent writes ``y_dot[i] = v_dot`` beside each write; the adjoint keeps
the elements each write overwrites and restores them in reverse order, takes
``v``'s adjoint from ``y_bar[i]`` and zeroes it there. Every case is checked
against central finite differences and the dot-product identity; the
function's inputs are never changed by generated code unless the function
itself changes them; an in-place change sct cannot follow is a located error.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from helpers import check_array_derivatives

import sct

rng = np.random.default_rng(11)

CASES = {
    "element writes": (
        """
        def f(x, s):
            y = np.zeros(4)
            y[0] = x[1] * s
            y[3] = np.sin(x[0])
            y[1] = y[0] * y[3]
            return np.sum(y * y)
        """,
        (rng.standard_normal(3), 0.7),
    ),
    "slice updates": (
        """
        def f(x, s):
            y = x.copy()
            y[1:3] += s * x[0:2]
            y[::2] *= s
            y[-1] -= y[0] / 2
            return np.sum(y * x)
        """,
        (rng.standard_normal(5), 1.3),
    ),
    "columns of a matrix": (
        """
        def f(A, s):
            B = A * 1.0
            B[:, 1] *= s
            B[0, :] = B[1, :] + A[2, :]
            return np.sum(np.tanh(B) * A)
        """,
        (rng.standard_normal((3, 4)), 0.4),
    ),
    "a recurrence written in a loop": (
        """
        def f(x, a):
            n = x.shape[0]
            y = np.zeros(n)
            y[0] = x[0]
            for t in range(1, n):
                y[t] = a * y[t - 1] + np.cos(x[t])
            return np.sum(y ** 2)
        """,
        (rng.standard_normal(7), 0.9),
    ),
    "overwriting the same element every trip": (
        """
        def f(x, a):
            acc = np.zeros(2)
            for i in range(5):
                acc[0] = acc[0] * a + x[i]
                acc[1] += acc[0] * x[i]
            return acc[1] * acc[0]
        """,
        (rng.standard_normal(5), 0.8),
    ),
    "rows written in a nested loop with a branch": (
        """
        def f(W, x):
            out = np.zeros((3, 2))
            for i in range(3):
                for j in range(2):
                    if W[i, j] > 0:
                        out[i, j] = W[i, j] * x[j]
                    else:
                        out[i, j] = np.exp(W[i, j]) + x[j]
            return np.sum(out @ x)
        """,
        (rng.standard_normal((3, 2)), rng.standard_normal(2)),
    ),
}


@pytest.mark.parametrize("source, args", CASES.values(), ids=list(CASES))
def test_writes(load, source: str, args: tuple) -> None:
    f = load("import numpy as np\n" + inspect.cleandoc(source) + "\n")
    wrt = tuple(range(len(args)))
    before = [np.copy(a) for a in args]
    check_array_derivatives(f.fn, f.tangent, f.adjoint, args, wrt)
    for a, b in zip(args, before):
        assert np.array_equal(a, b)  # generated code never changed the inputs


def test_a_write_keeps_float32(load) -> None:
    f = load(
        "import numpy as np\n\n\ndef f(x):\n    y = np.zeros_like(x)\n    y[1:] = x[:-1] * x[1:]\n    return np.sum(y)\n"
    )
    x = rng.standard_normal(4).astype(np.float32)
    g = f.grad(x)
    assert g.dtype == np.float32 and g.shape == (4,)
    assert np.allclose(g, np.r_[x[1], x[:-2] + x[2:], x[2]], rtol=1e-6)


def test_a_function_that_changes_its_input(load) -> None:
    f = load("import numpy as np\n\n\ndef f(x):\n    x[0] = x[1] * x[2]\n    return np.sum(x * x)\n")
    args = (rng.standard_normal(3),)
    check_array_derivatives(lambda x: f.fn(x.copy()), lambda x, d: f.tangent(x.copy(), d.copy()), lambda x, g: f.adjoint(x.copy(), g), args, (0,))


@pytest.mark.parametrize(
    "body, line, message",
    [
        ("y = x * 1.0\n    z = y\n    z += 1.0\n    return np.sum(y * z)", 7,
         "`+=` in place on `z`, which shares its memory with another array"),
        ("y = x * 2.0\n    v = y[0:2]\n    v[0] = 5.0\n    return np.sum(y)", 7,
         "a write into `v`, which shares its memory with another array"),
        ("y = x.T\n    y[0, 0] = 1.0\n    return np.sum(y)", 6,
         "a write into `y`, which shares its memory with another array"),
    ],
    ids=["augmented-alias", "write-into-a-view", "write-into-a-transpose"],
)
def test_in_place_changes_sct_cannot_follow_are_located(load, body: str, line: int, message: str) -> None:
    f = load(f"import numpy as np\n\n\ndef f(x):\n    {body}\n")
    with pytest.raises(sct.SctError) as info:
        f.adjoint
    assert message in info.value.message
    assert info.value.location.line == line
    assert ".copy()" in info.value.hint


def test_a_copy_can_be_written(load) -> None:
    f = load("import numpy as np\n\n\ndef f(x):\n    y = x.copy()\n    y[0] = 2.0 * y[1]\n    return np.sum(y * x)\n")
    check_array_derivatives(f.fn, f.tangent, f.adjoint, (rng.standard_normal(3),), (0,))
