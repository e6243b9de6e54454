"""Every NumPy rule, checked the same way: finite differences and the dot-product identity.

Each case below is a small module function ``f`` written the way people write
NumPy (function and method forms), its inputs (random, from a seed fixed by
the case's name, inside the domain where the operation is smooth), and the
rule-table keys it exercises. The rule table is iterated itself: a NumPy rule
with no case fails :func:`test_every_numpy_rule_has_a_case`.

Each case is checked three ways (:func:`check_arrays`):

* the tangent along a random direction over every wrt array against a central
  finite difference of the original function (float64, rtol 1e-6);
* the adjoint against the tangent through the dot-product identity
  ``<adjoint(x, w), v> == <w, tangent(x, v)>`` for a random seed ``w`` of the
  result's shape (rtol 1e-10), every adjoint of its parameter's shape;
* the same generated code on float32 inputs: tangents and adjoints stay
  float32 (no silent upcast) and agree with the float64 derivatives.
"""

from __future__ import annotations

import inspect
import re
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pytest
from helpers import import_path, load_module

import sct
from sct import ir, rules

FD_STEP = 1e-6
FD_RTOL = 1e-6
DOT_RTOL = 1e-10
F32_RTOL = 2e-3  # float32 derivatives against the float64 ones

# ---- inputs ------------------------------------------------------------------------------------

Gen = Callable[[np.random.Generator], Any]


def U(*shape: int, lo: float = -1.0, hi: float = 1.0) -> Gen:
    """A float64 array of ``shape`` (``()``: a 0-d array), uniform in [lo, hi]."""
    return lambda r: np.asarray(r.uniform(lo, hi, size=shape))


def P(*shape: int) -> Gen:
    """Positive values, well away from 0 (log, sqrt, reciprocal, powers)."""
    return U(*shape, lo=0.5, hi=2.0)


def S(*shape: int, scale: float = 2.0) -> Gen:
    """Distinct values, no two closer than far more than the finite-difference step, none near 0."""

    def gen(r: np.random.Generator) -> Any:
        n = int(np.prod(shape)) if shape else 1
        cells = r.permutation(n) + 0.5 + r.uniform(-0.25, 0.25, size=n)  # distinct magnitudes
        values = r.choice((-1.0, 1.0), size=n) * (0.1 + (scale - 0.1) * cells / n)
        return values.reshape(shape)

    return gen


def F(lo: float = 0.5, hi: float = 1.5) -> Gen:
    """A Python float."""
    return lambda r: float(r.uniform(lo, hi))


def M(n: int) -> Gen:
    """A well-conditioned (diagonally dominant) n x n matrix."""
    return lambda r: 2.0 * np.eye(n) + r.uniform(-0.4, 0.4, size=(n, n))


def K(value: Any) -> Gen:
    """A constant (an index array, a mask): not differentiated."""
    return lambda r: np.asarray(value) if isinstance(value, list) else value


# ---- the checks ----------------------------------------------------------------------------------


def _is_float(value: Any) -> bool:
    return isinstance(value, float) or (isinstance(value, np.ndarray) and value.dtype.kind == "f")


def _scale(*arrays: Any) -> float:
    return max([1.0] + [float(np.max(np.abs(a))) if np.size(a) else 0.0 for a in arrays])


def _close(actual: Any, expected: Any, rtol: float) -> bool:
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return actual.shape == expected.shape and bool(np.all(np.abs(actual - expected) <= rtol * _scale(actual, expected)))


def _source(d: sct.Differentiated) -> str:
    return f"\n--- tangent ---\n{d.tangent_source}\n--- adjoint ---\n{d.adjoint_source}"


