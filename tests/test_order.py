"""`sct order`: an execution order found from the graph, as the exercise finds it.

Start at the result, ask which values each operation needs (depth first), and
list each operation once what it reads is known; the adjoint runs in the
reverse order. Checked exactly on the exercise, and as a property (each
operation after what it reads, every needed one listed once) on every sample.
"""

from __future__ import annotations

import pytest
from helpers import REPO

from sct import graph, order, source

EXERCISE_STEPS = """\
result = mse(yhat, y) needs yhat, y
  yhat = h + z needs h, z
    h = relu(z) needs z
      z = v + b needs v, b
        v = w * x needs w, x
          w: an input, known from the start
          x: an input, known from the start
        1. v = w * x
        b: an input, known from the start
      2. z = v + b
    3. h = relu(z)
    z: already listed (2.)
  4. yhat = h + z
  y: an input, known from the start
5. result = mse(yhat, y)
"""


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch) -> None:
    monkeypatch.chdir(REPO)


def function(path: str, name: str) -> source.FunctionSource:
    (fs,) = source.select_functions(source.read_file(path), [name])
    return fs


def test_exercise_order(cli) -> None:
    d = order.derive(function("samples/exercise.py", "loss"))
    assert d.order_labels == ["v", "z", "h", "yhat", "result"]
    assert d.reverse_labels == ["result", "yhat", "h", "z", "v"]
    assert d.unneeded == []
    result = cli("order", "samples/exercise.py", "-f", "loss")
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        "Execution order of loss (samples/exercise.py), derived from its graph:\n"
        "start at the result and ask which values each operation needs;\n"
        "an operation is listed once every value it reads is known.\n\n"
        + EXERCISE_STEPS
        + "\norder:   v, z, h, yhat, result\n"
        "reverse: result, yhat, h, z, v  (the order the adjoint runs in)\n"
    )


def test_the_same_order_at_a_point(cli) -> None:
    out = cli("order", "samples/exercise.py", "-f", "loss", "--at", "x=5,w=2,b=-3,y=7").out
    assert EXERCISE_STEPS in out and "order:   v, z, h, yhat, result\n" in out


def assert_valid(g: graph.Graph, d: order.Derivation) -> None:
    """Each operation comes after every operation it reads; every operation the result needs, once."""
    position = {row: k for k, row in enumerate(d.order)}
    assert len(position) == len(d.order)
    n_inputs = len(g.table.seeds)
    for row in d.order:
        for read in g.rows[row].reads.values():
            assert read < n_inputs or position[read] < position[row], (g.rows[row].label, g.rows[read].label)
    needed, todo = set(), [g.table.result_row % len(g.rows)]
    while todo:
        row = todo.pop()
        if row >= n_inputs and row not in needed:
            needed.add(row)
            todo += g.rows[row].reads.values()
    assert set(d.order) == needed
    assert sorted(d.order + d.unneeded) == list(range(n_inputs, len(g.rows)))


@pytest.mark.parametrize(
    "path, name, point",
    [
        ("samples/exercise.py", "loss", None),
        ("samples/horner.py", "horner", None),
        ("samples/projectile.py", "pendulum_energy", None),
        ("samples/neuron.py", "two_layer_loss", {"x": 0.5, "w1": 1.2, "b1": 0.3, "w2": -0.7, "b2": 0.2, "y": 1.0}),
        ("samples/piecewise.py", "huber", {"r": 2.0, "delta": 1.0}),
        ("samples/newton_sqrt.py", "newton_sqrt", {"a": 2.0}),
        ("samples/euler_oscillator.py", "position", {"x0": 1, "v0": 0.5, "omega": 2, "zeta": 0.1, "dt": 0.01, "n": 4}),
    ],
)
def test_a_valid_order_for_samples(path: str, name: str, point) -> None:
    g = graph.build(function(path, name), point)
    assert_valid(g, order.derive_graph(g))


def test_unrolled_loop_names_the_vertex_and_dead_code_is_set_apart(cli, write) -> None:
    out = cli("order", "samples/horner.py", "-f", "horner").out
    assert "order:   p (vertex 6), t1, c (vertex 7), p (vertex 9), t2," in out
    assert "reverse: p (vertex 18), c (vertex 16), t4, p (vertex 15)," in out
    path = write("def f(x, y):\n    unused = y * 3\n    a = x * x\n    return a + y\n")
    out = cli("order", path, "-f", "f").out
    assert "order:   a, result\n" in out and out.endswith("not needed for the result: unused\n")
    assert "a = x * x needs x\n" in out  # a value read twice is needed once


def test_a_loop_at_a_point_lists_instances(cli) -> None:
    at = "x0=1,v0=0.5,omega=2,zeta=0.1,dt=0.01,n=2"
    out = cli("order", "samples/euler_oscillator.py", "-f", "position", "--at", at).out
    assert "(loops unrolled, the branches taken)" in out
    listed = out.split("order:   ")[1].split("\n")[0].split(", ")
    assert listed[-1] == "x [i=1]" and listed.index("x [i=0]") < listed.index("t7 [i=1]")
    # the last trip's velocity update feeds no later position: not needed
    unneeded = "t1 [i=1], t2 [i=1], t3 [i=1], t4 [i=1], t5 [i=1], a [i=1], t8 [i=1], t9 [i=1], v [i=1]"
    assert out.endswith(f"not needed for the result: {unneeded}\n") and "v [i=1]" not in listed


def test_errors(cli) -> None:
    result = cli("order", "samples/piecewise.py", "-f", "smoothstep")
    assert result.code == 2 and result.out == "" and "'smoothstep' has loops or branches" in result.err
    result = cli("order", "samples/exercise.py", "-f", "loss", "--at", "x=1")
    assert result.code == 2 and "no value for w, b, y" in result.err and "Traceback" not in result.err
    result = cli("order", "samples/missing.py", "-f", "loss")
    assert result.code == 1 and "no such file: samples/missing.py" in result.err
