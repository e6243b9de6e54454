"""NumPy edge cases found by the rule tests: each was wrong or refused before its fix."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_array_derivatives, load_module

import sct


def test_a_callee_of_array_code_is_array_code(load) -> None:
    # scale uses no NumPy call itself; called from array code, its adjoints are summed back to shapes
    f = load("import numpy as np\n\n\ndef scale(a, b):\n    return a * b + a\n\n\ndef f(x, s):\n    return np.sum(scale(x, s))\n")
    x_bar, s_bar = f.grad(np.full((2, 3), 0.5), np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(x_bar, np.broadcast_to([2.0, 3.0, 4.0], (2, 3)))
    np.testing.assert_array_equal(s_bar, [1.0, 1.0, 1.0])


def test_an_index_written_as_a_list(load) -> None:
    f = load("import numpy as np\n\n\ndef f(x):\n    return np.sum(x[[2, 2, 0]] ** 2)\n")
    assert np.array_equal(f.grad(np.array([0.5, -1.0, 2.0])), [1.0, 0.0, 8.0])  # x[2] read twice
    check_array_derivatives(f.fn, f.tangent, f.adjoint, (np.array([0.5, -1.0, 2.0]),), (0,))


def test_an_undefined_array_name_is_reported_as_such(tmp_path) -> None:
    fn = load_module(tmp_path, "import numpy as np\n\n\ndef f(a):\n    return x.max(axis=0)\n").f
    with pytest.raises(sct.errors.UndefinedNameError, match="the name `x` is not defined"):
        sct.differentiate(fn).adjoint


def test_a_one_line_function(load) -> None:
    f = load("import numpy as np\n\n\ndef f(W, x): return np.sum(np.tanh(x @ W) ** 2)\n")
    check_array_derivatives(f.fn, f.tangent, f.adjoint, (np.full((3, 2), 0.3), np.full((4, 3), 0.2)), (0, 1))
    g = load("def g(x): return x * x\n", name="g")
    assert g.grad(3.0) == 6.0


def test_augmented_assignments_on_a_fresh_array(load) -> None:
    f = load("import numpy as np\n\n\ndef f(x, y):\n    z = x * 1.0\n    z += y\n    z *= y\n    return np.sum(z)\n")
    x_bar, y_bar = f.grad(np.full(3, 0.5), np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(x_bar, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(y_bar, [2.5, 4.5, 6.5])


def test_second_derivatives_of_array_code_are_refused_clearly(load) -> None:
    f = load("import numpy as np\n\n\ndef f(x):\n    return np.sum(np.sin(x))\n")
    with pytest.raises(sct.SctError, match="no derivative rule"):
        sct.hessian(f.fn)(np.ones(3))


def test_gradients_are_the_callers_own_arrays(load) -> None:
    # sum's adjoint is a broadcast view inside the adjoint; what is returned is a writable array
    f = load("import numpy as np\n\n\ndef f(x):\n    return np.sum(x)\n")
    g = f.grad(np.ones(4))
    assert g.flags.writeable and g.flags.owndata
    g += 1.0
    np.testing.assert_array_equal(g, [2.0, 2.0, 2.0, 2.0])


def test_full_with_a_computed_fill_passes_its_derivative(load) -> None:
    f = load(
        "import numpy as np\n\n\ndef f(x, s):\n    y = np.full(3, s)\n    z = np.full((2, 3), 0.5)\n"
        "    return np.sum(y * x) + np.sum(z * s)\n"
    )
    x_bar, s_bar = f.grad(np.arange(3.0), 2.0)
    np.testing.assert_array_equal(x_bar, [2.0, 2.0, 2.0])
    assert s_bar == 6.0  # sum(x) + sum(z)
    check_array_derivatives(f.fn, f.tangent, f.adjoint, (np.arange(3.0), 2.0), (0, 1))


def test_only_the_first_keyword_parameter_binds_by_position(load) -> None:
    # np.sum(x, 0, np.float32): NumPy's third positional is dtype, not keepdims; sct says so
    f = load("import numpy as np\n\n\ndef f(x):\n    return np.sum(np.sum(x, 0, np.float32))\n")
    with pytest.raises(sct.SctError) as info:
        f.adjoint
    assert "sct takes the array and `axis` by position" in info.value.message
    assert "keepdims" in info.value.hint
    g = load("import numpy as np\n\n\ndef f(x):\n    return np.sum(np.sum(x, 0) * np.mean(x, 1, keepdims=True))\n")
    check_array_derivatives(g.fn, g.tangent, g.adjoint, (np.arange(6.0).reshape(2, 3),), (0,))


def test_a_tangent_broadcast_by_a_constant_keeps_the_values_shape(load) -> None:
    # t = x + C: t_dot is x_dot of x's shape; the sum along axis 0 must see C's rows (found by
    # tests/test_shapes_property.py: the tangent summed 4 elements where the value has 12)
    f = load("import numpy as np\n\n\ndef f(x, C):\n    t = x + C\n    return np.sum(np.sum(t, axis=0) ** 2)\n", wrt=("x",))
    x, C = np.array([0.5, -1.0, 2.0, 0.25]), np.arange(12.0).reshape(3, 4)
    check_array_derivatives(f.fn, f.tangent, f.adjoint, (x, C), (0,))
    value, dot = f.tangent(x, C, np.ones(4))
    assert dot == np.sum(2 * np.sum(x + C, axis=0) * 3)
    # a zero partial (0.0 * a) keeps a's shape too
    g = load("import numpy as np\n\n\ndef g(a, b):\n    return np.sum(b + 0.0 * a)\n", name="g")
    a, b = np.ones((3, 4)), np.ones(4)
    assert g.tangent(a, b, np.ones((3, 4)), np.ones(4))[1] == 12.0
    check_array_derivatives(g.fn, g.tangent, g.adjoint, (a, b), (0, 1))


@pytest.mark.parametrize("call", ["np.sum(x * x, axis=(0, 1))", "np.mean(x * x, axis=-1, keepdims=True)", "np.sum(x * x, axis=0)"])
def test_static_arguments_are_written_as_in_the_source(load, call: str) -> None:
    # a rule's static keyword is copied into generated code as the user wrote it: no (( )) around a tuple
    f = load(f"import numpy as np\n\n\ndef f(x):\n    return np.sum({call})\n")
    static = call[call.index("axis=") : -1]
    for text in (f.tangent_source, f.adjoint_source):
        body = "\n".join(line for line in text.splitlines() if not line.strip().startswith("#"))
        assert static in body, (static, text)
        assert "((" not in body.replace("((x", "")
    check_array_derivatives(f.fn, f.tangent, f.adjoint, (np.arange(6.0).reshape(2, 3) / 7,), (0,))


@pytest.mark.parametrize("join,operands", [("concatenate", "(a, b)"), ("concatenate", "(a,)"), ("stack", "(a, b)")])
def test_a_join_is_written_on_one_line(load, join: str, operands: str) -> None:
    # a join's operands are a plain tuple in generated code (a trailing comma made black put each on its own line)
    f = load(f"import numpy as np\n\n\ndef f(a, b):\n    c = np.{join}({operands})\n    return np.sum(c * c * b[0])\n")
    for text in (f.tangent_source, f.adjoint_source):
        lines = [line.strip() for line in text.splitlines()]
        assert not any(line in ("a,", "b,", "a_dot,", "b_dot,") for line in lines), text  # one operand a line
    a, b = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25, -0.75])
    check_array_derivatives(f.fn, f.tangent, f.adjoint, (a, b), (0, 1))


@pytest.mark.parametrize("n, k, m", [(3, 4, 1), (1, 4, 3), (1, 4, 1), (3, 1, 2), (3, 4, 2)])
@pytest.mark.parametrize("dtypes", [(np.float64, np.float64), (np.float32, np.float64), (np.float32, np.float32)])
def test_matmul_adjoints_of_one_column_or_row_are_the_matrix_products(n: int, k: int, m: int, dtypes) -> None:
    # a contraction over one column (one row) is computed as an outer product: the same numbers, exactly
    r = np.random.default_rng(n * 100 + k * 10 + m)
    a, b = r.standard_normal((n, k)).astype(dtypes[0]), r.standard_normal((k, m)).astype(dtypes[1])
    g = r.standard_normal((n, m)).astype(dtypes[1])
    for got, want in [(sct.arrays.matmul_vjp_a(g, a, b), g @ b.T), (sct.arrays.matmul_vjp_b(g, a, b), a.T @ g)]:
        assert got.shape == want.shape and got.dtype == want.dtype
        assert np.array_equal(got, want)


def test_adjoints_that_would_be_one_array_are_copies(load) -> None:
    # unbroadcast(t1_bar, x) and unbroadcast(t1_bar, y) are both t1_bar: the second is returned as a copy
    f = load("import numpy as np\n\n\ndef f(x, y, z):\n    return np.sum((x + y) * z)\n")
    x, y, z = np.ones(3), np.ones(3), np.arange(3.0)
    x_bar, y_bar, z_bar = f.grad(x, y, z)
    assert "copy_like(y_bar, y)" in f.grad_source and "like(x_bar, x)" in f.grad_source
    assert not np.shares_memory(x_bar, y_bar)
    x_bar *= 2.0  # a caller's in-place update of one gradient leaves the other alone
    np.testing.assert_array_equal(y_bar, z)
    g = np.arange(4.0).reshape(2, 2)
    (t,) = load("import numpy as np\n\n\ndef f(x):\n    return x.T\n").adjoint(np.ones((2, 2)), g)
    assert not np.shares_memory(t, g)  # the adjoint of a transpose is not a view of the caller's seed
    np.testing.assert_array_equal(t, g.T)


def test_a_returned_tangent_is_never_the_given_one(load) -> None:
    # the tangent of x.T is x_dot.T, a view of the caller's array: it is returned as a copy
    f = load("import numpy as np\n\n\ndef f(x):\n    return x.T\n")
    x_dot = np.arange(6.0).reshape(2, 3)
    value, dot = f.tangent(np.ones((2, 3)), x_dot)
    assert "own(" in f.tangent_source and not np.shares_memory(dot, x_dot)
    np.testing.assert_array_equal(dot, x_dot.T)
    g = load("import numpy as np\n\n\ndef f(x):\n    return np.sin(x)\n")
    assert "own(" not in g.tangent_source  # a new array already: no copy