def _direction(r: np.random.Generator, value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return r.uniform(-1, 1, size=value.shape).astype(value.dtype)
    return float(r.uniform(-1, 1))


def _shifted(args: Sequence[Any], wrt_index: Sequence[int], v: Sequence[Any], t: float) -> list[Any]:
    out = list(args)
    for i, vi in zip(wrt_index, v):
        out[i] = out[i] + t * vi
    return out


def _seed(r: np.random.Generator, value: Any) -> Any:
    """A random adjoint of the result: an array of its shape and dtype, a float for a scalar."""
    if np.ndim(value) == 0:
        w = float(r.uniform(0.5, 1.5))
        return np.float32(w) if np.result_type(value) == np.float32 else w
    return r.uniform(-1, 1, size=np.shape(value)).astype(np.result_type(value))


def _inner(a: Any, b: Any) -> float:
    return float(np.sum(np.asarray(a, dtype=np.float64) * np.asarray(b, dtype=np.float64)))


def check_arrays(d: sct.Differentiated, args: Sequence[Any], r: np.random.Generator) -> tuple[Any, tuple[Any, ...]]:
    """Tangent vs central differences, adjoint vs tangent; returns (tangent, adjoints) along v, w."""
    params = list(inspect.signature(d.fn).parameters)
    index = [params.index(p) for p in d.wrt]
    v = [_direction(r, args[i]) for i in index]
    before = [np.copy(a) for a in args] + [np.copy(vi) for vi in v]
    expected = d.fn(*args)
    value, dot = d.tangent(*args, *v)
    assert np.array_equal(value, expected), f"tangent's value {value!r} != f(...) = {expected!r}{_source(d)}"
    assert np.shape(dot) == np.shape(value), f"tangent of shape {np.shape(dot)} for a value of {np.shape(value)}{_source(d)}"
    _assert_own_arrays(d, [dot], list(v))
    plus = d.fn(*_shifted(args, index, v, FD_STEP))
    minus = d.fn(*_shifted(args, index, v, -FD_STEP))
    fd = (np.asarray(plus, dtype=np.float64) - np.asarray(minus, dtype=np.float64)) / (2 * FD_STEP)
    assert _close(dot, fd, FD_RTOL), f"tangent {dot!r}\ncentral difference {fd!r}{_source(d)}"
    w = _seed(r, value)
    w_before = np.copy(w)
    grads = d.adjoint(*args, w)
    assert isinstance(grads, tuple) and len(grads) == len(d.wrt), grads
    for old, new in zip(before + [w_before], list(args) + v + [w]):
        assert np.array_equal(old, new), f"generated code changed an argument in place{_source(d)}"
    for name, i, g in zip(d.wrt, index, grads):
        assert np.shape(g) == np.shape(args[i]), f"{name}_bar of shape {np.shape(g)}, {name} of {np.shape(args[i])}{_source(d)}"
    _assert_own_arrays(d, grads, list(args) + v + [w])
    lhs = sum(_inner(g, vi) for g, vi in zip(grads, v))
    rhs = _inner(w, dot)
    scale = max(1.0, sum(abs(_inner(np.abs(g), np.abs(vi))) for g, vi in zip(grads, v)))
    assert abs(lhs - rhs) <= DOT_RTOL * scale, f"<adjoint, v> = {lhs!r}, <w, tangent> = {rhs!r}{_source(d)}"
    return dot, grads


def _assert_own_arrays(d: sct.Differentiated, grads: Sequence[Any], inputs: Sequence[Any]) -> None:
    """Every returned array derivative is its own: no other one's and no argument's memory."""
    arrays = [g for g in grads if isinstance(g, np.ndarray)]
    for k, g in enumerate(arrays):
        assert g.flags.writeable, f"derivative {k} is read-only{_source(d)}"
        for other in arrays[k + 1 :] + [a for a in inputs if isinstance(a, np.ndarray)]:
            assert not np.shares_memory(g, other), f"derivative {k} shares memory with another array{_source(d)}"


def check_float32(d: sct.Differentiated, args: Sequence[Any], r: np.random.Generator) -> None:
    """The same code on float32 inputs: float32 tangents and adjoints, close to the float64 ones."""
    params = list(inspect.signature(d.fn).parameters)
    index = [params.index(p) for p in d.wrt]
    v64 = [_direction(r, args[i]) for i in index]
    args32 = [a.astype(np.float32) if _is_float(a) and isinstance(a, np.ndarray) else a for a in args]
    v32 = [vi.astype(np.float32) if isinstance(vi, np.ndarray) else vi for vi in v64]
    value64, dot64 = d.tangent(*args, *v64)
    value32, dot32 = d.tangent(*args32, *v32)
    if np.result_type(value32) == np.float32:
        assert np.result_type(dot32) == np.float32, f"float32 value, {np.result_type(dot32)} tangent{_source(d)}"
    assert _close(dot32, dot64, F32_RTOL), f"float32 tangent {dot32!r}, float64 {dot64!r}{_source(d)}"
    w64 = _seed(r, value64)
    w32 = np.float32(w64) if np.ndim(value32) == 0 else np.asarray(w64, dtype=np.result_type(value32))
    grads64 = d.adjoint(*args, w64)
    grads32 = d.adjoint(*args32, w32)
    for name, i, g32, g64 in zip(d.wrt, index, grads32, grads64):
        if isinstance(args32[i], np.ndarray):
            assert np.result_type(g32) == np.float32, f"{name}_bar is {np.result_type(g32)} for a float32 {name}{_source(d)}"
        assert _close(g32, g64, F32_RTOL), f"float32 {name}_bar {g32!r}, float64 {g64!r}{_source(d)}"


# ---- the cases ---------------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    source: str  # the body of f(params), or a whole module when it has its own imports
    params: str
    args: tuple[Gen, ...]
    covers: tuple[tuple[str, int], ...] = ()

    def module(self) -> str:
        if self.source.lstrip().startswith(("import", "from")):
            return self.source
        body = "\n    ".join(self.source.strip().splitlines())
        return f"import numpy as np\n\n\ndef f({self.params}):\n    {body}\n"

    def inputs(self) -> list[Any]:
        r = np.random.default_rng(zlib.crc32(self.id.encode()))
        return [gen(r) for gen in self.args]


CASES: list[Case] = []


def case(id: str, source: str, params: str, *args: Gen, covers: Sequence[str | tuple[str, int]] = ()) -> None:
    """A case; ``covers``: the rule keys it exercises (``"numpy.sum"`` for ``("numpy.sum", 1)``)."""
    keys = tuple(c if isinstance(c, tuple) else (c, 1) for c in covers)
    CASES.append(Case(id, source, params, args, keys))


# -- elementwise, one argument: on a matrix, a 0-d array and a Python float
UNARY = {
    # name: (domain, alternative spelling people use, or None)
    "negative": (U, "return -x"),
    "square": (U, "return x ** 2"),
    "reciprocal": (P, "return 1 / x"),
    "sqrt": (P, "return x ** 0.5"),
    "exp": (U, None),
    "expm1": (U, None),
    "log": (P, None),
    "log1p": (P, None),
    "log2": (P, None),
    "log10": (P, None),
    "sin": (U, None),
    "cos": (U, None),
    "tan": (U, None),
    "arcsin": (lambda *s: U(*s, lo=-0.9, hi=0.9), None),
    "arccos": (lambda *s: U(*s, lo=-0.9, hi=0.9), None),
    "arctan": (U, None),
    "sinh": (U, None),
    "cosh": (U, None),
    "tanh": (U, None),
    "abs": (S, "return np.abs(x) * x"),
    "sign": (S, "return np.sign(x) * x"),
    "copy": (U, "return x.copy() * x"),
    "float64": (U, None),
}
for _name, (_dom, _alt) in UNARY.items():
    _key = (f"numpy.{_name}", 1)
    case(f"{_name}-matrix", f"return np.{_name}(x)", "x", _dom(2, 3), covers=[_key])
    case(f"{_name}-0d", f"return np.{_name}(x)", "x", _dom(), covers=[_key])
    case(f"{_name}-composed", f"return np.sum(np.{_name}(x) * y)", "x, y", _dom(2, 3), U(3), covers=[_key])
    case(f"{_name}-python-float", f"return np.{_name}(x) * y", "x, y", lambda r, g=_dom(): float(g(r)), U(3), covers=[_key])
    if _alt is not None:
        case(f"{_name}-as-written", _alt, "x", _dom(3, 2))


# -- elementwise, two arguments: broadcasting edge cases
BINARY = {
    "add": ("a + b", U, U),
    "subtract": ("a - b", U, U),
    "multiply": ("a * b", U, U),
    "divide": ("a / b", U, P),
    "power": ("a ** b", P, U),
    "logaddexp": (None, U, U),
    "arctan2": (None, U, P),
    "hypot": (None, U, P),
    "maximum": (None, S, S),
    "minimum": (None, S, S),
}
SHAPES = {
    "same": ((2, 3), (2, 3)),
    "row": ((2, 3), (3,)),
    "column": ((2, 1), (1, 3)),
    "0d": ((2, 3), ()),
    "0d-first": ((), (3,)),
    "size-1": ((1,), (4,)),
    "3d": ((2, 1, 3), (4, 1)),
}
for _name, (_op, _da, _db) in BINARY.items():
    _key = (f"numpy.{_name}", 2)
    for _sid, (_sa, _sb) in SHAPES.items():
        _ga, _gb = _da(*_sa), _db(*_sb)  # maximum, minimum: no tie (ties are tested below)
        case(f"{_name}-{_sid}", f"return np.{_name}(a, b)", "a, b", _ga, _gb, covers=[_key])
    case(f"{_name}-float-array", f"return np.{_name}(a, b)", "a, b", F(), _db(2, 3), covers=[_key])
    case(f"{_name}-array-float", f"return np.{_name}(a, b)", "a, b", _da(2, 3), F(), covers=[_key])
    case(f"{_name}-repeated", f"return np.{_name}(a, a) + a", "a", P(2, 3), covers=[_key])
    if _op is not None:
        _sym = _op.split()[1]
        case(f"operator{_sym}-broadcast", f"return np.sum({_op})", "a, b", _da(2, 3), _db(3,), covers=[(_sym, 2)])
        case(f"operator{_sym}-float", f"return np.exp({_op})", "a, b", _da(2, 3), F(), covers=[(_sym, 2)])

case("clip", "return np.clip(x, lo, hi)", "x, lo, hi", K(np.array([-1.5, -0.3, 0.2, 0.9, 1.7, -2.2])), F(-1.0, -0.8),
     F(1.0, 1.2), covers=[("numpy.clip", 3)])
case("clip-arrays", "return np.clip(x, lo, hi) * x", "x, lo, hi", K(np.array([[-1.5, 0.3], [0.2, 1.9]])),
     K(np.array([-1.0, 0.0])), K(np.array([[1.0], [1.5]])), covers=[("numpy.clip", 3)])
case("clip-no-upper-bound", "return np.clip(x, 0.0, None)", "x", S(5), covers=[("numpy.clip", 3)])
case("clip-no-lower-bound", "return np.clip(x, None, 0.5) * x", "x", S(2, 3), covers=[("numpy.clip", 3)])
case("where", "return np.where(x > 0, x * y, y - x)", "x, y", S(2, 3), U(3), covers=[("numpy.where", 3)])
case("where-scalar", "return np.where(x > 0, x, 0.0)", "x", S(4), covers=[("numpy.where", 3)])
case("where-mask", "return np.where(m, a, b)", "m, a, b", K(np.array([True, False, True])), U(2, 3), F(),
     covers=[("numpy.where", 3)])
case("logaddexp-large", "return np.logaddexp(a, b)", "a, b", U(3, lo=50, hi=60), U(3, lo=50, hi=60),
     covers=[("numpy.logaddexp", 2)])
case("power-of-python-float", "return np.sum(2.0 ** x)", "x", U(4), covers=[("**", 2)])
case("maximum-python-float-first", "return np.maximum(0.0, x)", "x", S(4), covers=[("numpy.maximum", 2)])
case("mse-arrays", "import numpy as np\nimport sct\n\n\ndef f(yhat, y):\n    return sct.mse(np.tanh(yhat), y)\n",
     "", U(5), U(5), covers=[("sct.mse", 2)])
case("mse-broadcast", "import numpy as np\nfrom sct import mse\n\n\ndef f(yhat, y):\n    return mse(np.exp(yhat), y)\n",
     "", U(2, 3), F(), covers=[("sct.mse", 2)])
case("power-operator-arrays", "return np.sum(a ** b)", "a, b", P(2, 3), U(2, 3), covers=[("**", 2)])

# -- reductions
for _name in ("sum", "mean", "prod", "max", "min", "amax", "amin", "var", "std"):
    _key = (f"numpy.{_name}", 1)
    _dom = S if _name in ("max", "min", "amax", "amin") else (P if _name == "prod" else U)
    for _kw in ("", "axis=0", "axis=-1", "axis=(0, 2)", "axis=1, keepdims=True", "keepdims=True", "axis=None"):
        _args = f"x, {_kw}" if _kw else "x"
        _sid = _kw.replace(" ", "").replace("=", "").replace(",", "-").replace("(", "").replace(")", "") or "all"
        case(f"{_name}-{_sid}", f"return np.{_name}({_args})", "x", _dom(2, 3, 4), covers=[_key])
    if _name != "std":  # std is not differentiable where it is 0, as it always is on one element
        case(f"{_name}-0d", f"return np.{_name}(x)", "x", _dom(), covers=[_key])
    case(f"{_name}-vector", f"return np.{_name}(x) * x", "x", _dom(5), covers=[_key])
    if not _name.startswith("a"):
        case(f"{_name}-method", f"return x.{_name}()", "x", _dom(3, 4), covers=[_key])
        case(f"{_name}-method-axis", f"return x.{_name}(axis=1) + x.{_name}(0).sum()", "x", _dom(3, 4), covers=[_key])
        case(f"{_name}-method-keepdims", f"return x - x.{_name}(axis=-1, keepdims=True)", "x", _dom(3, 4), covers=[_key])
case("prod-zeros", "return np.prod(x, axis=0) + x.prod()", "x", K(np.array([[0.0, 1.5], [2.0, 0.0], [0.5, 0.0]])),
     covers=["numpy.prod"])
case("sum-positional-axis", "return np.sum(x, 1)", "x", U(3, 4), covers=["numpy.sum"])
case("var-ddof", "return np.var(x, ddof=1) + x.var(axis=0, ddof=1).sum()", "x", U(4, 3), covers=["numpy.var"])
case("std-ddof", "return np.std(x, axis=1, ddof=1)", "x", U(4, 3), covers=["numpy.std"])
case("softmax", "z = x - np.max(x, axis=-1, keepdims=True)\ne = np.exp(z)\nreturn e / np.sum(e, axis=-1, keepdims=True)",
     "x", S(3, 4), covers=["numpy.max", "numpy.exp", "numpy.sum"])

# -- linear algebra
for _sid, (_sa, _sb) in {
    "vv": ((3,), (3,)), "mv": ((2, 3), (3,)), "vm": ((3,), (3, 2)), "mm": ((2, 3), (3, 4)),
    "batched": ((2, 3, 4), (4, 5)), "batched-both": ((2, 3, 4), (1, 4, 2)), "batched-vector": ((2, 3, 4), (4,)),
    "vector-batched": ((3,), (2, 3, 4)),
}.items():
    case(f"matmul-operator-{_sid}", "return a @ b", "a, b", U(*_sa), U(*_sb), covers=[("@", 2)])
    case(f"matmul-{_sid}", "return np.matmul(a, b)", "a, b", U(*_sa), U(*_sb), covers=[("numpy.matmul", 2)])
for _sid, (_sa, _sb) in {"vv": ((3,), (3,)), "mv": ((2, 3), (3,)), "vm": ((3,), (3, 2)), "mm": ((2, 3), (3, 4)),
                         "scalar": ((), (2, 3)), "scalar-second": ((2, 3), ())}.items():
    case(f"dot-{_sid}", "return np.dot(a, b)", "a, b", U(*_sa), U(*_sb), covers=[("numpy.dot", 2)])
case("dot-3d", "return np.dot(a, b)", "a, b", U(2, 3, 4), U(5, 4, 2), covers=[("numpy.dot", 2)])
case("dot-vector-3d", "return np.dot(a, b)", "a, b", U(4), U(2, 4, 3), covers=[("numpy.dot", 2)])
case("dot-3d-vector", "return np.dot(a, b)", "a, b", U(2, 3, 4), U(4), covers=[("numpy.dot", 2)])
case("dot-method", "return a.dot(b)", "a, b", U(2, 3), U(3), covers=[("numpy.dot", 2)])
case("dot-float", "return np.dot(a, b)", "a, b", F(), U(3), covers=[("numpy.dot", 2)])
case("outer", "return np.outer(a, b)", "a, b", U(3), U(4), covers=[("numpy.outer", 2)])
case("outer-matrices", "return np.outer(a, b)", "a, b", U(2, 2), U(3), covers=[("numpy.outer", 2)])
case("inner", "return np.inner(a, b)", "a, b", U(3), U(3), covers=[("numpy.inner", 2)])
case("inner-matrices", "return np.inner(a, b)", "a, b", U(2, 3), U(4, 3), covers=[("numpy.inner", 2)])
case("inner-scalar", "return np.inner(a, b)", "a, b", U(), U(3), covers=[("numpy.inner", 2)])
case("trace", "return np.trace(x)", "x", U(3, 3), covers=["numpy.trace"])
case("trace-rectangular", "return np.trace(x) * x", "x", U(2, 3), covers=["numpy.trace"])
case("trace-3d", "return np.trace(x)", "x", U(3, 2, 2), covers=["numpy.trace"])
case("trace-method", "return x.trace()", "x", U(3, 3), covers=["numpy.trace"])
case("norm-vector", "return np.linalg.norm(x)", "x", U(4), covers=["numpy.linalg.norm"])
case("norm-matrix", "return np.linalg.norm(x) * x", "x", U(3, 2), covers=["numpy.linalg.norm"])
case("norm-rows", "return np.linalg.norm(x, axis=1)", "x", U(3, 2), covers=["numpy.linalg.norm"])
case("norm-keepdims", "return x / np.linalg.norm(x, axis=-1, keepdims=True)", "x", U(3, 2), covers=["numpy.linalg.norm"])
case("norm-ord-2", "return np.linalg.norm(x, 2)", "x", U(4), covers=["numpy.linalg.norm"])
case("norm-fro", 'return np.linalg.norm(x, "fro")', "x", U(2, 3), covers=["numpy.linalg.norm"])
case("norm-3d-axes", "return np.linalg.norm(x, axis=(1, 2))", "x", U(2, 3, 2), covers=["numpy.linalg.norm"])
case("inv", "return np.linalg.inv(a)", "a", M(3), covers=["numpy.linalg.inv"])
case("inv-sum", "return np.sum(np.linalg.inv(a) * b)", "a, b", M(3), U(3, 3), covers=["numpy.linalg.inv"])
case("det", "return np.linalg.det(a)", "a", M(3), covers=["numpy.linalg.det"])
case("det-stack", "return np.linalg.det(a)", "a", lambda r: 2.0 * np.eye(3) + r.uniform(-0.4, 0.4, size=(2, 3, 3)),
     covers=["numpy.linalg.det"])
case("inv-stack", "return np.linalg.inv(a)", "a", lambda r: 2.0 * np.eye(2) + r.uniform(-0.4, 0.4, size=(3, 2, 2)),
     covers=["numpy.linalg.inv"])
case("solve-stack", "return np.linalg.solve(a, b)", "a, b", lambda r: 2.0 * np.eye(3) + r.uniform(-0.4, 0.4, size=(2, 3, 3)),
     U(2, 3, 2), covers=[("numpy.linalg.solve", 2)])
case("det-2", "return np.linalg.det(a * b)", "a, b", M(2), P(), covers=["numpy.linalg.det"])
case("solve-vector", "return np.linalg.solve(a, b)", "a, b", M(3), U(3), covers=[("numpy.linalg.solve", 2)])
case("solve-matrix", "return np.linalg.solve(a, b)", "a, b", M(3), U(3, 2), covers=[("numpy.linalg.solve", 2)])
case("einsum-matmul", 'return np.einsum("ij,jk->ik", a, b)', "a, b", U(2, 3), U(3, 4), covers=[("numpy.einsum", 2)])
case("einsum-dot", 'return np.einsum("i,i->", a, b)', "a, b", U(4), U(4), covers=[("numpy.einsum", 2)])
case("einsum-column-sums", 'return np.einsum("ij->j", a)', "a", U(3, 4), covers=[("numpy.einsum", 1)])
case("einsum-transpose", 'return np.einsum("ij->ji", a)', "a", U(3, 4), covers=[("numpy.einsum", 1)])
case("einsum-trace", 'return np.einsum("ii->", a)', "a", U(3, 3), covers=[("numpy.einsum", 1)])
case("einsum-diagonal", 'return np.einsum("ii->i", a)', "a", U(3, 3), covers=[("numpy.einsum", 1)])
case("einsum-outer-sum", 'return np.einsum("ij,k->ik", a, b)', "a, b", U(2, 3), U(4), covers=[("numpy.einsum", 2)])
case("einsum-three", 'return np.einsum("ij,jk,kl->il", a, b, c)', "a, b, c", U(2, 3), U(3, 4), U(4, 2),
     covers=[("numpy.einsum", 3)])
case("einsum-four", "return np.einsum('i,ij,jk,k->', a, b, c, d)", "a, b, c, d", U(2), U(2, 3), U(3, 4), U(4),
     covers=[("numpy.einsum", 4)])
case("einsum-spaces", 'return np.einsum("ij, jk -> ik", a, b)', "a, b", U(2, 3), U(3, 4), covers=[("numpy.einsum", 2)])
case("einsum-batched", 'return np.einsum("bij,bjk->bik", a, b)', "a, b", U(2, 2, 3), U(2, 3, 4), covers=[("numpy.einsum", 2)])
case("einsum-ellipsis", 'return np.einsum("...ij,...jk->...ik", a, b)', "a, b", U(2, 2, 3), U(2, 3, 4),
     covers=[("numpy.einsum", 2)])
case("einsum-ellipsis-broadcast", 'return np.einsum("...ij,...jk->...ik", a, b)', "a, b", U(1, 2, 3), U(4, 3, 5),
     covers=[("numpy.einsum", 2)])
case("einsum-ellipsis-one-side", 'return np.einsum("...ij,jk->...ik", a, b)', "a, b", U(2, 2, 3), U(3, 4),
     covers=[("numpy.einsum", 2)])
case("einsum-broadcast-size-1", 'return np.einsum("ij,ij->ij", a, b)', "a, b", U(1, 3), U(2, 3), covers=[("numpy.einsum", 2)])
case("einsum-repeated", 'return np.einsum("ij,ij->i", a, a)', "a", U(3, 4), covers=[("numpy.einsum", 2)])

# -- shapes
case("T", "return x.T * y", "x, y", U(3, 2), U(3), covers=["numpy.transpose"])
case("transpose", "return np.transpose(x)", "x", U(2, 3), covers=["numpy.transpose"])
case("transpose-axes", "return np.transpose(x, (1, 2, 0))", "x", U(2, 3, 4), covers=["numpy.transpose"])
case("transpose-axes-keyword", "return np.transpose(x, axes=(2, 0, 1))", "x", U(2, 3, 4), covers=["numpy.transpose"])
case("transpose-negative-axes", "return np.transpose(x, (-1, 0, 1))", "x", U(2, 3, 4), covers=["numpy.transpose"])
case("transpose-method", "return x.transpose(1, 0, 2) + x.transpose((1, 0, 2))", "x", U(2, 3, 4), covers=["numpy.transpose"])
case("reshape", "return np.reshape(x, (3, 2))", "x", U(2, 3), covers=["numpy.reshape"])
case("reshape-keyword", "return np.reshape(x, shape=(3, 2))", "x", U(6), covers=["numpy.reshape"])
case("reshape-method", "return x.reshape(2, 3) @ x.reshape((3, 2))", "x", U(6), covers=["numpy.reshape"])
case("reshape-minus-one", "return x.reshape(-1) * np.reshape(x, (-1, 1)).sum()", "x", U(2, 3), covers=["numpy.reshape"])
case("ravel", "return np.ravel(x) * x.ravel()", "x", U(2, 3), covers=["numpy.ravel"])
case("flatten", "return x.flatten()", "x", U(2, 3), covers=["numpy.ravel"])
case("squeeze", "return np.squeeze(x)", "x", U(1, 3, 1), covers=["numpy.squeeze"])
case("squeeze-axis", "return np.squeeze(x, axis=0) + x.squeeze(2).sum()", "x", U(1, 3, 1), covers=["numpy.squeeze"])
case("squeeze-method", "return x.squeeze()", "x", U(3, 1), covers=["numpy.squeeze"])
case("squeeze-to-0d", "return np.squeeze(x) * 2", "x", U(1, 1), covers=["numpy.squeeze"])
case("expand-dims", "return np.expand_dims(x, 0) * np.expand_dims(x, axis=-1)", "x", U(3), covers=["numpy.expand_dims"])
case("expand-dims-tuple", "return np.expand_dims(x, (0, 2))", "x", U(3, 2), covers=["numpy.expand_dims"])
for _n in range(1, 9):
    _names = ", ".join(f"a{i}" for i in range(_n))
    _gens = [U(2, i + 1) for i in range(_n)]
    case(f"concatenate-{_n}", f"return np.concatenate(({_names},), axis=1)", _names, *_gens, covers=[("numpy.concatenate", _n)])
    _gens = [U(2, 3) for _ in range(_n)]
    case(f"stack-{_n}", f"return np.stack([{_names}], axis=-1)", _names, *_gens, covers=[("numpy.stack", _n)])
case("concatenate-default-axis", "return np.concatenate((a, b, a))", "a, b", U(2, 3), U(1, 3), covers=[("numpy.concatenate", 3)])
case("concatenate-negative-axis", "return np.concatenate([a, b], axis=-1)", "a, b", U(2, 3), U(2, 1), covers=[("numpy.concatenate", 2)])
case("concatenate-vectors", "return np.concatenate((a, 2 * a, b))", "a, b", U(3), U(2), covers=[("numpy.concatenate", 3)])
case("stack-0d", "return np.stack((a, b))", "a, b", U(), U(), covers=[("numpy.stack", 2)])
case("stack-floats", "return np.stack((a, b, a * b))", "a, b", F(), F(), covers=[("numpy.stack", 3)])
case("stack-default-axis", "return np.stack((a, b))", "a, b", U(3), U(3), covers=[("numpy.stack", 2)])
case("stack-axis-1", "return np.stack((a, b, a * b), axis=1)", "a, b", U(2, 3), U(2, 3), covers=[("numpy.stack", 3)])
case("stack-constant", "return np.stack((a, np.zeros(3)))", "a", U(3), covers=[("numpy.stack", 2)])

# -- indexing reads
INDEXING = {
    "integer": ("x[1]", U(3, 4)),
    "negative": ("x[-1] * x[-2]", U(4)),
    "slice": ("x[1:3]", U(5)),
    "slice-step": ("x[::2] + x[1::2]", U(6)),
    "reversed": ("x[::-1] * x", U(5)),
    "negative-slice": ("x[-3:-1]", U(5)),
    "tuple": ("x[1, ::2]", U(3, 4)),
    "column": ("x[:, 2]", U(3, 4)),
    "none": ("x[:, None] * x[None, :]", U(3)),
    "newaxis": ("x[np.newaxis, 1:3, np.newaxis]", U(4)),
    "ellipsis": ("x[..., 0]", U(2, 3, 2)),
    "element": ("x[1, 2] * x", U(3, 4)),
    "0d": ("x[()] * x", U()),
    "index-array": ("x[idx]", U(5), K([0, 3, 3, 1, 3])),
    "index-array-2d": ("x[:, idx]", U(2, 4), K([3, 3, 0])),
    "mask": ("x[m]", U(5), K(np.array([True, False, True, True, False]))),
    "mask-computed": ("np.sum(x[x > 0] ** 2)", S(6)),
    "argmax": ("x[np.argmax(x)] * np.sum(x)", S(5)),
    "two-index-arrays": ("x[rows, cols]", U(3, 4), K([0, 2, 2]), K([1, 3, 3])),
    "2d-index-array": ("x[idx]", U(4), K([[0, 1], [1, 3]])),
}
for _sid, (_expr, *_gens) in INDEXING.items():
    _params = ", ".join(p for p in ("x", "idx", "m", "rows", "cols") if re.search(rf"\b{p}\b", _expr))
    case(f"getitem-{_sid}", f"return {_expr}", _params, *_gens, covers=["getitem"])

# -- values that carry no derivative
case("shape", "n = x.shape[0]\nreturn np.sum(x) / n + x.shape[1] * x[0, 0]", "x", U(3, 4), covers=["numpy.shape"])
case("np-shape", "return x * np.shape(x)[0]", "x", U(3), covers=["numpy.shape"])
case("ndim", "return x * x.ndim + np.ndim(x)", "x", U(3), covers=["numpy.ndim"])
case("size", "return np.sum(x) / x.size + np.size(x)", "x", U(2, 3), covers=["numpy.size"])
case("len", "return x.sum() / len(x)", "x", U(4, 2), covers=[("builtins.len", 1)])
case("zeros-like", "return np.zeros_like(x) + x * 2", "x", U(3), covers=["numpy.zeros_like"])
case("ones-like", "return np.ones_like(x) / x", "x", P(3), covers=["numpy.ones_like"])
case("empty-like", "e = np.empty_like(x)\nreturn x * e.size", "x", U(3), covers=["numpy.empty_like"])
case("argmax-argmin", "i = np.argmax(x)\nj = np.argmin(x)\nreturn x[i] - x[j]", "x", S(5), covers=["numpy.argmax", "numpy.argmin"])
case("argmax-axis", "i = np.argmax(x, axis=0)\nreturn x[i, np.arange(3)]", "x", S(4, 3), covers=["numpy.argmax"])
case("argsort", "order = np.argsort(x)\nreturn x[order] * np.arange(4)", "x", S(4), covers=["numpy.argsort"])
case("argsort-axis", "order = np.argsort(x, axis=0)\nreturn x[order[0], np.arange(3)]", "x", S(4, 3), covers=["numpy.argsort"])
case("floor-ceil-round", "return x * (np.floor(x) + np.ceil(x) + np.round(x) + np.round(x, 1))", "x",
     K(np.array([0.33, 1.61, -0.72, 2.24])), covers=["numpy.floor", "numpy.ceil", "numpy.round"])
case("isnan-isfinite", "return np.where(np.isnan(x), 0.0, x) * np.isfinite(x)", "x", U(4),
     covers=["numpy.isnan", "numpy.isfinite"])
case("heaviside", "return np.heaviside(x, 1.0) * x", "x", S(4), covers=[("numpy.heaviside", 2)])

# -- fresh arrays (reads only)
case("zeros", "return np.zeros(3) + x", "x", U(3))
case("zeros-shape", "return np.ones(x.shape) * x + np.zeros((2, 3))", "x", U(2, 3))
case("empty", "e = np.empty(x.shape)\nreturn x * e.ndim", "x", U(3))
case("eye", "return np.eye(3) @ x", "x", U(3, 2))
case("copy-method", "y = x.copy()\nreturn y * x", "x", U(3))
case("arange-linspace", "return x * np.arange(3) + np.linspace(0.0, 1.0, 3)", "x", U(3))
case("loop-over-rows", "s = 0.0\nfor i in range(x.shape[0]):\n    s = s + np.sum(x[i] * x[i])\nreturn s", "x", U(3, 2))
case("loop-over-len", "s = x[0]\nfor i in range(1, len(x)):\n    s = s * x[i]\nreturn s", "x", P(4))

# -- imports
case("import-numpy", "import numpy\n\n\ndef f(x):\n    return numpy.sum(numpy.exp(x))\n", "", U(3), covers=["numpy.sum"])
case("from-numpy-import", "from numpy import exp, sum\n\n\ndef f(x):\n    return sum(exp(x) * x)\n", "", U(3),
     covers=["numpy.sum", "numpy.exp"])
case("from-numpy-import-as", "from numpy import tanh as th\n\n\ndef f(x):\n    return th(x).sum()\n", "", U(3),
     covers=["numpy.tanh"])
case("import-numpy-linalg", "import numpy as np\nfrom numpy import linalg\n\n\ndef f(a):\n    return linalg.det(a)\n", "",
     M(2), covers=["numpy.linalg.det"])
case("import-numpy-linalg-as", "import numpy.linalg as la\n\n\ndef f(a):\n    return la.norm(a)\n", "",
     U(3), covers=["numpy.linalg.norm"])

# -- models
case("mlp", "h = np.tanh(x @ W1 + b1)\nyhat = h @ W2 + b2\nreturn np.mean((yhat - y) ** 2)", "W1, b1, W2, b2, x, y",
     U(3, 4), U(4), U(4, 1), U(1), U(5, 3), U(5, 1))
case("logistic", "z = x @ w + b\np = 1 / (1 + np.exp(-z))\nreturn -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))",
     "w, b, x, y", U(3), F(), U(6, 3), K(np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])))
