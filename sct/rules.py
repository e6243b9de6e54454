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

import functools
import re
from dataclasses import dataclass
from contextvars import ContextVar
from fractions import Fraction
from typing import Any, Mapping, Sequence

import libcst as cst

from . import expr as E


@dataclass(frozen=True)
class Rule:
    """An operation's derivative: a partial per argument, or a linear map per argument.

    ``partials`` are the exercise's column: d(out)/d(arg), multiplied by the
    argument's tangent in forward mode and by the result's adjoint in reverse
    mode. Where that product is not the chain rule (a matrix product, a
    reduction, a reshape), ``jvps`` give the result's tangent from one
    argument's tangent ``{d}`` and ``vjps`` the argument's adjoint from the
    result's ``{g}``: the same entry, both directions. ``statics`` are keyword
    parameters that are never differentiated (``axis``), with their defaults.
    ``broadcasts``: elementwise, so an array argument's adjoint is summed back
    to its shape (:func:`sct.arrays.unbroadcast`).
    """

    op: str
    params: tuple[str, ...]
    partials: tuple[str | None, ...]
    statics: tuple[tuple[str, str], ...] = ()
    jvps: tuple[str | None, ...] = ()
    vjps: tuple[str | None, ...] = ()
    broadcasts: bool = False
    array: "Rule | None" = None  # the same operation on arrays, where its scalar form would not do

    @property
    def linear(self) -> bool:
        """Written as jvp/vjp pairs rather than partials."""
        return bool(self.vjps)

    def differentiable(self, index: int) -> bool:
        return (self.vjps[index] if self.linear else self.partials[index]) is not None

    def defaults(self) -> dict[str, E.Expr]:
        return dict(_parsed_defaults(self.statics))

    def _fill(self, template: str, args: Sequence[E.Expr], out: E.Expr, statics: Mapping[str, E.Expr] | None, **extra: E.Expr) -> E.Expr:
        fill: dict[str, cst.CSTNode] = {**self.defaults(), **(statics or {}), **dict(zip(self.params, args)), "out": out, **extra}
        return _parsed(template, _substitute(template, fill), HEAVISIDE0.get())

    def partial(self, index: int, args: Sequence[E.Expr], out: E.Expr, statics: Mapping[str, E.Expr] | None = None) -> E.Expr | None:
        """The partial w.r.t. argument ``index``, filled in and simplified."""
        template = self.partials[index] if index < len(self.partials) else None
        return None if template is None else self._fill(template, args, out, statics)

    def jvp(self, index: int, args: Sequence[E.Expr], out: E.Expr, statics: Mapping[str, E.Expr] | None, d: E.Expr) -> E.Expr | None:
        template = self.jvps[index]
        return None if template is None else self._fill(template, args, out, statics, d=d)

    def vjp(self, index: int, args: Sequence[E.Expr], out: E.Expr, statics: Mapping[str, E.Expr] | None, g: E.Expr) -> E.Expr | None:
        template = self.vjps[index]
        return None if template is None else self._fill(template, args, out, statics, g=g)


_HOLE = re.compile(r"\{(\w+)\}")
_OPERATIONS = (cst.BinaryOperation, cst.UnaryOperation, cst.BooleanOperation, cst.Comparison, cst.IfExp, cst.Lambda, cst.NamedExpr)


def _substitute(template: str, fill: Mapping[str, cst.CSTNode]) -> str:
    """``template`` with each ``{name}`` replaced by the text of ``fill[name]``, for :func:`_parsed`.

    Text and libcst's native parser cost a quarter of ``parse_template_expression``'s tree
    rewrite. An operation goes in parentheses (``-1``, ``a + b``), which :func:`sct.expr.simplify`
    strips where not needed; what reads as one term (a name, a call, a parenthesized tuple) as written.
    """

    def text(match: re.Match[str]) -> str:
        node = fill[match.group(1)]
        if isinstance(node, cst.Name):
            return node.value
        code = E.code(node)
        return f"({code})" if isinstance(node, _OPERATIONS) or (isinstance(node, cst.Tuple) and not node.lpar) else code

    return _HOLE.sub(text, template)


