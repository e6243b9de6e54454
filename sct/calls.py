"""Calls: what a call in a differentiated function refers to, found without running it.

Contract: a :class:`Resolver` maps the function expression of a call (``g``,
``helpers.g``, ``softplus``) inside a :class:`~sct.source.FunctionSource` to a
:class:`Callee`, or to None when it is not the user's (the rule table's
functions, or something sct cannot see into, which :mod:`sct.check` reports).

- A *function* callee has source; sct differentiates it like the caller.
- A *primitive* callee (``sct.primitive``) is never read: resolving it puts
  its rule into :data:`sct.rules.RULES` under :attr:`Callee.key`, with
  partials that call the user's partials function, so both modes treat it
  exactly as a built-in rule.

Two resolvers share this contract. :class:`NamespaceResolver` (the decorator)
looks names up in the function's globals. :class:`StaticResolver` (the CLI)
reads definitions from the file and from the files of the user's modules it
imports, and never imports or runs any of them.

Generated code names a user's function by its qualified name
(``helpers.g``); :data:`REFERENCES` maps each such name to its module and
name so that :mod:`sct.emit` can spell it (``g``, or ``from helpers import g``).
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst

from . import rules
from .errors import RuleError, UnsupportedError
from .source import FunctionSource, SourceFile, for_callable, read_file

FUNCTION = "function"
PRIMITIVE = "primitive"

# qualified name written in generated code -> (module, name) it is imported as
REFERENCES: dict[str, tuple[str, str]] = {}

_PRIMITIVE_NAMES = {"sct.primitive", "sct.primitives.primitive"}


@dataclass(frozen=True)
class Callee:
    """A user's function that a differentiated function calls."""

    kind: str
    module: str
    name: str
    params: tuple[str, ...]
    returns: int = 0  # 0: it returns one value; k: a tuple of k values
    fs: FunctionSource | None = field(default=None, compare=False)
    defaults: tuple[tuple[str, cst.BaseExpression], ...] = field(default=(), compare=False)
    resolver: Any = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        """The qualified name: how generated code refers to it, and a primitive's rule key."""
        return f"{self.module}.{self.name}"

    def expr(self) -> cst.BaseExpression:
        REFERENCES[self.key] = (self.module, self.name)
        return cst.parse_expression(self.key)


def returned_count(fs: FunctionSource) -> int:
    """How many values every ``return`` of ``fs`` gives: 0 for one value, k for a tuple of k."""

    first: int | None = None
    for ret in fs.find(cst.Return):
        value = ret.value  # type: ignore[attr-defined]
        count = len(value.elements) if isinstance(value, cst.Tuple) else 0
        if first is None:
            first = count
        elif count != first:
            raise UnsupportedError(
                f"this `return` gives {_values(count)} where an earlier one gives {_values(first)}",
                fs.file.location(ret),
                "return the same number of values from every `return`",
            )
    return first or 0


def _values(count: int) -> str:
    return "one value" if count == 0 else f"a tuple of {count}"


def _function_callee(fs: FunctionSource, module: str, resolver: Any) -> Callee:
    defaults = tuple((p.name.value, p.default) for p in fs.node.params.params if p.default is not None)
    return Callee(FUNCTION, module, fs.name, tuple(fs.params), returned_count(fs), fs, defaults, resolver)


def bind(callee: Callee, call: cst.Call, fs: FunctionSource) -> list[cst.BaseExpression]:
    """The call's argument for each of the callee's parameters, defaults filled in.

    A default is the literal written in the callee's ``def``; ``fs`` is the
    caller, where a mismatch is reported.
    """
    label = cst.Module([]).code_for_node(call.func)
    bound: dict[str, cst.BaseExpression] = {}
    for i, arg in enumerate(call.args):
        if arg.star:
            raise UnsupportedError(f"starred arguments to `{label}`", fs.file.location(arg), "pass each argument by name or position")
        if arg.keyword is None:
            if i >= len(callee.params):
                raise UnsupportedError(
                    f"`{label}` takes {len(callee.params)} argument(s) but is given {len(call.args)}",
                    fs.file.location(arg),
                    f"its parameters: {', '.join(callee.params)}",
                )
            bound[callee.params[i]] = arg.value
            continue
        if callee.kind == PRIMITIVE:
            raise UnsupportedError(f"keyword arguments to the primitive `{label}`", fs.file.location(arg), "pass the arguments by position")
        name = arg.keyword.value
        if name not in callee.params or name in bound:
            what = "an unknown" if name not in callee.params else "a repeated"
            raise UnsupportedError(
                f"{what} keyword argument `{name}` to `{label}`",
                fs.file.location(arg),
                f"its parameters: {', '.join(callee.params)}",
            )
        bound[name] = arg.value
    defaults = dict(callee.defaults)
    out = []
    for p in callee.params:
        if p in bound:
            out.append(bound[p])
        elif p in defaults:
            out.append(defaults[p])
        else:
            raise UnsupportedError(f"`{label}` is called without its argument `{p}`", fs.file.location(call), f"pass `{p}`")
    return out