case("softmax-cross-entropy",
     "z = x @ W\nz = z - z.max(axis=1, keepdims=True)\nlogp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))\n"
     "return -np.sum(logp * y) / x.shape[0]", "W, x, y", U(3, 4), U(5, 3), K(np.eye(4)[[0, 2, 1, 3, 3]]))


CASE_PARAMS = [pytest.param(c, id=c.id) for c in CASES]


def _ops(d: sct.Differentiated) -> set[tuple[str, int]]:
    return {(s.op, len(s.args)) for s in ir.walk(d.transformed.normalized.body) if isinstance(s, ir.Assign) and s.op}


@pytest.mark.parametrize("c", CASE_PARAMS)
def test_rule(tmp_path, c: Case) -> None:
    """The case's function, differentiated with respect to its float arguments, checked three ways."""
    args = c.inputs()
    fn = load_module(tmp_path, c.module()).f
    d = sct.differentiate(fn, wrt=[p for p, a in zip(inspect.signature(fn).parameters, args) if _is_float(a)] or None)
    missing = set(c.covers) - _ops(d)
    assert not missing, f"case {c.id} does not exercise {missing}: {sorted(_ops(d))}"
    r = np.random.default_rng(zlib.crc32(c.id.encode()) + 1)
    check_arrays(d, args, r)
    check_float32(d, args, r)


