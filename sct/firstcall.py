"""Firstcall: the gradient of straight-line NumPy code, specialised to its first call's shapes.

Contract: :func:`eligible` says, from the generated gradient's source alone,
whether specialising it can pay (it calls a helper of :mod:`sct.arrays` that
tests shapes at run time) and is sound (no branch, loop or conditional
expression, no subscript by a computed index). :func:`entry` wraps the
compiled gradient: the first call runs it with its helper calls recorded,
and compiles a copy in which every call whose outcome the first call's
argument *types, shapes and dtypes* fix is written out
(``unbroadcast(t4_bar, P)`` is ``t4_bar``, ``unbroadcast(P_bar, b2)`` is
``P_bar.sum(axis=0)``, ``like(W1_bar, W1)`` is ``W1_bar``,
``matmul_vjp_a(t3_bar, H, W2)`` is ``t3_bar @ W2.T``, ``np.size(t4)`` is
``64``), behind a guard that checks exactly those: an ndarray's type, shape
and dtype, a number's type (an int's or bool's value too, since it can be a
shape). Every later call that passes the guard runs the written-out copy;
any other takes the gradient as generated. Results are the same numbers:
each written-out form was evaluated on the first call's values and compared
with the helper's result (same type, shape, dtype and values, or the very
same object), and a call whose form did not match stays a call.

Why it is sound: in straight-line code every value's type, shape and dtype
is a function of the arguments' types, shapes and dtypes (and of integer
values), provided every call is one whose result's shape is (:data:`NUMPY`,
the ufuncs, sct's own helpers, the :data:`METHODS` of arrays) and no global
whose shape or value the guard does not hold is read as a value (an int or
array global makes the gradient ineligible; modules, functions and floats do
not). Anything else is not specialised: the gradient as generated runs.

The specialised function's source is ``grad.specialized_source`` ("" before
a first call, or when there is none); :mod:`sct.refold` folds the one-use
temporaries of its forward sweep back into the user's own expressions.
"""

from __future__ import annotations

import ast
import itertools
import linecache
import numbers
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from . import arrays, refold

# NumPy functions whose result's shape follows from their arguments' shapes (and int arguments)
NUMPY = frozenset(
    "sum mean prod max min amax amin var std dot matmul vdot inner outer tensordot transpose reshape ravel "
    "squeeze expand_dims swapaxes moveaxis broadcast_to concatenate stack hstack vstack clip trace "
    "zeros_like ones_like full_like zeros ones full eye size shape ndim asarray array result_type "
    "einsum take diagonal diag tril triu flip roll cumsum cumprod sort".split()
)
NUMPY_LINALG = frozenset("det inv solve norm".split())
METHODS = frozenset(
    "sum mean prod max min var std dot reshape transpose ravel flatten squeeze astype copy trace swapaxes".split()
)
BUILTINS = frozenset({float, abs, len, complex})
VALUE_ATTRIBUTES = frozenset({"T", "shape", "size", "ndim", "dtype", "real", "imag"})

# ---- which helper calls the first call's shapes decide, and how they are written out ----


def _unbroadcast(g: Any, x: Any) -> str | None:
    if type(g) is np.ndarray and type(x) is np.ndarray and g.dtype == x.dtype:
        if g.shape == x.shape:
            return "{0}"
        lead = g.ndim - x.ndim
        if lead > 0 and x.shape and g.shape[lead:] == x.shape:
            return "{0}.sum(axis=0)" if lead == 1 else f"{{0}}.sum(axis={tuple(range(lead))})"
    if type(g) is float and type(x) is float:
        return "{0}"
    return None


def _like(g: Any, x: Any) -> str | None:
    if type(x) is np.ndarray and type(g) is np.ndarray and g.shape == x.shape and g.dtype == x.dtype:
        return "{0}" if g.flags.writeable else None
    if type(x) is float and type(g) is float:
        return "{0}"
    return None


def _matrices(a: Any, b: Any) -> bool:
    return type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2 and b.ndim == 2


def _matmul_a(g: Any, a: Any, b: Any) -> str | None:
    if _matrices(a, b) and type(g) is np.ndarray:
        return "{0} * {2}.T" if b.shape[1] == 1 else "{0} @ {2}.T"
    return None


