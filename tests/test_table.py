"""`sct table`: the exercise's table (values, partials, tangents, adjoints) for a function.

Every number here comes from generated code run by `sct table`; the tests
check it against the exercise sheet (docs: ../shared/exercise.md), against
direct evaluation and finite differences, and against the dot-product
identity between forward and reverse mode.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sct.cli

ROOT = Path(__file__).resolve().parent.parent
EXERCISE = ROOT / "samples" / "exercise.py"
AT = "x=5,w=2,b=-3,y=7"
SEEDS = ("x", "w", "b", "y")

# node, expression, value, partials, tangent for seeds x, w, b, y, adjoint (J_bar = 1)
EXPECTED = [
    ("x", "x", 5, {}, (1, 0, 0, 0), 56),
    ("w", "w", 2, {}, (0, 1, 0, 0), 140),
    ("b", "b", -3, {}, (0, 0, 1, 0), 28),
    ("y", "y", 7, {}, (0, 0, 0, 1), -14),
    ("v", "w * x", 10, {"w": "x", "x": "w"}, (2, 5, 0, 0), 28),
    ("z", "v + b", 7, {"v": "1", "b": "1"}, (2, 5, 1, 0), 28),
    ("h", "relu(z)", 7, {"z": "heaviside(z)"}, (2, 5, 1, 0), 14),
    ("yhat", "h + z", 14, {"h": "1", "z": "1"}, (4, 10, 2, 0), 14),
    ("result", "mse(yhat, y)", 49, {"yhat": "2 * (yhat - y)", "y": "-2 * (yhat - y)"}, (56, 140, 28, -14), 1),
]


def expected_json() -> dict:
    rows = [
        {
            "node": node,
            "expression": expression,
            "value": float(value),
            "partials": partials,
            "tangent": {s: float(t) for s, t in zip(SEEDS, tangents)},
            "adjoint": float(adjoint),
        }
        for node, expression, value, partials, tangents, adjoint in EXPECTED
    ]
    return {"function": "loss", "rows": rows}


def run_cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    capsys.readouterr()
    code = sct.cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def table_json(capsys: pytest.CaptureFixture[str], path: Path, function: str, at: str) -> dict:
    code, out, err = run_cli(capsys, "table", path, "--function", function, "--at", at, "--format", "json")
    assert (code, err) == (0, "")
    return json.loads(out)


# ---- the exercise ----------------------------------------------------------------


def test_exercise_json_every_cell(capsys: pytest.CaptureFixture[str]) -> None:
    table = table_json(capsys, EXERCISE, "loss", AT)
    assert [r["node"] for r in table["rows"]] == ["x", "w", "b", "y", "v", "z", "h", "yhat", "result"]
    for row, want in zip(table["rows"], expected_json()["rows"]):
        assert row == want, row["node"]
    assert table == expected_json()
    assert all(isinstance(v, float) for r in table["rows"] for v in [r["value"], r["adjoint"], *r["tangent"].values()])


def test_exercise_json_in_a_subprocess(tmp_path: Path) -> None:
    out = tmp_path / "table.json"
    argv = [sys.executable, "-m", "sct", "table", str(EXERCISE), "-f", "loss", "--at", AT, "--format", "json"]
    done = subprocess.run(argv + ["-o", str(out)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert json.loads(out.read_text()) == expected_json()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0 and json.loads(done.stdout) == expected_json()


def test_exercise_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "table", EXERCISE, "-f", "loss", "--at", AT)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == [
        "node", "expression", "value", "partials", "x_dot=1", "w_dot=1", "b_dot=1", "y_dot=1", "adjoint", "(result_bar=1)"
    ]  # fmt: skip
    assert set(lines[1]) == {"-", " "}
    assert len({len(line) for line in lines}) == 1  # aligned: the last column is right-aligned
    assert re.fullmatch(r"x\s+x\s+5\s+1\s+0\s+0\s+0\s+56", lines[2])
    assert re.fullmatch(r"v\s+w \* x\s+10\s+dv/dw = x, dv/dx = w\s+2\s+5\s+0\s+0\s+28", lines[6])
    assert re.fullmatch(r"z\s+v \+ b\s+7\s+dz/dv = 1, dz/db = 1\s+2\s+5\s+1\s+0\s+28", lines[7])
    assert re.fullmatch(r"h\s+relu\(z\)\s+7\s+dh/dz = heaviside\(z\)\s+2\s+5\s+1\s+0\s+14", lines[8])
    assert re.fullmatch(r"yhat\s+h \+ z\s+14\s+dyhat/dh = 1, dyhat/dz = 1\s+4\s+10\s+2\s+0\s+14", lines[9])
    partials = re.escape("dresult/dyhat = 2 * (yhat - y), dresult/dy = -2 * (yhat - y)")
    assert re.fullmatch(rf"result\s+mse\(yhat, y\)\s+49\s+{partials}\s+56\s+140\s+28\s+-14\s+1", lines[10])
    assert len(lines) == 11 and "10.0" not in out


def test_exercise_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "table", EXERCISE, "-f", "loss", "--at", AT, "--format", "markdown")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == (
        "| node | expression | value | partials | x_dot=1 | w_dot=1 | b_dot=1 | y_dot=1 | adjoint (result_bar=1) |"
    )
    assert lines[1] == "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"
    assert "| x | `x` | 5 |  | 1 | 0 | 0 | 0 | 56 |" in lines
    assert "| y | `y` | 7 |  | 0 | 0 | 0 | 1 | -14 |" in lines
    assert "| z | `v + b` | 7 | dz/dv = `1`, dz/db = `1` | 2 | 5 | 1 | 0 | 28 |" in lines
    assert "| h | `relu(z)` | 7 | dh/dz = `heaviside(z)` | 2 | 5 | 1 | 0 | 14 |" in lines
    assert (
        "| result | `mse(yhat, y)` | 49 | dresult/dyhat = `2 * (yhat - y)`, dresult/dy = `-2 * (yhat - y)` "
        "| 56 | 140 | 28 | -14 | 1 |"
    ) in lines
    assert len(lines) == 11 and all(line.startswith("| ") and line.endswith(" |") for line in lines)


# ---- other straight-line functions ---------------------------------------------------

MODEL = """\
import math
from math import exp