def _scalar_valued(c: Case) -> bool:
    """Whether the case's function returns one number (run as plain Python, without sct)."""
    namespace: dict[str, Any] = {}
    exec(c.module(), namespace)
    return bool(np.ndim(namespace["f"](*c.inputs())) == 0)


SCALAR_CASE_PARAMS = [p for p in CASE_PARAMS if _scalar_valued(p.values[0])]


@pytest.mark.parametrize("c", SCALAR_CASE_PARAMS)
def test_rule_gradient_specialised_at_first_call(tmp_path, c: Case) -> None:
    """``.grad`` gives the adjoint's numbers exactly, before and after it specialises itself (sct.firstcall)."""
    args = c.inputs()
    fn = load_module(tmp_path, c.module()).f
    d = sct.differentiate(fn, wrt=[p for p, a in zip(inspect.signature(fn).parameters, args) if _is_float(a)] or None)
    expected = d.adjoint(*args, 1.0)
    for _ in range(2):  # the first call runs the gradient as generated, the second its specialised copy
        got = d.grad(*args)
        got = got if len(d.wrt) > 1 else (got,)
        for g, e in zip(got, expected):
            assert type(g) is type(e) and np.shape(g) == np.shape(e) and np.array_equal(g, e), f"{g!r} != {e!r}{_source(d)}"
            if isinstance(g, np.ndarray):
                assert g.dtype == e.dtype


