"""The decorator's contract: the exercise's numbers, the generated source, names, conventions.

The exercise (/work/shared/exercise.md) is ``samples/exercise.py``; its numbers
are the only hard-coded derivatives in the test suite.
"""

from __future__ import annotations

import ast
import inspect
import math
import os
import re
import subprocess
import sys
import traceback
from fractions import Fraction

import numpy as np
import pytest
from helpers import (
    scalar_rules,
    REPO,
    SAMPLES,
    check_derivatives,
    import_path,
    load_function,
    rule_call,
    rule_imports,
    write_module,
)

import sct

POINT = (5.0, 2.0, -3.0, 7.0)  # x, w, b, y


@pytest.fixture(scope="module")
def loss() -> sct.Differentiated:
    return import_path(SAMPLES / "exercise.py").loss


# ---- the exercise, exactly ---------------------------------------------------------------


def test_exercise_value(loss) -> None:
    assert loss(*POINT) == 49.0


@pytest.mark.parametrize(
    "seed, expected",
    [
        ((1.0, 0.0, 0.0, 0.0), (49.0, 56.0)),  # x_dot = 1
        ((0.0, 1.0, 0.0, 0.0), (49.0, 140.0)),  # w_dot = 1
        ((0.0, 0.0, 1.0, 0.0), (49.0, 28.0)),  # b_dot = 1
        ((0.0, 0.0, 0.0, 1.0), (49.0, -14.0)),  # y_dot = 1
    ],
    ids=["x_dot", "w_dot", "b_dot", "y_dot"],
)
def test_exercise_tangent(loss, seed, expected) -> None:
    assert loss.tangent(*POINT, *seed) == expected


def test_exercise_adjoint(loss) -> None:
    assert loss.adjoint(*POINT, 1.0) == (56.0, 140.0, 28.0, -14.0)


def test_exercise_grad(loss) -> None:
    assert loss.grad(*POINT) == (56.0, 140.0, 28.0, -14.0)


def test_exercise_one_reverse_sweep_gives_four_forward_sweeps(loss) -> None:
    seeds = np.eye(4)
    forward = tuple(loss.tangent(*POINT, *seed)[1] for seed in seeds)
    assert forward == loss.grad(*POINT)


def test_exercise_derivatives_elsewhere(loss) -> None:
    for point in [(0.5, 1.5, 0.25, -1.0), (-2.0, 0.7, 0.3, 2.0), (1.0, -1.0, -0.5, 0.1)]:
        check_derivatives(loss, point)


# ---- the generated source ------------------------------------------------------------------


def defined_functions(text: str) -> list[str]:
    return [n.name for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)]


def test_sources_define_the_generated_functions(loss) -> None:
    assert isinstance(loss.tangent_source, str) and isinstance(loss.adjoint_source, str)
    assert defined_functions(loss.tangent_source) == ["loss_tangent"]
    assert defined_functions(loss.adjoint_source) == ["loss_adjoint"]
    assert loss.tangent.__name__ == "loss_tangent"
    assert loss.adjoint.__name__ == "loss_adjoint"


def test_signatures(loss) -> None:
    assert list(inspect.signature(loss.tangent).parameters) == [
        "x", "w", "b", "y", "x_dot", "w_dot", "b_dot", "y_dot",
    ]
    assert list(inspect.signature(loss.adjoint).parameters)[:4] == ["x", "w", "b", "y"]
    assert len(inspect.signature(loss.adjoint).parameters) == 5


def test_getsource_returns_the_generated_source(loss) -> None:
    assert inspect.getsource(loss.adjoint) == loss.adjoint_source
    assert inspect.getsource(loss.tangent) == loss.tangent_source


def test_traceback_shows_a_generated_line(loss) -> None:
    with pytest.raises(TypeError) as info:
        loss.adjoint(None, 2.0, -3.0, 7.0, 1.0)  # None * 2.0 fails on the first line
    frame = traceback.extract_tb(info.value.__traceback__)[-1]
    assert frame.filename.startswith("<sct generated")
    assert frame.name == "loss_adjoint"
    assert frame.line == "v = w * x"
    assert loss.adjoint_source.splitlines()[frame.lineno - first_line(loss.adjoint)].strip() == frame.line
    assert "v = w * x" in "".join(traceback.format_exception(info.value))


def first_line(fn) -> int:
    return fn.__code__.co_firstlineno


