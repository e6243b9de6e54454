"""The gradient of straight-line NumPy code, specialised at its first call (sct.firstcall).

Specification: after one call, ``f.grad`` runs a copy of the generated
gradient in which the helper calls that the arguments' types, shapes and
dtypes decide are written out, behind a guard on exactly those; new shapes
get copies of their own, up to four. It gives the same numbers as the
gradient as generated, for the guarded arguments and for any others; what is
not straight-line, or reads what could change a shape, is not specialised.
"""

from __future__ import annotations

import re

import black
import numpy as np
import pytest
from helpers import check_array_derivatives

import sct
from sct import decidable, firstcall

MLP = """\
import numpy as np


def f(W1, b1, W2, b2, X, Y):
    H = np.tanh(X @ W1 + b1)
    P = H @ W2 + b2
    return np.mean((P - Y) ** 2)
"""


def _mlp_args(batch: int = 8, dtype: type = np.float64) -> tuple[np.ndarray, ...]:
    r = np.random.default_rng(batch)
    shapes = [(3, 5), (5,), (5, 1), (1,), (batch, 3), (batch, 1)]
    return tuple(r.standard_normal(s).astype(dtype) for s in shapes)


def _general(f: sct.Differentiated) -> object:
    return f.grad.__wrapped__


def test_the_mlp_gradient_is_written_out_after_its_first_call(load) -> None:
    f = load(MLP, wrt=("W1", "b1", "W2", "b2"))
    args = _mlp_args()
    assert f.specialized_source == ""
    first = f.grad(*args)
    text = f.specialized_source
    for helper in ("unbroadcast(", "like(", "matmul_vjp_a(", "matmul_vjp_b(", "np.size("):
        assert helper not in text, text
    for written in ("b2_bar = P_bar.sum(axis=0)", "H_bar = t3_bar * W2.T", "W1_bar = X.T @ t2_bar", "P_bar = 1 / 8 * 2 * t4", "H = np.tanh(X @ W1 + b1)"):
        assert written in text, text
    assert "and W1.shape == (3, 5)" in text and "return f_grad_other(W1, b1, W2, b2, X, Y)" in text
    second = f.grad(*args)
    general = _general(f)(*args)
    for a, b, c in zip(first, second, general):
        assert np.array_equal(a, b) and np.array_equal(b, c) and b.dtype == c.dtype
    assert black.format_str(text, mode=black.Mode()) == text  # black's form, like all generated code


def test_the_specialised_gradient_is_a_derivative(load) -> None:
    f = load(MLP, wrt=("W1", "b1", "W2", "b2"))
    args = _mlp_args()
    f.grad(*args)
    assert f.specialized_source

    def adjoint(*a: object) -> tuple[object, ...]:
        return tuple(g * a[-1] for g in f.grad(*a[:-1]))

    check_array_derivatives(f.fn, f.tangent, adjoint, args, (0, 1, 2, 3))


def test_other_shapes_and_dtypes_give_the_generated_gradients_numbers(load) -> None:
    f = load(MLP, wrt=("W1", "b1", "W2", "b2"))
    f.grad(*_mlp_args(8))
    for args in (_mlp_args(5), _mlp_args(8, np.float32)):
        got = f.grad(*args)
        for a, b, x in zip(got, _general(f)(*args), args):
            assert np.array_equal(a, b) and a.dtype == x.dtype
    # a bias as wide as the batch: the general gradient sums it back as it should
    W1, b1, W2, b2, X, Y = _mlp_args(8)
    wide = np.zeros((8, 1))
    got = f.grad(W1, b1, W2, wide, X, Y)
    assert got[3].shape == (8, 1)
    np.testing.assert_array_equal(got[3], _general(f)(W1, b1, W2, wide, X, Y)[3])