def numpy_rules() -> set[tuple[str, int]]:
    keys = {k for k in rules.RULES if k[0].startswith("numpy.")}
    keys |= {("@", 2), ("getitem", 1)}
    keys |= {k for k, r in rules.RULES.items() if r.array is not None}
    return keys


def test_every_numpy_rule_has_a_case() -> None:
    covered = {k for c in CASES for k in c.covers} | COVERED_BELOW
    assert not numpy_rules() - covered, f"NumPy rules without a case: {sorted(numpy_rules() - covered)}"


# ---- rules checked by a test of their own ------------------------------------------------------

COVERED_BELOW = {("numpy.float32", 1)}


def test_float32_conversion(load) -> None:
    """np.float32(x) of a float64 x: a float32 value and tangent; the adjoint of x is float64 again.

    (A central difference of a float32 result is meaningless, so the derivative is checked exactly.)
    """
    d = load("import numpy as np\n\n\ndef f(x):\n    return np.float32(x) * 2\n")
    assert ("numpy.float32", 1) in _ops(d)
    x, v, w = np.array([0.5, -1.25, 2.0]), np.array([1.0, 0.5, -3.0]), np.array([0.25, 1.0, -1.0], dtype=np.float32)
    value, dot = d.tangent(x, v)
    assert value.dtype == dot.dtype == np.float32
    np.testing.assert_array_equal(dot, np.float32(2 * v))
    (x_bar,) = d.adjoint(x, w)
    assert x_bar.dtype == np.float64
    np.testing.assert_array_equal(x_bar, 2 * w.astype(np.float64))


