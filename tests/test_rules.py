"""Every derivative rule, and the language sct accepts, checked numerically.

The rule table is iterated itself: a rule added to ``sct.rules.RULES`` is
tested here without a new line (inside the default domain below, or in one
given in ``DOMAINS``). Each generated function is checked at three points:
the tangent against central finite differences of the original function,
the adjoint against the tangent by the dot-product identity (helpers.py).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Sequence

import pytest
from helpers import OPERATOR_TEMPLATES, check_derivatives, check_dot_product, rule_call, scalar_rules

from sct import rules

# ---- domains: where each operation is smooth ----------------------------------------------

DEFAULT_DOMAIN = (0.2, 0.8)

# op -> one interval per argument (or one for all). Points are drawn well
# inside, and for kinked functions on both sides of the kink, never at it.
DOMAINS: dict[str, tuple[tuple[float, float], ...]] = {
    "+": ((-3, 3),),
    "-": ((-3, 3),),
    "*": ((-3, 3),),
    "/": ((-3, 3), (0.5, 3)),
    "**": ((0.5, 2.5), (-2, 2)),
    "//": ((2.2, 2.6), (0.95, 1.05)),  # a // b == 2 throughout: no jump
    "%": ((2.2, 2.6), (0.95, 1.05)),
    "u-": ((-3, 3),),
    "u+": ((-3, 3),),
    "builtins.abs": ((-2, 2),),  # points -1.32, 0.12, 1.56: both sides of the kink
    "builtins.pow": ((0.5, 2.5), (-2, 2)),
    "builtins.float": ((-3, 3),),
    "builtins.int": ((-1.9, -1.1),),  # away from the integers
    "builtins.round": ((1.1, 1.4),),  # away from integers and halves
    "math.floor": ((-1.9, -1.1),),
    "math.ceil": ((1.1, 1.9),),
    "math.trunc": ((-1.9, -1.1),),
    "math.sqrt": ((0.3, 4),),
    "math.exp": ((-2, 2),),
    "math.expm1": ((-2, 2),),
    "math.log": ((0.2, 5), (1.5, 10)),
    "math.log1p": ((-0.5, 3),),
    "math.log2": ((0.2, 5),),
    "math.log10": ((0.2, 5),),
    "math.pow": ((0.5, 2.5), (-2, 2)),
    "math.hypot": ((-3, 3),),
    "math.fabs": ((-2, 2),),
    "math.sin": ((-3, 3),),
    "math.cos": ((-3, 3),),
    "math.tan": ((-1.2, 1.2),),
    "math.asin": ((-0.9, 0.9),),
    "math.acos": ((-0.9, 0.9),),
    "math.atan": ((-3, 3),),
    "math.atan2": ((-2, 2),),  # (y, x) never on the cut x < 0, y = 0
    "math.sinh": ((-2, 2),),
    "math.cosh": ((-2, 2),),
    "math.tanh": ((-2, 2),),
    "sct.relu": ((-2, 2),),
    "sct.heaviside": ((-2, 2),),
    "sct.sigmoid": ((-4, 4),),
    "sct.mse": ((-3, 3),),
}

# For op(x, x), when the per-argument intervals do not overlap.
REPEATED_DOMAINS: dict[str, tuple[float, float]] = {
    "//": (0.5, 3),  # x // x == 1
    "%": (0.5, 3),  # x % x == 0
}

FRACTIONS = (0.17, 0.53, 0.89)


def domain(op: str, nargs: int) -> list[tuple[float, float]]:
    given = DOMAINS.get(op, (DEFAULT_DOMAIN,))
    return [given[min(i, len(given) - 1)] for i in range(nargs)]


def points(intervals: Sequence[tuple[float, float]]) -> list[tuple[float, ...]]:
    """Three points; each argument takes a different fraction of its interval, so a != b."""
    return [
        tuple(lo + (hi - lo) * FRACTIONS[(k + i) % len(FRACTIONS)] for i, (lo, hi) in enumerate(intervals))
        for k in range(len(FRACTIONS))
    ]


# ---- the functions generated for each rule ------------------------------------------------

VARIANTS = {
    "alone": "return {call}",
    "composed": "return {call} * {p0} + 1",  # the result feeds another operation
    "inner": "return {call}",  # arguments are themselves computed (temporaries)
    "stored": "r = {call}\n    r = r * {p0} + r\n    return r",  # the result is overwritten
    "repeated": "return {call}",  # one parameter for every argument: op(x, x)
    "from-import": "return {call}",  # from math import sin; sin(x)
    "import-as": "return {call}",  # import math as m; m.sin(x)
}


def is_module_rule(op: str) -> bool:
    return op not in OPERATOR_TEMPLATES and not op.startswith("builtins.")


def applicable(op: str, nargs: int) -> list[str]:
    out = ["alone", "composed", "inner", "stored"]
    if nargs >= 2:
        out.append("repeated")
    if is_module_rule(op):
        out += ["from-import", "import-as"]
    return out


def rule_case(op: str, nargs: int, variant: str) -> tuple[str, list[tuple[float, ...]]]:
    """The module source and the points at which to check it."""
    params = list(rules.RULES[(op, nargs)].params)
    intervals = domain(op, nargs)
    module, _, name = op.rpartition(".")
    imports = "" if not is_module_rule(op) else f"import {module}"
    call_args = list(params)
    if variant == "inner":
        call_args = [f"(3 * {p} / 3)" for p in params]
    elif variant == "repeated":
        params = params[:1]
        call_args = params * nargs
        lo = max(i[0] for i in intervals)
        hi = min(i[1] for i in intervals)
        lo, hi = REPEATED_DOMAINS.get(op, (lo, hi))
        assert lo < hi, f"the intervals of {op} do not overlap: add it to REPEATED_DOMAINS"
        intervals = [(lo, hi)]
    call = rule_call(op, call_args)
    if variant == "from-import":
        imports = f"from {module} import {name}"
        call = f"{name}({', '.join(call_args)})"
    elif variant == "import-as":
        imports = f"import {module} as mod_alias"
        call = f"mod_alias.{name}({', '.join(call_args)})"
    body = VARIANTS[variant].format(call=call, p0=params[0])
    source = f"{imports}\n\n\ndef f({', '.join(params)}):\n    {body}\n"
    return source, points(intervals)


RULE_CASES = [
    pytest.param(op, nargs, variant, id=f"{op}/{nargs}-{variant}")
    for (op, nargs), _ in scalar_rules()
    for variant in applicable(op, nargs)
]


@pytest.mark.parametrize("op, nargs, variant", RULE_CASES)
def test_rule(load, op: str, nargs: int, variant: str) -> None:
    source, at = rule_case(op, nargs, variant)
    d = load(source)
    for point in at:
        check_derivatives(d, point)


NO_DERIVATIVE = [
    pytest.param(op, nargs, i, id=f"{op}/{nargs}-arg{i}")
    for (op, nargs), rule in scalar_rules()
    for i, partial in enumerate(rule.partials)
    if partial is None
]


@pytest.mark.parametrize("op, nargs, index", NO_DERIVATIVE)
def test_rule_without_partial_passes_zero(load, op: str, nargs: int, index: int) -> None:
    """A partial of None: the argument's tangent and adjoint contributions are exactly 0."""
    source, at = rule_case(op, nargs, "alone")
    d = load(source)
    for point in at:
        seed = [1.0 if i == index else 0.0 for i in range(nargs)]
        assert d.tangent(*point, *seed)[1] == 0
        assert d.adjoint(*point, 1.0)[index] == 0