def test_new_shapes_get_specialisations_of_their_own_up_to_four(load) -> None:
    f = load(MLP, wrt=("W1", "b1", "W2", "b2"))
    batches = [8, 5, 3, 9, 11, 8, 11, 3]
    for batch in batches:
        args = _mlp_args(batch)
        for a, b in zip(f.grad(*args), _general(f)(*args)):
            assert np.array_equal(a, b)
    made = firstcall.variants(f.grad)
    assert [re.search(r"X.shape == \((\d+), 3\)", text).group(1) for text in made] == ["8", "5", "3", "9"]
    assert all("return f_grad_other(" in text for text in made[:3]) and "return f_grad_general(" in made[3]
    assert "# other arguments take the gradient as generated" in made[3]


def test_an_int_argument_is_guarded_by_its_value(load) -> None:
    f = load("import numpy as np\n\n\ndef f(x, n):\n    return np.sum(np.reshape(x, (n, -1)) * x.reshape(n, -1)[0])\n", wrt="x")
    x = np.arange(1.0, 7.0)
    f.grad(x, 2)
    assert "type(n) is int" in f.specialized_source and "n == 2" in f.specialized_source
    for n in (3, 2, 6):
        np.testing.assert_array_equal(f.grad(x, n), _general(f)(x, n))


def test_a_first_call_that_fails_does_not_decide(load) -> None:
    f = load(MLP, wrt=("W1", "b1", "W2", "b2"))
    W1, b1, W2, b2, X, Y = _mlp_args()
    with pytest.raises(ValueError):
        f.grad(W1, b1, W2, b2, X[:, :2], Y)  # matmul shapes do not match
    assert f.specialized_source == ""
    f.grad(W1, b1, W2, b2, X, Y)
    assert f.specialized_source


def test_keyword_arguments_reach_the_first_call(load) -> None:
    f = load(MLP, wrt=("W1", "b1", "W2", "b2"))
    args = _mlp_args()
    names = ("W1", "b1", "W2", "b2", "X", "Y")
    by_keyword = f.grad(**dict(zip(names, args)))
    for a, b in zip(by_keyword, f.grad(*args)):
        assert np.array_equal(a, b)
    assert f.specialized_source


def test_generated_names_never_take_the_users(load) -> None:
    source = MLP.replace("import numpy as np\n", "import numpy as np\n\nndarray = 'not a class'\nfloat64 = 64.0\n")
    f = load(source, wrt=("W1", "b1", "W2", "b2"))
    args = _mlp_args()
    f.grad(*args)
    assert "type(W1) is ndarray_1" in f.specialized_source and "W1.dtype is float64_1" in f.specialized_source
    for a, b in zip(f.grad(*args), _general(f)(*args)):
        assert np.array_equal(a, b)


NOT_STRAIGHT = [
    "    if np.sum(x) > 0:\n        x = x * 2.0\n    return np.sum(x * y)\n",
    "    for _ in range(2):\n        x = x * y\n    return np.sum(x)\n",
    "    return np.sum(x[x > 0] * y[x > 0])\n",
]


@pytest.mark.parametrize("body", NOT_STRAIGHT, ids=["if", "for", "mask"])
def test_what_values_could_reshape_is_not_specialised(load, body: str) -> None:
    f = load(f"import numpy as np\n\n\ndef f(x, y):\n{body}", wrt=("x", "y"))
    x, y = np.array([1.0, -2.0, 3.0]), np.array([0.5, 1.5, -1.0])
    for _ in range(2):
        got = f.grad(x, y)
        for a, b in zip(got, f.adjoint(x, y, 1.0)):
            np.testing.assert_array_equal(a, b)
    assert f.specialized_source == ""


@pytest.mark.parametrize("line, body", [("W = np.ones((3, 2))", "np.sum(x @ W)"), ("N = 2", "np.sum(np.reshape(x, (N, -1)) ** 2)")])
def test_a_global_array_or_int_is_not_guarded_so_not_specialised(load, line: str, body: str) -> None:
    f = load(f"import numpy as np\n\n{line}\n\n\ndef f(x):\n    return {body}\n")
    x = np.ones((4, 3))
    np.testing.assert_array_equal(f.grad(x), f.adjoint(x, 1.0)[0])
    assert "unbroadcast" in f.grad_source or "like" in f.grad_source  # something to write out, and yet
    assert f.specialized_source == ""