def test_norm_refuses_an_ord_it_does_not_differentiate(load) -> None:
    """ord=1 is not sqrt(sum(x * x)): the generated code refuses it rather than return its wrong derivative."""
    d = load("import numpy as np\n\n\ndef f(x):\n    return np.linalg.norm(x, 1)\n")
    x = np.array([0.5, -1.0, 2.0])
    with pytest.raises(ValueError, match="not ord=1"):
        d.tangent(x, x)
    with pytest.raises(ValueError, match="not ord=1"):
        d.adjoint(x, 1.0)


# ---- kinks: ties and boundaries, exactly ------------------------------------------------------

A = np.array([1.0, 2.0, 3.0])
B = np.array([1.0, 0.0, 5.0])  # a tie in the first element

TIES = [
    # (id, body of f, arguments, seed, expected adjoints): the first of equal values gets the derivative
    ("maximum", "return np.maximum(a, b)", (A, B), np.ones(3), ([1.0, 1.0, 0.0], [0.0, 0.0, 1.0])),
    ("minimum", "return np.minimum(a, b)", (A, B), np.ones(3), ([1.0, 0.0, 1.0], [0.0, 1.0, 0.0])),
    ("maximum-scalar", "return np.maximum(a, 2.0)", (A,), np.ones(3), ([0.0, 1.0, 1.0],)),
    ("maximum-relu", "return np.maximum(a - 2.0, 0.0)", (A,), np.ones(3), ([0.0, 1.0, 1.0],)),
    ("max", "return np.max(x)", (np.array([3.0, 1.0, 3.0, 2.0]),), 1.0, ([1.0, 0.0, 0.0, 0.0],)),
    ("min-method", "return x.min()", (np.array([2.0, 1.0, 3.0, 1.0]),), 1.0, ([0.0, 1.0, 0.0, 0.0],)),
    ("amax", "return np.amax(x)", (np.array([3.0, 3.0]),), 2.0, ([2.0, 0.0],)),
    ("max-axis-0", "return x.max(axis=0)", (np.array([[1.0, 5.0], [1.0, 5.0], [0.0, 5.0]]),), np.array([1.0, 2.0]),
     ([[1.0, 2.0], [0.0, 0.0], [0.0, 0.0]],)),
    ("min-keepdims", "return np.min(x, axis=1, keepdims=True)", (np.array([[1.0, 1.0, 2.0], [0.0, 3.0, 0.0]]),),
     np.array([[1.0], [2.0]]), ([[1.0, 0.0, 0.0], [2.0, 0.0, 0.0]],)),
    ("max-tuple-axis", "return np.max(x, axis=(0, 2))", (np.ones((2, 2, 2)),), np.array([1.0, 2.0]),
     ([[[1.0, 0.0], [2.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]],)),
    ("clip-boundaries", "return np.clip(x, -1.0, 1.0)", (np.array([-1.0, 0.0, 1.0, 2.0]),), np.ones(4),
     ([1.0, 1.0, 1.0, 0.0],)),
    ("abs-at-0", "return np.abs(x)", (np.array([0.0, -1.0, 2.0]),), np.ones(3), ([0.0, -1.0, 1.0],)),
]


@pytest.mark.parametrize("body, args, seed, expected", [pytest.param(*t[1:], id=t[0]) for t in TIES])
def test_ties_go_to_the_first(load, body: str, args: tuple, seed: Any, expected: tuple) -> None:
    params = ", ".join(p for p in ("a", "b", "x") if re.search(rf"\b{p}\b", body))
    d = load(f"import numpy as np\n\n\ndef f({params}):\n    {body}\n")
    grads = d.adjoint(*args, seed)
    assert len(grads) == len(expected)
    for g, e in zip(grads, expected):
        np.testing.assert_array_equal(g, np.asarray(e))
    # forward mode agrees, element by element: the tangent along each unit direction
    flat = [np.asarray(a).ravel() for a in args]
    for k, a in enumerate(args):
        for j in range(np.size(a)):
            dots = [np.zeros_like(b) for b in args]
            dots[k].ravel()[j] = 1.0
            _, dot = d.tangent(*args, *dots)
            assert float(np.sum(np.asarray(seed) * dot)) == np.asarray(expected[k]).ravel()[j], (k, j, flat)


@pytest.mark.parametrize("h0, expected", [(1, ([1.0, 1.0, 0.0], [0.0, 0.0, 1.0])), (0.5, ([0.5, 1.0, 0.0], [0.5, 0.0, 1.0])),
                                           (0, ([0.0, 1.0, 0.0], [1.0, 0.0, 1.0]))])
def test_maximum_ties_follow_heaviside0(load, h0: float, expected: tuple) -> None:
    """np.maximum is written with sct.heaviside, so the kink convention (sct.kinks) decides its ties."""
    fn = load("import numpy as np\n\n\ndef f(a, b):\n    return np.maximum(a, b)\n").fn
    d = sct.differentiate(fn, heaviside0=h0)
    grads = d.adjoint(A, B, np.ones(3))
    for g, e in zip(grads, expected):
        np.testing.assert_array_equal(g, e)
    np.testing.assert_array_equal(d.tangent(A, B, np.ones(3), np.zeros(3))[1], expected[0])


# ---- values that pass no derivative: exactly zero --------------------------------------------------

NO_DERIVATIVE = {
    # op: an expression of x whose derivative through op is zero
    "numpy.sign": "np.sign(x)",
    "numpy.floor": "np.floor(x)",
    "numpy.ceil": "np.ceil(x)",
    "numpy.round": "np.round(x, 1)",
    "numpy.heaviside": "np.heaviside(x, 0.5)",
    "numpy.isnan": "np.isnan(x)",
    "numpy.isfinite": "np.isfinite(x)",
    "numpy.zeros_like": "np.zeros_like(x)",
    "numpy.ones_like": "np.ones_like(x)",
    "numpy.argmax": "np.argmax(x)",
    "numpy.argmin": "np.argmin(x, axis=0)",
    "numpy.argsort": "np.argsort(x)",
    "numpy.shape": "np.shape(x)[0]",
    "numpy.ndim": "x.ndim",
    "numpy.size": "x.size",
}


@pytest.mark.parametrize("op, expr", list(NO_DERIVATIVE.items()))
def test_no_derivative_passes_exactly_zero(load, op: str, expr: str) -> None:
    d = load(f"import numpy as np\n\n\ndef f(x, y):\n    t = {expr}\n    return t * y\n")
    assert any(o == op for o, _ in _ops(d)), _ops(d)
    x, y = np.array([0.3, -1.2, 2.6]), np.array([1.5, -0.5, 2.0])
    _, dot = d.tangent(x, y, np.ones(3), np.zeros(3))
    np.testing.assert_array_equal(dot, np.zeros_like(dot))
    x_bar, _ = d.adjoint(x, y, np.ones(3))
    assert x_bar.shape == x.shape and x_bar.dtype == x.dtype
    np.testing.assert_array_equal(x_bar, np.zeros(3))


# ---- parameters, seeds and dtypes ------------------------------------------------------------------


def test_unused_and_excluded_array_parameters(load) -> None:
    """An unused array parameter gets zeros of its shape and dtype; one outside wrt gets nothing."""
    source = "import numpy as np\n\n\ndef f(x, y, z):\n    return np.sum(x * z)\n"
    d = load(source)
    x, y, z = np.ones((2, 3)), np.ones(4, dtype=np.float32), np.arange(3.0)
    x_bar, y_bar, z_bar = d.grad(x, y, z)
    np.testing.assert_array_equal(x_bar, np.broadcast_to(z, (2, 3)))
    assert y_bar.shape == (4,) and y_bar.dtype == np.float32 and not y_bar.any()
    np.testing.assert_array_equal(z_bar, [2.0, 2.0, 2.0])
    only = load(source, wrt=("z",))
    z_bar = only.grad(x, y, z)
    np.testing.assert_array_equal(z_bar, [2.0, 2.0, 2.0])
    assert only.tangent(x, y, z, np.ones(3))[1] == 6.0


def test_grad_of_float32_stays_float32(load) -> None:
    """grad seeds with the int 1: every adjoint keeps its parameter's float32."""
    d = load("import numpy as np\n\n\ndef f(W, x, b):\n    return np.mean(np.tanh(x @ W + b) ** 2)\n")
    W, x, b = (np.full(s, 0.3, dtype=np.float32) for s in ((3, 2), (4, 3), (2,)))
    grads = d.grad(W, x, b)
    assert [g.dtype for g in grads] == [np.float32] * 3
    assert [g.shape for g in grads] == [(3, 2), (4, 3), (2,)]
    grads64 = d.grad(W.astype(np.float64), x.astype(np.float64), b.astype(np.float64))
    for g32, g64 in zip(grads, grads64):
        np.testing.assert_allclose(g32, g64, rtol=1e-5)


def test_python_float_parameter_gets_a_scalar_adjoint(load) -> None:
    d = load("import numpy as np\n\n\ndef f(x, s):\n    return np.sum(np.exp(s * x))\n")
    x = np.array([0.5, -1.0, 2.0])
    x_bar, s_bar = d.grad(x, 0.5)
    assert np.shape(s_bar) == () and x_bar.shape == (3,)
    assert s_bar == pytest.approx(float(np.sum(x * np.exp(0.5 * x))), rel=1e-14)


# ---- bad input: one located diagnostic -------------------------------------------------------------

MARK = "‸"

BAD = [
    # (id, body of f(x) with the mark where the error points, error class, message, words the hint must hold)
    ("np-fft", "return np.sum(‸np.fft.fft(x))", sct.errors.NoRuleError,
     "`np.fft.fft` has no derivative rule and no Python source sct can read", ("sct.primitive(np.fft.fft)",)),
    ("np-cumsum", "y = x * 2\n    return ‸np.cumsum(y)", sct.errors.NoRuleError,
     "`np.cumsum` has no derivative rule and no Python source sct can read", ("sct.primitive(np.cumsum)",)),
    ("cumsum-method", "return ‸x.cumsum()", sct.errors.NoRuleError,
     "the array method `x.cumsum` has no derivative rule", ("sct.primitive", "sum")),
    ("real", "return np.sum(‸x.real)", sct.errors.UnsupportedError,
     "the attribute `x.real` is not supported", (".T", ".shape")),
    ("norm-keyword", "return np.linalg.norm(x, ‸axes=0)", sct.errors.UnsupportedError,
     "`np.linalg.norm` has no keyword `axes` sct knows", ("axis",)),
    ("sum-keyword", "return np.sum(x, ‸where=x > 0)", sct.errors.UnsupportedError,
     "`np.sum` has no keyword `where` sct knows", ("keepdims",)),
    ("einsum-implicit", 'return ‸np.einsum("ij,jk", x, x)', sct.errors.UnsupportedError,
     "`einsum` without explicit subscripts", ("->",)),
    ("concatenate-name", "parts = x\n    return ‸np.concatenate(parts)", sct.errors.UnsupportedError,
     "`np.concatenate` of something other than a literal tuple or list", ("np.concatenate((a, b), axis=0)",)),
]


@pytest.mark.parametrize("body, cls, message, hint", [pytest.param(*b[1:], id=b[0]) for b in BAD])
def test_bad_input_is_located(tmp_path, body: str, cls: type, message: str, hint: tuple[str, ...]) -> None:
    text = f"import numpy as np\n\n\ndef f(x):\n    {body}\n"
    before = text[: text.index(MARK)]
    line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1)
    path = tmp_path / "bad_numpy.py"
    path.write_text(text.replace(MARK, ""), encoding="utf-8")
    d = sct.differentiate(import_path(path).f)
    with pytest.raises(sct.SctError) as info:
        d.adjoint  # noqa: B018 - transforming on first use raises
    error = info.value
    assert type(error) is cls, error.render()
    assert error.message == message
    assert (error.location.filename, error.location.line, error.location.column) == (str(path), line, column)
    source_line = path.read_text().splitlines()[line - 1]
    caret = " " * (column - (len(source_line) - len(source_line.lstrip()))) + "^"
    assert error.render().splitlines()[:3] == [
        f"{path}:{line}:{column + 1}: {cls.kind}: {message}", f"    {source_line.strip()}", f"    {caret}"
    ]
    for word in hint:
        assert word in error.hint, error.hint
