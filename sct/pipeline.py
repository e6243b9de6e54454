"""Pipeline: source -> check -> normalize -> analysis -> forward / reverse -> emit.

Contract: :func:`transform` is the one path from a :class:`FunctionSource`
to generated source, shared by the decorator and the CLI. Each stage's
program is kept on the returned :class:`Transformed` so that it can be
printed (``sct transform --stage normalize``) and tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import libcst as cst

from . import calls, emit, ir, kinks, specialize
from .analysis import Activity, activity
from .check import check
from .errors import UsageError
from .forward import tangent
from .names import Namer
from .normalize import normalize
from .reverse import adjoint
from .source import FunctionSource, SourceFile, find

MODES = ("tangent", "adjoint")


@dataclass
class Transformed:
    """Everything the pipeline made for one function."""

    source: FunctionSource
    wrt: list[str]
    normalized: ir.Function
    activity: Activity
    tangent: ir.Function | None
    adjoint: ir.Function | None
    tangent_source: str
    adjoint_source: str
    imports: emit.Imports
    # the generated functions of the user's functions it calls: (mode, source), in order made
    callees: list[tuple[str, str]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file the transformation read
    grad: ir.Function | None = None  # the adjoint with the result's adjoint fixed at 1 (sct.specialize)
    grad_source: str = ""

    @property
    def normalized_source(self) -> str:
        return ir.to_source(self.normalized)

    @property
    def normalized_returns(self) -> int:
        """0 when the function returns one value, k when it returns a tuple of k."""
        from .calls import returned_count

        return returned_count(self.source)

    def functions_source(self) -> list[str]:
        own = [s for s in (self.tangent_source, self.adjoint_source, self.grad_source) if s]
        return own + [source for _, source in self.callees]

    def mode_source(self, mode: str) -> str:
        """The generated function of one mode, followed by those of the callees it calls."""
        own = self.tangent_source if mode == "tangent" else self.adjoint_source
        return "\n\n".join([own] + [source for m, source in self.callees if m == mode])


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
        file.cache["names"] = {n.value for n in find(file.module, cst.Name)}
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
) -> Transformed:
    """Run every stage for one function, and for the user's functions it calls.

    ``resolver`` finds those functions (:mod:`sct.calls`; by default by reading
    files, as the CLI does); ``linker`` is shared by the functions of one
    generated module, so that a callee is made once.
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
        result = _transform(fs, wrt_list, modes, namer, imports, resolver, linker)
        if gradient and result.adjoint is not None and result.normalized_returns == 0:
            _gradient(result, namer.fresh(f"{fs.name}_grad"), imports)
        return result


def _gradient(result: Transformed, name: str, imports: emit.Imports) -> None:
    """The generated gradient (sct.specialize); ``.grad`` falls back to the adjoint without it."""
    try:
        if len(result.wrt) == 1 and result.tangent is not None and not result.normalized.arrays:
            result.grad = specialize.forward_gradient(result.tangent, name)  # one input: forward is cheaper
        else:
            result.grad = specialize.gradient(result.adjoint, name)  # type: ignore[arg-type]
        result.grad_source = emit.function_source(result.grad, imports)
    except Exception as exc:  # noqa: BLE001 - an optimization that fails must not cost the adjoint
        import warnings

        result.grad, result.grad_source = None, ""
        warnings.warn(
            f"sct: no generated gradient for {result.source.name} (a bug in sct: {type(exc).__name__}: {exc}); "
            ".grad calls the adjoint instead",
            RuntimeWarning,
            stacklevel=3,
        )


def _transform(
    fs: FunctionSource, wrt_list: list[str], modes: tuple[str, ...], namer: Namer, imports: emit.Imports, resolver: Any, linker: Linker
) -> Transformed:
    normalized = normalize(fs, namer, resolver)
    if linker.warn_kinks:
        normalized = kinks.instrument(normalized, fs.file.filename)
    linker.arrays |= normalized.arrays
    act = activity(normalized, wrt_list)
    key = f"{resolver.module}.{fs.name}"
    made: dict[str, ir.Function | None] = {"tangent": None, "adjoint": None}
    for mode, make in (("tangent", tangent), ("adjoint", adjoint)):
        if mode in modes:
            name, _ = linker.name(key, fs.name, tuple(wrt_list), mode, everything=True)
            made[mode] = make(normalized, wrt_list, act, namer, linker.link, name)
    tan, adj = made["tangent"], made["adjoint"]
    return Transformed(
        source=fs,
        wrt=wrt_list,
        normalized=normalized,
        activity=act,
        tangent=tan,
        adjoint=adj,
        tangent_source=emit.function_source(tan, imports) if tan else "",
        adjoint_source=emit.function_source(adj, imports) if adj else "",
        imports=imports,
        callees=linker.drain(),
        files=sorted({fs.file.filename} | linker.files),
    )
