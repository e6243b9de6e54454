"""Shared test utilities: functions in real files, and derivatives checked numerically.

sct reads a function's source from its file (through ``inspect``), so a test
cannot differentiate a function it builds with ``exec``. :func:`load_module`
writes the text into a fresh ``.py`` file under a test's ``tmp_path`` and
imports it from there.

Derivatives are never taken on trust. Two independent checks:

* :func:`check_tangent` compares the tangent (forward mode) with a central
  finite difference of the *original* function along a direction;
* :func:`check_dot_product` checks the adjoint (reverse mode) against the
  tangent through the dot-product identity
  ``sum_i adjoint(x, 1)_i * v_i == tangent(x, v)``, which holds exactly in
  exact arithmetic for every direction ``v``.

:func:`check_derivatives` runs both, along each coordinate axis and along a
mixed direction, and checks the value the generated code recomputes.

Only the differentiated parameters move in a finite difference: the others
(loop counts, flags) are passed exactly as given, so ``range(n)`` still gets
an int. :func:`check_point` (control flow) adds an exact check of the value,
random directions and seeds, and a time limit, so that a wrong loop condition
fails the test instead of hanging it. :func:`check_array_derivatives` does the
two checks for array arguments.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import itertools
import math
import random
import signal
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any, Iterator, Sequence

import sct

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
GOLDEN = Path(__file__).resolve().parent / "golden"

# Central differences in float64: truncation error ~ h**2 * f''', rounding
# error ~ eps * |f| / h; with h = 1e-6 both stay far below the tolerance.
FD_STEP = 1e-6
FD_RTOL = 1e-6
# The dot-product identity compares two analytic derivatives: only rounding.
DOT_RTOL = 1e-9

_modules = itertools.count(1)


# ---- functions in real files ---------------------------------------------------


def write_module(directory: Path, source: str, stem: str | None = None) -> Path:
    """Write ``source`` (dedented) to ``directory/<stem>.py`` and return the path."""
    stem = stem or f"sct_case_{next(_modules)}"
    path = Path(directory) / f"{stem}.py"
    path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    return path


def import_path(path: Path, name: str | None = None) -> Any:
    """Import the module at ``path`` under a fresh name (never cached between tests)."""
    name = name or f"_sct_test_{Path(path).stem}_{next(_modules)}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def load_module(directory: Path, source: str, stem: str | None = None) -> Any:
    """Write ``source`` into a new module file under ``directory`` and import it."""
    return import_path(write_module(directory, source, stem))


def load_function(
    directory: Path, source: str, name: str = "f", wrt: Sequence[str] | str | None = None
) -> sct.Differentiated:
    """``sct.differentiate`` applied to function ``name`` of a new module holding ``source``.

    A function the module already decorated is returned as it is.
    """
    fn = getattr(load_module(directory, source), name)
    if isinstance(fn, sct.Differentiated):
        assert wrt is None, "the module already chose wrt"
        return fn
    return sct.differentiate(fn, wrt=wrt)


# ---- comparisons -----------------------------------------------------------------


def close(actual: float, expected: float, rtol: float, scale: float = 1.0) -> bool:
    """Relative tolerance, absolute below ``scale`` (1 by default)."""
    return abs(actual - expected) <= rtol * max(scale, abs(actual), abs(expected))


def describe(d: sct.Differentiated) -> str:
    try:
        return f"\n--- tangent ---\n{d.tangent_source}\n--- adjoint ---\n{d.adjoint_source}"
    except Exception as exc:  # pragma: no cover - only for messages
        return f"\n(no generated source: {exc!r})"


def params_of(d: sct.Differentiated) -> list[str]:
    return list(inspect.signature(d.fn).parameters)


def shifted(d: sct.Differentiated, point: Sequence[Any], direction: Sequence[float], t: float) -> list[Any]:
    """``point + t * direction``, the direction given over the wrt parameters only.

    Parameters outside wrt are passed exactly as given (an int stays an int).
    """
    assert len(direction) == len(d.wrt), (direction, d.wrt)
    out = list(point)
    params = params_of(d)
    for name, v in zip(d.wrt, direction):
        i = params.index(name)
        out[i] = out[i] + t * v
    return out


# ---- the two checks ----------------------------------------------------------------


def central_difference(
    d: sct.Differentiated, point: Sequence[Any], direction: Sequence[float], step: float = FD_STEP
) -> float:
    """(f(p + h v) - f(p - h v)) / 2h of the original function, v over the wrt parameters."""
    plus = shifted(d, point, direction, step)
    minus = shifted(d, point, direction, -step)
    return (d.fn(*plus) - d.fn(*minus)) / (2 * step)


def check_tangent(
    d: sct.Differentiated, point: Sequence[float], direction: Sequence[float], rtol: float = FD_RTOL
) -> float:
    """The tangent along ``direction`` (over wrt) equals a central difference of the original."""
    value, dot = d.tangent(*point, *direction)
    expected_value = d.fn(*point)
    # The generated primal does the same operations in the same order: exact.
    assert value == expected_value, (
        f"tangent's value {value!r} != f{tuple(point)} = {expected_value!r}{describe(d)}"
    )
    numeric = central_difference(d, point, direction)
    assert close(dot, numeric, rtol), (
        f"at {tuple(point)} along {tuple(direction)}: tangent {dot!r}, "
        f"central difference {numeric!r}{describe(d)}"
    )
    return dot


def check_dot_product(
    d: sct.Differentiated, point: Sequence[float], direction: Sequence[float], seed: float = 1.0
) -> None:
    """sum_i adjoint(point, seed)_i * v_i == seed * tangent(point, v)."""
    grads = d.adjoint(*point, seed)
    assert isinstance(grads, tuple), f"adjoint returned {type(grads).__name__}, not a tuple"
    assert len(grads) == len(d.wrt), f"adjoint returned {len(grads)} values for wrt={d.wrt}"
    _, dot = d.tangent(*point, *direction)
    terms = [g * v for g, v in zip(grads, direction)]
    lhs = math.fsum(terms)
    # cancellation in the sum is the adjoint's rounding, not an error: scale by the terms
    assert close(lhs, seed * dot, DOT_RTOL, scale=1.0 + sum(abs(term) for term in terms)), (
        f"at {tuple(point)} along {tuple(direction)}: <adjoint, v> = {lhs!r} "
        f"but seed * tangent = {seed * dot!r} (adjoint {grads!r}){describe(d)}"
    )


def directions(n: int, seed: int = 0) -> list[list[float]]:
    """Each coordinate axis, then two mixed directions (deterministic)."""
    rng = random.Random(seed)
    axes = [[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)]
    mixed = [[rng.choice((-1, 1)) * rng.uniform(0.5, 1.5) for _ in range(n)] for _ in range(2)]
    return axes + mixed if n else [[]]


def check_derivatives(d: sct.Differentiated, point: Sequence[float]) -> None:
    """Tangent vs finite differences and adjoint vs tangent, along every axis and mixed directions."""
    for v in directions(len(d.wrt)):
        check_tangent(d, point, v)
        check_dot_product(d, point, v)



# ---- control flow: checks at a point, under a time limit ------------------------------------


@contextlib.contextmanager
def time_limit(seconds: float, what: str = "generated code") -> Iterator[None]:
    """Fail (TimeoutError) instead of hanging when ``what`` runs longer than ``seconds``.

    A wrong transformation of a loop condition can loop forever; a test must say so
    and go on. Uses SIGALRM, so it guards only in the main thread on POSIX (elsewhere
    it does nothing).
    """
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"{what} ran longer than {seconds} s (an infinite loop?)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def wrt_positions(d: sct.Differentiated) -> list[int]:
    params = params_of(d)
    return [params.index(w) for w in d.wrt]


def random_directions(n: int, rng: random.Random, mixed: int = 2) -> list[list[float]]:
    """Each coordinate axis, then ``mixed`` random directions."""
    axes = [[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)]
    return axes + [[rng.uniform(-1.5, 1.5) for _ in range(n)] for _ in range(mixed)]


def check_value(d: sct.Differentiated, point: Sequence[Any]) -> float:
    """The tangent's value is the original's, bit for bit."""
    dots = [0.0] * len(d.wrt)
    value, _ = d.tangent(*point, *dots)
    expected = d.fn(*point)
    assert value == expected, f"tangent's value {value!r} != f{tuple(point)} = {expected!r}{describe(d)}"
    return value


def check_point(
    d: sct.Differentiated,
    point: Sequence[Any],
    seed: int = 0,
    rtol: float = FD_RTOL,
    mixed: int = 2,
    seconds: float = 60.0,
) -> None:
    """Exact value, tangent vs FD and adjoint vs tangent along every axis and random directions."""
    rng = random.Random(seed)
    d.transformed  # transform outside the time limit
    with time_limit(seconds, f"checking {d.fn.__name__} at {tuple(point)}"):
        check_value(d, point)
        for v in random_directions(len(d.wrt), rng, mixed):
            check_tangent(d, point, v, rtol)
            check_dot_product(d, point, v, seed=rng.choice((1.0, -0.75, 2.5)))


def gradient_matches_tangent(d: sct.Differentiated, point: Sequence[Any], rtol: float = 1e-9) -> list[float]:
    """The gradient, checked entry by entry against the tangent along each axis."""
    grads = d.grad(*point)
    n = len(d.wrt)
    for i in range(n):
        axis = [1.0 if j == i else 0.0 for j in range(n)]
        _, dot = d.tangent(*point, *axis)
        assert close(grads[i], dot, rtol), f"grad[{i}] = {grads[i]!r}, tangent along axis {i} = {dot!r}{describe(d)}"
    return list(grads)


# ---- expressions for the rule table ---------------------------------------------------

OPERATOR_TEMPLATES = {
    "+": "{0} + {1}",
    "-": "{0} - {1}",
    "*": "{0} * {1}",
    "/": "{0} / {1}",
    "**": "{0} ** {1}",
    "//": "{0} // {1}",
    "%": "{0} % {1}",
    "u-": "-{0}",
    "u+": "+{0}",
}


def scalar_rules() -> list[tuple[tuple[str, int], Any]]:
    """The rules of scalar code, which the tests here write calls for; NumPy's are in test_numpy.py."""
    from sct import rules

    return [
        (key, rule)
        for key, rule in sorted(rules.RULES.items())
        if not key[0].startswith("numpy.") and key[0] not in ("@", "getitem", "builtins.len")
    ]