def _matmul_b(g: Any, a: Any, b: Any) -> str | None:
    if _matrices(a, b) and type(g) is np.ndarray:
        return "{1}.T * {0}" if a.shape[0] == 1 else "{1}.T @ {0}"
    return None


def _size(x: Any, axis: Any = None) -> str | None:
    return repr(x.size) if type(x) is np.ndarray and axis is None else None


RESOLVE: dict[Any, Callable[..., str | None]] = {
    arrays.unbroadcast: _unbroadcast,
    arrays.like: _like,
    arrays.matmul_vjp_a: _matmul_a,
    arrays.matmul_vjp_b: _matmul_b,
    np.size: _size,
}
RESOLVED_NAMES = frozenset({"unbroadcast", "like", "matmul_vjp_a", "matmul_vjp_b", "size"})


# ---- eligibility, from the source alone ----

_STATEMENTS = (ast.Assign, ast.AugAssign, ast.Return)
_REFUSED = (
    ast.IfExp, ast.BoolOp, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
    ast.NamedExpr, ast.Starred, ast.Await, ast.Yield, ast.YieldFrom, ast.JoinedStr,
)  # fmt: skip


def _function(source: str) -> ast.FunctionDef | None:
    tree = ast.parse(source)
    fn = tree.body[0] if len(tree.body) == 1 else None
    return fn if isinstance(fn, ast.FunctionDef) else None


def _constant(node: ast.AST) -> bool:
    """A literal index: numbers, slices of them, None, Ellipsis, tuples of those."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _constant(node.operand)
    if isinstance(node, ast.Slice):
        return all(part is None or _constant(part) for part in (node.lower, node.upper, node.step))
    return isinstance(node, ast.Tuple) and all(_constant(e) for e in node.elts)


def eligible(source: str) -> bool:
    """Straight-line code that calls a helper the first call could write out."""
    fn = _function(source)
    if fn is None or fn.decorator_list or fn.args.vararg or fn.args.kwarg or fn.args.kwonlyargs:
        return False
    if not all(isinstance(s, _STATEMENTS) for s in fn.body):
        return False
    helpers = False
    for node in ast.walk(fn):
        if isinstance(node, _REFUSED):
            return False
        if isinstance(node, ast.Subscript) and not _constant(node.slice):
            return False
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            helpers = helpers or name in RESOLVED_NAMES
    return helpers


# ---- at the first call: what the names are, what each call came to ----


def _allowed_callee(value: Any) -> bool:
    if isinstance(value, np.ufunc) or value in BUILTINS or any(value is k for k in RESOLVE):
        return True
    module = getattr(value, "__module__", None)
    if module in ("sct.arrays", "sct.runtime", "sct.functions") and isinstance(value, types.FunctionType):
        return True
    if any(getattr(np, n, None) is value for n in NUMPY):
        return True
    return any(getattr(np.linalg, n, None) is value for n in NUMPY_LINALG)


def _dotted(node: ast.AST) -> list[str] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def _lookup(parts: list[str], namespace: dict[str, Any]) -> tuple[bool, Any]:
    builtins = namespace.get("__builtins__", __builtins__)
    space = builtins if isinstance(builtins, dict) else vars(builtins)
    if parts[0] in namespace:
        value = namespace[parts[0]]
    elif parts[0] in space:
        value = space[parts[0]]
    else:
        return False, None
    for part in parts[1:]:
        if not hasattr(value, part):
            return False, None
        value = getattr(value, part)
    return True, value


def _sound_names(fn: ast.FunctionDef, namespace: dict[str, Any]) -> bool:
    """Every call is to a function whose result's shape follows from its arguments; no global
    that could change shape between calls is read."""
    local = {a.arg for a in fn.args.args + fn.args.posonlyargs}
    local |= {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    callees = {id(n.func) for n in ast.walk(fn) if isinstance(n, ast.Call)}
    for node in ast.walk(fn):
        if isinstance(node, ast.Call):
            parts = _dotted(node.func)
            if parts is None:
                return False
            if parts[0] in local:
                if len(parts) != 2 or parts[1] not in METHODS:
                    return False
                continue
            found, value = _lookup(parts, namespace)
            if not found or not _allowed_callee(value):
                return False
        elif isinstance(node, (ast.Attribute, ast.Name)) and isinstance(node.ctx, ast.Load) and id(node) not in callees:
            parts = _dotted(node)
            if parts is None or (isinstance(node, ast.Attribute) and parts[0] in local):
                if isinstance(node, ast.Attribute) and node.attr not in VALUE_ATTRIBUTES:
                    return False
                continue
            if parts[0] in local:
                continue
            found, value = _lookup(parts, namespace)
            if not found:
                return False
            if isinstance(value, (types.ModuleType, types.FunctionType, np.ufunc)):
                continue  # the base of a call's name, checked with the call
            if not isinstance(value, (float, complex)):
                return False  # an int or array global: its value or shape is not in the guard
    return True


def _guard_terms(params: list[str], args: tuple[Any, ...], names: dict[str, Any]) -> list[str] | None:
    """The guard's terms for these arguments, or None when one cannot be guarded."""
    terms: list[str] = []
    for p, a in zip(params, args):
        kind = type(a)
        if kind is np.ndarray:
            dtype = _bind(names, f"{a.dtype.name}", a.dtype)
            terms += [f"type({p}) is {_bind(names, 'ndarray', np.ndarray)}", f"{p}.shape == {a.shape!r}", f"{p}.dtype is {dtype}"]
        elif kind in (int, bool):
            terms += [f"type({p}) is {kind.__name__}", f"{p} == {a!r}"]  # an int can be a shape
        elif kind in (float, complex):
            terms.append(f"type({p}) is {kind.__name__}")
        elif isinstance(a, np.generic) and isinstance(a, numbers.Number):
            terms.append(f"type({p}) is {_bind(names, kind.__name__, kind)}")
        elif a is None:
            terms.append(f"{p} is None")
        else:
            return None
    return terms