@functools.lru_cache(maxsize=4096, typed=True)  # typed: a heaviside0 of 0 and of 0.0 are written differently
def _parsed(template: str, text: str, h0: Any) -> E.Expr:
    """``text``, the filled ``template``, parsed and simplified: once per text (a partial is asked for by every stage)."""
    expr = cst.parse_expression(text)
    if h0 != 1 and "sct.heaviside" in template:
        expr = E.rebuild(expr, lambda node: _with_heaviside0(node, h0))  # type: ignore[assignment]
    if "=" in template:  # a keyword argument, perhaps a default one
        expr = E.rebuild(expr, _drop_defaults)  # type: ignore[assignment]
    return E.simplify(expr)


@functools.lru_cache(maxsize=None)
def _parsed_defaults(statics: tuple[tuple[str, str], ...]) -> dict[str, E.Expr]:
    """A rule's static keywords' defaults, parsed once (libcst nodes are immutable: shared safely)."""
    return {name: cst.parse_expression(default) for name, default in statics}


_DEFAULTS = {"axis": "None", "keepdims": "False", "axes": "None", "ddof": "0"}


def _drop_defaults(node: cst.CSTNode) -> cst.CSTNode:
    """``np.sum(x, axis=None, keepdims=False)`` -> ``np.sum(x)``: a default said aloud is noise."""
    if type(node) is not cst.Call:
        return node
    kept = [a for a in node.args if not (a.keyword is not None and _DEFAULTS.get(a.keyword.value) == E.code(a.value))]
    if len(kept) == len(node.args):
        return node
    if kept:
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return node.with_changes(args=kept)


RULES: dict[tuple[str, int], Rule] = {}

# The value of heaviside at 0 that partials are written with (see sct.kinks).
HEAVISIDE0: ContextVar[Any] = ContextVar("heaviside0", default=1)


def _with_heaviside0(node: cst.CSTNode, h0: Any) -> cst.CSTNode:
    """``sct.heaviside(z)`` -> ``sct.heaviside(z, h0)``."""
    if type(node) is cst.Call and len(node.args) == 1 and E.code(node.func) == "sct.heaviside":
        text = f"fractions.Fraction({h0.numerator}, {h0.denominator})" if isinstance(h0, Fraction) else repr(h0)
        return node.with_changes(args=[*node.args, cst.Arg(cst.parse_expression(text))])
    return node


def rule(op: str, params: str, *partials: str | None, broadcasts: bool = False) -> None:
    names = tuple(params.split())
    assert len(names) == len(partials), op
    RULES[(op, len(names))] = Rule(op, names, partials, broadcasts=broadcasts)


def ufunc(op: str, params: str, *partials: str | None) -> None:
    """An elementwise operation on arrays: partials, and adjoints summed back to each shape."""
    rule(op, params, *partials, broadcasts=True)


def linear(op: str, params: str, statics: str, jvps: Sequence[str | None], vjps: Sequence[str | None]) -> None:
    """An operation written as a jvp/vjp pair per argument; ``statics``: ``axis=None keepdims=False``."""
    names = tuple(params.split())
    assert len(names) == len(jvps) == len(vjps), op
    pairs = tuple(tuple(s.split("=", 1)) for s in statics.split())
    RULES[(op, len(names))] = Rule(op, names, (None,) * len(names), pairs, tuple(jvps), tuple(vjps))  # type: ignore[arg-type]


def lookup(op: str, nargs: int, arrays: bool = False) -> Rule | None:
    """The rule for ``op`` with ``nargs`` arguments; its array form in code that uses arrays."""
    found = RULES.get((op, nargs))
    if arrays and found is not None and found.array is not None:
        return found.array
    return found


def on_arrays(op: str, nargs: int, replacement: Rule) -> None:
    """Record how ``op`` is differentiated when its operands may be arrays (same entry)."""
    import dataclasses

    RULES[(op, nargs)] = dataclasses.replace(RULES[(op, nargs)], array=replacement)


def arities(op: str) -> list[int]:
    return sorted(n for (name, n) in RULES if name == op)


# ---- arithmetic operators --------------------------------------------------
ufunc("+", "a b", "1", "1")
ufunc("-", "a b", "1", "-1")
ufunc("*", "a b", "{b}", "{a}")
ufunc("/", "a b", "1 / {b}", "-{out} / {b}")
ufunc("**", "a b", "{b} * {a} ** ({b} - 1)", "{out} * math.log({a})")
ufunc("//", "a b", None, None)
ufunc("%", "a b", "1", "-({a} // {b})")
ufunc("u-", "a", "-1")
ufunc("u+", "a", "1")

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
rule("builtins.len", "x", None)

