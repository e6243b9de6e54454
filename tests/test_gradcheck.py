"""`sct.check` and `sct check`: gradient checks, and where a wrong derivative comes from.

Every sample passes, through the API (on the imported function) and through
the CLI (which never imports the file). A derivative made wrong on purpose,
by replacing one rule of ``sct.rules.RULES`` for the length of a test, fails
the check, and the line named is the one using that operation. The pieces
(the Taylor test, the backward localization) are also tested on their own.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest
from helpers import REPO, SAMPLES, import_path

import sct
from sct import gradcheck, rules, source, table

# stem -> function -> (point, wrt or None for all parameters)
POINTS: dict[str, dict[str, tuple[dict, list[str] | None]]] = {
    "exercise": {"loss": ({"x": 5, "w": 2, "b": -3, "y": 7}, None)},
    "projectile": {
        "projectile_range": ({"v": 20.0, "theta": 0.6, "g": 9.81}, None),
        "max_height": ({"v": 20.0, "theta": 0.6, "g": 9.81}, None),
        "pendulum_energy": ({"m": 1.5, "length": 0.8, "theta": 0.4, "omega": -1.2, "g": 9.81}, None),
    },
    "neuron": {
        "neuron_loss": ({"x1": 0.5, "x2": -1.0, "w1": 0.8, "w2": 0.3, "b": 0.1, "y": 1.0}, None),
        "two_layer_loss": ({"x": 0.5, "w1": 1.2, "b1": 0.3, "w2": -0.7, "b2": 0.2, "y": 1.0}, None),
    },
    "softplus": {
        "softplus": ({"x": 0.3}, None),
        "logsumexp2": ({"a": 0.3, "b": -1.2}, None),
        "log_sigmoid": ({"x": -2.0}, None),
        "smooth_abs": ({"x": -0.4, "eps": 0.1}, None),
    },
    "horner": {"horner": ({"x": 0.7, "c0": 1.0, "c1": -2.0, "c2": 0.5, "c3": 3.0}, None)},
    "newton_sqrt": {"newton_sqrt": ({"a": 2.0}, None)},
    "piecewise": {
        "huber": ({"r": 2.0, "delta": 1.0}, None),
        "smoothstep": ({"x": 0.4, "lo": 0.0, "hi": 1.0}, None),
    },
    "springs": {
        "spring": ({"k": 2.0, "x": 1.7, "rest": 1.0}, None),
        "two_springs": ({"k1": 2.0, "k2": 0.5, "x": 1.2}, None),
    },
    "recursion": {  # n and depth count levels: ints, not differentiated
        "power": ({"x": 1.3, "n": 7}, ["x"]),
        "continued_fraction": ({"x": 1.5, "depth": 6}, ["x"]),
    },
    "euler_oscillator": {  # n counts the steps: an int, not differentiated
        "position": ({"x0": 1.0, "v0": 0.0, "omega": 2.0, "zeta": 0.1, "dt": 0.01, "n": 50}, ["x0", "v0", "omega", "zeta", "dt"]),
        "energy": ({"x0": 1.0, "v0": 0.5, "omega": 2.0, "zeta": 0.1}, None),
    },
}

CASES = [(stem, name, point, wrt) for stem, fns in POINTS.items() for name, (point, wrt) in fns.items()]
# The CLI evaluates generated code without running the file, so it cannot call the
# user's own functions: samples whose functions call others are checked through the API.
CALLERS = {("springs", "two_springs"), ("recursion", "power"), ("recursion", "continued_fraction")}
CLI_CASES = [c for c in CASES if (c[0], c[1]) not in CALLERS]


def sample_functions(path: Path) -> list[str]:
    return [n.name for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef)]


def test_every_sample_function_is_checked() -> None:
    checked = {(stem, name) for stem, name, _, _ in CASES}
    every = {(p.stem, name) for p in SAMPLES.glob("*.py") for name in sample_functions(p)}
    assert every <= checked, f"add points to POINTS for {sorted(every - checked)}"


@pytest.mark.parametrize("stem, name, point, wrt", CASES, ids=[f"{c[0]}.{c[1]}" for c in CASES])
def test_samples_pass_through_the_api(stem: str, name: str, point: dict, wrt) -> None:
    fn = getattr(import_path(SAMPLES / f"{stem}.py"), name)
    report = sct.check(fn, *point.values(), wrt=wrt)
    assert report.passed and [o.name for o in report.outcomes] == [
        "value", "tangent vs central differences", "adjoint vs tangent (dot-product identity)", "Taylor test",
    ]  # fmt: skip
    assert report.wrt == (wrt or list(point))


def test_the_cli_says_how_to_check_a_function_calling_another(cli) -> None:
    result = cli("check", SAMPLES / "springs.py", "-f", "two_springs", "--at", "k1=2,k2=0.5,x=1.2")
    assert result.code == 1 and "Traceback" not in result.err
    assert "name 'spring' is not defined" in result.err and "call sct.check(fn, ...) from Python" in result.err


@pytest.mark.parametrize("stem, name, point, wrt", CLI_CASES, ids=[f"{c[0]}.{c[1]}" for c in CLI_CASES])
def test_samples_pass_through_the_cli(cli, stem: str, name: str, point: dict, wrt) -> None:
    argv = ["check", SAMPLES / f"{stem}.py", "-f", name, "--at", ",".join(f"{k}={v}" for k, v in point.items())]
    result = cli(*argv, *(["--wrt", ",".join(wrt)] if wrt else []))
    assert (result.code, result.err) == (0, "")
    lines = result.out.splitlines()
    assert lines[0].startswith(f"gradient check of {name} at ") and len(lines) == 5
    assert all(line.startswith("  ok    ") for line in lines[1:])


def test_the_report(cli) -> None:
    out = cli("check", SAMPLES / "exercise.py", "-f", "loss", "--at", "x=5,w=2,b=-3,y=7").out
    assert out.splitlines()[0] == "gradient check of loss at x=5, w=2, b=-3, y=7 (wrt x, w, b, y)"
    assert "  ok    value: the tangent's value 49, the function's 49\n" in out
    assert "  ok    Taylor test: remainder shrinks with order 2.00 as h halves" in out
    assert "tangent vs central differences: 3 random directions, seed 0" in out
    out = cli("check", SAMPLES / "exercise.py", "-f", "loss", "--at", "x=5,w=2,b=-3,y=7", "--seed", "4", "--wrt", "w").out
    assert "(wrt w)" in out and "seed 4" in out


# ---- a wrong derivative, made on purpose ----------------------------------------------

WRONG = """\
import math