SCALE = 0.5


def model(a, b, c):
    u = math.sin(a) * b
    v = exp(u / c) + math.log(b * b + 1.0)
    w = math.sqrt(v) - math.tanh(a * c) * SCALE
    return w * u + c ** 2
"""


def direct_model(a: float, b: float, c: float) -> dict[str, float]:
    u = math.sin(a) * b
    v = math.exp(u / c) + math.log(b * b + 1.0)
    w = math.sqrt(v) - math.tanh(a * c) * 0.5
    return {"u": u, "v": v, "w": w, "result": w * u + c**2}


def test_math_function_values_and_dot_product_identity(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    point = {"a": 0.7, "b": -1.3, "c": 2.1}
    table = table_json(capsys, path, "model", ",".join(f"{k}={v}" for k, v in point.items()))
    rows = {r["node"]: r for r in table["rows"]}
    nodes = [r["node"] for r in table["rows"]]
    assert nodes[:3] == ["a", "b", "c"] and nodes[-1] == "result"
    assert nodes.index("u") < nodes.index("v") < nodes.index("w") < nodes.index("result")
    for name, value in direct_model(**point).items():
        assert rows[name]["value"] == pytest.approx(value, rel=1e-12)
    for p in point:  # inputs: the identity seeds
        assert rows[p] | {"adjoint": None} == {
            "node": p, "expression": p, "value": point[p], "partials": {},
            "tangent": {q: float(q == p) for q in point}, "adjoint": None,
        }  # fmt: skip
    result = rows["result"]
    assert result["adjoint"] == 1.0
    for seed in point:  # one reverse sweep gives what every forward sweep gives
        dot = sum(rows[p]["adjoint"] * float(p == seed) for p in point)
        assert result["tangent"][seed] == pytest.approx(dot, rel=1e-12)
        h = 1e-6
        plus = direct_model(**{**point, seed: point[seed] + h})["result"]
        minus = direct_model(**{**point, seed: point[seed] - h})["result"]
        assert result["tangent"][seed] == pytest.approx((plus - minus) / (2 * h), rel=1e-6)
    # The exercise's two chain rules, cell by cell, with the printed partials evaluated at the printed values.
    values = {"math": math, "exp": math.exp, "SCALE": 0.5, **{r["node"]: r["value"] for r in table["rows"]}}
    partial = {(r["node"], n): eval(text, {}, values) for r in table["rows"] for n, text in r["partials"].items()}
    for r in table["rows"][3:]:
        for seed in point:
            forward = sum(partial[r["node"], n] * rows[n]["tangent"][seed] for n in r["partials"])
            assert r["tangent"][seed] == pytest.approx(forward, rel=1e-12, abs=1e-15), (r["node"], seed)
    for r in table["rows"][:-1]:
        backward = sum(rows[t]["adjoint"] * partial[t, n] for (t, n) in partial if n == r["node"])
        assert r["adjoint"] == pytest.approx(backward, rel=1e-12, abs=1e-15), r["node"]
    assert rows["t1"]["partials"] == {"a": "math.cos(a)"} and rows["t3"]["partials"] == {"t2": "t3"}


def test_reassignment_dead_code_and_inactive_nodes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "f.py"
    path.write_text(
        "import math\n\n\ndef f(x, y):\n    a = x * 2\n    a = a + math.sin(y)\n    x = x * a\n"
        "    unused = y * 3\n    c = int(x)\n    return a * x + c + 1.5\n"
    )
    x, y = 1.5, 0.3
    table = table_json(capsys, path, "f", f"x={x},y={y}")
    rows = table["rows"]
    assert [r["node"] for r in rows] == ["x", "y", "a", "t1", "t2", "a", "t3", "x", "unused", "c", "t4", "t5", "result"]
    a1, a2 = 2 * x, 2 * x + math.sin(y)
    x2 = x * a2
    a2_bar = x2 + a2 * x  # read by t4 = a * x and by t3 = x * a
    want = {  # row index: (value, adjoint)
        0: (x, a2 * a2 + 2 * a2_bar),
        1: (y, a2_bar * math.cos(y)),
        2: (a1, a2_bar),
        5: (a2, a2_bar),
        7: (x2, a2),
        8: (3 * y, 0.0),  # dead code: not differentiated, its value still shown
        9: (int(x2), 0.0),  # int passes no derivative
        12: (a2 * x2 + int(x2) + 1.5, 1.0),
    }
    for i, (value, adjoint) in want.items():
        assert rows[i]["value"] == pytest.approx(value, rel=1e-12), i
        assert rows[i]["adjoint"] == pytest.approx(adjoint, rel=1e-12), i
    assert rows[9]["partials"] == {"x": None} and rows[9]["tangent"] == {"x": 0.0, "y": 0.0}
    assert rows[8]["tangent"] == {"x": 0.0, "y": 0.0}
    assert rows[7]["tangent"]["x"] == pytest.approx(a2 + 2 * x)
    assert rows[12]["tangent"]["x"] == pytest.approx(rows[0]["adjoint"])
    assert rows[12]["tangent"]["y"] == pytest.approx(rows[1]["adjoint"])


def test_the_file_is_never_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "g.py"
    path.write_text("K = 3.0\n\n\ndef g(x):\n    return K * x * x\n\n\nraise SystemExit('this file was run')\n")
    rows = table_json(capsys, path, "g", "x=2")["rows"]
    assert rows[-1]["value"] == 12.0 and rows[-1]["tangent"] == {"x": 12.0} and rows[0]["adjoint"] == 12.0


# ---- errors: one clean message, no traceback ------------------------------------------


@pytest.mark.parametrize(
    "at, message",
    [
        ("x=5,w=2,b=-3", "no value for y"),
        ("x=5,w=two,b=-3,y=7", "w=two: not a number"),
        ("x=5,w=2,b=-3,y=7,q=1", "'q', not a parameter of 'loss'"),
        ("x=5,w=2,b,y=7", "name=value pairs"),
    ],
)
def test_bad_at(capsys: pytest.CaptureFixture[str], at: str, message: str) -> None:
    code, out, err = run_cli(capsys, "table", EXERCISE, "-f", "loss", "--at", at)
    assert code != 0 and out == ""
    assert message in err and err.count("error:") == 1 and "Traceback" not in err


def test_bad_at_in_a_subprocess(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "sct", "table", str(EXERCISE), "-f", "loss", "--at", "x=5,w=2"]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode != 0 and done.stdout == ""
    assert "no value for b, y" in done.stderr and "Traceback" not in done.stderr


def test_a_point_outside_the_domain(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "d.py"
    path.write_text("import math\n\n\ndef d(x):\n    y = x + 1\n    return math.log(y)\n")
    code, out, err = run_cli(capsys, "table", path, "-f", "d", "--at", "x=-3")
    assert code == 1 and out == "" and "Traceback" not in err
    assert f"{path}:6:5: evaluation error: d at x=-3: ValueError: math domain error" in err
    assert "return math.log(y)" in err


# ---- branches and loops: one row per executed instance ---------------------------------


def _env_before(rows: list[dict], q: int) -> dict:
    """Each node's latest value before row ``q`` ran (what row ``q`` read)."""
    env: dict = {"math": math}
    for r in rows[:q]:
        env[r["node"]] = r["value"]
    return env


