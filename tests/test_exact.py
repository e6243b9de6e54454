"""Exact arithmetic: generated code adds no float of its own, so Fractions in give Fractions out.

The exercise in integers and fractions, through the decorator and through
``sct table --exact``; at a point where the values are not integers, the
numbers are worked out by hand below.
"""

from __future__ import annotations

import json
from fractions import Fraction as F

import pytest
from helpers import REPO, SAMPLES, import_path

AT = "x=5,w=2,b=-3,y=7"
# x = 3/2, w = 2, b = -7/2, y = 7: v = 3, z = -1/2 (relu gives 0, heaviside(z) = 0),
# yhat = -1/2, J = (-15/2)**2 = 225/4, yhat_bar = 2 * (-15/2) = -15, h_bar = -15,
# z_bar = -15 * 0 + -15 * 1 = -15, v_bar = b_bar = -15, w_bar = -15 * 3/2, x_bar = -15 * 2, y_bar = 15
HALF_AT = "x=3/2,w=2,b=-7/2,y=7"


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch) -> None:
    monkeypatch.chdir(REPO)


def exact(values) -> bool:
    return all(type(v) is F for v in values)


def test_adjoint_and_tangent_of_fractions_are_fractions() -> None:
    loss = import_path(SAMPLES / "exercise.py").loss
    grad = loss.adjoint(F(5), F(2), F(-3), F(7), F(1))
    assert grad == (56, 140, 28, -14) and exact(grad)
    value, dot = loss.tangent(F(5), F(2), F(-3), F(7), F(1), F(0), F(0), F(0))
    assert (value, dot) == (49, 56) and exact((value, dot))
    grad = loss.adjoint(F(3, 2), F(2), F(-7, 2), F(7), F(1))
    assert grad == (-30, F(-45, 2), -15, 15) and exact(grad)
    value, dot = loss.tangent(F(3, 2), F(2), F(-7, 2), F(7), 0, 1, 0, 0)
    assert (value, dot) == (F(225, 4), F(-45, 2)) and exact((value, dot))


def test_grad_of_fractions_is_fractions() -> None:
    """The issue's example: grad seeds the result's adjoint with an exact 1."""
    loss = import_path(SAMPLES / "exercise.py").loss
    grad = loss.grad(F(5), F(2), F(-3), F(7))
    assert grad == (F(56), F(140), F(28), F(-14)) and exact(grad)
    grad = loss.grad(F(3, 2), F(2), F(-7, 2), F(7))
    assert grad == (F(-30), F(-45, 2), F(-15), F(15)) and exact(grad)


def cells(line: str) -> list[str]:
    """A text row's columns (separated by two or more spaces)."""
    return [c for c in line.strip().split("  ") if c.strip()]


def test_exact_table_of_the_exercise(cli) -> None:
    result = cli("table", "samples/exercise.py", "-f", "loss", "--at", AT, "--exact")
    assert (result.code, result.err) == (0, "")
    want = {  # node: value, tangents for x, w, b, y, adjoint
        "x": "5 1 0 0 0 56", "w": "2 0 1 0 0 140", "b": "-3 0 0 1 0 28", "y": "7 0 0 0 1 -14",
        "v": "10 2 5 0 0 28", "z": "7 2 5 1 0 28", "h": "7 2 5 1 0 14", "yhat": "14 4 10 2 0 14",
        "result": "49 56 140 28 -14 1",
    }  # fmt: skip
    rows = [cells(line) for line in result.out.splitlines()[2:]]
    assert [r[0] for r in rows] == list(want)
    for r in rows:
        assert " ".join(c.strip() for c in [r[2], *r[-5:]]) == want[r[0]], r
    assert "." not in result.out  # no float anywhere


def test_exact_table_with_fractions(cli) -> None:
    result = cli("table", "samples/exercise.py", "-f", "loss", "--at", HALF_AT, "--exact", "--format", "json")
    assert (result.code, result.err) == (0, "")
    rows = {r["node"]: r for r in json.loads(result.out)["rows"]}
    assert {n: r["value"] for n, r in rows.items()} == {
        "x": "3/2", "w": 2, "b": "-7/2", "y": 7, "v": 3, "z": "-1/2", "h": 0, "yhat": "-1/2", "result": "225/4"
    }  # fmt: skip
    assert {n: r["adjoint"] for n, r in rows.items()} == {
        "x": -30, "w": "-45/2", "b": -15, "y": 15, "v": -15, "z": -15, "h": -15, "yhat": -15, "result": 1
    }  # fmt: skip
    assert rows["result"]["tangent"] == {"x": -30, "w": "-45/2", "b": -15, "y": 15}
    text = cli("table", "samples/exercise.py", "-f", "loss", "--at", HALF_AT, "--exact").out
    last = [c.strip() for c in cells(text.splitlines()[-1])]
    assert [last[2], *last[-5:]] == ["225/4", "-30", "-45/2", "-15", "15", "1"]
    # without --exact the same point is parsed as floats: no fraction is printed
    floats = cli("table", "samples/exercise.py", "-f", "loss", "--at", "x=1.5,w=2,b=-3.5,y=7").out
    assert "-22.5" in floats and "56.25" in floats and "225/4" not in floats and "-45/2" not in floats


@pytest.mark.parametrize("at, message", [("x=1/0,w=2,b=-3,y=7", "x=1/0: not a number"), ("x=5,w=two,b=1,y=7", "w=two")])
def test_bad_exact_values(cli, at: str, message: str) -> None:
    result = cli("table", "samples/exercise.py", "-f", "loss", "--at", at, "--exact")
    assert result.code == 2 and result.out == "" and message in result.err and "fraction (1/3)" in result.err
    assert "Traceback" not in result.err