def rule_call(op: str, args: Sequence[str]) -> str:
    """Python source applying rule ``op`` to ``args``: ``math.sin(x)``, ``abs(x)``, ``a + b``."""
    if op in OPERATOR_TEMPLATES:
        return OPERATOR_TEMPLATES[op].format(*args)
    module, _, name = op.rpartition(".")
    callee = name if module == "builtins" else op
    return f"{callee}({', '.join(args)})"


def rule_imports(op: str) -> str:
    """The import a module needs to spell ``rule_call(op, ...)``."""
    module, _, _ = op.rpartition(".")
    if op in OPERATOR_TEMPLATES or module == "builtins":
        return ""
    return f"import {module}"


class Generated:
    """A tangent/adjoint pair from a module ``sct transform`` wrote, checkable like
    a :class:`sct.Differentiated` (``fn``, ``wrt``, ``tangent``, ``adjoint``).

    The pair was generated for all of ``fn``'s parameters; ``wrt`` picks those
    to check (an int loop count, say, is left out): the others get a zero
    tangent, and their adjoints are dropped.
    """

    def __init__(self, fn: Any, tangent: Any, adjoint: Any, wrt: Sequence[str] | None = None):
        self.fn = fn
        self.params = list(inspect.signature(fn).parameters)
        self.wrt = list(wrt) if wrt is not None else list(self.params)
        self._tangent, self._adjoint = tangent, adjoint
        self.tangent_source = inspect.getsource(tangent)
        self.adjoint_source = inspect.getsource(adjoint)

    def tangent(self, *args: Any) -> Any:
        point, direction = args[: len(self.params)], args[len(self.params) :]
        by_name = dict(zip(self.wrt, direction))
        return self._tangent(*point, *(by_name.get(p, 0.0) for p in self.params))

    def adjoint(self, *args: Any) -> tuple[Any, ...]:
        grads = self._adjoint(*args)
        return tuple(grads[self.params.index(p)] for p in self.wrt)


