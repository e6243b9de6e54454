"""`sct graph`: the computational graph, one vertex per table row, edges labelled with partials.

The exercise's graph is kept as golden DOT and Mermaid files (rewritten with
``SCT_UPDATE_GOLDEN=1``, as in test_golden.py); every number on it is checked
against the exercise sheet, and on a loop the vertices are checked against
the table's rows and the adjoints against the chain rule.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import warnings
from fractions import Fraction
from pathlib import Path

import pytest
from helpers import GOLDEN, REPO

from sct import graph, source, table

UPDATE = os.environ.get("SCT_UPDATE_GOLDEN") == "1"
AT = "x=5,w=2,b=-3,y=7"
POSITION_AT = "x0=1,v0=0.5,omega=2,zeta=0.1,dt=0.01,n=3"


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch) -> None:
    monkeypatch.chdir(REPO)  # the output names the file as given


def function(path: str, name: str) -> source.FunctionSource:
    (fs,) = source.select_functions(source.read_file(path), [name])
    return fs


@pytest.mark.parametrize("fmt, suffix", [("dot", "dot"), ("mermaid", "mmd")])
def test_exercise_golden(cli, fmt: str, suffix: str) -> None:
    golden = GOLDEN / f"exercise_graph.{suffix}"
    result = cli("graph", "samples/exercise.py", "-f", "loss", "--at", AT, "--format", fmt)
    assert (result.code, result.err) == (0, "")
    if UPDATE:
        golden.write_text(result.out, encoding="utf-8")
        warnings.warn(f"SCT_UPDATE_GOLDEN=1: rewrote {golden.relative_to(REPO)}", stacklevel=1)
    assert golden.exists(), f"no {golden.name}: run with SCT_UPDATE_GOLDEN=1"
    assert result.out == golden.read_text(encoding="utf-8"), f"the graph differs from {golden.name}"
    assert "z_bar = 14 * 1 + 14 * 1 = 28" in result.out  # z is read by h and by yhat


def test_exercise_vertices_and_edges() -> None:
    g = graph.build(function("samples/exercise.py", "loss"), {"x": 5, "w": 2, "b": -3, "y": 7})
    lines = [graph.vertex_lines(g, i) for i in range(len(g.rows))]
    assert [ls[0] for ls in lines] == [
        "1: x (input)", "2: w (input)", "3: b (input)", "4: y (input)", "5: v = w * x", "6: z = v + b",
        "7: h = relu(z)", "8: yhat = h + z", "9: result = mse(yhat, y)",
    ]  # fmt: skip
    # value, tangent for the seed x_dot = 1, adjoint: the exercise's numbers
    want = {
        "x": (5, 1, "x_bar = 28 * 2 = 56"),
        "w": (2, 0, "w_bar = 28 * 5 = 140"),
        "b": (-3, 0, "b_bar = 28 * 1 = 28"),
        "y": (7, 0, "y_bar = 1 * (-14) = -14"),
        "v": (10, 2, "v_bar = 28 * 1 = 28"),
        "z": (7, 2, "z_bar = 14 * 1 + 14 * 1 = 28"),
        "h": (7, 2, "h_bar = 14 * 1 = 14"),
        "yhat": (14, 4, "yhat_bar = 1 * 14 = 14"),
        "result": (49, 56, "result_bar = 1 (the seed)"),
    }
    for row, ls in zip(g.rows, lines):
        value, dot, bar = want[row.node]
        assert ls[1:] == [f"{row.node} = {value}", f"{row.node}_dot = {dot}", bar]
    edges = [(g.rows[e.source].node, g.rows[e.target].node, graph.edge_text(g, e)) for e in g.edges]
    assert edges == [
        ("w", "v", "dv/dw = x = 5"),
        ("x", "v", "dv/dx = w = 2"),
        ("v", "z", "dz/dv = 1"),
        ("b", "z", "dz/db = 1"),
        ("z", "h", "dh/dz = heaviside(z) = 1"),
        ("h", "yhat", "dyhat/dh = 1"),
        ("z", "yhat", "dyhat/dz = 1"),
        ("yhat", "result", "dresult/dyhat = 2 * (yhat - y) = 14"),
        ("y", "result", "dresult/dy = -2 * (yhat - y) = -14"),
    ]


def test_seed_chooses_the_tangent_shown(cli) -> None:
    result = cli("graph", "samples/exercise.py", "-f", "loss", "--at", AT, "--seed", "w")
    assert result.code == 0
    for text in ("w_dot = 1", "v_dot = 5", "z_dot = 5", "yhat_dot = 10", "result_dot = 140", "tangents for w_dot=1"):
        assert text in result.out


def test_symbolic_graph_of_straight_line_code(cli) -> None:
    dot = cli("graph", "samples/exercise.py", "-f", "loss").out
    assert 'n5 [label="5: v = w * x"];' in dot and 'n1 -> n5 [label="dv/dx = w"];' in dot
    assert "n6 -> n7 [label=\"dh/dz = heaviside(z)\"];" in dot
    assert "_bar" not in dot and "(symbolic)" in dot and dot.count("->") == 9
    mermaid = cli("graph", "samples/exercise.py", "-f", "loss", "--format", "mermaid").out
    assert mermaid.startswith("flowchart TB\n") and '  n1 -->|"dv/dx = w"| n5' in mermaid


def test_exact_graph(cli) -> None:
    out = cli("graph", "samples/exercise.py", "-f", "loss", "--at", "x=3/2,w=2,b=-7/2,y=7", "--exact").out
    for text in ("x = 3/2", "z = -1/2", "result = 225/4", "w_bar = (-15) * 3/2 = -45/2", "z_bar = (-15) * 0 + (-15) * 1 = -15", "y_bar = 1 * 15 = 15"):
        assert text in out


def chain_rule_holds(g: graph.Graph) -> None:
    """Every differentiated vertex's adjoint is the sum over its out-edges of reader's adjoint * partial."""
    for i, row in enumerate(g.rows):
        if i == g.table.result_row or not row.differentiated:
            continue
        total = sum(g.rows[e.target].adjoint * e.value for e in g.readers(i) if e.partial is not None)
        assert row.adjoint == pytest.approx(total, rel=1e-12, abs=1e-12), row.label


def test_a_loop_is_unrolled_one_vertex_per_executed_instance(cli) -> None:
    fs = function("samples/euler_oscillator.py", "position")
    point = {"x0": 1, "v0": 0.5, "omega": 2, "zeta": 0.1, "dt": 0.01, "n": 3}
    g = graph.build(fs, point, "omega")
    rows = table.build(fs, point).rows
    # 6 parameters, x = x0 and v = v0, then 12 operations per trip (normalized: 9 temporaries, a, x, v)
    assert len(g.rows) == len(rows) == 6 + 2 + 12 * 3
    assert [r.label for r in g.rows] == [r.label for r in rows]
    assert [r.label for r in g.rows].count("a [i=2]") == 1
    dot = cli("graph", "samples/euler_oscillator.py", "-f", "position", "--at", POSITION_AT).out
    assert len(re.findall(r"^  n\d+ \[label=", dot, re.M)) == len(rows)
    assert '[label="26: a [i=1] = t3 - t5\\na = ' in dot and 'n4 -> n21 [label="dt1/dzeta = -2.0"];' in dot
    # each edge goes forward in execution order, to the latest instance before the reader
    for e in g.edges:
        assert e.source < e.target
        assert all(g.rows[k].node != e.node for k in range(e.source + 1, e.target))
    chain_rule_holds(g)


def test_chain_rule_on_branches_and_many_readers() -> None:
    fs = function("samples/piecewise.py", "smoothstep")
    chain_rule_holds(graph.build(fs, {"x": 0.4, "lo": 0.0, "hi": 1.0}))
    g = graph.build(function("samples/euler_oscillator.py", "energy"), {"x0": 1, "v0": 0.5, "omega": 2, "zeta": 0.1})
    chain_rule_holds(g)
    omega = graph.adjoint_text(g, 2)  # read by every trip: the first terms, then how many
    assert re.fullmatch(r"omega_bar = \S+ \* \S+ \+ \S+ \* \S+ \+ \S+ \* \S+ \+ \.\.\. \(\d+ terms\) = \S+", omega)


def test_no_derivative_edges_and_mermaid_escapes(cli, write) -> None:
    path = write("def f(x, y):\n    flag = x > y\n    if flag:\n        s = x * y\n    else:\n        s = x - y\n    return s + 1\n")
    out = cli("graph", path, "-f", "f", "--at", "x=2,y=1", "--format", "mermaid").out
    assert '  n3["3: flag = x #gt; y<br/>flag = True<br/>flag_dot = 0<br/>' in out
    assert "flag_bar = 0 (no derivative flows through flag)" in out
    assert '  n1 -.->|"dflag/dx: none (no derivative)"| n3' in out
    assert "s = x - y" not in out  # the branch not taken has no vertex
    dot = cli("graph", path, "-f", "f", "--at", "x=2,y=1").out
    assert 'n1 -> n3 [label="dflag/dx: none (no derivative)", style=dashed];' in dot


# ---- errors and SVG --------------------------------------------------------------------


def test_loops_and_branches_need_a_point(cli) -> None:
    for path, name in (("samples/piecewise.py", "huber"), ("samples/euler_oscillator.py", "energy")):
        result = cli("graph", path, "-f", name)
        assert result.code == 2 and result.out == "" and "Traceback" not in result.err
        assert f"'{name}' has loops or branches" in result.err and "--at" in result.err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--at", AT, "--seed", "q"], "--seed q: not a parameter of 'loss'"),
        (["--seed", "x"], "--seed and --exact need a point"),
        (["--at", "x=5,w=2"], "no value for b, y"),
        (["--at", "x=5,w=2,b=-3,y=seven"], "y=seven: not a number"),
    ],
)
def test_usage_errors(cli, argv: list[str], message: str) -> None:
    result = cli("graph", "samples/exercise.py", "-f", "loss", *argv)
    assert result.code == 2 and result.out == "" and message in result.err and "Traceback" not in result.err


def test_bad_format_and_unknown_function_in_a_subprocess() -> None:
    argv = [sys.executable, "-m", "sct", "graph", "samples/exercise.py", "-f", "loss", "--format", "png"]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 2 and "invalid choice: 'png'" in done.stderr and "Traceback" not in done.stderr
    argv = [sys.executable, "-m", "sct", "graph", "samples/exercise.py", "-f", "nope", "--at", AT]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 2 and "no top-level function named 'nope'" in done.stderr and done.stdout == ""


def test_svg_without_graphviz_says_how_to_install(cli, monkeypatch) -> None:
    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    result = cli("graph", "samples/exercise.py", "-f", "loss", "--at", AT, "--format", "svg")
    assert result.code == 1 and result.out == "" and "Traceback" not in result.err
    assert "needs Graphviz's `dot` program, which is not installed" in result.err
    assert "apt install graphviz" in result.err


def test_svg_runs_dot_on_the_dot_text(cli, monkeypatch, tmp_path: Path) -> None:
    fake = tmp_path / "dot"  # stands in for Graphviz: wraps what it reads in an <svg>
    fake.write_text('#!/bin/sh\n[ "$1" = "-Tsvg" ] || exit 5\necho "<svg><!--"\ncat\necho "--></svg>"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(graph.shutil, "which", lambda name: str(fake) if name == "dot" else None)
    out = tmp_path / "g.svg"
    result = cli("graph", "samples/exercise.py", "-f", "loss", "--at", AT, "--format", "svg", "-o", out)
    assert (result.code, result.out, result.err) == (0, "", "")
    text = out.read_text()
    assert text.startswith("<svg><!--\n") and 'digraph "loss" {' in text and "z_bar = 14 * 1 + 14 * 1 = 28" in text
    fake.write_text("#!/bin/sh\necho 'syntax error in line 1' >&2\nexit 1\n")
    result = cli("graph", "samples/exercise.py", "-f", "loss", "--format", "svg")
    assert result.code == 1 and "Graphviz's `dot` failed: syntax error in line 1" in result.err


def test_output_file_and_determinism(cli, tmp_path: Path) -> None:
    out = tmp_path / "g.mmd"
    argv = ["graph", "samples/exercise.py", "-f", "loss", "--at", AT, "--format", "mermaid"]
    assert cli(*argv, "-o", out).code == 0
    assert out.read_text() == cli(*argv).out == cli(*argv).out


def test_exact_values_are_fractions() -> None:
    g = graph.build(function("samples/exercise.py", "loss"), {"x": 5, "w": 2, "b": -3, "y": 7}, exact=True)
    assert all(type(r.value) is Fraction for r in g.rows)
    assert g.rows[5].adjoint == 28 and type(g.rows[5].adjoint) is Fraction