def _register(callee_module: str, name: str, params: list[str], partials_module: str, partials_name: str) -> str:
    """Put a primitive's rule into the rule table; returns its key."""
    key = f"{callee_module}.{name}"
    ref = f"{partials_module}.{partials_name}"
    REFERENCES[key] = (callee_module, name)
    REFERENCES[ref] = (partials_module, partials_name)
    holes = [f"a{i}" for i in range(len(params))]
    call = f"{ref}({', '.join('{' + h + '}' for h in holes)})"
    partials = [call] if len(holes) == 1 else [f"{call}[{i}]" for i in range(len(holes))]
    rules.RULES[(key, len(holes))] = rules.Rule(key, tuple(holes), tuple(partials))
    return key


# ---- the decorator: names looked up in the function's globals ----------------------


class NamespaceResolver:
    """Resolves calls through a live function's globals (``@sct.differentiate``)."""

    def __init__(self, namespace: dict[str, Any], module: str):
        self.namespace = namespace
        self.module = module

    def known_names(self) -> set[str]:
        return set(self.namespace)

    def _lookup(self, node: cst.BaseExpression) -> tuple[Any, str, str] | None:
        """(object, module it is bound in, name) for ``g`` or ``mod.g``; None otherwise."""
        if isinstance(node, cst.Name):
            if node.value not in self.namespace:
                return None
            return self.namespace[node.value], self.module, node.value
        if isinstance(node, cst.Attribute):
            base = self._lookup(node.value)
            if base is None or not isinstance(base[0], types.ModuleType):
                return None
            value = getattr(base[0], node.attr.value, None)
            return (value, base[0].__name__, node.attr.value) if value is not None else None
        return None

    def resolve(self, fs: FunctionSource, func: cst.BaseExpression) -> Callee | None:
        from .api import Differentiated
        from .primitives import Primitive

        found = self._lookup(func)
        if found is None:
            return None
        obj, module, name = found
        if isinstance(obj, Differentiated):
            obj = obj.fn
        if isinstance(obj, Primitive):
            if obj.partials_fn is None:
                raise RuleError(
                    f"the primitive `{name}` has no partials",
                    fs.file.location(func),
                    f"register them: `@{name}.partials` on a function returning one partial per argument",
                )
            pf = obj.partials_fn
            params = list(obj.params or ())
            _register(module, name, params, pf.__module__, pf.__name__)
            return Callee(PRIMITIVE, module, name, tuple(f"a{i}" for i in range(len(params))))
        if isinstance(obj, types.FunctionType) and _library(obj):
            return None  # a library's function (NumPy's, the standard library's): not the user's code
        if isinstance(obj, types.FunctionType):
            if obj.__qualname__ != obj.__name__:
                raise UnsupportedError(
                    f"`{name}` is a nested function or a method ({obj.__qualname__})",
                    fs.file.location(func),
                    "call a function defined at the top level of a module",
                )
            callee_fs = for_callable(obj)
            resolver = NamespaceResolver(_globals_of(obj), obj.__module__)
            return _function_callee(callee_fs, obj.__module__, resolver)
        return None


def _library(fn: types.FunctionType) -> bool:
    """Whether ``fn`` comes from an installed package, the standard library, or sct itself."""
    import sysconfig

    if (fn.__module__ or "").split(".")[0] == "sct":
        return True  # sct's helpers (sct.arrays): rules or nothing, never user code
    filename = fn.__code__.co_filename
    roots = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    return "site-packages" in filename or "dist-packages" in filename or any(filename.startswith(r) for r in roots)


def _globals_of(fn: types.FunctionType) -> dict[str, Any]:
    namespace = dict(fn.__globals__)
    for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
        try:
            namespace[name] = cell.cell_contents
        except ValueError:
            pass
    return namespace


# ---- the CLI: definitions read from files ----------------------------------------


