"""Pipeline: source -> check -> normalize -> analysis -> forward / reverse -> emit.

Contract: :func:`transform` is the one path from a :class:`FunctionSource`
to generated source, shared by the decorator and the CLI. Each stage's
program is kept on the returned :class:`Transformed` so that it can be
printed (``sct transform --stage normalize``) and tested on its own.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import libcst as cst

from . import calls, emit, ir, kinks, scope, specialize
from .analysis import Activity, activity
from .check import check
from .errors import UsageError
from .forward import tangent
from .names import Namer
from .normalize import normalize
from .reverse import adjoint
from .source import FunctionSource, SourceFile, find
from .calls import returned_count

MODES = ("tangent", "adjoint")


class Transformed:
    """Everything the pipeline made for one function.

    Checking, normalizing and activity run at once; each mode's function
    (tangent, adjoint, gradient) is made, emitted and black-formatted when it
    is first read, because a user who reads ``.adjoint`` should not wait for
    the tangent and the gradient. :func:`transform` makes them all at once
    (``lazy=False``), in one fixed order, for the CLI and the other callers
    that print everything.
    """

    def __init__(self, source: FunctionSource, wrt: list[str], normalized: ir.Function, activity: Activity, imports: emit.Imports, build: "_Build"):
        self.source = source
        self.wrt = wrt
        self.normalized = normalized
        self.activity = activity
        self.imports = imports
        self._build = build

    @property
    def tangent(self) -> ir.Function | None:
        return self._build.function("tangent")

    @property
    def adjoint(self) -> ir.Function | None:
        return self._build.function("adjoint")

    @property
    def tangent_source(self) -> str:
        return self._build.source("tangent")

    @property
    def adjoint_source(self) -> str:
        return self._build.source("adjoint")

    @property
    def grad(self) -> ir.Function | None:
        """The adjoint with the result's adjoint fixed at 1 (sct.specialize); None without one."""
        return self._build.gradient()[0]

    @property
    def grad_source(self) -> str:
        return self._build.gradient()[1]

    @property
    def grad_base(self) -> str:
        """The mode the gradient is made from: ``tangent`` for one scalar input, else ``adjoint``."""
        return self._build.grad_base()

    @property
    def callees(self) -> list[tuple[str, str]]:
        """The generated functions of the user's functions it calls: (mode, source), in order made."""
        for mode in self._build.modes:
            self._build.source(mode)
        return list(self._build.callees)

    @property
    def files(self) -> list[str]:
        """Every file the transformation has read so far."""
        return sorted({self.source.file.filename} | self._build.linker.files)

    @property
    def normalized_source(self) -> str:
        return ir.to_source(self.normalized)

    @property
    def normalized_returns(self) -> int:
        """0 when the function returns one value, k when it returns a tuple of k."""
        return returned_count(self.source)

    def functions_source(self) -> list[str]:
        own = [s for s in (self.tangent_source, self.adjoint_source) if s]
        if self._build.want_gradient:
            own += [self.grad_source] if self.grad_source else []
        return own + [source for _, source in self.callees]

    def mode_source(self, mode: str) -> str:
        """The generated function of one mode, followed by those of the callees it calls."""
        own = self._build.source(mode)
        return "\n\n".join([own] + self.callee_sources(mode))

    def callee_sources(self, mode: str) -> list[str]:
        """The sources of the callees one mode's function calls (made when that mode is)."""
        self._build.function(mode)
        self._build.drain()
        return [source for m, source in self._build.callees if m == mode]


class Linker:
    """The generated functions of one module, and the names calls between them use.

    A user's function is differentiated once per pattern of active arguments
    and mode (``g_tangent``; ``g_adjoint_wrt_x`` when only ``x`` carries a
    derivative). Names are handed out when a call needs them and the function
    is made afterwards, so a function may call itself (recursion).
    """

    def __init__(self, root: SourceFile, namer: Namer, imports: emit.Imports):
        self.root = root
        self.namer = namer
        self.imports = imports
        self.names: dict[tuple[str, tuple[str, ...], str], str] = {}
        self.queue: list[tuple[calls.Callee, tuple[str, ...], str]] = []
        self.normalized: dict[str, tuple[ir.Function, Namer]] = {}
        self.warn_kinks = False
        self.arrays = False  # the module's root function uses NumPy
        self.files: set[str] = set()

    def name(self, key: str, function: str, pattern: tuple[str, ...], mode: str, everything: bool) -> tuple[str, bool]:
        """The generated function's name, and whether it is new."""
        k = (key, pattern, mode)
        if k in self.names:
            return self.names[k], False
        suffix = mode if everything else f"{mode}_wrt_{'_'.join(pattern) or 'nothing'}"
        self.names[k] = self.namer.fresh(f"{function}_{suffix}")
        self.imports.taken.add(self.names[k])
        return self.names[k], True

    def link(self, callee: calls.Callee, pattern: tuple[str, ...], mode: str) -> str:
        name, new = self.name(callee.key, callee.name, pattern, mode, set(pattern) == set(callee.params))
        if new:
            self.queue.append((callee, pattern, mode))
        return name

    def drain(self) -> list[tuple[str, str]]:
        """Make every function that calls asked for; returns (mode, source) of each."""
        made: list[tuple[str, str]] = []
        while self.queue:
            callee, pattern, mode = self.queue.pop(0)
            fs = callee.fs
            assert fs is not None
            self.files.add(fs.file.filename)
            if callee.key not in self.normalized:
                check(fs, callee.resolver.known_names(), callee.resolver)
                namer = Namer(file_names(fs.file) | set(self.names.values()))
                qualify = fs.file.filename != self.root.filename
                normalized = normalize(fs, namer, callee.resolver, qualify)
                if self.warn_kinks:
                    normalized = kinks.instrument(normalized, fs.file.filename)
                self.normalized[callee.key] = (normalized, namer)
            normalized, namer = self.normalized[callee.key]
            normalized.arrays |= self.arrays  # called from array code: its operands may be arrays
            wrt = [p for p in fs.params if p in pattern]
            act = activity(normalized, wrt)
            name = self.names[(callee.key, pattern, mode)]
            make = tangent if mode == "tangent" else adjoint
            fn = make(normalized, wrt, act, namer, self.link, name)
            made.append((mode, emit.function_source(fn, self.imports)))
        return made


