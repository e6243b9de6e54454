"""Higher: Jacobians, Hessians and Hessian-vector products from the generated functions.

Contract: each function here takes a Python function and returns a function
of the same arguments; ``wrt`` names the parameters differentiated (by default
all, in signature order), as for :func:`sct.differentiate`.

- ``jacobian(fn, wrt, mode)(*args)``: for ``fn`` returning ``k`` values, a
  tuple of ``k`` rows, row ``i`` holding the derivative of output ``i`` with
  respect to each wrt parameter; for ``fn`` returning one value, that one row
  (the gradient). ``mode="reverse"`` calls the adjoint once per output,
  ``"forward"`` the tangent once per parameter: the same numbers.
- ``hessian(fn, wrt)(*args)``: the matrix of second derivatives of a scalar
  ``fn`` (a tuple of rows), forward over reverse: sct differentiates the
  generated adjoint in forward mode and runs its tangent along each axis.
- ``hvp(fn, wrt)(*args, v)``: the Hessian times ``v`` (a sequence, one entry
  per wrt parameter), with one run of that tangent.

Nothing here differentiates by itself: all derivatives come from functions
sct generated, and the second-order ones from generated code transformed again.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from .api import Differentiated, differentiate
from .errors import UsageError

MODES = ("reverse", "forward")


def _unit(n: int, i: int) -> list[float]:
    return [1 if j == i else 0 for j in range(n)]  # exact seeds: Fractions stay Fractions


def _as_differentiated(fn: Callable[..., Any], wrt: Sequence[str] | str | None) -> Differentiated:
    if isinstance(fn, Differentiated) and wrt is None:
        return fn
    return differentiate(fn, wrt=wrt)


def jacobian(
    fn: Callable[..., Any], wrt: Sequence[str] | str | None = None, mode: str = "reverse"
) -> Callable[..., Any]:
    """The Jacobian of ``fn`` at a point, by the adjoint or by the tangent."""
    if mode not in MODES:
        raise UsageError(f"jacobian mode {mode!r}", hint="use mode='reverse' or mode='forward'")
    d = _as_differentiated(fn, wrt)

    def jac(*args: Any) -> tuple[Any, ...]:
        n = len(d.wrt)
        several = d.transformed.normalized_returns > 0
        if mode == "forward":
            columns = [d.tangent(*args, *_unit(n, j))[1] for j in range(n)]
            if not several:
                return tuple(columns)
            return tuple(tuple(col[i] for col in columns) for i in range(len(columns[0]) if columns else 0))
        if not several:
            return tuple(d.adjoint(*args, 1))
        k = d.transformed.normalized_returns
        return tuple(tuple(d.adjoint(*args, tuple(_unit(k, i)))) for i in range(k))

    return jac


def _second_order(fn: Callable[..., Any], wrt: Sequence[str] | str | None) -> tuple[Differentiated, Differentiated]:
    d = _as_differentiated(fn, wrt)
    if d.transformed.normalized_returns > 0:
        raise UsageError(
            f"{d.fn.__name__!r} returns several values; the Hessian is of a scalar function",
            hint="differentiate one output at a time",
        )
    return d, Differentiated(d.adjoint, wrt=list(d.wrt), modes=("tangent",))


def hessian(fn: Callable[..., Any], wrt: Sequence[str] | str | None = None) -> Callable[..., Any]:
    """The Hessian of a scalar ``fn``, forward over reverse."""
    d, dd = _second_order(fn, wrt)

    def hess(*args: Any) -> tuple[tuple[Any, ...], ...]:
        n = len(d.wrt)
        columns = [dd.tangent(*args, 1, *_unit(n, j))[1] for j in range(n)]
        return tuple(tuple(col[i] for col in columns) for i in range(n))

    return hess


def hvp(fn: Callable[..., Any], wrt: Sequence[str] | str | None = None) -> Callable[..., Any]:
    """``hvp(fn)(*args, v)``: the Hessian of a scalar ``fn`` times ``v``."""
    d, dd = _second_order(fn, wrt)

    def product(*args: Any) -> tuple[Any, ...]:
        *point, v = args
        if len(v) != len(d.wrt):
            raise UsageError(f"v has {len(v)} entries; {d.fn.__name__!r} is differentiated for {len(d.wrt)}")
        return tuple(dd.tangent(*point, 1, *v)[1])

    return product
