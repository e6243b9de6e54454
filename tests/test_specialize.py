"""The generated gradient (``.grad``): the adjoint with its seed fixed at 1, or for one input the tangent.

Specification: ``f.grad(*args)`` equals ``f.adjoint(*args, 1)`` (its one
element, the derivative itself, when one parameter is differentiated): exactly when
it is made from the adjoint (several inputs), to rounding when it is made from
the tangent (one input: a forward sweep records nothing). For every sample
function and for code with loops, branches, calls and arrays; its source
(``.grad_source``) has no seed parameter, no multiplication by the seed and no
copies left of ``h_bar = yhat_bar``.
"""

from __future__ import annotations

import inspect
from fractions import Fraction

import numpy as np
import pytest
from helpers import SAMPLES, import_path
from test_golden import POINTS

import sct

CASES = [
    pytest.param(stem, name, point, id=f"{stem}.{name}-{i}")
    for stem, functions in POINTS.items()
    for name, points in functions.items()
    for i, (point, _) in enumerate(points)
]


@pytest.mark.parametrize("stem, name, point", CASES)
def test_grad_is_the_adjoint_seeded_with_one(stem: str, name: str, point: tuple) -> None:
    fn = getattr(import_path(SAMPLES / f"{stem}.py"), name)
    fn = fn.fn if isinstance(fn, sct.Differentiated) else fn
    d = sct.differentiate(fn)
    if len(d.wrt) > 1:
        assert d.grad(*point) == d.adjoint(*point, 1)
    else:
        (expected,) = d.adjoint(*point, 1)
        assert d.grad(*point) == pytest.approx(expected, rel=1e-13, abs=1e-15)
        assert "_dot" in d.grad_source  # forward mode: one tangent
    params = list(inspect.signature(fn).parameters)
    assert d.grad_source.startswith(f"def {name}_grad({', '.join(params)}):")


def test_the_exercise_gradient_reads_like_a_hand_written_one() -> None:
    fn = import_path(SAMPLES / "exercise.py").loss
    d = sct.differentiate(fn.fn if isinstance(fn, sct.Differentiated) else fn)
    src = d.grad_source
    assert "result_bar" not in src and "h_bar" not in src  # the seed and the copy h_bar = yhat_bar are gone
    assert "yhat_bar = 2 * (yhat - y)" in src
    assert d.grad(5, 2, -3, 7) == (56, 140, 28, -14)
    assert d.grad(Fraction(3, 2), Fraction(2), Fraction(-3), Fraction(7)) == (-56, -42, -28, 14)


def test_grad_of_array_code(load) -> None:
    f = load("import numpy as np\n\n\ndef f(W, x):\n    return np.sum(np.tanh(x @ W) ** 2)\n")
    W, x = np.full((3, 2), 0.3), np.full((4, 3), 0.2)
    for a, b in zip(f.grad(W, x), f.adjoint(W, x, 1)):
        np.testing.assert_array_equal(a, b)


def test_a_function_returning_several_values_has_no_grad(load) -> None:
    f = load("def f(x, y):\n    return x * y, x + y\n")
    assert f.grad_source == ""
    with pytest.raises(sct.errors.UsageError, match="returns several values") as caught:
        f.grad(1.0, 2.0)  # a tuple result needs a tuple of adjoints: the error says how to give them
    assert ".adjoint(*args, (y1_bar, y2_bar, ...))" in str(caught.value)
    assert f.adjoint(1.0, 2.0, (1.0, 0.0)) == (2.0, 1.0)


def test_value_and_grad_uses_the_gradient(load) -> None:
    f = load("import math\n\n\ndef f(x):\n    s = x\n    for i in range(3):\n        s = math.sin(s) * x\n    return s\n")
    value, grad = f.value_and_grad(0.7)
    assert value == f(0.7) and grad == pytest.approx(f.adjoint(0.7, 1)[0], rel=1e-14)
    assert "for i in range(3):" in f.grad_source and "_stack" not in f.grad_source  # no records


def test_a_gradient_that_cannot_be_built_falls_back_to_the_adjoint(load, monkeypatch) -> None:
    from sct import specialize

    def broken(*args, **kwargs):
        raise ValueError("simulated bug")

    monkeypatch.setattr(specialize, "gradient", broken)
    f = load("def f(x, y):\n    return x * y\n")
    assert f.adjoint(2.0, 3.0, 1.0) == (3.0, 2.0)  # the adjoint alone never builds the gradient
    with pytest.warns(RuntimeWarning, match="no generated gradient for f .*simulated bug"):
        assert f.grad_source == ""
    assert f.grad(2.0, 3.0) == (3.0, 2.0)
    monkeypatch.setattr(specialize, "forward_gradient", broken)  # one scalar input: made from the tangent
    one = load("def g(x, y):\n    return x * y\n", name="g", wrt=("x",))
    with pytest.warns(RuntimeWarning, match="no generated gradient for g"):
        assert one.grad(2.0, 3.0) == 3.0  # the fallback gives one parameter's derivative itself too
