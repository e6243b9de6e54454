"""Custom rules: ``sct.primitive`` and its ``.partials``.

Specification (issue 4): a primitive is never looked into; the partials the
user registers are used by both modes through the same rule table as the
built-in rules. ``sct.primitive`` also wraps a library function. Partials
that do not match the primitive's arguments are an error at registration.
"""

from __future__ import annotations

import math

import pytest
from helpers import FD_STEP, check_derivatives, close, import_path, write_module

import sct
from sct import rules

SOFTPLUS = """
import math

import sct


@sct.primitive
def softplus(x):
    values = [math.exp(x)]  # never read by sct: a list is fine in here
    return math.log1p(values[0])


@softplus.partials
def softplus_partials(x):
    return 1 / (1 + math.exp(-x))
"""


def test_a_primitive_in_a_loop(load) -> None:
    f = load(
        SOFTPLUS
        + """

def f(x, w):
    s = 0.0
    for i in range(5):
        s = softplus(s * w + x * i) - s * 0.5
    return s
"""
    )
    check_derivatives(f, (0.3, -0.7))
    assert "softplus_partials(" in f.tangent_source and "softplus_partials(" in f.adjoint_source
    assert "def softplus_tangent" not in f.tangent_source  # never looked into


def test_its_rule_is_in_the_one_table(load) -> None:
    f = load(SOFTPLUS + "\n\ndef f(x):\n    return softplus(x)\n")
    f.transformed
    key = f"{f.fn.__module__}.softplus"
    rule = rules.lookup(key, 1)
    assert rule is not None and rule.partials == (f"{f.fn.__module__}.softplus_partials({{a0}})",)


def test_a_primitive_of_several_arguments(load) -> None:
    f = load(
        """
        import math

        import sct


        @sct.primitive
        def smooth_max(a, b):
            return math.log(math.exp(a) + math.exp(b))


        @smooth_max.partials
        def smooth_max_partials(a, b):
            total = math.exp(a) + math.exp(b)
            return math.exp(a) / total, math.exp(b) / total


        def f(x, y):
            return smooth_max(x * y, y) * x
        """
    )
    check_derivatives(f, (0.4, -1.1))


def test_a_library_function_as_a_primitive(load) -> None:
    f = load(
        """
        import math

        import sct

        erf = sct.primitive(math.erf)


        @erf.partials
        def erf_partials(x):
            return 2 / math.sqrt(math.pi) * math.exp(-x * x)


        def f(x):
            return erf(x * 0.5) * x
        """
    )
    check_derivatives(f, (0.8,))


def test_calling_a_primitive_calls_the_function() -> None:
    p = sct.primitive(math.erf)
    assert p(0.3) == math.erf(0.3)


def test_partials_of_the_wrong_arity_fail_at_registration() -> None:
    p = sct.primitive(lambda a, b: a * b)
    with pytest.raises(sct.RuleError, match=r"takes 1 argument\(s\) but the primitive .* takes 2"):

        @p.partials
        def wrong(a):
            return a


def test_partials_must_be_a_top_level_function() -> None:
    p = sct.primitive(math.erf)
    with pytest.raises(sct.RuleError, match="defined at the top level"):
        p.partials(lambda x: 2 * x)


def test_a_primitive_without_partials_is_located(load) -> None:
    f = load(
        """
        import sct


        @sct.primitive
        def cube(x):
            return x * x * x


        def f(x):
            return cube(x) + 1
        """
    )
    with pytest.raises(sct.RuleError) as info:
        f.tangent
    assert "the primitive `cube` has no partials" in info.value.message
    assert info.value.location.source_line.strip() == "return cube(x) + 1"
    assert "@cube.partials" in info.value.hint


def test_cli_with_a_primitive(tmp_path, monkeypatch, cli) -> None:
    path = write_module(tmp_path, SOFTPLUS + "\n\ndef f(x):\n    return softplus(x * x)\n", "sct_prim_cli")
    result = cli("transform", path)
    assert result.code == 0, result.err
    assert "from sct_prim_cli import softplus, softplus_partials" in result.out
    monkeypatch.syspath_prepend(str(tmp_path))
    module = import_path(write_module(tmp_path, result.out, "sct_prim_cli_generated"))
    user = import_path(path)
    x = 0.7
    fd = (user.f(x + FD_STEP) - user.f(x - FD_STEP)) / (2 * FD_STEP)
    assert close(module.f_tangent(x, 1.0)[1], fd, 1e-6)
    assert close(module.f_adjoint(x, 1.0)[0], fd, 1e-6)


def test_cli_reports_partials_of_the_wrong_arity_at_their_def(tmp_path, cli) -> None:
    path = write_module(
        tmp_path,
        """
        import sct


        @sct.primitive
        def scale(x, k):
            return x * k


        @scale.partials
        def scale_partials(x):
            return 1.0


        def f(x):
            return scale(x, 2.0)
        """,
    )
    result = cli("transform", path)
    assert result.code == 1
    assert f"{path}:10:1: bad rule: `scale_partials` takes 1 argument(s) but the primitive `scale` takes 2" in result.err