def function_body_lines(path, name: str) -> list[tuple[int, str]]:
    """(line number, stripped text) of each line of function ``name``'s body."""
    text = path.read_text()
    (fn,) = [n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == name]
    lines = text.splitlines()
    return [(n, lines[n - 1].strip()) for n in range(fn.body[0].lineno, fn.end_lineno + 1) if lines[n - 1].strip()]


def test_provenance_comments_name_the_original_lines(loss) -> None:
    body = function_body_lines(SAMPLES / "exercise.py", "loss")
    assert len(body) == 5, "the exercise's five operations"
    for n, text in body:
        comment = f"# line {n}: {text}"
        assert comment in loss.tangent_source
        assert comment in loss.adjoint_source
    for text in (loss.tangent_source, loss.adjoint_source):
        for n in map(int, re.findall(r"# line (\d+):", text)):
            assert n in dict(body), f"comment names line {n}, outside the function"


def test_adjoint_sweep_runs_in_reverse_order(loss) -> None:
    """The backward sweep's provenance comments run from the last line to the first."""
    text = loss.adjoint_source
    tail = text[text.index("# line 11") :]  # the sweep starts at the return line
    lines = [int(n) for n in re.findall(r"# line (\d+):", tail)]
    sweep = lines[: lines.index(7) + 1]
    assert sweep == sorted(sweep, reverse=True) == [11, 10, 9, 8, 7]


# ---- the object the decorator returns ---------------------------------------------------------

DOCUMENTED = '''
import math


def area(r, h):
    """Surface of a closed cylinder."""
    return 2 * math.pi * r * (r + h)


def guarded(x):
    try:
        return x * 2
    except TypeError:
        return 0
'''


def test_wraps_the_original(tmp_path) -> None:
    module = import_path(write_module(tmp_path, DOCUMENTED))
    d = sct.differentiate(module.area)
    assert d.__name__ == "area"
    assert d.__doc__ == "Surface of a closed cylinder."
    assert d.__qualname__ == "area"
    assert d.__module__ == module.area.__module__
    assert d.__wrapped__ is module.area
    assert inspect.signature(d) == inspect.signature(module.area)


def test_calling_calls_the_original_unchanged(tmp_path) -> None:
    module = import_path(write_module(tmp_path, DOCUMENTED))
    d = sct.differentiate(module.guarded)  # `try`: outside what sct differentiates
    assert d(3) == 6 and isinstance(d(3), int)  # the original runs: no transformation, no error
    assert d("ab") == "abab"
    with pytest.raises(sct.SctError):
        d.tangent


def test_calling_keeps_types(loss) -> None:
    assert loss(5, 2, -3, 7) == 49 and isinstance(loss(5, 2, -3, 7), int)
    assert isinstance(loss(Fraction(1, 2), 2, 0, 3), Fraction)


def test_transformation_is_lazy(tmp_path) -> None:
    """Decorating a function that calls a later helper works: sct reads it on first use."""
    module = import_path(
        write_module(
            tmp_path,
            """
            import sct


            @sct.differentiate
            def f(x):
                return x * SCALE


            SCALE = 3.0
            """,
        )
    )
    check_derivatives(module.f, (0.7,))


def test_wrt_two_of_four(loss) -> None:
    d = sct.differentiate(loss.fn, wrt=("x", "w"))
    assert d.wrt == ["x", "w"]
    assert list(inspect.signature(d.tangent).parameters)[4:] == ["x_dot", "w_dot"]
    assert d.tangent(*POINT, 1.0, 0.0) == (49.0, 56.0)
    assert d.tangent(*POINT, 0.0, 1.0) == (49.0, 140.0)
    assert d.adjoint(*POINT, 1.0) == (56.0, 140.0)


def test_wrt_follows_signature_order(loss) -> None:
    d = sct.differentiate(loss.fn, wrt=("w", "x"))
    assert d.wrt == ["x", "w"]
    assert d.adjoint(*POINT, 1.0) == (56.0, 140.0)


def test_wrt_as_decorator_argument(tmp_path) -> None:
    source = (SAMPLES / "exercise.py").read_text().replace(
        "@sct.differentiate\n", '@sct.differentiate(wrt=("x", "w"))\n'
    )
    d = import_path(write_module(tmp_path, source)).loss
    assert d.wrt == ["x", "w"]
    assert d.adjoint(*POINT, 1.0) == (56.0, 140.0)


def test_wrt_as_comma_string(loss) -> None:
    assert sct.differentiate(loss.fn, wrt="y, b").adjoint(*POINT, 1.0) == (28.0, -14.0)


