"""Rules: the one table of derivative rules.

Each entry is an operation and, for each of its arguments, the partial
derivative of the result with respect to that argument, written as a Python
expression over the argument names (``{a}``, ``{x}``, ...) and the result
(``{out}``). This is the exercise's "symbolic partials" column. Both modes
read this table and nothing else: forward mode multiplies each partial by the
argument's tangent and sums (``v_dot = x * w_dot + w * x_dot``), reverse mode
multiplies the result's adjoint by each partial and accumulates into the
argument's adjoint (``w_bar += v_bar * x``). ``sct table`` prints the same
partials. A partial of ``None`` means "passes no derivative" (``int``,
``round``, comparisons): the argument is not differentiated through.

Conventions at non-differentiable points: ``heaviside(0) = 1``, so
``relu'(0) = 1``; ``abs'(0) = 0`` (``sign(0) = 0``, as in every major tool).

Partials use only integer literals so that generated code stays exact on
``fractions.Fraction`` inputs. Qualified names (``math.cos``, ``sct.heaviside``)
are re-spelled by :mod:`sct.emit` to whatever the generated module imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from contextvars import ContextVar
from fractions import Fraction
from typing import Any, Mapping, Sequence

import libcst as cst
from libcst.helpers import parse_template_expression

from . import expr as E


@dataclass(frozen=True)
class Rule:
    """An operation's partial derivatives, one template per argument."""

    op: str
    params: tuple[str, ...]
    partials: tuple[str | None, ...]

    def partial(self, index: int, args: Sequence[E.Expr], out: E.Expr) -> E.Expr | None:
        """The partial w.r.t. argument ``index``, filled in and simplified."""
        template = self.partials[index]
        if template is None:
            return None
        fill: dict[str, cst.CSTNode] = dict(zip(self.params, args))
        fill["out"] = out
        used = {k: v for k, v in fill.items() if "{" + k + "}" in template}
        partial = parse_template_expression(template, **used)
        h0 = HEAVISIDE0.get()
        if h0 != 1 and "sct.heaviside" in template:
            partial = partial.visit(_Heaviside0(h0))  # type: ignore[assignment]
        return E.simplify(partial)  # type: ignore[arg-type]


RULES: dict[tuple[str, int], Rule] = {}

# The value of heaviside at 0 that partials are written with (see sct.kinks).
HEAVISIDE0: ContextVar[Any] = ContextVar("heaviside0", default=1)


class _Heaviside0(cst.CSTTransformer):
    """``sct.heaviside(z)`` -> ``sct.heaviside(z, h0)``."""

    def __init__(self, h0: Any):
        self.h0 = h0

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        if len(updated.args) == 1 and cst.Module([]).code_for_node(updated.func) == "sct.heaviside":
            h0 = self.h0
            text = f"fractions.Fraction({h0.numerator}, {h0.denominator})" if isinstance(h0, Fraction) else repr(h0)
            return updated.with_changes(args=[*updated.args, cst.Arg(cst.parse_expression(text))])
        return updated


def rule(op: str, params: str, *partials: str | None) -> None:
    names = tuple(params.split())
    assert len(names) == len(partials), op
    RULES[(op, len(names))] = Rule(op, names, partials)


def lookup(op: str, nargs: int) -> Rule | None:
    return RULES.get((op, nargs))


def arities(op: str) -> list[int]:
    return sorted(n for (name, n) in RULES if name == op)


# ---- arithmetic operators --------------------------------------------------
rule("+", "a b", "1", "1")
rule("-", "a b", "1", "-1")
rule("*", "a b", "{b}", "{a}")
rule("/", "a b", "1 / {b}", "-{out} / {b}")
rule("**", "a b", "{b} * {a} ** ({b} - 1)", "{out} * math.log({a})")
rule("//", "a b", None, None)
rule("%", "a b", "1", "-({a} // {b})")
rule("u-", "a", "-1")
rule("u+", "a", "1")

