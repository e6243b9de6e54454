"""API: ``@sct.differentiate`` and the object it returns.

Contract (relied on by tests, the CLI and users):
- ``differentiate(fn, wrt=None)``, also ``@differentiate(wrt=("x", "w"))``.
  ``wrt`` names the parameters to differentiate, by default all, in
  signature order; the others are passed as usual and get no derivative.
- Calling the result calls the original function, unchanged.
- ``.tangent(*args, *dots)`` -> ``(value, value_dot)``, one dot per wrt
  parameter; ``.adjoint(*args, value_bar)`` -> tuple of one adjoint per wrt
  parameter (always a tuple); ``.grad(*args)`` is ``.adjoint(*args, 1)``,
  or its one element when one parameter is differentiated (the derivative
  itself, as ``jax.grad`` and ``autograd.grad`` give it), and takes the
  function's default arguments. The gradient of straight-line NumPy code
  specialises itself at its first call (``.specialized_source``).
- ``.tangent_source`` / ``.adjoint_source`` are the generated source, and
  ``.tangent`` / ``.adjoint`` are the functions compiled from exactly that text.

The transformation runs on first use, not at decoration time, so a function
may call helpers defined further down its module; and each mode only when it
is first read (``.adjoint`` makes the adjoint alone; ``.grad`` and
``.grad_source`` make the gradient), each compiled as a module of its own and
cached (:mod:`sct.cache`) in one entry per function and options.
"""

from __future__ import annotations

import functools
import inspect
import re
from pathlib import Path
from typing import Any, Callable, Sequence

from . import cache, calls, emit, pipeline, source
from .errors import InternalError, SctError, UsageError