def f(x, y):
    u = x * y
    v = math.sin(u) + x
    w = math.exp(v) * y
    return w / x
"""


@pytest.mark.parametrize(
    "op, nargs, partials, line",
    [
        ("math.sin", 1, ("-math.cos({x})",), 6),
        ("math.exp", 1, ("2 * {out}",), 7),
        ("/", 2, ("1 / {b}", "{out} / {b}"), 8),
        ("*", 2, ("{b}", "{b}"), 5),  # every product is wrong: the first one is named
    ],
)
def test_a_wrong_rule_is_found_at_its_line(cli, write, monkeypatch, op: str, nargs: int, partials, line: int) -> None:
    path = write(WRONG)
    monkeypatch.setitem(rules.RULES, (op, nargs), rules.Rule(op, rules.RULES[(op, nargs)].params, partials))
    result = cli("check", path, "-f", "f", "--at", "x=0.7,y=1.3")
    assert result.code == 1 and result.out == "" and "Traceback" not in result.err
    first = result.err.splitlines()[0]
    assert first.startswith(f"{path}:{line}:5: gradient check failed: the derivatives of f fail: ")
    assert "tangent vs central differences" in first
    source_line = WRONG.splitlines()[line - 1].strip()
    assert result.err.splitlines()[1] == f"    {source_line}"
    assert f"  first wrong: line {line}: `" in result.err and f"(from `{source_line}`)" in result.err
    assert "this operation's derivative is wrong" in result.err
    assert "  ok    adjoint vs tangent (dot-product identity)" in result.err  # both modes read the same wrong rule


def test_a_wrong_rule_through_the_api(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "wrong.py").write_text(WRONG)
    fn = import_path(tmp_path / "wrong.py").f
    sct.check(fn, 0.7, 1.3)  # right before the rule is broken
    monkeypatch.setitem(rules.RULES, ("math.sin", 1), rules.Rule("math.sin", ("x",), ("-math.cos({x})",)))
    with pytest.raises(sct.GradientCheckError) as caught:
        sct.check(fn, 0.7, 1.3)
    err = caught.value
    assert isinstance(err, sct.SctError) and err.location is not None and err.location.line == 6
    assert not err.report.passed and err.report.culprit.startswith("line 6: `t1 = math.sin(u)` (from `v = math.sin(u) + x`)")
    failed = [o.name for o in err.report.outcomes if not o.passed]
    assert failed == ["tangent vs central differences", "Taylor test"]


def test_a_wrong_rule_inside_a_loop(cli, monkeypatch) -> None:
    monkeypatch.setitem(rules.RULES, ("-", 2), rules.Rule("-", ("a", "b"), ("1", "1")))
    at = "x0=1,v0=0.5,omega=2,zeta=0.1,dt=0.01,n=5"
    result = cli("check", SAMPLES / "euler_oscillator.py", "-f", "position", "--at", at, "--wrt", "x0,v0,omega,zeta,dt")
    assert result.code == 1 and "euler_oscillator.py:17:9: gradient check failed" in result.err
    assert "first wrong: line 17: `a [i=0] = t3 - t5`" in result.err  # the first trip


# ---- the pieces ------------------------------------------------------------------------


def exercise() -> source.FunctionSource:
    (fs,) = source.select_functions(source.read_file(SAMPLES / "exercise.py"), ["loss"])
    return fs


@pytest.mark.parametrize(
    "row, node, own, line, lines",
    [(5, "z", 8, 8, "lines 9, 10"), (6, "h", 9, 10, "line 10")],  # z is read by h and yhat, h by yhat only
)
def test_a_wrong_adjoint_is_found_going_backwards(
    monkeypatch, row: int, node: str, own: int, line: int, lines: str
) -> None:
    """The tangents are right, one adjoint is not: the first (going backwards) that breaks the chain rule."""
    real, built = table.build, []

    def build(fs, point, **kwargs):
        t = real(fs, point, **kwargs)
        if not built:  # the table at the point itself, not the shifted ones
            t.rows[row].adjoint += 1
        built.append(t)
        return t

    monkeypatch.setattr(table, "build", build)
    point, wrt = {"x": 5.0, "w": 2.0, "b": -3.0, "y": 7.0}, ["x", "w", "b", "y"]
    report = gradcheck.Report("loss", point, wrt)
    gradcheck._localize(report, exercise(), point, wrt, [1.0, -0.5, 0.7, 1.2], 1e-6, 1e-6, None)
    assert report.location is not None and report.location.line == line
    assert report.culprit.startswith(f"the adjoint of `{node}` (line {own})")
    assert f"the adjoint statements of {lines} accumulate into it wrongly" in report.culprit


def test_localization_with_nothing_wrong() -> None:
    point, wrt = {"x": 5.0, "w": 2.0, "b": -3.0, "y": 7.0}, ["x", "w", "b", "y"]
    report = gradcheck.Report("loss", point, wrt)
    gradcheck._localize(report, exercise(), point, wrt, [1.0, -0.5, 0.7, 1.2], 1e-6, 1e-6, None)
    assert report.location is None and report.culprit.startswith("not found")


def taylor(f, dfdx, x: float):
    call = lambda q: f(q["x"])  # noqa: E731
    tangent = lambda x, v: (f(x), dfdx(x) * v)  # noqa: E731
    return gradcheck._taylor(call, tangent, {"x": x}, ["x"], [1.0], f(x))


def test_taylor_test() -> None:
    right = taylor(math.sin, math.cos, 0.4)
    assert right.passed and "order 2.00" in right.detail
    wrong = taylor(math.sin, lambda x: math.cos(x) * 1.01, 0.4)
    assert not wrong.passed and "order 1.0" in wrong.detail
    linear = taylor(lambda x: 3 * x + 1, lambda x: 3, 0.4)
    assert linear.passed and "f is linear along the direction" in linear.detail
    assert not taylor(lambda x: 3 * x + 1, lambda x: 3.001, 0.4).passed


# ---- errors: one clean message --------------------------------------------------------


def test_the_file_is_never_run(cli, write) -> None:
    path = write("K = 3.0\n\n\ndef g(x):\n    return K * x * x\n\n\nraise SystemExit('this file was run')\n")
    result = cli("check", path, "-f", "g", "--at", "x=2")
    assert (result.code, result.err) == (0, "") and "value: the tangent's value 12, the function's 12" in result.out


def test_a_name_the_generated_module_does_not_define(cli, write) -> None:
    path = write("import random\n\nK = random.random()\n\n\ndef g(x):\n    return K * x\n")
    result = cli("check", path, "-f", "g", "--at", "x=2")
    assert result.code == 1 and result.out == "" and "Traceback" not in result.err
    assert f"{path}:7:5: evaluation error: g near x=2: NameError: name 'K' is not defined" in result.err
    assert "sct check does not run your file" in result.err


def test_a_point_outside_the_domain(cli, write) -> None:
    path = write("import math\n\n\ndef d(x):\n    y = x + 1\n    return math.log(y)\n")
    result = cli("check", path, "-f", "d", "--at", "x=-3")
    assert result.code == 1 and result.out == "" and "Traceback" not in result.err
    assert f"{path}:6:5: evaluation error: d near x=-3: ValueError: math domain error" in result.err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--at", "x=5,w=2,b=-3"], "no value for y"),
        (["--at", "x=5,w=2,b=-3,y=1/2"], "y=1/2: not a number"),
        (["--at", "x=5,w=2,b=-3,y=7", "--wrt", "q"], "wrt names 'q', not a parameter of 'loss'"),
    ],
)
def test_usage_errors(cli, argv: list[str], message: str) -> None:
    result = cli("check", SAMPLES / "exercise.py", "-f", "loss", *argv)
    assert result.code == 2 and result.out == "" and message in result.err and "Traceback" not in result.err


def test_api_usage_error() -> None:
    fn = import_path(SAMPLES / "exercise.py").loss
    with pytest.raises(sct.SctError, match="takes 4 arguments"):
        sct.check(fn, 1.0, 2.0)


def test_cli_subprocess(tmp_path: Path) -> None:
    import subprocess
    import sys

    argv = [sys.executable, "-m", "sct", "check", str(SAMPLES / "horner.py"), "-f", "horner", "--at", "x=0.7,c0=1,c1=-2,c2=0.5,c3=3"]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert (done.returncode, done.stderr) == (0, "") and done.stdout.count("  ok    ") == 4
    assert REPO.is_dir()


# ---- a custom rule (sct.primitive) with a wrong partial -------------------------------

PRIMITIVE = """\
import math