def _bind(names: dict[str, Any], wanted: str, value: Any) -> str:
    """A global name for ``value`` in the specialised code's namespace: ``wanted``, or with a suffix."""
    name, k = wanted, 1
    while name in names and names[name] is not value:
        name, k = f"{wanted}_{k}", k + 1
    names[name] = value
    return name


_COUNT = itertools.count(1)
_ATOMS = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant)


def _same(out: Any, written: Any) -> bool:
    if type(out) is not type(written):
        return False
    if type(out) is np.ndarray:
        nan = out.dtype.kind in "fc"  # NaN where the helper gave NaN is the same number
        return out.shape == written.shape and out.dtype == written.dtype and bool(np.array_equal(out, written, equal_nan=nan))
    return out == written


# ---- the written-out copy ----

GUARD_NOTE = (
    "# specialised to the first call's argument types, shapes and dtypes (sct.firstcall);\n"
    "# other arguments take the gradient as generated\n"
)


def _guard(params: list[str], terms: list[str], general: str, indent: str) -> str:
    call = f"return {general}({', '.join(params)})"
    inner = indent + "    "
    note = "".join(indent + line for line in GUARD_NOTE.splitlines(keepends=True))
    one = f"{indent}if not ({' and '.join(terms)}):\n"
    head = one if len(one) <= 89 else f"{indent}if not (\n{inner}{terms[0]}\n" + "".join(f"{inner}and {t}\n" for t in terms[1:]) + f"{indent}):\n"
    if len(inner + call) > 88:
        call = f"return {general}(\n{inner}    {', '.join(params)}\n{inner})"
    return note + head + inner + call + "\n"