# ---- builtins ---------------------------------------------------------------
rule("builtins.abs", "x", "sct.sign({x})")
rule("builtins.pow", "a b", "{b} * {a} ** ({b} - 1)", "{out} * math.log({a})")
rule("builtins.float", "x", "1")
# max and min of two values: a tie gives the derivative to the first, as relu'(0) = 1
rule("builtins.max", "a b", "sct.heaviside({a} - {b})", "1 - sct.heaviside({a} - {b})")
rule("builtins.min", "a b", "sct.heaviside({b} - {a})", "1 - sct.heaviside({b} - {a})")
rule("builtins.int", "x", None)
rule("builtins.round", "x", None)
rule("math.floor", "x", None)
rule("math.ceil", "x", None)
rule("math.trunc", "x", None)

# ---- math: powers, exponentials, logarithms ----------------------------------
rule("math.sqrt", "x", "1 / (2 * {out})")
rule("math.exp", "x", "{out}")
rule("math.expm1", "x", "{out} + 1")
rule("math.log", "x", "1 / {x}")
rule("math.log", "x base", "1 / ({x} * math.log({base}))", "-{out} / ({base} * math.log({base}))")
rule("math.log1p", "x", "1 / (1 + {x})")
rule("math.log2", "x", "1 / ({x} * math.log(2))")
rule("math.log10", "x", "1 / ({x} * math.log(10))")
rule("math.pow", "a b", "{b} * {a} ** ({b} - 1)", "{out} * math.log({a})")
rule("math.hypot", "a b", "{a} / {out}", "{b} / {out}")
rule("math.fabs", "x", "sct.sign({x})")

# ---- math: trigonometric and hyperbolic -------------------------------------
rule("math.sin", "x", "math.cos({x})")
rule("math.cos", "x", "-math.sin({x})")
rule("math.tan", "x", "1 + {out} ** 2")
rule("math.asin", "x", "1 / math.sqrt(1 - {x} ** 2)")
rule("math.acos", "x", "-1 / math.sqrt(1 - {x} ** 2)")
rule("math.atan", "x", "1 / (1 + {x} ** 2)")
rule("math.atan2", "y x", "{x} / ({x} ** 2 + {y} ** 2)", "-{y} / ({x} ** 2 + {y} ** 2)")
rule("math.sinh", "x", "math.cosh({x})")
rule("math.cosh", "x", "math.sinh({x})")
rule("math.tanh", "x", "1 - {out} ** 2")

# ---- the exercise's functions (sct.functions) --------------------------------
rule("sct.relu", "z", "sct.heaviside({z})")
rule("sct.heaviside", "z", None)
rule("sct.sigmoid", "x", "{out} * (1 - {out})")
rule("sct.mse", "yhat y", "2 * ({yhat} - {y})", "-2 * ({yhat} - {y})")
rule("sct.sign", "x", None)

# ---- what generated code calls, so that it can be differentiated again ----------
rule("sct.runtime.zeros_like", "x", None)

# Names under which the same functions are reached.
ALIASES: Mapping[str, str] = {
    "sct.functions.relu": "sct.relu",
    "sct.functions.heaviside": "sct.heaviside",
    "sct.functions.sigmoid": "sct.sigmoid",
    "sct.functions.mse": "sct.mse",
    "sct.functions.sign": "sct.sign",
    "operator.add": "+",
    "operator.sub": "-",
    "operator.mul": "*",
    "operator.truediv": "/",
    "operator.pow": "**",
    "operator.neg": "u-",
}

# Module attributes that are constants (never differentiated).
CONSTANTS = frozenset({"math.pi", "math.e", "math.tau", "math.inf", "math.nan"})


def canonical(qualified: str) -> str:
    return ALIASES.get(qualified, qualified)


# Calls that normalize rewrites into the operations above, and how:
# max(a, b, c) -> max(max(a, b), c) (the first of equal values keeps winning),
# sum((a, b, c)) -> a + b + c.
CHAINED: Mapping[str, str] = {"builtins.max": "builtins.max", "builtins.min": "builtins.min", "builtins.sum": "+"}


def known_ops() -> set[str]:
    return {name for name, _ in RULES} | set(CHAINED)