import sct


@sct.primitive
def softplus(x):
    return math.log1p(math.exp(x))


@softplus.partials
def softplus_partials(x):
    return 1 / (1 + math.exp(x))  # wrong on purpose: the derivative is 1 / (1 + exp(-x))


def f(x, y):
    u = x * y
    v = softplus(u) + x
    return v * y
"""


def test_a_wrong_primitive_partial_is_named_at_the_line_calling_it(tmp_path: Path) -> None:
    (tmp_path / "prim.py").write_text(PRIMITIVE)
    module = import_path(tmp_path / "prim.py")
    with pytest.raises(sct.GradientCheckError) as caught:
        sct.check(module.f, 0.7, 1.3)
    err = caught.value
    assert err.location is not None and err.location.line == 18
    assert err.location.source_line.strip() == "v = softplus(u) + x"
    assert "line 18: `t1 = " in err.report.culprit and "this operation's derivative is wrong" in err.report.culprit
    fixed = PRIMITIVE.replace("math.exp(x))  # wrong", "math.exp(-x))  # right")
    (tmp_path / "fixed.py").write_text(fixed)
    assert sct.check(import_path(tmp_path / "fixed.py").f, 0.7, 1.3).passed


def test_the_cli_does_not_run_a_primitive(cli, write) -> None:
    path = write(PRIMITIVE)
    result = cli("check", path, "-f", "f", "--at", "x=0.7,y=1.3")
    assert result.code == 1 and result.out == "" and "Traceback" not in result.err
    assert "NameError: name 'softplus' is not defined" in result.err and "call sct.check(fn, ...) from Python" in result.err


def test_a_function_returning_a_tuple_is_refused(cli, write) -> None:
    path = write("def pair(x, y):\n    return x * y, x + y\n")
    result = cli("check", path, "-f", "pair", "--at", "x=2,y=3")
    assert result.code == 2 and result.out == "" and "returned tuple" in result.err and "Traceback" not in result.err