def file_names(file: SourceFile) -> set[str]:
    """Every identifier in the user's file: generated names must avoid them all."""
    if "names" not in file.cache:
        tree = file.tree  # Python's own tree, walked faster than libcst's
        file.cache["names"] = scope.identifiers(tree) if tree is not None else {n.value for n in find(file.module, cst.Name)}
    return file.cache["names"]


def module_imports(file: SourceFile) -> tuple[dict[str, str], dict[str, str]]:
    """The file's top-level imports: local name -> qualified name, and -> import line."""
    bindings: dict[str, str] = {}
    lines: dict[str, str] = {}
    code = cst.Module([]).code_for_node
    for stmt in file.module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    dotted = code(alias.name)
                    local = alias.asname.name.value if alias.asname else dotted.split(".")[0]  # type: ignore[union-attr]
                    bindings[local] = dotted if alias.asname else local
                    lines[local] = f"import {dotted}" + (f" as {local}" if alias.asname else "")
            elif isinstance(small, cst.ImportFrom) and not small.relative and small.module is not None:
                module = code(small.module)
                if isinstance(small.names, cst.ImportStar):
                    continue
                for alias in small.names:
                    name = code(alias.name)
                    local = alias.asname.name.value if alias.asname else name  # type: ignore[union-attr]
                    bindings[local] = f"{module}.{name}"
                    lines[local] = f"from {module} import {name}" + (f" as {local}" if alias.asname else "")
    return bindings, lines


def module_constants(file: SourceFile) -> dict[str, str]:
    """Top-level ``NAME = <literal arithmetic>`` lines, which generated modules copy."""
    from .normalize import constant_assignments

    code = cst.Module([]).code_for_node
    return {name: code(assign).strip() for name, assign in constant_assignments(file.module)}


def module_level_names(file: SourceFile) -> set[str]:
    """Names bound at the top level of the file (functions, classes, assignments, imports)."""
    names = set(module_imports(file)[0])
    for stmt in file.module.body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            names.add(stmt.name.value)
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                targets = small.targets if isinstance(small, cst.Assign) else (
                    [small] if isinstance(small, cst.AnnAssign) else []
                )
                for t in targets:
                    if isinstance(t.target, cst.Name):
                        names.add(t.target.value)
    return names


def resolve_wrt(fs: FunctionSource, wrt: Sequence[str] | str | None) -> list[str]:
    if wrt is None:
        return list(fs.params)
    if isinstance(wrt, str):
        wrt = [w.strip() for w in wrt.split(",") if w.strip()]
    unknown = [w for w in wrt if w not in fs.params]
    if unknown:
        raise UsageError(
            f"wrt names {', '.join(map(repr, unknown))}, not a parameter of {fs.name!r}",
            hint=f"parameters: {', '.join(fs.params)}",
        )
    return [p for p in fs.params if p in wrt]