class Differentiated:
    """A function together with its generated tangent and adjoint."""

    def __init__(
        self,
        fn: Callable[..., Any],
        wrt: Sequence[str] | str | None = None,
        modes: Sequence[str] = pipeline.MODES,
        heaviside0: Any = 1,
        warn_kinks: bool = False,
    ):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self._wrt = wrt
        self._kinks = {"heaviside0": heaviside0, "warn_kinks": warn_kinks}
        self._modes = tuple(modes)  # sct.hessian asks for the tangent of an adjoint only
        self._transformed: pipeline.Transformed | None = None
        self._compiled: dict[str, Callable[..., Any]] = {}  # mode -> generated function, made or loaded
        self._sources: dict[str, str] = {}
        self._loaded: set[str] = set()  # modes made or loaded, "grad" included when there is none
        self._entry: dict[str, Any] | None = None  # the cache entry, {} when there is none
        self._wrt_names: list[str] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<sct.differentiate {self.fn.__module__}.{self.fn.__qualname__} wrt={self.wrt}>"

    # ---- the pipeline, run once -------------------------------------------

    def _namespace(self) -> dict[str, Any]:
        """The user's globals and closure values, as the generated code sees them."""
        namespace = dict(self.fn.__globals__)
        code = self.fn.__code__
        for name, cell in zip(code.co_freevars, self.fn.__closure__ or ()):
            try:
                namespace[name] = cell.cell_contents
            except ValueError:  # an empty cell: not yet assigned
                pass
        return namespace

    @property
    def transformed(self) -> pipeline.Transformed:
        """All the pipeline's stages for this function (checked and normalized on first use).

        Each mode's function is made when first read from it (or from this
        object's ``.tangent``, ``.adjoint``, ``.grad``), not before.
        """
        if self._transformed is None:
            self._transformed = self._pipeline(lazy=True)
            self._wrt_names = list(self._transformed.wrt)
        return self._transformed

    def _pipeline(self, lazy: bool) -> pipeline.Transformed:
        fs = source.for_callable(self.fn)
        namespace = self._namespace()
        resolver = calls.NamespaceResolver(namespace, self.fn.__module__)
        return pipeline.transform(
            fs, self._wrt, self._modes, known_globals=namespace, resolver=resolver, gradient=True, lazy=lazy, **self._kinks
        )

    def _make(self, mode: str) -> dict[str, Any] | None:
        """One mode's generated module (text, function name, readable source), None when there is none."""
        result = self.transformed
        try:
            if mode == "grad":
                grad = result.grad
                if grad is None:
                    return None
                base = result.grad_base
                base_fn = getattr(result, base)
                # a recursive function's gradient calls its own adjoint (or tangent): compiled beside it
                own = [getattr(result, f"{base}_source")] if re.search(rf"\b{base_fn.name}\b", result.grad_source) else []
                functions, name, readable = own + [result.grad_source] + result.callee_sources(base), grad.name, result.grad_source
            else:
                fn = getattr(result, mode)
                if fn is None:
                    raise KeyError(mode)
                readable = result.mode_source(mode)
                functions, name = [readable], fn.name
        except SctError:
            self._pipeline(lazy=False)  # the error an eager transform (every mode, tangent first) raises
            raise
        text = emit.module_source(result.source.file.filename, functions, result.imports)
        try:
            code = compile(text, "<sct generated>", "exec")  # once: run now, and kept for a cached load
        except SyntaxError as exc:  # pragma: no cover - a bug in sct
            raise InternalError(f"generated code does not compile: {exc}\n{text}") from None
        made = {"text": text, "name": name, "source": readable, **cache.packed_code(text, code)}
        if mode == "grad" and grad.arrays:  # NumPy is imported already: so may decidable be
            from . import decidable

            if decidable.eligible(readable):
                made["firstcall"] = True  # straight-line array code: specialised to its first call's shapes
        return made

    def _install(self, mode: str, made: dict[str, Any] | None, wrt: list[str]) -> None:
        if made is not None:
            code = cache.unpacked_code(made)
            compiled = emit.compile_functions(made["text"], f"{self.fn.__qualname__}", self._namespace(), code)
            self._compiled[mode] = compiled[made["name"]]
            self._take_defaults(mode)
            if made.get("firstcall"):
                from . import firstcall  # only for array code: it imports NumPy

                self._compiled[mode] = firstcall.entry(self._compiled[mode], made["source"])
            self._sources[mode] = made["source"]
        self._loaded.add(mode)
        self._wrt_names = list(wrt)

    def _take_defaults(self, mode: str) -> None:
        """The gradient takes the function's parameters, in order: so it takes their defaults too.

        (The tangent and the adjoint take every argument: their tangents or seed come after.)
        """
        fn, code = self._compiled[mode], getattr(self.fn, "__code__", None)
        if mode == "grad" and code is not None and fn.__code__.co_argcount == code.co_argcount:
            fn.__defaults__ = getattr(self.fn, "__defaults__", None)

    def _cache_key(self) -> str | None:
        """The cache key of this function and options, or None when it has no file to key by (computed once)."""
        if not hasattr(self, "_key"):
            self._key = self._compute_cache_key()
        return self._key

    def _compute_cache_key(self) -> str | None:
        code = getattr(self.fn, "__code__", None)
        filename = code.co_filename if code is not None else ""
        if not filename or not Path(filename).is_file():
            return None
        try:
            text = Path(filename).read_text(encoding="utf-8")
        except OSError:
            return None
        options = (self._wrt if isinstance(self._wrt, (str, type(None))) else tuple(self._wrt), self._modes, sorted(self._kinks.items()))
        return cache.key(text, self.fn.__qualname__, code.co_firstlineno, options)

    def _cached(self) -> dict[str, Any] | None:
        """This function's cache entry (read once): each mode a previous run made, keyed by mode."""
        if self._entry is None:
            key = self._cache_key() if cache.enabled() else None
            self._entry = (cache.lookup(key) if key is not None else None) or {}
        return self._entry or None

    def _load(self, mode: str) -> None:
        """One mode's compiled function: from the cache when a previous run left it, else made now."""
        if mode in self._loaded:
            return
        entry = self._cached()
        if entry and mode in entry.get("modes", {}):
            try:
                self._install(mode, entry["modes"][mode], entry["wrt"])
                return
            except Exception:  # noqa: BLE001 - a stale or damaged entry: transform instead
                self._compiled.pop(mode, None)
        made = self._make(mode)
        self._install(mode, made, self.transformed.wrt)
        self._store(mode, made)

    def _store(self, mode: str, made: dict[str, Any] | None) -> None:
        """Add one mode to this function's cache entry (written whole: one file per function and options)."""
        if not cache.enabled():
            return
        key = self._cache_key()
        result = self.transformed
        if key is None or not all(Path(f).is_file() for f in result.files):
            return
        before = self._entry or {}
        modes = dict(before.get("modes", {})) if before.get("wrt") == result.wrt else {}
        entry = {"wrt": result.wrt, "modes": {**modes, mode: made}}
        depends = sorted(set(result.files) | {path for path, _ in before.get("depends", [])})
        self._entry = cache.store(key, entry, depends) or entry

    @property
    def wrt(self) -> list[str]:
        if not self._wrt_names:
            entry = self._cached()
            self._wrt_names = list(entry["wrt"]) if entry and "wrt" in entry else list(self.transformed.wrt)
        return self._wrt_names

    @property
    def tangent(self) -> Callable[..., Any]:
        """``tangent(*args, *dots) -> (value, value_dot)``."""
        self._load("tangent")
        return self._compiled["tangent"]

    @property
    def adjoint(self) -> Callable[..., Any]:
        """``adjoint(*args, value_bar) -> (adjoint of each wrt parameter,)``."""
        self._load("adjoint")
        return self._compiled["adjoint"]

    @property
    def grad(self) -> Callable[..., Any]:
        """The gradient of a scalar-valued function: ``grad(*args) == adjoint(*args, 1)``.

        With one parameter differentiated, the derivative itself
        (``adjoint(*args, 1)[0]``): ``f.grad(3.0)`` is ``6.0`` for ``x * x``.

        Reading ``f.grad`` makes (or loads) the generated ``<name>_grad`` and
        returns it itself, no wrapper (:mod:`sct.specialize`: the adjoint with
        the seed fixed at 1, shown by ``.grad_source``); for straight-line
        NumPy code, a function that becomes, at its first call, that gradient
        specialised to the call's shapes (:mod:`sct.firstcall`). A function returning
        several values has none (a UsageError says so). Where making the
        gradient failed (a warning says so), it is ``adjoint(*args, 1)``.
        """
        self._load("grad")
        return self._compiled.get("grad") or self._seeded_adjoint

    def _seeded_adjoint(self, *args: Any, **kwargs: Any) -> Any:
        if self.transformed.normalized_returns > 0:
            raise UsageError(
                f"{self.fn.__name__!r} returns several values: a gradient is of a function returning one",
                hint="call .adjoint(*args, (y1_bar, y2_bar, ...)) with one seed per value, or differentiate one value",
            )
        bound = inspect.signature(self.fn).bind(*args, **kwargs)
        bound.apply_defaults()  # the adjoint takes every argument: the seed comes after them
        grads = self.adjoint(*bound.args, 1)
        return grads[0] if len(grads) == 1 else grads

    @property
    def grad_source(self) -> str:
        """The generated gradient (empty for a function returning several values)."""
        self._load("grad")
        return self._sources.get("grad", "")

    @property
    def specialized_source(self) -> str:
        """The gradient as specialised to its first call's shapes and dtypes (:mod:`sct.firstcall`;
        ``firstcall.variants(f.grad)`` lists those made for later new shapes too).

        Empty before that call, and for a gradient that is not specialised
        (scalar code, branches or loops, shapes that values decide).
        """
        return getattr(self.grad, "specialized_source", "")

    def value_and_grad(self, *args: Any) -> tuple[Any, Any]:
        """``(fn(*args), grad(*args))``.

        The adjoint recomputes the forward sweep it needs rather than returning
        the value, so this calls the function once and the adjoint once.
        """
        return self.fn(*args), self.grad(*args)

    @property
    def tangent_source(self) -> str:
        """The tangent, then the tangents of the user's functions it calls."""
        self._load("tangent")
        return self._sources["tangent"]

    @property
    def adjoint_source(self) -> str:
        """The adjoint, then the adjoints of the user's functions it calls."""
        self._load("adjoint")
        return self._sources["adjoint"]

    @property
    def normalized_source(self) -> str:
        """The function in three-address form, as the pipeline sees it."""
        return self.transformed.normalized_source


def differentiate(
    fn: Callable[..., Any] | None = None,
    *,
    wrt: Sequence[str] | str | None = None,
    heaviside0: Any = 1,
    warn_kinks: bool = False,
) -> Any:
    """Differentiate ``fn``; usable as ``@differentiate`` and ``@differentiate(wrt=...)``.

    ``heaviside0`` is the value of heaviside at 0 every kink rule uses (relu,
    max, min; see :mod:`sct.kinks`); ``warn_kinks`` makes the generated code
    warn (:class:`sct.KinkWarning`) when a run lands exactly on a kink.
    """
    if fn is None:
        return lambda f: differentiate(f, wrt=wrt, heaviside0=heaviside0, warn_kinks=warn_kinks)
    if isinstance(fn, Differentiated):  # differentiate(differentiate(f)): the same function
        fn = fn.fn
    return Differentiated(fn, wrt, heaviside0=heaviside0, warn_kinks=warn_kinks)