# ---- the same operations on arrays, where the scalar form would not do ----------
# sct.arrays.log: a Python float for a Python base, so that `2.0 ** x` keeps a float32 x's dtype
on_arrays("**", 2, Rule("**", ("a", "b"), ("{b} * {a} ** ({b} - 1)", "{out} * sct.arrays.log({a})"), broadcasts=True))
on_arrays("sct.mse", 2, Rule(
    "sct.mse", ("yhat", "y"), (None, None), (),
    ("sct.arrays.mse_jvp({d}, {yhat}, {y})", "sct.arrays.mse_jvp({d}, {y}, {yhat})"),
    ("sct.arrays.mse_vjp({g}, {yhat}, {y})", "sct.arrays.mse_vjp({g}, {y}, {yhat})"),
))

# ---- NumPy: elementwise (ufuncs); adjoints are summed back to each operand's shape ----
ufunc("numpy.add", "a b", "1", "1")
ufunc("numpy.subtract", "a b", "1", "-1")
ufunc("numpy.multiply", "a b", "{b}", "{a}")
ufunc("numpy.divide", "a b", "1 / {b}", "-{out} / {b}")
ufunc("numpy.negative", "x", "-1")
ufunc("numpy.power", "a b", "{b} * {a} ** ({b} - 1)", "{out} * sct.arrays.log({a})")
ufunc("numpy.square", "x", "2 * {x}")
ufunc("numpy.reciprocal", "x", "-{out} * {out}")
ufunc("numpy.sqrt", "x", "1 / (2 * {out})")
ufunc("numpy.exp", "x", "{out}")
ufunc("numpy.expm1", "x", "{out} + 1")
ufunc("numpy.log", "x", "1 / {x}")
ufunc("numpy.log1p", "x", "1 / (1 + {x})")
# math.log: a Python float (numpy.log(2) is a float64 scalar, which would widen a float32 x)
ufunc("numpy.log2", "x", "1 / ({x} * math.log(2))")
ufunc("numpy.log10", "x", "1 / ({x} * math.log(10))")
ufunc("numpy.logaddexp", "a b", "numpy.exp({a} - {out})", "numpy.exp({b} - {out})")
ufunc("numpy.sin", "x", "numpy.cos({x})")
ufunc("numpy.cos", "x", "-numpy.sin({x})")
ufunc("numpy.tan", "x", "1 + {out} * {out}")
ufunc("numpy.arcsin", "x", "1 / numpy.sqrt(1 - {x} * {x})")
ufunc("numpy.arccos", "x", "-1 / numpy.sqrt(1 - {x} * {x})")
ufunc("numpy.arctan", "x", "1 / (1 + {x} * {x})")
ufunc("numpy.arctan2", "y x", "{x} / ({x} * {x} + {y} * {y})", "-{y} / ({x} * {x} + {y} * {y})")
ufunc("numpy.sinh", "x", "numpy.cosh({x})")
ufunc("numpy.cosh", "x", "numpy.sinh({x})")
ufunc("numpy.tanh", "x", "1 - {out} * {out}")
ufunc("numpy.hypot", "a b", "{a} / {out}", "{b} / {out}")
ufunc("numpy.abs", "x", "sct.sign({x})")
ufunc("numpy.sign", "x", None)
# kinks: heaviside(0) decides (sct.kinks); maximum and minimum give a tie to the first
ufunc("numpy.maximum", "a b", "sct.heaviside({a} - {b})", "1 - sct.heaviside({a} - {b})")
ufunc("numpy.minimum", "a b", "sct.heaviside({b} - {a})", "1 - sct.heaviside({b} - {a})")
# a bound of None is no bound: sct.arrays.bound makes it infinite
ufunc(
    "numpy.clip", "x lo hi",
    "sct.heaviside({x} - sct.arrays.bound({lo}, -1)) * sct.heaviside(sct.arrays.bound({hi}, 1) - {x})",
    "1 - sct.heaviside({x} - {lo})",
    "1 - sct.heaviside({hi} - {x})",
)
# where: the tangent in the result's dtype (a mask times a Python float would be float64)
linear("numpy.where", "c a b", "", [None, "sct.arrays.where_jvp({c}, {d}, {out}, True)", "sct.arrays.where_jvp({c}, {d}, {out}, False)"],
       [None, "sct.arrays.where_vjp({g}, {c}, {a}, True)", "sct.arrays.where_vjp({g}, {c}, {b}, False)"])