@pytest.mark.parametrize(
    "source, expected",
    [
        ("def f_grad(x):\n    t = unbroadcast(x, x)\n    return like(t, x)\n", True),
        ("def f_grad(x):\n    return x * 2.0\n", False),  # nothing to write out
        ("def f_grad(x):\n    if x:\n        x = like(x, x)\n    return x\n", False),
        ("def f_grad(x):\n    return like(x if x else x, x)\n", False),
        ("def f_grad(x, i):\n    return like(x[i], x)\n", False),
        ("def f_grad(x):\n    return like(x[0, 1:], x)\n", True),
    ],
)
def test_eligible_from_the_source_alone(source: str, expected: bool) -> None:
    assert decidable.eligible(source) is expected


def test_scalar_code_is_left_as_generated(load) -> None:
    f = load("def f(x, y):\n    return x * y + y\n")
    assert f.grad(2.0, 3.0) == (3.0, 3.0)
    assert f.specialized_source == "" and not hasattr(f.grad, "__wrapped__")


def test_the_numpy_samples_give_the_same_numbers_specialised(monkeypatch) -> None:
    from helpers import REPO, SAMPLES, import_path
    from test_numpy_samples import POINTS

    monkeypatch.chdir(REPO)
    specialised = []
    for stem, functions in POINTS.items():
        module = import_path(SAMPLES / "numpy" / f"{stem}.py")
        for name, (args, wrt) in functions.items():
            fn = getattr(module, name)
            params = list(fn.__code__.co_varnames[: fn.__code__.co_argcount])
            f = sct.differentiate(fn, wrt=[params[i] for i in wrt])
            first, second = f.grad(*args), f.grad(*args)
            for a, b, c in zip(first, second, f.adjoint(*args, 1.0)):
                assert np.array_equal(a, b) and np.array_equal(b, c), (stem, name)
                assert type(a) is type(c) and np.shape(a) == np.shape(c)
            if f.specialized_source:
                specialised.append(stem)
    assert {"mlp", "logistic"} <= set(specialised), specialised


def test_scalar_code_does_not_import_numpy(tmp_path) -> None:
    # firstcall imports NumPy; a user of plain Python floats never pays for it
    import subprocess
    import sys

    (tmp_path / "m.py").write_text("import sct\n\n\n@sct.differentiate\ndef f(x, y):\n    return x * y + y\n")
    code = "import sys, m; assert m.f.grad(2.0, 3.0) == (3.0, 3.0); print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env={"SCT_CACHE": "0", "PATH": ""})
    assert (out.returncode, out.stdout.strip()) == (0, "False"), out.stderr


def test_a_traceback_through_the_specialised_gradient_shows_its_lines(load) -> None:
    import traceback

    f = load("import numpy as np\n\n\ndef f(x, y):\n    return np.sum(x * y)\n")
    x = np.ones(3)
    f.grad(x, x)
    assert f.specialized_source
    with pytest.raises(TypeError) as caught:
        f.grad(x, None)  # not guarded: the general gradient runs, and raises
    shown = "".join(traceback.format_exception(caught.value))
    assert '<sct specialised f_grad #' in shown and "return f_grad_other(x, y)" in shown, shown


def test_a_bug_in_specialising_is_an_internal_error(load, monkeypatch) -> None:
    from sct import refold

    def broken(source: str) -> str:
        raise ValueError("a bug")

    monkeypatch.setattr(refold, "refold", broken)
    f = load(MLP, wrt=("W1", "b1", "W2", "b2"))
    with pytest.raises(sct.errors.InternalError, match="specialising f_grad at its first call failed"):
        f.grad(*_mlp_args())
