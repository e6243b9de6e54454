"""Primitive: a function sct never looks into, with partials the user supplies.

Contract::

    @sct.primitive
    def softplus(x):
        return math.log1p(math.exp(x))

    @softplus.partials
    def softplus_partials(x):
        return 1 / (1 + math.exp(-x))   # one partial per argument; a tuple for several

``sct.primitive(fn)`` also wraps a library function (``erf = sct.primitive(math.erf)``).
Calling a primitive calls ``fn``. ``.partials`` checks at registration that the
partials function takes exactly the primitive's parameters (a mismatch raises
:class:`~sct.errors.RuleError` there, not later); sct then turns the pair into
a rule of :mod:`sct.rules` when a differentiated function calls the primitive,
so both modes use it as they use the built-in rules.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from .errors import RuleError


def _positional_params(fn: Callable[..., Any]) -> list[str] | None:
    """The names of ``fn``'s parameters, or None when Python cannot say (some C functions)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    names = []
    for p in signature.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.KEYWORD_ONLY):
            raise RuleError(
                f"{getattr(fn, '__name__', fn)!r} has a *args, **kwargs or keyword-only parameter",
                hint="a primitive takes plain positional parameters, one partial each",
            )
        names.append(p.name)
    return names


class Primitive:
    """A function differentiated by its registered partials, never by reading it."""

    def __init__(self, fn: Callable[..., Any]):
        if isinstance(fn, Primitive):
            fn = fn.fn
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.params = _positional_params(fn)
        self.partials_fn: Callable[..., Any] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<sct.primitive {getattr(self.fn, '__qualname__', self.fn)!r}>"

    def partials(self, partials_fn: Callable[..., Any]) -> Callable[..., Any]:
        """Register ``partials_fn(*args) -> partial, or tuple of one partial per argument``."""
        name = getattr(partials_fn, "__name__", repr(partials_fn))
        params = _positional_params(partials_fn)
        if params is None:
            raise RuleError(f"cannot read the parameters of {name!r}", hint="define the partials with `def`")
        if self.params is not None and len(params) != len(self.params):
            raise RuleError(
                f"{name!r} takes {len(params)} argument(s) but the primitive {self.__name__!r} takes "
                f"{len(self.params)} ({', '.join(self.params)})",
                hint=f"write `def {name}({', '.join(self.params)}):` returning one partial per argument",
            )
        if name == "<lambda>" or getattr(partials_fn, "__qualname__", name) != name:
            raise RuleError(
                f"the partials of {self.__name__!r} must be a function defined at the top level of a module",
                hint="generated code imports it by name: define it with `def` at module level",
            )
        if self.params is None:
            self.params = params  # a C function: its partials say how many arguments it takes
        self.partials_fn = partials_fn
        return partials_fn


def primitive(fn: Callable[..., Any]) -> Primitive:
    """Declare ``fn`` a primitive; register its partials with ``@fn.partials``."""
    if not callable(fn):
        raise RuleError(f"sct.primitive needs a function, got {type(fn).__name__}")
    return Primitive(fn)