ufunc("numpy.copy", "x", "1")
# conversions: the tangent converted as the value is
for _name in ("float64", "float32"):
    linear(f"numpy.{_name}", "x", "", [f"numpy.{_name}({{d}})"], ["{g}"])

# ---- NumPy: reductions (as functions and as methods), with axis and keepdims ----
_R = "axis=None keepdims=False"
_KW = "axis={axis}, keepdims={keepdims}"
linear("numpy.sum", "x", _R, ["numpy.sum({d}, " + _KW + ")"], ["sct.arrays.sum_vjp({g}, {x}, " + _KW + ")"])
linear("numpy.mean", "x", _R, ["numpy.mean({d}, " + _KW + ")"], ["sct.arrays.mean_vjp({g}, {x}, " + _KW + ")"])
linear("numpy.prod", "x", _R, ["sct.arrays.prod_jvp({d}, {x}, {out}, " + _KW + ")"], ["sct.arrays.prod_vjp({g}, {x}, {out}, " + _KW + ")"])
for _name in ("max", "min", "amax", "amin"):
    linear(f"numpy.{_name}", "x", _R, ["sct.arrays.extremum_jvp({d}, {x}, {out}, " + _KW + ")"],
           ["sct.arrays.extremum_vjp({g}, {x}, {out}, " + _KW + ")"])
linear("numpy.var", "x", _R + " ddof=0", ["sct.arrays.var_jvp({d}, {x}, " + _KW + ", ddof={ddof})"],
       ["sct.arrays.var_vjp({g}, {x}, " + _KW + ", ddof={ddof})"])
linear("numpy.std", "x", _R + " ddof=0", ["sct.arrays.var_jvp({d}, {x}, " + _KW + ", ddof={ddof}) / (2 * {out})"],
       ["sct.arrays.var_vjp({g} / (2 * {out}), {x}, " + _KW + ", ddof={ddof})"])

# ---- NumPy: linear algebra ----------------------------------------------------------
for _op in ("@", "numpy.matmul"):
    linear(_op, "a b", "", ["{d} @ {b}", "{a} @ {d}"], ["sct.arrays.matmul_vjp_a({g}, {a}, {b})", "sct.arrays.matmul_vjp_b({g}, {a}, {b})"])
linear("numpy.dot", "a b", "", ["numpy.dot({d}, {b})", "numpy.dot({a}, {d})"],
       ["sct.arrays.dot_vjp_a({g}, {a}, {b})", "sct.arrays.dot_vjp_b({g}, {a}, {b})"])
linear("numpy.outer", "a b", "", ["numpy.outer({d}, {b})", "numpy.outer({a}, {d})"],
       ["sct.arrays.outer_vjp_a({g}, {a}, {b})", "sct.arrays.outer_vjp_b({g}, {a}, {b})"])
linear("numpy.inner", "a b", "", ["numpy.inner({d}, {b})", "numpy.inner({a}, {d})"],
       ["sct.arrays.inner_vjp_a({g}, {a}, {b})", "sct.arrays.inner_vjp_b({g}, {a}, {b})"])
linear("numpy.trace", "x", "", ["numpy.trace({d})"], ["sct.arrays.trace_vjp({g}, {x})"])
# the 2-norm of vectors (along an axis) and the Frobenius norm of matrices, sqrt(sum(x * x)) both;
# ord is bound (it is norm's second positional parameter) and any other ord is refused when run
linear("numpy.linalg.norm", "x", "ord=None " + _R, ["sct.arrays.norm_jvp({d}, {x}, {out}, {ord}, " + _KW + ")"],
       ["sct.arrays.norm_vjp({g}, {x}, {out}, {ord}, " + _KW + ")"])
linear("numpy.linalg.inv", "x", "", ["-({out} @ {d} @ {out})"], ["-(numpy.swapaxes({out}, -1, -2) @ {g} @ numpy.swapaxes({out}, -1, -2))"])
linear("numpy.linalg.det", "x", "", ["sct.arrays.det_jvp({d}, {x}, {out})"], ["sct.arrays.det_vjp({g}, {x}, {out})"])
linear("numpy.linalg.solve", "a b", "", ["sct.arrays.solve_jvp_a({d}, {a}, {out})", "numpy.linalg.solve({a}, {d})"],
       ["sct.arrays.solve_vjp_a({g}, {a}, {out})", "sct.arrays.solve_vjp_b({g}, {a})"])
