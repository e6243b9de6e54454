"""Pipeline: source -> check -> normalize -> analysis -> forward / reverse -> emit.

Contract: :func:`transform` is the one path from a :class:`FunctionSource`
to generated source, shared by the decorator and the CLI. Each stage's
program is kept on the returned :class:`Transformed` so that it can be
printed (``sct transform --stage normalize``) and tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import libcst as cst
import libcst.matchers as m

from . import emit, ir
from .analysis import Activity, activity
from .check import check
from .errors import UsageError
from .forward import tangent
from .names import Namer
from .normalize import normalize
from .reverse import adjoint
from .source import FunctionSource, SourceFile

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

    @property
    def normalized_source(self) -> str:
        return ir.to_source(self.normalized)

    def functions_source(self) -> list[str]:
        return [s for s in (self.tangent_source, self.adjoint_source) if s]


def file_names(file: SourceFile) -> set[str]:
    """Every identifier in the user's file: generated names must avoid them all."""
    return {n.value for n in m.findall(file.module, m.Name())}  # type: ignore[attr-defined]


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
    from .normalize import _is_constant

    found: dict[str, str] = {}
    code = cst.Module([]).code_for_node
    for stmt in file.module.body:
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
            small = stmt.body[0]
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
                and _is_constant(small.value)
                and not isinstance(small.value, cst.Attribute)
            ):
                found[small.targets[0].target.value] = code(small).strip()
    return found


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
) -> Transformed:
    """Run every stage for one function."""
    modes = tuple(modes)
    wrt_list = resolve_wrt(fs, wrt)
    check(fs, set(known_globals) | module_level_names(fs.file))
    taken = file_names(fs.file)
    namer = namer or Namer(taken)
    if imports is None:
        bindings, lines = module_imports(fs.file)
        imports = emit.Imports(taken | namer.taken, bindings, lines, module_constants(fs.file))
    normalized = normalize(fs, namer)
    act = activity(normalized, wrt_list)
    tan = tangent(normalized, wrt_list, act, namer) if "tangent" in modes else None
    adj = adjoint(normalized, wrt_list, act, namer) if "adjoint" in modes else None
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
    )
