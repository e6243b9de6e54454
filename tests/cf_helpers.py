"""Checks for control flow: derivatives at points where some parameters are integers.

:mod:`helpers` perturbs every parameter for its finite differences (a zero
direction still turns ``n`` into ``n + 0.0``, which ``range`` rejects), so the
control-flow tests use these, which touch only the differentiated parameters
and leave the others (loop counts, flags) exactly as given.

Three checks at a point, each independent of the others:

* the value the tangent returns is *exactly* the original function's value
  (the generated primal performs the same floating-point operations in the
  same order);
* tangent (forward mode) along a direction == a central finite difference of
  the original function along it;
* adjoint (reverse mode) against tangent through the dot-product identity
  ``sum_i adjoint(x, 1)_i * v_i == tangent(x, v)``, for random ``v``.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import random
import signal
import threading
from typing import Any, Callable, Iterator, Sequence

import sct

FD_STEP = 1e-6
FD_RTOL = 1e-6
DOT_RTOL = 1e-9


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


def params_of(d: sct.Differentiated) -> list[str]:
    return list(inspect.signature(d.fn).parameters)


def wrt_positions(d: sct.Differentiated) -> list[int]:
    params = params_of(d)
    return [params.index(w) for w in d.wrt]


def describe(d: sct.Differentiated) -> str:
    try:
        return f"\n--- tangent ---\n{d.tangent_source}\n--- adjoint ---\n{d.adjoint_source}"
    except Exception as exc:  # pragma: no cover - only for messages
        return f"\n(no generated source: {exc!r})"


def shifted(d: sct.Differentiated, point: Sequence[Any], direction: Sequence[float], t: float) -> list[Any]:
    """``point + t * direction``, the direction given over the wrt parameters only."""
    out = list(point)
    for pos, v in zip(wrt_positions(d), direction):
        if v:
            out[pos] = out[pos] + t * v
    return out


def central_difference(
    d: sct.Differentiated, point: Sequence[Any], direction: Sequence[float], step: float = FD_STEP
) -> float:
    """(f(p + h v) - f(p - h v)) / 2h, moving only the wrt parameters."""
    f: Callable[..., float] = d.fn
    return (f(*shifted(d, point, direction, step)) - f(*shifted(d, point, direction, -step))) / (2 * step)


def close(actual: float, expected: float, rtol: float, scale: float = 1.0) -> bool:
    """Relative tolerance, absolute below ``scale``."""
    return abs(actual - expected) <= rtol * max(scale, abs(actual), abs(expected))


def directions(n: int, rng: random.Random, mixed: int = 2) -> list[list[float]]:
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


def check_tangent(
    d: sct.Differentiated, point: Sequence[Any], direction: Sequence[float], rtol: float = FD_RTOL
) -> float:
    value, dot = d.tangent(*point, *direction)
    assert value == d.fn(*point), f"tangent's value {value!r} != {d.fn(*point)!r}{describe(d)}"
    numeric = central_difference(d, point, direction)
    assert close(dot, numeric, rtol), (
        f"at {tuple(point)} along {tuple(direction)}: tangent {dot!r}, "
        f"central difference {numeric!r}{describe(d)}"
    )
    return dot


def check_dot_product(
    d: sct.Differentiated, point: Sequence[Any], direction: Sequence[float], seed: float = 1.0
) -> None:
    """sum_i adjoint(point, seed)_i * v_i == seed * tangent(point, v)."""
    grads = d.adjoint(*point, seed)
    assert isinstance(grads, tuple) and len(grads) == len(d.wrt), f"adjoint returned {grads!r} for wrt={d.wrt}"
    _, dot = d.tangent(*point, *direction)
    terms = [g * v for g, v in zip(grads, direction)]
    lhs = math.fsum(terms)
    scale = 1.0 + sum(abs(t) for t in terms)
    assert abs(lhs - seed * dot) <= DOT_RTOL * max(scale, abs(seed * dot)), (
        f"at {tuple(point)} along {tuple(direction)}: <adjoint, v> = {lhs!r} "
        f"but seed * tangent = {seed * dot!r} (adjoint {grads!r}){describe(d)}"
    )


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
        for v in directions(len(d.wrt), rng, mixed):
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
