"""Kinks: one number, heaviside(0), decides every rule at a non-differentiable point.

Specification (issue 6): the exercise at x = 1.5, w = 2, b = -3, y = 7 puts
z = 0 on relu's kink; its gradient is (-56, -42, -28, 14) with heaviside0 = 1
(the default), (-42, -31.5, -21, 14) with 0.5, (-28, -21, -14, 14) with 0.
``warn_kinks=True`` makes generated code warn when a run lands on a kink.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import pytest
from helpers import SAMPLES, import_path, write_module

import sct

AT_THE_KINK = (1.5, 2.0, -3.0, 7.0)
EXPECTED = {
    1: (-56.0, -42.0, -28.0, 14.0),
    0.5: (-42.0, -31.5, -21.0, 14.0),
    0: (-28.0, -21.0, -14.0, 14.0),
}


def _loss():
    fn = import_path(SAMPLES / "exercise.py").loss
    return fn.fn if isinstance(fn, sct.Differentiated) else fn


@pytest.mark.parametrize("h0", list(EXPECTED))
def test_the_exercise_on_its_kink_under_each_convention(h0) -> None:
    d = sct.differentiate(_loss(), heaviside0=h0)
    assert d.grad(*AT_THE_KINK) == EXPECTED[h0]
    tangents = tuple(d.tangent(*AT_THE_KINK, *[1.0 if i == j else 0.0 for j in range(4)])[1] for i in range(4))
    assert tangents == EXPECTED[h0]  # forward mode follows the same convention


def test_the_default_is_the_exercises() -> None:
    assert sct.differentiate(_loss()).grad(*AT_THE_KINK) == EXPECTED[1]


def test_away_from_the_kink_the_convention_does_not_matter() -> None:
    grads = {h0: sct.differentiate(_loss(), heaviside0=h0).grad(5.0, 2.0, -3.0, 7.0) for h0 in EXPECTED}
    assert len(set(grads.values())) == 1


def test_exact_convention_on_fractions() -> None:
    d = sct.differentiate(_loss(), heaviside0=Fraction(1, 2))
    grads = d.grad(*(Fraction(v).limit_denominator() for v in AT_THE_KINK))
    assert grads == (Fraction(-42), Fraction(-63, 2), Fraction(-21), Fraction(14))
    assert all(isinstance(g, Fraction) for g in grads)


def test_max_and_min_ties_follow_heaviside0(load) -> None:
    source = "def f(a, b):\n    return max(a, b) + 2 * min(a, b)\n"
    for h0, expected in ((1, (3.0, 0.0)), (0.5, (1.5, 1.5)), (0, (0.0, 3.0))):
        f = sct.differentiate(load(source).fn, heaviside0=h0)
        assert f.grad(2.0, 2.0) == expected, h0


def test_abs_keeps_zero_at_zero(load) -> None:
    f = load("def f(x):\n    return abs(x)\n")
    for h0 in EXPECTED:
        assert sct.differentiate(f.fn, heaviside0=h0).grad(0.0) == 0.0


def test_the_cli_writes_the_convention(cli, tmp_path, monkeypatch) -> None:
    result = cli("transform", SAMPLES / "exercise.py", "--heaviside0", "0.5")
    assert result.code == 0
    assert "z_bar += h_bar * heaviside(z, 0.5)" in result.out
    assert "h_dot = heaviside(z, 0.5) * z_dot" in result.out
    module = import_path(write_module(tmp_path, result.out, "sct_kink_generated"))
    assert module.loss_adjoint(*AT_THE_KINK, 1.0) == EXPECTED[0.5]
    bad = cli("transform", SAMPLES / "exercise.py", "--heaviside0", "half")
    assert bad.code == 2 and "not a number: 'half'" in bad.err


def test_a_bad_heaviside0_is_a_usage_error() -> None:
    with pytest.raises(sct.SctError, match="heaviside0 must be a number"):
        sct.differentiate(_loss(), heaviside0="1").grad(*AT_THE_KINK)


# ---- warnings ----------------------------------------------------------------------------


def test_warn_kinks_names_the_operation_and_its_line() -> None:
    d = sct.differentiate(_loss(), warn_kinks=True)
    with pytest.warns(sct.KinkWarning) as caught:
        d.grad(*AT_THE_KINK)
    message = str(caught[0].message)
    assert "exercise.py:9: relu in `h = relu(z)` is evaluated exactly at its kink" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d.grad(5.0, 2.0, -3.0, 7.0)  # off the kink: silent
        d.tangent(5.0, 2.0, -3.0, 7.0, 1.0, 0.0, 0.0, 0.0)


def test_warn_kinks_on_a_branch(load) -> None:
    f = load("def f(z):\n    if z >= 0:\n        return z * 2\n    return z * 0.5\n")
    d = sct.differentiate(f.fn, warn_kinks=True)
    with pytest.warns(sct.KinkWarning, match=r":2: the branch `if z >= 0:`"):
        d.tangent(0.0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert d.grad(0.5) == 2.0


def test_without_warn_kinks_no_check_is_generated() -> None:
    d = sct.differentiate(_loss())
    assert "kink_check" not in d.tangent_source + d.adjoint_source
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d.grad(*AT_THE_KINK)