def test_adjoint_returns_a_tuple_even_of_one(loss) -> None:
    d = sct.differentiate(loss.fn, wrt=("b",))
    assert d.adjoint(*POINT, 1.0) == (28.0,)
    assert d.grad(*POINT) == 28.0  # the gradient of one parameter is the derivative itself


def test_single_parameter_adjoint_is_a_tuple(tmp_path) -> None:
    d = load_function(tmp_path, "import math\n\ndef f(x):\n    return math.exp(x)\n")
    grads = d.adjoint(0.5, 1.0)
    assert type(grads) is tuple and len(grads) == 1


def test_grad_is_adjoint_with_seed_one(tmp_path) -> None:
    d = load_function(tmp_path, "import math\n\ndef f(x, y):\n    return math.sin(x) * y\n")
    assert d.grad(0.3, 1.7) == d.adjoint(0.3, 1.7, 1.0)


@pytest.mark.parametrize("wrt", [None, "x"])
def test_grad_takes_the_functions_defaults(tmp_path, wrt) -> None:
    # the gradient's parameters are the function's: so are their defaults (scalar, one input: the tangent)
    d = load_function(tmp_path, "import math\n\ndef f(x, y=2.0, n=3):\n    return math.sin(x) * y * n\n", wrt=wrt)
    full = d.adjoint(0.3, 2.0, 3, 1.0)
    expected = full if wrt is None else full[0]
    assert d.grad(0.3) == d.grad(0.3, 2.0) == d.grad(0.3, n=3) == expected
    assert d.grad(0.3, 1.0) != expected and d.value_and_grad(0.3) == (d.fn(0.3), expected)


def test_array_grad_takes_the_functions_defaults(tmp_path) -> None:
    import numpy as np
    d = load_function(tmp_path, "import numpy as np\n\ndef f(x, w, scale=2.0):\n    return np.sum(np.tanh(x @ w) * scale)\n")
    x, w = np.ones((4, 3)), np.full((3, 2), 0.1)
    for _ in range(2):  # as generated, then specialised at its first call
        for got, want in zip(d.grad(x, w), d.adjoint(x, w, 2.0, 1.0)):
            np.testing.assert_array_equal(got, want)


# ---- determinism ---------------------------------------------------------------------------

PRINT_SOURCES = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("exercise_fresh", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
sys.stdout.write(module.loss.tangent_source + "\\0" + module.loss.adjoint_source)
"""


def test_transforming_twice_gives_identical_source(loss) -> None:
    again = sct.differentiate(loss.fn)
    assert again.tangent_source == loss.tangent_source
    assert again.adjoint_source == loss.adjoint_source


@pytest.mark.parametrize("hashseed", ["0", "12345"])
def test_fresh_process_gives_identical_source(loss, hashseed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": hashseed}
    out = subprocess.run(
        [sys.executable, "-c", PRINT_SOURCES, str(SAMPLES / "exercise.py")],
        capture_output=True, text=True, env=env, cwd=REPO, check=True,
    ).stdout
    assert out == loss.tangent_source + "\0" + loss.adjoint_source


# ---- names: the user's are never shadowed ----------------------------------------------------

SHADOW_CASES = [
    # generated names a user might already use
    (
        "generated-names",
        """
        from sct import relu


        def f(x, t1):
            x_bar = x * t1
            heaviside = x_bar + 1.0
            t2 = relu(heaviside)
            t3 = t2 * x
            return t3 + x_bar
        """,
        (0.7, 1.3),
    ),
    (
        "dot-and-bar-params",
        """
        import math


        def f(x, x_dot, result_bar, result):
            t1_dot = x * x_dot
            t1_bar = math.exp(t1_dot)
            result_dot = t1_bar * result_bar
            return result_dot * result
        """,
        (0.7, 1.3, -0.4, 0.9),
    ),
    (
        "runtime-helper-name",
        """
        def f(x, y):
            zeros_like = x * 2.0
            return zeros_like
        """,
        (0.7, 1.3),
    ),
    (
        "heaviside-global",
        """
        import sct
        from sct import relu

        heaviside = 2.0


        def f(z):
            h = relu(z)
            return h * heaviside
        """,
        (0.7,),
    ),
    (
        "math-as-local",
        """
        from math import sin


        def f(x, y):
            math = x * y
            t = sin(math)
            return t * math
        """,
        (0.7, 1.3),
    ),
    (
        "sct-as-local",
        """
        from sct import relu


        def f(x, y):
            sct = x * y
            t = relu(sct)
            return t * sct
        """,
        (0.7, 1.3),
    ),
    (
        "math-as-param",
        """
        from math import cos


        def f(math, y):
            t = cos(math)
            return t * y
        """,
        (0.7, 1.3),
    ),
]


def assignments(fn: ast.FunctionDef) -> dict[str, set[str]]:
    """target -> the right-hand sides assigned to it (augmented ones marked)."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        found.setdefault(name.id, set()).add(ast.unparse(node.value))
        elif isinstance(node, ast.AugAssign):
            found.setdefault(node.target.id, set()).add("<augmented>")  # type: ignore[attr-defined]
    return found


@pytest.mark.parametrize("source, point", [pytest.param(s, p, id=i) for i, s, p in SHADOW_CASES])
def test_user_names_are_never_shadowed(tmp_path, source: str, point) -> None:
    path = write_module(tmp_path, source)
    d = sct.differentiate(import_path(path).f)
    check_derivatives(d, point)

    user = next(n for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef))
    user_names = {n.id for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Name)}
    user_names |= {a.arg for a in user.args.args}
    user_assigns = assignments(user)
    for text in (d.tangent_source, d.adjoint_source):
        (generated,) = ast.parse(text).body
        added = [a.arg for a in generated.args.args][len(user.args.args) :]
        assert not set(added) & user_names, f"a generated parameter takes a user's name\n{text}"
        for target, values in assignments(generated).items():
            if target in user_names:
                assert values <= user_assigns.get(target, set()), (
                    f"generated code assigns {values} to the user's `{target}`\n{text}"
                )


