"""Firstcall: the gradient of straight-line NumPy code, specialised to its first call's shapes.

Contract: for a gradient that :func:`sct.decidable.eligible` accepts
(straight-line code calling a helper of :mod:`sct.arrays` that tests shapes
at run time), :func:`entry` wraps the compiled gradient: the first call runs
it with its helper calls recorded, and compiles a copy in which every call
whose outcome the first call's argument *types, shapes and dtypes* fix is
written out
(``unbroadcast(t4_bar, P)`` is ``t4_bar``, ``unbroadcast(P_bar, b2)`` is
``P_bar.sum(axis=0)``, ``like(W1_bar, W1)`` is ``W1_bar``,
``matmul_vjp_a(t3_bar, H, W2)`` is ``t3_bar @ W2.T``, ``np.size(t4)`` is
``64``), behind a guard that checks exactly those: an ndarray's type, shape
and dtype, a number's type (an int's or bool's value too, since it can be a
shape). Every later call that passes the guard runs the written-out copy;
any other goes on to a copy specialised to its own shapes, made the same way
at its first call (up to :data:`VARIANTS` copies), and past the last one to
the gradient as generated. Results are the same numbers: each written-out
form was evaluated on the first call's values and compared with the helper's
result (same type, shape, dtype and values, or the very
same object), and a call whose form did not match stays a call.

Why it is sound: in straight-line code every value's type, shape and dtype
is a function of the arguments' types, shapes and dtypes (and of integer
values), provided every call is to a function whose result's shape follows
from its arguments' and no global whose shape or value the guard does not
hold is read as a value (:func:`sct.decidable.sound_names`). Anything else
is not specialised: the gradient as generated runs.

The specialised function's source is ``grad.specialized_source`` ("" before
a first call, or when there is none), and :func:`variants` lists every copy
made; :mod:`sct.refold` folds the one-use temporaries of its forward sweep
back into the user's own expressions. A failure while building a copy (not
while running the user's code) is an :class:`~sct.errors.InternalError`.
"""

from __future__ import annotations

import ast
import itertools
import linecache
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from . import decidable, refold
from .errors import InternalError

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


def _same(out: Any, written: Any) -> bool:
    if type(out) is not type(written):
        return False
    if type(out) is np.ndarray:
        nan = out.dtype.kind in "fc"  # NaN where the helper gave NaN is the same number
        return out.shape == written.shape and out.dtype == written.dtype and bool(np.array_equal(out, written, equal_nan=nan))
    return out == written


# ---- the written-out copy ----

GUARD_NOTE = "# specialised to the first call's argument types, shapes and dtypes (sct.firstcall);\n"
OTHERS = {
    True: "# other arguments take the gradient as generated\n",
    False: "# other arguments go on to a gradient specialised to the next new ones\n",
}
VARIANTS = 4  # specialisations made for one gradient, at most: the first call's and three more


def _guard(params: list[str], terms: list[str], fallback: str, last: bool, indent: str) -> str:
    call = f"return {fallback}({', '.join(params)})"
    inner = indent + "    "
    note = "".join(indent + line for line in (GUARD_NOTE + OTHERS[last]).splitlines(keepends=True))
    one = f"{indent}if not ({' and '.join(terms)}):\n"
    head = one if len(one) <= 89 else f"{indent}if not (\n{inner}{terms[0]}\n" + "".join(f"{inner}and {t}\n" for t in terms[1:]) + f"{indent}):\n"
    if len(inner + call) > 88:
        call = f"return {fallback}(\n{inner}    {', '.join(params)}\n{inner})"
    return note + head + inner + call + "\n"


Site = tuple[ast.Call, Callable[..., "str | None"]]  # a helper call, and what decides its written-out form


def specialise(
    general: Callable[..., Any], source: str, args: tuple[Any, ...], names: dict[str, Any], fallback: Callable[..., Any] | None = None
) -> tuple[Callable[..., Any] | None, str, Any]:
    """``(specialised function or None, its source, general(*args))``: the first call, run once.

    ``names``: a copy of ``general``'s globals, where the specialised function is compiled;
    ``fallback``: what its guard calls for other arguments (``general`` unless said).
    """
    fallback = fallback or general
    fn = decidable.function(source)
    namespace = general.__globals__
    params = [a.arg for a in fn.args.args] if fn is not None else []
    terms = _guard_terms(params, args, names) if fn is not None and len(args) == len(params) else None
    if fn is None or terms is None or not decidable.sound_names(fn, namespace):
        return None, "", general(*args)
    sites = _sites(fn, params, namespace)
    result, recorded = _recorded_run(fn, source, sites, namespace, args)  # the user's errors raise here
    try:
        last = fallback is general
        other = _bind(names, f"{fn.name}_{'general' if last else 'other'}", fallback)
        text = _written_out(fn, source, sites, recorded, names, _guard(params, terms, other, last, _indent(source, fn)))
        if not text:
            return None, "", result
        made: dict[str, Any] = {}
        filename = f"<sct specialised {general.__qualname__} #{next(_COUNT)}>"
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)  # tracebacks show it
        exec(compile(text, filename, "exec"), names, made)
    except Exception as exc:  # noqa: BLE001 - a bug in sct, not in the user's code: said so
        raise InternalError(f"specialising {general.__qualname__} at its first call failed: {exc!r}") from exc
    return made[fn.name], text, result