def _partial_value(rows: list[dict], q: int, node: str) -> float:
    text = rows[q]["partials"][node]
    if text is None:
        return 0.0
    env = _env_before(rows, q)
    if rows[q]["node"] not in rows[q]["partials"]:  # a partial may read the result (exp)
        env[rows[q]["node"]] = rows[q]["value"]
    return eval(text, {}, env)


def check_chain_rules(rows: list[dict], seeds: tuple[str, ...], n_inputs: int, result: int = -1) -> None:
    """Per instance, from the table's own rows: tangent = sum of partial * the read
    instance's tangent; adjoint = sum over the instances reading it of their adjoint * partial.
    Dead code (no reader, not the result) shows tangent and adjoint 0."""
    result %= len(rows)
    for q in range(n_inputs, len(rows)):
        later = [t for t in rows[q + 1 :] if rows[q]["node"] in t["partials"] or t["node"] == rows[q]["node"]]
        if q != result and (not later or rows[q]["node"] not in later[0]["partials"]):
            assert set(rows[q]["tangent"].values()) == {0.0} and rows[q]["adjoint"] == 0.0, q
            continue
        reads = {n: max(r for r in range(q) if rows[r]["node"] == n) for n in rows[q]["partials"]}
        for seed in seeds:
            forward = sum(_partial_value(rows, q, n) * rows[r]["tangent"][seed] for n, r in reads.items())
            assert rows[q]["tangent"][seed] == pytest.approx(forward, rel=1e-12, abs=1e-12), (q, seed)
    for r in range(len(rows)):
        if r == result:
            continue
        node, backward = rows[r]["node"], 0.0
        for q in range(r + 1, len(rows)):
            if node in rows[q]["partials"]:
                backward += rows[q]["adjoint"] * _partial_value(rows, q, node)
            if rows[q]["node"] == node:  # overwritten: later rows read the new instance
                break
        assert rows[r]["adjoint"] == pytest.approx(backward, rel=1e-12, abs=1e-12), (r, node)