# ---- generated code is simplified and readable ---------------------------------------------------

UGLY = {
    "0 *": r"(?<![\w.])0 \*(?!\*)",
    "* 0": r"(?<!\*)\* 0(?![\w.])",
    "1 *": r"(?<![\w.])1 \*(?!\*)",
    "* 1": r"(?<!\*)\* 1(?![\w.])",
    "+ 0": r"\+ 0(?![\w.])",
    "0 +": r"(?<![\w.])0 \+",
    "- 0": r"- 0(?![\w.])",
    "/ 1": r"/ 1(?![\w.])",
    "** 1": r"\*\* 1(?![\w.])",
}

CORPUS = [
    "from sct import mse, relu\n\ndef f(x, w, b, y):\n    return mse(relu(w * x + b) + w * x + b, y)\n",
    "import math\n\ndef f(x, y):\n    z = x * y\n    z += x\n    z *= z\n    return math.exp(-z) / (1 + z)\n",
    "def f(x, y):\n    a, b = x * y, x - y\n    a, b = b, a\n    return -a * +b\n",
    "def f(x, y):\n    return x\n",
    "def f(x):\n    return 3.0\n",
    "def f(x, y):\n    return x * 2\n",
    "def f(x):\n    return x ** 2 + x ** 3 - 2 ** x\n",
]


def corpus() -> list[pytest.param]:
    cases = [pytest.param(s, id=f"corpus{i}") for i, s in enumerate(CORPUS)]
    for (op, nargs), rule in scalar_rules():
        params = list(rule.params)
        call = rule_call(op, params)
        for body in (f"return {call}", f"return {call} * {params[0]} + 2"):
            source = f"{rule_imports(op)}\n\n\ndef f({', '.join(params)}):\n    {body}\n"
            cases.append(pytest.param(source, id=f"{op}/{nargs}:{body}"))
    return cases