def test_domains_name_only_existing_rules() -> None:
    assert set(DOMAINS) | set(REPEATED_DOMAINS) <= rules.known_ops()


def test_every_operator_rule_has_a_template() -> None:
    """The table above must know how to write every operator the rule table has."""
    operators = {op for (op, _), _ in scalar_rules() if "." not in op}
    assert operators <= set(OPERATOR_TEMPLATES)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("def f(x):\n    return abs(x)\n", id="abs"),
        pytest.param("import math\n\n\ndef f(x):\n    return math.fabs(x)\n", id="fabs"),
    ],
)
def test_abs_derivative_at_zero_is_zero(load, source: str) -> None:
    """The documented convention at the kink: abs'(0) = sign(0) = 0."""
    d = load(source)
    assert d.tangent(0.0, 1.0) == (0.0, 0)
    assert d.adjoint(0.0, 1.0) == (0,)


# ---- the language around the operations --------------------------------------------------

LANGUAGE_CASES = [
    # (id, module source defining f, a point)
    ("import-math", "import math\n\ndef f(x, y):\n    return math.sin(x) * math.exp(y)\n", (0.7, -0.4)),
    ("from-math-import", "from math import exp, sin\n\ndef f(x, y):\n    return sin(x) * exp(y)\n", (0.7, -0.4)),
    ("from-import-as", "from math import sin as s, cos as c\n\ndef f(x):\n    return s(x) * c(x)\n", (0.7,)),
    ("import-math-as", "import math as m\n\ndef f(x):\n    return m.log(x) + m.sqrt(x)\n", (1.7,)),
    ("from-sct-import", "from sct import relu, sigmoid\n\ndef f(x, w):\n    return sigmoid(relu(w * x))\n", (0.7, 1.3)),
    ("import-sct", "import sct\n\ndef f(x, w):\n    return sct.mse(sct.relu(w * x), 1.5)\n", (0.7, 1.3)),
    ("sct-functions", "from sct.functions import relu\n\ndef f(x):\n    return relu(x) * x\n", (0.7,)),
    ("operator-module", "import operator\n\ndef f(x, y):\n    return operator.mul(x, operator.add(x, y))\n", (0.7, 1.3)),
    ("math-pi", "import math\n\ndef f(r):\n    return math.pi * r ** 2\n", (1.3,)),
    ("reassign", "def f(x, y):\n    z = x * y\n    z = z + x\n    z = z * z\n    return z\n", (0.7, -1.3)),
    ("reassign-param", "def f(x, y):\n    x = x * y\n    y = x + y\n    x = x * y\n    return x\n", (0.7, -1.3)),
    ("reassign-read-later", "import math\n\ndef f(x):\n    z = math.exp(x)\n    w = z * x\n    z = math.sin(w)\n    return z * w\n", (0.4,)),
    ("aug-add", "def f(x, y):\n    z = x\n    z += y * x\n    return z\n", (0.7, -1.3)),
    ("aug-sub", "def f(x, y):\n    z = x * x\n    z -= y * x\n    return z\n", (0.7, -1.3)),
    ("aug-mul", "def f(x, y):\n    z = x + 1\n    z *= y\n    z *= z\n    return z\n", (0.7, -1.3)),
    ("aug-div", "def f(x, y):\n    z = x\n    z /= y\n    z /= x + 2\n    return z\n", (0.7, -1.3)),
    ("aug-pow", "def f(x, y):\n    z = x\n    z **= 3\n    z **= y\n    return z\n", (0.7, -1.3)),
    ("aug-param", "def f(x, y):\n    x += y\n    y *= x\n    return x * y\n", (0.7, -1.3)),
    ("tuple-pack", "def f(x, y):\n    a, b = x * y, x + y\n    return a / b\n", (0.7, 1.3)),
    ("tuple-parens", "def f(x, y):\n    (a, b) = (x - y, x * y)\n    return a * b\n", (0.7, 1.3)),
    ("list-target", "def f(x, y):\n    [a, b] = x - y, x * y\n    return a * b\n", (0.7, 1.3)),
    ("swap", "def f(x, y):\n    a, b = x * 2, y\n    a, b = b, a\n    return a - 3 * b\n", (0.7, 1.3)),
    ("swap-params", "def f(x, y):\n    x, y = y, x\n    return x * y * y\n", (0.7, 1.3)),
    ("rotate", "def f(x, y, z):\n    x, y, z = y, z, x\n    return x + 2 * y + 3 * z * x\n", (0.7, 1.3, -0.4)),
    ("chained-assign", "def f(x, y):\n    a = b = x * y\n    return a + b * x\n", (0.7, 1.3)),
    ("annotated", "def f(x: float, y: float) -> float:\n    z: float = x * y\n    return z * x\n", (0.7, 1.3)),
    ("docstring", 'def f(x):\n    """Square."""\n    return x * x\n', (0.7,)),
    ("semicolons", "def f(x, y):\n    a = x * y; b = a + x\n    return a * b\n", (0.7, 1.3)),
    ("unary-minus", "def f(x, y):\n    return -x * y\n", (0.7, 1.3)),
    ("unary-plus", "def f(x, y):\n    return +x * -y\n", (0.7, 1.3)),
    ("double-minus", "def f(x):\n    return -(-x) * x\n", (0.7,)),
    ("minus-power", "def f(x):\n    return -x ** 2\n", (0.7,)),
    ("minus-expr", "def f(x, y):\n    return -(x - y) * -(x + y)\n", (0.7, 1.3)),
    ("int-constants", "def f(x):\n    return 2 * x + 3 - x // 1 * 0 + 7 * x * x\n", (0.7,)),
    ("float-constants", "def f(x):\n    return 2.5 * x + 3.25 + 1e-3 * x * x\n", (0.7,)),
    ("constant-divisor", "def f(x):\n    return x / 2\n", (0.7,)),
    ("constant-numerator", "def f(x):\n    return 1 / x\n", (0.7,)),
    ("integer-power", "def f(x):\n    return x ** 2 + x ** 3\n", (-0.7,)),
    ("float-power", "def f(x):\n    return x ** 2.0 + x ** 0.5\n", (0.7,)),
    ("negative-power", "def f(x):\n    return x ** -1 + x ** -2\n", (-0.7,)),
    ("constant-base", "def f(x):\n    return 2 ** x + 2.5 ** x\n", (0.7,)),
    ("constant-folding", "def f(x):\n    return (2 * 3 - 1) * x + (1 + 2) ** 2 * x * x\n", (0.7,)),
    ("deep-nesting", "import math\n\ndef f(x, y):\n    return math.sin(math.exp(x * y) / (1 + x ** 2)) * math.log(y + 3) - math.sqrt(1 + (x - y) ** 2)\n", (0.7, 1.3)),
    ("deep-parens", "def f(x):\n    return ((((x + 1) * x - 2) * x + 3) * x - 4) * x\n", (0.7,)),
    ("long-chain", "import math\n\ndef f(x):\n    return math.tanh(math.sinh(math.atan(math.cos(math.sin(x)))))\n", (0.7,)),
    ("twice-mul", "def f(x):\n    return x * x\n", (0.7,)),
    ("twice-add", "def f(x):\n    return x + x\n", (0.7,)),
    ("twice-sub", "def f(x):\n    return (x - x) + x\n", (0.7,)),
    ("twice-div", "def f(x):\n    return x / x * x\n", (0.7,)),
    ("twice-pow", "def f(x):\n    return x ** x\n", (0.7,)),
    ("twice-temp", "def f(x, y):\n    t = x * y\n    return t * t + t / t\n", (0.7, 1.3)),
    ("unused-param", "def f(x, y):\n    return x * 2\n", (0.7, 1.3)),
    ("unused-assign", "def f(x, y):\n    dead = y * y\n    return x * 2\n", (0.7, 1.3)),
    ("return-param", "def f(x, y):\n    return x\n", (0.7, 1.3)),
    ("return-second-param", "def f(x, y):\n    return y\n", (0.7, 1.3)),
    ("return-copy", "def f(x, y):\n    z = y\n    return z\n", (0.7, 1.3)),
    ("return-constant", "def f(x):\n    return 3.0\n", (0.7,)),
    ("return-int-constant", "def f(x, y):\n    return 3\n", (0.7, 1.3)),
    ("return-constant-expr", "import math\n\ndef f(x):\n    return 2 * math.pi\n", (0.7,)),
    ("constant-variable", "def f(x):\n    c = 4.0\n    c = c * 2\n    return c * x\n", (0.7,)),
    ("no-derivative-path", "def f(x, y):\n    n = int(x)\n    return n * y + x\n", (2.7, 1.3)),
    ("single-param", "import math\n\ndef f(x):\n    return math.exp(x)\n", (0.7,)),
    ("many-params", "def f(a, b, c, d, e):\n    return a * b + c * d - e * a\n", (0.7, 1.3, -0.4, 2.1, 0.9)),
]