def module_name(path: str | Path) -> str:
    """The import path of a file: its stem, under the packages (``__init__.py``) around it."""
    path = Path(path).resolve()
    parts = [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts)


def _package_root(path: str | Path) -> Path:
    folder = Path(path).resolve().parent
    while (folder / "__init__.py").is_file():
        folder = folder.parent
    return folder


class StaticResolver:
    """Resolves calls by reading source files (``sct transform``); runs nothing."""

    _files: dict[str, SourceFile] = {}

    def __init__(self, file: SourceFile, module: str | None = None, roots: list[Path] | None = None):
        self.file = file
        self.module = module or module_name(file.filename)
        self.roots = roots or [_package_root(file.filename), Path.cwd()]

    def known_names(self) -> set[str]:
        from .pipeline import module_level_names

        return module_level_names(self.file)

    def _find(self, module: str) -> SourceFile | None:
        rel = Path(*module.split("."))
        for root in self.roots:
            for candidate in (root / rel.with_suffix(".py"), root / rel / "__init__.py"):
                if candidate.is_file():
                    key = str(candidate)
                    if key not in self._files:
                        self._files[key] = read_file(candidate)
                    return self._files[key]
        return None

    def resolve(self, fs: FunctionSource, func: cst.BaseExpression) -> Callee | None:
        for qualified in sorted(fs.file.qualified_names(func)):
            module, _, name = qualified.rpartition(".")
            if not module:
                if fs.file is self.file:
                    found = self._in_file(self.file, self.module, name, fs, func)
                    if found is not None:
                        return found
                continue
            if module == self.module:
                target = self
            else:
                other = self._find(module)
                if other is None:
                    continue
                target = StaticResolver(other, module, self.roots)
            found = target._in_file(target.file, module, name, fs, func)
            if found is not None:
                return found
        return None

    def _in_file(self, file: SourceFile, module: str, name: str, fs: FunctionSource, func: cst.BaseExpression) -> Callee | None:
        top = file.top_level_functions()
        node = top.get(name)
        if node is not None and not _is_primitive_def(file, node):
            return _function_callee(FunctionSource(file, node), module, self if file is self.file else StaticResolver(file, module, self.roots))
        declared = node is not None or _primitive_assignment(file, name)
        if not declared:
            return None
        partials = _partials_def(file, name)
        if partials is None:
            raise RuleError(
                f"the primitive `{name}` has no partials",
                fs.file.location(func),
                f"register them in {file.filename}: `@{name}.partials` on a function returning one partial per argument",
            )
        got = [p.name.value for p in partials.params.params]
        if node is not None:
            want = [p.name.value for p in node.params.params]
            if len(want) != len(got):
                raise RuleError(
                    f"`{partials.name.value}` takes {len(got)} argument(s) but the primitive `{name}` takes {len(want)}",
                    file.location(partials),
                    f"write `def {partials.name.value}({', '.join(want)}):` returning one partial per argument",
                )
        _register(module, name, got, module, partials.name.value)
        return Callee(PRIMITIVE, module, name, tuple(f"a{i}" for i in range(len(got))))


def is_rule_def(file: SourceFile, node: cst.FunctionDef) -> bool:
    """A primitive or its partials: a rule, not a function to differentiate."""
    return _is_primitive_def(file, node) or any(
        isinstance(d.decorator, cst.Attribute) and d.decorator.attr.value == "partials" for d in node.decorators
    )


def _is_primitive_def(file: SourceFile, node: cst.FunctionDef) -> bool:
    return any(file.qualified_names(d.decorator) & _PRIMITIVE_NAMES for d in node.decorators)


def _primitive_assignment(file: SourceFile, name: str) -> bool:
    """``name = sct.primitive(...)`` at the top level of ``file``."""
    for stmt in file.module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if (
                    isinstance(small, cst.Assign)
                    and any(isinstance(t.target, cst.Name) and t.target.value == name for t in small.targets)
                    and isinstance(small.value, cst.Call)
                    and file.qualified_names(small.value.func) & _PRIMITIVE_NAMES
                ):
                    return True
    return False


def _partials_def(file: SourceFile, name: str) -> cst.FunctionDef | None:
    for node in file.top_level_functions().values():
        for d in node.decorators:
            dec = d.decorator
            if isinstance(dec, cst.Attribute) and dec.attr.value == "partials" and isinstance(dec.value, cst.Name) and dec.value.value == name:
                return node
    return None