def code_without_comments(text: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


@pytest.mark.parametrize("source", corpus())
def test_generated_code_has_no_trivial_terms(tmp_path, source: str) -> None:
    d = load_function(tmp_path, source)
    for text in (d.tangent_source, d.adjoint_source):
        code = code_without_comments(text)
        found = {label for label, pattern in UGLY.items() if re.search(pattern, code)}
        assert not found, f"trivial terms {sorted(found)} in\n{text}"


def test_sample_outputs_have_no_trivial_terms() -> None:
    from sct.cli import transform_file

    for path in sorted(SAMPLES.glob("*.py")):
        code = code_without_comments(transform_file(str(path), None, "both", None))
        user_code = code_without_comments(path.read_text())
        for label, pattern in UGLY.items():
            if not re.search(pattern, user_code):  # the user's own terms are kept as written
                assert not re.search(pattern, code), f"{label} in the output for {path.name}"


# ---- conventions and the exercise's functions -------------------------------------------------


@pytest.fixture
def relu_fn(tmp_path) -> sct.Differentiated:
    return load_function(tmp_path, "from sct import relu\n\ndef f(z):\n    return relu(z)\n")


def test_relu_derivative_at_zero_is_one(relu_fn) -> None:
    assert relu_fn.tangent(0.0, 1.0) == (0.0, 1)
    assert relu_fn.adjoint(0.0, 1.0) == (1.0,)


def test_relu_derivative_at_zero_is_the_right_derivative(loss) -> None:
    """At z = 0 (b = -10) the exercise's loss takes the right-hand derivative in b."""
    point, h = (5.0, 2.0, -10.0, 7.0), 1e-7
    right = (loss(5.0, 2.0, -10.0 + h, 7.0) - loss(*point)) / h
    assert loss.grad(*point)[2] == pytest.approx(right, rel=1e-5)
    assert loss.tangent(*point, 0.0, 0.0, 1.0, 0.0)[1] == loss.grad(*point)[2]


@pytest.mark.parametrize(
    "z, expected",
    [(-2.0, 0.0), (-0.0, 0.0), (0.0, 0.0), (3.5, 3.5), (-3, 0), (4, 4), (Fraction(-1, 2), 0), (Fraction(3, 2), Fraction(3, 2))],
)
def test_relu_values(z, expected) -> None:
    assert sct.relu(z) == expected
    assert type(sct.relu(z)) is type(z)


@pytest.mark.parametrize(
    "z, expected",
    [(-2.0, 0), (-1e-300, 0), (0.0, 1), (0, 1), (-0.0, 1), (1e-300, 1), (3.5, 1), (Fraction(-1, 3), 0)],
)
def test_heaviside_values(z, expected) -> None:
    assert sct.heaviside(z) == expected


@pytest.mark.parametrize(
    "yhat, y", [(14.0, 7.0), (7.0, 14.0), (0.0, 0.0), (-1.5, 2.5), (3, 1), (Fraction(1, 3), Fraction(1, 2))]
)
def test_mse_of_scalars_is_the_squared_difference(yhat, y) -> None:
    assert sct.mse(yhat, y) == (yhat - y) ** 2


@pytest.mark.parametrize(
    "x", [-1000.0, -40.0, -3.0, -0.5, 0.0, 0.5, 3.0, 40.0, 1000.0]
)
def test_sigmoid_values(x) -> None:
    value = sct.sigmoid(x)
    assert 0.0 <= value <= 1.0
    if abs(x) < 700:
        assert value == pytest.approx(1 / (1 + math.exp(-x)), rel=1e-14)
    assert sct.sigmoid(x) + sct.sigmoid(-x) == pytest.approx(1.0, rel=1e-14)


def test_sigmoid_at_zero_is_one_half() -> None:
    assert sct.sigmoid(0.0) == 0.5


ARRAY = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])


def test_relu_of_array() -> None:
    np.testing.assert_array_equal(sct.relu(ARRAY), np.maximum(ARRAY, 0))
    np.testing.assert_array_equal(sct.relu(ARRAY), [sct.relu(float(z)) for z in ARRAY])


def test_heaviside_of_array() -> None:
    result = sct.heaviside(ARRAY)
    np.testing.assert_array_equal(result, [sct.heaviside(float(z)) for z in ARRAY])
    assert result.dtype == ARRAY.dtype


def test_sigmoid_of_array() -> None:
    big = np.array([-1000.0, -3.0, 0.0, 3.0, 1000.0])
    result = sct.sigmoid(big)
    np.testing.assert_allclose(result, [sct.sigmoid(float(x)) for x in big], rtol=1e-15)
    assert np.all(np.isfinite(result))


def test_mse_of_arrays_is_the_mean_of_squared_differences() -> None:
    yhat = np.array([1.0, 2.0, 4.0])
    y = np.array([1.5, 0.0, 4.0])
    assert sct.mse(yhat, y) == pytest.approx(np.mean((yhat - y) ** 2), rel=1e-15)
    assert sct.mse(yhat, y) == pytest.approx(sum((a - b) ** 2 for a, b in zip(yhat, y)) / 3, rel=1e-15)
    assert np.ndim(sct.mse(yhat, y)) == 0


def test_exercise_on_arrays_computes_the_mean(loss) -> None:
    x, y = np.array([5.0, 1.0, -2.0]), np.array([7.0, 2.0, 0.5])
    expected = np.mean([loss(float(a), 2.0, -3.0, float(b)) for a, b in zip(x, y)])
    assert loss(x, 2.0, -3.0, y) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("x, expected", [(-2.5, -1), (-0.0, 0), (0.0, 0), (0, 0), (1e-9, 1), (7, 1)])
def test_sign_values(x, expected) -> None:
    assert sct.sign(x) == expected