@pytest.mark.parametrize("source, point", [pytest.param(s, p, id=i) for i, s, p in LANGUAGE_CASES])
def test_language(load, source: str, point: tuple[float, ...]) -> None:
    d = load(source)
    for shift in (0.0, 0.1, -0.2):
        check_derivatives(d, [p + shift for p in point])


UNUSED = [
    # (source, the parameter f does not depend on)
    ("def f(x, y):\n    return x * 2\n", "y"),
    ("def f(x, y):\n    dead = y * y\n    return x * 2\n", "y"),
    ("def f(x, y):\n    return x\n", "y"),
    ("def f(x, y):\n    n = int(y)\n    return x * n\n", "y"),
    ("def f(x):\n    return 3.0\n", "x"),
]


@pytest.mark.parametrize("source, unused", UNUSED)
def test_unused_parameter_gets_exactly_zero(load, source: str, unused: str) -> None:
    d = load(source)
    index = d.wrt.index(unused)
    point = [0.7 + 0.5 * i for i in range(len(d.wrt))]
    grads = d.adjoint(*point, 1.0)
    assert grads[index] == 0
    seed = [1.0 if i == index else 0.0 for i in range(len(d.wrt))]
    assert d.tangent(*point, *seed)[1] == 0


# ---- wrt: which parameters are differentiated --------------------------------------------