def transform(
    fs: FunctionSource,
    wrt: Sequence[str] | str | None = None,
    modes: Iterable[str] = MODES,
    known_globals: Iterable[str] = (),
    namer: Namer | None = None,
    imports: emit.Imports | None = None,
    resolver: Any = None,
    linker: Linker | None = None,
    heaviside0: Any = 1,
    warn_kinks: bool = False,
    gradient: bool = False,
    lazy: bool = False,
) -> Transformed:
    """Run every stage for one function, and for the user's functions it calls.

    ``resolver`` finds those functions (:mod:`sct.calls`; by default by reading
    files, as the CLI does); ``linker`` is shared by the functions of one
    generated module, so that a callee is made once. With ``lazy``, each
    mode's function is made when the returned object is first asked for it
    (the decorator); without, all of them now, tangent first.
    """
    modes = tuple(modes)
    wrt_list = resolve_wrt(fs, wrt)
    resolver = resolver or calls.StaticResolver(fs.file)
    check(fs, set(known_globals) | module_level_names(fs.file), resolver)
    taken = file_names(fs.file)
    namer = namer or Namer(taken)
    if imports is None:
        bindings, lines = module_imports(fs.file)
        imports = emit.Imports(taken | namer.taken, bindings, lines, module_constants(fs.file), own_module=resolver.module)
    linker = linker or Linker(fs.file, namer, imports)
    linker.warn_kinks = warn_kinks
    with kinks.convention(heaviside0):
        normalized = normalize(fs, namer, resolver)
        if linker.warn_kinks:
            normalized = kinks.instrument(normalized, fs.file.filename)
        linker.arrays |= normalized.arrays
        act = activity(normalized, wrt_list)
        build = _Build(fs, wrt_list, modes, normalized, act, namer, imports, resolver, linker, heaviside0, gradient)
        result = Transformed(fs, wrt_list, normalized, act, imports, build)
        if not lazy:
            build.everything()
        return result


class _Build:
    """Makes one function's generated functions on demand, each once.

    The eager order (:meth:`everything`) is the one the CLI's golden files were
    made with: both modes' functions, then their sources, then the callees,
    then the gradient. Names and imports are handed out as functions are made,
    and no mode asks for a name another mode wants, so a mode made alone reads
    the same as when made with the others.
    """

    def __init__(
        self, fs: FunctionSource, wrt: list[str], modes: tuple[str, ...], normalized: ir.Function, act: Activity,
        namer: Namer, imports: emit.Imports, resolver: Any, linker: Linker, heaviside0: Any, gradient: bool,
    ):
        self.fs, self.wrt, self.modes, self.normalized, self.act = fs, wrt, modes, normalized, act
        self.namer, self.imports, self.resolver, self.linker = namer, imports, resolver, linker
        self.heaviside0 = heaviside0
        self.want_gradient = gradient
        self.functions: dict[str, ir.Function] = {}
        self.sources: dict[str, str] = {}
        self.callees: list[tuple[str, str]] = []
        self.grad: tuple[ir.Function | None, str] | None = None

    def function(self, mode: str) -> ir.Function | None:
        if mode not in self.modes:
            return None
        if mode not in self.functions:
            with kinks.convention(self.heaviside0):
                key = f"{self.resolver.module}.{self.fs.name}"
                name, _ = self.linker.name(key, self.fs.name, tuple(self.wrt), mode, everything=True)
                make = tangent if mode == "tangent" else adjoint
                self.functions[mode] = make(self.normalized, self.wrt, self.act, self.namer, self.linker.link, name)
        return self.functions[mode]

    def source(self, mode: str, drain: bool = True) -> str:
        """The mode's function, emitted; with ``drain``, the callees it calls made too."""
        fn = self.function(mode)
        if fn is None:
            return ""
        if mode not in self.sources:
            self.sources[mode] = emit.function_source(fn, self.imports)
        if drain:
            self.drain()
        return self.sources[mode]

    def drain(self) -> None:
        """Make the callees the functions made so far call."""
        if self.linker.queue:
            with kinks.convention(self.heaviside0):
                self.callees.extend(self.linker.drain())

    def everything(self) -> None:
        for mode in MODES:
            self.function(mode)
        for mode in MODES:
            self.source(mode, drain=False)
        self.drain()
        if self.want_gradient:
            self.gradient()

    def grad_base(self) -> str:
        one_input = len(self.wrt) == 1 and "tangent" in self.modes and not self.normalized.arrays
        return "tangent" if one_input else "adjoint"  # one input: forward is cheaper

    def gradient(self) -> tuple[ir.Function | None, str]:
        """The generated gradient and its source; ``.grad`` falls back to the adjoint without it."""
        if self.grad is None:
            self.grad = None, ""
            if self.want_gradient and "adjoint" in self.modes and returned_count(self.fs) == 0:
                base = self.function(self.grad_base())
                self.drain()
                with kinks.convention(self.heaviside0):
                    name = self.namer.fresh(f"{self.fs.name}_grad")
                    self.grad = _gradient(self.fs.name, base, self.grad_base(), name, self.imports)
        return self.grad


def _gradient(function: str, base: ir.Function | None, mode: str, name: str, imports: emit.Imports) -> tuple[ir.Function | None, str]:
    """The gradient made from ``base`` (sct.specialize), or (None, "") with a warning when that fails."""
    try:
        if mode == "tangent":
            grad = specialize.forward_gradient(base, name)  # type: ignore[arg-type]
        else:
            grad = specialize.gradient(base, name)  # type: ignore[arg-type]
        return grad, emit.function_source(grad, imports)
    except Exception as exc:  # noqa: BLE001 - an optimization that fails must not cost the adjoint
        import warnings

        warnings.warn(
            f"sct: no generated gradient for {function} (a bug in sct: {type(exc).__name__}: {exc}); "
            ".grad calls the adjoint instead",
            RuntimeWarning,
            stacklevel=5,
        )
        return None, ""