for _n in range(1, 5):  # einsum with explicit subscripts, of one to four operands
    _ops = [f"a{i}" for i in range(_n)]
    linear(
        "numpy.einsum", " ".join(_ops), "subscripts=None",
        [f"numpy.einsum({{subscripts}}, {', '.join('{d}' if j == i else '{' + o + '}' for j, o in enumerate(_ops))})" for i in range(_n)],
        [f"sct.arrays.einsum_vjp({{g}}, {{subscripts}}, {i}, {', '.join('{' + o + '}' for o in _ops)})" for i in range(_n)],
    )

# ---- NumPy: shapes --------------------------------------------------------------------
linear("numpy.transpose", "x", "axes=None", ["numpy.transpose({d}, axes={axes})"], ["sct.arrays.transpose_vjp({g}, axes={axes})"])
linear("numpy.reshape", "x", "shape=None", ["numpy.reshape({d}, {shape})"], ["sct.arrays.reshape_vjp({g}, {x})"])
linear("numpy.ravel", "x", "", ["numpy.ravel({d})"], ["sct.arrays.reshape_vjp({g}, {x})"])
linear("numpy.squeeze", "x", "axis=None", ["numpy.squeeze({d}, axis={axis})"], ["sct.arrays.reshape_vjp({g}, {x})"])
linear("numpy.expand_dims", "x", "axis=None", ["numpy.expand_dims({d}, {axis})"], ["sct.arrays.reshape_vjp({g}, {x})"])
linear("getitem", "x", "index=None", ["{d}[{index}]"], ["sct.arrays.getitem_vjp({g}, {x}, {index})"])
for _n in range(1, 9):  # joins of one to eight arrays
    _ops = [f"a{i}" for i in range(_n)]
    _all, _one = ", ".join("{" + o + "}" for o in _ops), "," if _n == 1 else ""  # (a,) is a tuple; (a, b,) black explodes
    for _join in ("concatenate", "stack"):
        linear(
            f"numpy.{_join}", " ".join(_ops), "axis=0",
            [f"numpy.{_join}(({', '.join('{d}' if j == i else 'numpy.zeros_like({' + o + '})' for j, o in enumerate(_ops))}{_one}), axis={{axis}})" for i in range(_n)],
            [f"sct.arrays.concatenate_vjp({{g}}, {i}, ({_all}{_one}), axis={{axis}})" if _join == "concatenate"
             else f"sct.arrays.stack_vjp({{g}}, {i}, axis={{axis}})" for i in range(_n)],
        )

# ---- NumPy: values that carry no derivative ----------------------------------------------
for _name in ("shape", "ndim", "size", "zeros_like", "ones_like", "empty_like", "floor", "ceil", "isnan", "isfinite"):
    rule(f"numpy.{_name}", "x", None)
rule("numpy.heaviside", "x h0", None, None)  # np.heaviside(x, 1.0): the value at 0 is its second argument
for _name, _statics in (("argmax", "axis=None"), ("argmin", "axis=None"), ("argsort", "axis=-1"), ("round", "decimals=0")):
    RULES[(f"numpy.{_name}", 1)] = Rule(f"numpy.{_name}", ("x",), (None,), (tuple(_statics.split("=")),))  # type: ignore[arg-type]

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
CONSTANTS = frozenset({
    "math.pi", "math.e", "math.tau", "math.inf", "math.nan",
    "numpy.pi", "numpy.e", "numpy.inf", "numpy.nan", "numpy.newaxis",
    "numpy.float64", "numpy.float32", "numpy.int64", "numpy.int32", "numpy.bool_",
})


def canonical(qualified: str) -> str:
    return ALIASES.get(qualified, qualified)


# Calls that normalize rewrites into the operations above, and how:
# max(a, b, c) -> max(max(a, b), c) (the first of equal values keeps winning),
# sum((a, b, c)) -> a + b + c.
CHAINED: Mapping[str, str] = {"builtins.max": "builtins.max", "builtins.min": "builtins.min", "builtins.sum": "+"}


def known_ops() -> set[str]:
    return {name for name, _ in RULES} | set(CHAINED)