def label(row: dict) -> str:
    it = row.get("iteration")
    return row["node"] if not it else f"{row['node']} [{', '.join(f'{k}={v}' for k, v in it.items())}]"


LOOP = "def p(x, c):\n    s = x\n    for i in range(3):\n        s = s * x + i\n    return s * c\n"


def direct_loop(x: float, c: float) -> float:
    s = x
    for i in range(3):
        s = s * x + i
    return s * c


def test_a_for_loop_gives_one_row_per_instance(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "p.py"
    path.write_text(LOOP)
    x, c = 1.3, -0.7
    rows = table_json(capsys, path, "p", f"x={x},c={c}")["rows"]
    assert [label(r) for r in rows] == [
        "x", "c", "s", "t1 [i=0]", "s [i=0]", "t1 [i=1]", "s [i=1]", "t1 [i=2]", "s [i=2]", "result"
    ]  # fmt: skip
    assert rows[3]["iteration"] == {"i": 0} and rows[8]["iteration"] == {"i": 2} and "iteration" not in rows[2]
    s, want = x, []
    for i in range(3):
        want += [s * x, s * x + i]
        s = s * x + i
    assert [r["value"] for r in rows[3:9]] == pytest.approx(want, rel=1e-12)
    assert rows[-1]["value"] == pytest.approx(direct_loop(x, c), rel=1e-12) and rows[-1]["adjoint"] == 1.0
    for seed, h in (("x", 1e-6), ("c", 1e-6)):
        plus = direct_loop(**{"x": x, "c": c, seed: (x, c)[seed == "c"] + h})
        minus = direct_loop(**{"x": x, "c": c, seed: (x, c)[seed == "c"] - h})
        assert rows[-1]["tangent"][seed] == pytest.approx((plus - minus) / (2 * h), rel=1e-6)
        assert rows[-1]["tangent"][seed] == pytest.approx(rows[seed == "c"]["adjoint"], rel=1e-12)  # dot product
    # the final instances by hand: s [i=2] is read by result only, t1 [i=2] by s [i=2] only
    assert rows[8]["adjoint"] == pytest.approx(c) and rows[7]["adjoint"] == pytest.approx(c)
    assert rows[6]["adjoint"] == pytest.approx(c * x)  # s [i=1], read by t1 [i=2] = s * x
    assert rows[4]["adjoint"] == pytest.approx(c * x * x) and rows[2]["adjoint"] == pytest.approx(c * x**3)
    check_chain_rules(rows, ("x", "c"), 2)


def test_text_labels_iterations(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "p.py"
    path.write_text(LOOP)
    code, out, err = run_cli(capsys, "table", path, "-f", "p", "--at", "x=2,c=1")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert [line.split("  ")[0].strip() for line in lines[2:]] == [
        "x", "c", "s", "t1 [i=0]", "s [i=0]", "t1 [i=1]", "s [i=1]", "t1 [i=2]", "s [i=2]", "result"
    ]  # fmt: skip
    assert re.fullmatch(r"s \[i=2\]\s+t1 \+ i\s+20\s+ds/dt1 = 1\s+.*", lines[10])


BRANCH = """\
import math


def q(x, y):
    a = x * y
    if a > 0:
        b = math.exp(a)
        c = b * x
    else:
        b = a * a
    d = b + y
    return d
"""


@pytest.mark.parametrize("x, taken", [(0.5, ["a", "b", "c", "d"]), (-0.5, ["a", "b", "d"])])
def test_a_branch_shows_only_the_taken_side(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, x: float, taken: list[str]
) -> None:
    path = tmp_path / "q.py"
    path.write_text(BRANCH)
    y = 1.7
    rows = table_json(capsys, path, "q", f"x={x},y={y}")["rows"]
    nodes = [r["node"] for r in rows]
    assert nodes[:2] == ["x", "y"] and [n for n in nodes[2:] if not n.startswith("t")] == taken
    assert all("iteration" not in r for r in rows)
    a = x * y
    b = math.exp(a) if a > 0 else a * a
    assert rows[-1]["value"] == pytest.approx(b + y, rel=1e-12)
    expression = {r["node"]: r["expression"] for r in rows}
    assert expression["b"] == ("math.exp(a)" if a > 0 else "a * a")
    db_da = math.exp(a) if a > 0 else 2 * a
    assert rows[0]["adjoint"] == pytest.approx(db_da * y, rel=1e-12)  # c is dead
    assert rows[1]["adjoint"] == pytest.approx(db_da * x + 1, rel=1e-12)
    assert rows[-1]["tangent"] == pytest.approx({"x": rows[0]["adjoint"], "y": rows[1]["adjoint"]}, rel=1e-12)
    check_chain_rules(rows, ("x", "y"), 2)


WHILE = """\
import math


def w(x):
    s = x
    n = 0
    while s < 10.0:
        s = s * x + math.sin(s)
        n = n + 1
    return s
"""


def test_a_while_loop_labels_its_iterations(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "w.py"
    path.write_text(WHILE)
    x = 1.6
    rows = table_json(capsys, path, "w", f"x={x}")["rows"]
    s, trips = x, 0
    while s < 10.0:
        s, trips = s * x + math.sin(s), trips + 1
    assert trips >= 3
    s_rows = [r for r in rows if r["node"] == "s" and "iteration" in r]
    assert [r["iteration"] for r in s_rows] == [{"iter": k} for k in range(1, trips + 1)]
    assert label(rows[-1]) == f"n [iter={trips}]"  # execution order: the returned instance is not last here
    result = s_rows[-1]
    assert result["value"] == pytest.approx(s, rel=1e-12) and result["adjoint"] == 1.0
    assert result["tangent"]["x"] == pytest.approx(rows[0]["adjoint"], rel=1e-12)
    assert [label(r) for r in rows[:3]] == ["x", "s", "n"]
    check_chain_rules(rows, ("x",), 1, rows.index(result))


NESTED = """\
def m(x):
    s = x
    for i in range(2):
        for j in range(2):
            s = s * x + j
            if s > 5:
                break
        if s > 100:
            return s
    return s * x
"""


@pytest.mark.parametrize("x", [1.1, 2.0, 5.0])
def test_nested_loops_break_and_early_return(capsys: pytest.CaptureFixture[str], tmp_path: Path, x: float) -> None:
    path = tmp_path / "m.py"
    path.write_text(NESTED)
    rows = table_json(capsys, path, "m", f"x={x}")["rows"]
    s, labels, done = x, [], False
    for i in range(2):
        for j in range(2):
            s = s * x + j
            labels.append(f"s [i={i}, j={j}]")
            if s > 5:
                break
        if s > 100:
            done = True
            break
    assert [label(r) for r in rows if r["node"] == "s" and "iteration" in r] == labels
    assert rows[-1]["value"] == pytest.approx(s if done else s * x, rel=1e-12) and rows[-1]["adjoint"] == 1.0
    assert rows[-1]["tangent"]["x"] == pytest.approx(rows[0]["adjoint"], rel=1e-12)
    check_chain_rules(rows, ("x",), 1)