def specialise(
    general: Callable[..., Any], source: str, args: tuple[Any, ...], names: dict[str, Any]
) -> tuple[Callable[..., Any] | None, str, Any]:
    """``(specialised function or None, its source, general(*args))``: the first call, run once.

    ``names``: a copy of ``general``'s globals, where the specialised function is compiled.
    """
    fn = _function(source)
    namespace = general.__globals__
    params = [a.arg for a in fn.args.args] if fn is not None else []
    terms = _guard_terms(params, args, names) if fn is not None and len(args) == len(params) else None
    if fn is None or terms is None or not _sound_names(fn, namespace):
        return None, "", general(*args)
    starts, data = refold.offsets(source), source.encode("utf-8")
    local = set(params) | {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    sites: list[tuple[ast.Call, Callable[..., str | None]]] = []
    for node in ast.walk(fn):
        parts = _dotted(node.func) if isinstance(node, ast.Call) else None
        found, value = _lookup(parts, namespace) if parts and parts[0] not in local else (False, None)
        resolve = next((r for k, r in RESOLVE.items() if found and k is value), None)
        if resolve is not None and not node.keywords:
            sites.append((node, resolve))
    recorded: dict[int, tuple[tuple[Any, ...], Any]] = {}

    def recorder(k: int, helper: Callable[..., Any]) -> Callable[..., Any]:
        def call(*a: Any) -> Any:
            out = helper(*a)
            recorded[k] = (a, out)
            return out

        return call

    run = dict(namespace)
    edits = []
    for k, (node, _) in enumerate(sites):
        site = _bind(run, f"_sct_site_{k}", recorder(k, _lookup(_dotted(node.func), namespace)[1]))  # type: ignore[arg-type]
        edits.append((*refold.span(node.func, starts), site))
    instrumented: dict[str, Any] = {}
    exec(compile(refold.replaced(data, edits), "<sct first call>", "exec"), run, instrumented)
    result = instrumented[fn.name](*args)
    edits = []
    for k, (node, resolve) in enumerate(sites):
        if k not in recorded:
            continue
        a, out = recorded[k]
        try:
            template = resolve(*a)
        except TypeError:  # called with arguments its resolver does not take: stays a call
            template = None
        if template is None:
            continue
        if template == "{0}":
            if out is not a[0]:
                continue
        elif not _same(out, eval(template.format(*(f"_a{i}" for i in range(len(a)))), names, {f"_a{i}": v for i, v in enumerate(a)})):  # noqa: S307
            continue
        texts = [refold.segment(data, starts, arg) for arg in node.args]
        if template != "{0}":
            texts = [t if isinstance(arg, _ATOMS) else f"({t})" for t, arg in zip(texts, node.args)]
        edits.append((*refold.span(node, starts), template.format(*texts)))
    if not edits:
        return None, "", result
    header_end = fn.body[0].lineno - 1
    lines = source.splitlines(keepends=True)
    while lines[header_end - 1].lstrip().startswith("#"):
        header_end -= 1
    general_name = _bind(names, f"{fn.name}_general", general)
    indent = lines[fn.body[0].lineno - 1][: len(lines[fn.body[0].lineno - 1]) - len(lines[fn.body[0].lineno - 1].lstrip())]
    edits.append((starts[header_end], starts[header_end], _guard(params, terms, general_name, indent)))
    text = refold.refold(refold.replaced(data, edits))
    made: dict[str, Any] = {}
    filename = f"<sct specialised {general.__qualname__} #{next(_COUNT)}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)  # tracebacks show it
    exec(compile(text, filename, "exec"), names, made)
    return made[fn.name], text, result


def entry(general: Callable[..., Any], source: str) -> Callable[..., Any]:
    """A function with ``general``'s signature that, at its first call, becomes the specialised gradient.

    It becomes it by taking its code (``__code__`` is writable): whoever holds
    the function, ``f.grad`` read once, runs the specialised code with no
    wrapper around it. First-call arguments that cannot be guarded (a list, an
    object of the user's) make it the gradient as generated instead. A first
    call that raises decides nothing: the next call tries again.
    """
    fn = _function(source)
    params = [a.arg for a in fn.args.args] if fn is not None else []
    names = dict(general.__globals__)
    first = _bind(names, "_sct_first_call", _first_call)
    itself = _bind(names, f"_sct_{general.__name__}", None)
    text = f"def {general.__name__}({', '.join(params)}):\n    return {first}({itself}, ({''.join(p + ', ' for p in params)}))\n"
    made: dict[str, Any] = {}
    exec(compile(text, f"<sct first call of {general.__name__}>", "exec"), names, made)
    gradient = names[itself] = made[general.__name__]
    gradient.__defaults__, gradient.__kwdefaults__ = general.__defaults__, general.__kwdefaults__
    gradient.__qualname__, gradient.__doc__ = general.__qualname__, general.__doc__
    gradient.__wrapped__ = general  # type: ignore[attr-defined]
    gradient.specialized_source = ""  # type: ignore[attr-defined]
    gradient._sct_source = source  # type: ignore[attr-defined]
    return gradient


def _first_call(gradient: Any, args: tuple[Any, ...]) -> Any:
    general = gradient.__wrapped__
    if gradient.specialized_source:  # another thread made it meanwhile
        return gradient(*args)
    specialised, text, result = specialise(general, gradient._sct_source, args, gradient.__globals__)
    gradient.__code__ = (specialised or general).__code__  # both read their globals from this namespace
    gradient.specialized_source = text
    return result