WRT_SOURCE = """
import math


def f(x, y, z):
    a = x * y
    b = math.sin(a) + z * x
    return a * b / z
"""


@pytest.mark.parametrize("wrt", [("x",), ("y",), ("z",), ("x", "z"), ("y", "z"), ("x", "y", "z")])
def test_wrt_restricts(load, wrt: tuple[str, ...]) -> None:
    d = load(WRT_SOURCE, wrt=wrt)
    assert d.wrt == list(wrt)
    check_derivatives(d, (0.7, 1.3, 2.1))
    full = load(WRT_SOURCE)
    grads = dict(zip(full.wrt, full.grad(0.7, 1.3, 2.1)))
    expected = tuple(grads[p] for p in wrt)
    assert d.grad(0.7, 1.3, 2.1) == pytest.approx(expected[0] if len(wrt) == 1 else expected, rel=1e-12)


def test_wrt_keyword_in_decorator(load) -> None:
    source = "import sct\n\n\n@sct.differentiate(wrt=('x',))\ndef f(x, y):\n    return x * x * y\n"
    d = load(source)
    assert d.wrt == ["x"]
    import inspect

    assert list(inspect.signature(d.tangent).parameters) == ["x", "y", "x_dot"]
    assert len(d.adjoint(0.7, 1.3, 1.0)) == 1
    check_derivatives(d, (0.7, 1.3))