# ---- arrays ------------------------------------------------------------------------------


def check_array_derivatives(fn: Any, tangent: Any, adjoint: Any, args: Sequence[Any], wrt: Sequence[int], seed: int = 0) -> None:
    """Tangent vs central differences, adjoint vs tangent (dot-product identity), for array arguments.

    ``tangent(*args, *dots)`` and ``adjoint(*args, result_bar)`` were generated
    for the arguments at positions ``wrt`` (every other argument is constant).
    Each adjoint has its argument's shape and dtype.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    direction = [rng.standard_normal(np.shape(args[i])) for i in wrt]

    def moved(t: float) -> list[Any]:
        out = list(args)
        for i, v in zip(wrt, direction):
            out[i] = args[i] + t * v
        return out

    fd = (fn(*moved(FD_STEP)) - fn(*moved(-FD_STEP))) / (2 * FD_STEP)
    value, dot = tangent(*args, *(v if np.ndim(args[i]) else float(v) for i, v in zip(wrt, direction)))
    assert np.allclose(value, fn(*args), rtol=1e-12, atol=1e-12)
    assert np.allclose(dot, fd, rtol=1e-6, atol=1e-7), (dot, fd)
    result_bar = rng.standard_normal(np.shape(value))
    grads = adjoint(*args, result_bar if np.ndim(value) else float(result_bar))
    for i, g in zip(wrt, grads):
        assert np.shape(g) == np.shape(args[i]), (i, np.shape(g), np.shape(args[i]))
    lhs = sum(float(np.sum(g * v)) for g, v in zip(grads, direction))
    rhs = float(np.sum(result_bar * dot))
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs), abs(rhs)), (lhs, rhs)