def _sites(fn: ast.FunctionDef, params: list[str], namespace: dict[str, Any]) -> list[Site]:
    """The calls of helpers that the first call may decide, in source order."""
    local = set(params) | {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    sites: list[Site] = []
    for node in ast.walk(fn):
        parts = decidable.dotted(node.func) if isinstance(node, ast.Call) else None
        found, value = decidable.lookup(parts, namespace) if parts and parts[0] not in local else (False, None)
        resolve = next((r for k, r in decidable.RESOLVE.items() if found and k is value), None)
        if resolve is not None and not node.keywords:
            sites.append((node, resolve))  # type: ignore[arg-type]
    return sites


def _recorded_run(
    fn: ast.FunctionDef, source: str, sites: list[Site], namespace: dict[str, Any], args: tuple[Any, ...]
) -> tuple[Any, dict[int, tuple[tuple[Any, ...], Any]]]:
    """The gradient run once, each site's arguments and result recorded (by its index)."""
    recorded: dict[int, tuple[tuple[Any, ...], Any]] = {}

    def recorder(k: int, helper: Callable[..., Any]) -> Callable[..., Any]:
        def call(*a: Any) -> Any:
            out = helper(*a)
            recorded[k] = (a, out)
            return out

        return call

    run, edits = dict(namespace), []
    starts, data = refold.offsets(source), source.encode("utf-8")
    for k, (node, _) in enumerate(sites):
        site = _bind(run, f"_sct_site_{k}", recorder(k, decidable.lookup(decidable.dotted(node.func), namespace)[1]))  # type: ignore[arg-type]
        edits.append((*refold.span(node.func, starts), site))
    instrumented: dict[str, Any] = {}
    exec(compile(refold.replaced(data, edits), "<sct first call>", "exec"), run, instrumented)
    return instrumented[fn.name](*args), recorded


def _written_out(
    fn: ast.FunctionDef, source: str, sites: list[Site], recorded: dict[int, tuple[tuple[Any, ...], Any]], names: dict[str, Any], guard: str
) -> str:
    """The source with each decided site written out and the guard on top, or "" when none was decided."""
    starts, data = refold.offsets(source), source.encode("utf-8")
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
            texts = [t if isinstance(arg, refold.ATOMS) else f"({t})" for t, arg in zip(texts, node.args)]
        edits.append((*refold.span(node, starts), template.format(*texts)))
    if not edits:
        return ""
    lines = source.splitlines(keepends=True)
    header_end = fn.body[0].lineno - 1  # the guard goes above the comments that open the body
    while lines[header_end - 1].lstrip().startswith("#"):
        header_end -= 1
    edits.append((starts[header_end], starts[header_end], guard))
    return refold.refold(refold.replaced(data, edits))


def _indent(source: str, fn: ast.FunctionDef) -> str:
    line = source.splitlines()[fn.body[0].lineno - 1]
    return line[: len(line) - len(line.lstrip())]


def entry(general: Callable[..., Any], source: str, variants: int = VARIANTS) -> Callable[..., Any]:
    """A function with ``general``'s signature that, at its first call, becomes the specialised gradient.

    It becomes it by taking its code (``__code__`` is writable): whoever holds
    the function, ``f.grad`` read once, runs the specialised code with no
    wrapper around it. Its guard sends other arguments to another such
    function, which specialises itself to the next new shapes, up to
    ``variants`` specialisations in all; then to the gradient as generated.
    First-call arguments that cannot be guarded (a list, an object of the
    user's) make it the gradient as generated instead. A first call that
    raises decides nothing: the next call tries again.
    """
    fn = decidable.function(source)
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
    gradient._sct_variants = variants  # type: ignore[attr-defined]
    return gradient


def _first_call(gradient: Any, args: tuple[Any, ...]) -> Any:
    general = gradient.__wrapped__
    if gradient.specialized_source:  # another thread made it meanwhile
        return gradient(*args)
    more = gradient._sct_variants - 1
    fallback = entry(general, gradient._sct_source, more) if more > 0 else general
    specialised, text, result = specialise(general, gradient._sct_source, args, gradient.__globals__, fallback)
    gradient.__code__ = (specialised or general).__code__  # both read their globals from this namespace
    gradient.specialized_source = text
    gradient._sct_next = fallback if specialised is not None else None
    return result


def variants(gradient: Any) -> list[str]:
    """The sources of the specialisations made so far, the first call's first."""
    out: list[str] = []
    while gradient is not None and getattr(gradient, "specialized_source", ""):
        out.append(gradient.specialized_source)
        gradient = getattr(gradient, "_sct_next", None)
    return out