def test_wrt_excluded_parameter_is_plain(load) -> None:
    """A parameter outside wrt gets no dot parameter and no adjoint."""
    d = load(WRT_SOURCE, wrt=("y",))
    import inspect

    assert list(inspect.signature(d.tangent).parameters)[3:] == ["y_dot"]
    assert "x_dot" not in d.tangent_source and "z_dot" not in d.tangent_source
    assert "x_bar" not in d.adjoint_source and "z_bar" not in d.adjoint_source


# ---- exactness: integer literals only --------------------------------------------------------

EXACT_CASES = [
    "def f(x, y):\n    return x * y + x / y - y\n",
    "def f(x, y):\n    return (x - y) ** 3 / (x * x + 1)\n",
    "def f(x, y):\n    return -x % y + +y\n",
    "def f(x, y):\n    return abs(x - y) * x\n",
    "from sct import mse, relu\n\ndef f(x, y):\n    return mse(relu(x) * y, y)\n",
    "def f(x, y):\n    z = x\n    z **= 2\n    z /= y\n    return z\n",
]


@pytest.mark.parametrize("source", EXACT_CASES)
def test_fraction_inputs_stay_exact(load, source: str) -> None:
    """Rational code on Fractions: the generated code introduces no float, so the
    dot-product identity holds exactly and every derivative is a Fraction (or int)."""
    d = load(source)
    point = (Fraction(7, 3), Fraction(-5, 4))
    v = (Fraction(2, 7), Fraction(-3, 5))
    value, dot = d.tangent(*point, *v)
    grads = d.adjoint(*point, Fraction(1))
    for number in (value, dot, *grads):
        assert isinstance(number, (Fraction, int)), (number, d.tangent_source, d.adjoint_source)
    assert value == d.fn(*point)
    assert sum(g * vi for g, vi in zip(grads, v)) == dot


@pytest.mark.parametrize("seed", [2.5, -0.5])
def test_adjoint_is_linear_in_its_seed(load, seed: float) -> None:
    d = load("import math\n\ndef f(x, y):\n    return math.sin(x * y) * x\n")
    for v in ([1.0, 0.0], [0.3, -1.2]):
        check_dot_product(d, (0.7, 1.3), v, seed=seed)


def test_operator_domains_are_smooth() -> None:
    """Sanity of the table above: the chosen points avoid each op's kinks and poles."""
    for (op, nargs) in rules.RULES:
        for point in points(domain(op, nargs)):
            if op in ("//", "%"):
                assert math.floor(point[0] / point[1]) == 2
            if op in ("builtins.abs", "math.fabs", "sct.relu", "sct.heaviside"):
                assert abs(point[0]) > 0.1
