"""API: ``@sct.differentiate`` and the object it returns.

Contract (relied on by tests, the CLI and users):
- ``differentiate(fn, wrt=None)``, also ``@differentiate(wrt=("x", "w"))``.
  ``wrt`` names the parameters to differentiate, by default all, in
  signature order; the others are passed as usual and get no derivative.
- Calling the result calls the original function, unchanged.
- ``.tangent(*args, *dots)`` -> ``(value, value_dot)``, one dot per wrt
  parameter; ``.adjoint(*args, value_bar)`` -> tuple of one adjoint per wrt
  parameter (always a tuple); ``.grad(*args)`` is ``.adjoint(*args, 1)``.
- ``.tangent_source`` / ``.adjoint_source`` are the generated source, and
  ``.tangent`` / ``.adjoint`` are the functions compiled from exactly that text.

The transformation runs on first use, not at decoration time, so a function
may call helpers defined further down its module.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable, Sequence

from . import cache, calls, emit, pipeline, source


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
        self._compiled: dict[str, Callable[..., Any]] = {}
        self._sources: dict[str, str] = {}
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
        """All the pipeline's stages for this function (transforming on first use)."""
        if self._transformed is None:
            fs = source.for_callable(self.fn)
            namespace = self._namespace()
            resolver = calls.NamespaceResolver(namespace, self.fn.__module__)
            result = pipeline.transform(
                fs, self._wrt, self._modes, known_globals=namespace, resolver=resolver, gradient=True, **self._kinks
            )
            self._transformed = result
            if not self._compiled:
                text = emit.module_source(fs.file.filename, result.functions_source(), result.imports)
                made = (("tangent", result.tangent), ("adjoint", result.adjoint), ("grad", result.grad))
                names = {m: fn.name for m, fn in made if fn}
                sources = {m: result.mode_source(m) if m != "grad" else result.grad_source for m in names}
                self._install(text, names, sources, result.wrt, namespace)
                key = self._cache_key()
                if key is not None and all(Path(f).is_file() for f in result.files):
                    entry = {"text": text, "names": names, "sources": sources, "wrt": result.wrt}
                    cache.store(key, entry, result.files)
        return self._transformed

    def _install(self, text: str, names: dict[str, str], sources: dict[str, str], wrt: list[str], namespace: dict[str, Any]) -> None:
        compiled = emit.compile_functions(text, f"{self.fn.__qualname__}", namespace)
        self._compiled = {mode: compiled[name] for mode, name in names.items()}
        if "grad" in self._compiled:  # f.grad(*args) calls the generated gradient itself, no wrapper
            self.grad = self._compiled["grad"]  # type: ignore[method-assign]
        self._sources = sources
        self._wrt_names = list(wrt)

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

    def _load(self) -> None:
        """The compiled functions: from the cache when a previous run left them, else transformed."""
        if self._compiled:
            return
        key = self._cache_key()
        entry = cache.lookup(key) if key is not None else None
        if entry is not None:
            try:
                self._install(entry["text"], entry["names"], entry["sources"], entry["wrt"], self._namespace())
                return
            except Exception:  # noqa: BLE001 - a stale or damaged entry: transform instead
                self._compiled = {}
        self.transformed

    @property
    def wrt(self) -> list[str]:
        self._load()
        return self._wrt_names

    @property
    def tangent(self) -> Callable[..., Any]:
        """``tangent(*args, *dots) -> (value, value_dot)``."""
        self._load()
        return self._compiled["tangent"]

    @property
    def adjoint(self) -> Callable[..., Any]:
        """``adjoint(*args, value_bar) -> (adjoint of each wrt parameter,)``."""
        self._load()
        return self._compiled["adjoint"]

    def grad(self, *args: Any) -> tuple[Any, ...]:
        """The gradient of a scalar-valued function: ``adjoint(*args, 1)`` (an exact seed: Fractions stay Fractions).

        Once transformed, ``f.grad`` is the generated ``<name>_grad`` itself
        (:mod:`sct.specialize`: the adjoint with the seed fixed at 1, shown by
        ``.grad_source``); a function returning several values has none.
        """
        self._load()
        if "grad" in self._compiled:
            return self._compiled["grad"](*args)
        return self.adjoint(*args, 1)

    @property
    def grad_source(self) -> str:
        """The generated gradient (empty for a function returning several values)."""
        self._load()
        return self._sources.get("grad", "")

    def value_and_grad(self, *args: Any) -> tuple[Any, tuple[Any, ...]]:
        """``(fn(*args), grad(*args))``.

        The adjoint recomputes the forward sweep it needs rather than returning
        the value, so this calls the function once and the adjoint once.
        """
        return self.fn(*args), self.grad(*args)

    @property
    def tangent_source(self) -> str:
        """The tangent, then the tangents of the user's functions it calls."""
        self._load()
        return self._sources["tangent"]

    @property
    def adjoint_source(self) -> str:
        """The adjoint, then the adjoints of the user's functions it calls."""
        self._load()
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
