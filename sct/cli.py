"""CLI: ``sct transform``, ``sct table``, ``sct graph``, ``sct order`` and ``sct check``.

Contract: the CLI reads files with libcst and never imports or runs them.
Success exits 0. A problem with the input exits 1 with one clean diagnostic on
stderr (``file:line:col``, the source line, a caret, what to do); bad
command-line usage exits 2. A bug inside sct exits 3 and says so. No Python
traceback reaches the user.
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

from . import calls, emit, pipeline, source
from .errors import InternalError, SctError, UsageError
from .names import Namer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sct", description="Source-transformation automatic differentiation for Python."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("transform", help="write the tangent and/or adjoint of functions in FILE")
    t.add_argument("file", metavar="FILE")
    t.add_argument("--function", "-f", action="append", metavar="NAME", help="a function to transform (repeatable; default: all)")
    t.add_argument("--mode", choices=("tangent", "adjoint", "both"), default="both")
    t.add_argument("--wrt", metavar="A,B", help="parameters to differentiate (default: all)")
    t.add_argument("--stage", choices=("normalize", "output"), default="output", help="print the normalized program instead")
    t.add_argument("--heaviside0", type=_number, default=1, metavar="H", help="heaviside(0), the convention at every kink (default 1; 0.5, 0)")
    t.add_argument("--warn-kinks", action="store_true", help="generated code warns (sct.KinkWarning) when a run lands on a kink")
    t.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of stdout")

    tb = sub.add_parser("table", help="print the exercise's table (values, partials, tangents, adjoints)")
    tb.add_argument("file", metavar="FILE")
    tb.add_argument("--function", "-f", required=True, metavar="NAME")
    tb.add_argument("--at", required=True, metavar="x=5,w=2,...", help="the point: a value for every parameter")
    tb.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    tb.add_argument("--exact", action="store_true", help="exact arithmetic: --at values as fractions (5, -3, 1/2, 2.5)")
    tb.add_argument("-o", "--output", metavar="OUT")

    g = sub.add_parser("graph", help="draw the computational graph (DOT, Mermaid or SVG)")
    g.add_argument("file", metavar="FILE")
    g.add_argument("--function", "-f", required=True, metavar="NAME")
    g.add_argument("--at", metavar="x=5,w=2,...", help="evaluate at this point (needed for loops and branches)")
    g.add_argument("--seed", metavar="NAME", help="the parameter whose tangent the vertices show (default: the first)")
    g.add_argument("--exact", action="store_true", help="exact arithmetic: --at values as fractions")
    g.add_argument("--format", choices=("dot", "mermaid", "svg"), default="dot")
    g.add_argument("-o", "--output", metavar="OUT")

    o = sub.add_parser("order", help="derive an execution order from the graph, and the adjoint's reverse order")
    o.add_argument("file", metavar="FILE")
    o.add_argument("--function", "-f", required=True, metavar="NAME")
    o.add_argument("--at", metavar="x=5,w=2,...", help="unroll loops and branches at this point (needed for them)")
    o.add_argument("-o", "--output", metavar="OUT")

    c = sub.add_parser("check", help="check the derivatives against finite differences (never runs FILE)")
    c.add_argument("file", metavar="FILE")
    c.add_argument("--function", "-f", required=True, metavar="NAME")
    c.add_argument("--at", required=True, metavar="x=5,n=3,...", help="the point; a value written as an integer stays an int")
    c.add_argument("--wrt", metavar="A,B", help="parameters to check (default: all; leave out loop counts)")
    c.add_argument("--seed", type=int, default=0, help="seed of the random directions (default 0)")
    c.add_argument("-o", "--output", metavar="OUT")
    return parser


def _number(text: str) -> Any:
    """``1`` -> 1, ``0.5`` -> 0.5, ``1/2`` -> Fraction(1, 2): kept as written, so exact code stays exact."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text) if "/" not in text else Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def transform_file(
    path: str, functions: Sequence[str] | None, mode: str, wrt: str | None, heaviside0: Any = 1, warn_kinks: bool = False
) -> str:
    """The generated module for the requested functions of ``path``."""
    file = source.read_file(path)
    chosen = source.select_functions(file, list(functions or []))
    if not functions:  # primitives and their partials are rules, not functions to differentiate
        chosen = [fs for fs in chosen if not calls.is_rule_def(file, fs.node)]
    modes = ("tangent", "adjoint") if mode == "both" else (mode,)
    taken = pipeline.file_names(file)
    bindings, lines = pipeline.module_imports(file)
    resolver = calls.StaticResolver(file)
    # the generated module imports the user's functions it calls from the user's module
    imports = emit.Imports(
        taken, bindings, lines, pipeline.module_constants(file), own_module=resolver.module, import_own=True
    )
    linker = pipeline.Linker(file, Namer(taken), imports)
    parts: list[str] = []
    for fs in chosen:  # each function named as the decorator would name it
        result = pipeline.transform(
            fs, wrt, modes, namer=Namer(taken | set(linker.names.values())), imports=imports, resolver=resolver,
            linker=linker, heaviside0=heaviside0, warn_kinks=warn_kinks,
        )
        parts.extend(result.functions_source())
    return emit.module_source(path, parts, imports)


def normalized_file(path: str, functions: Sequence[str] | None) -> str:
    file = source.read_file(path)
    out = []
    for fs in source.select_functions(file, list(functions or [])):
        out.append(pipeline.transform(fs, modes=()).normalized_source)
    return "\n\n".join(out)


def parse_exact_point(text: str, params: Sequence[str], function: str, keep_ints: bool = False) -> dict[str, Any]:
    """``x=5,w=1/2`` -> {"x": Fraction(5), "w": Fraction(1, 2)} (``--exact``).

    With ``keep_ints``, a value written as an integer is an int (a loop count
    stays a count, ``range(n)`` works) and any other is a float.
    """
    point: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = (part.strip() for part in item.partition("="))
        if not sep:
            raise UsageError(f"--at expects name=value pairs, got {item!r}", hint="write --at x=5,w=2")
        if name not in params:
            raise UsageError(f"--at names {name!r}, not a parameter of {function!r}", hint=f"parameters: {', '.join(params)}")
        try:
            if keep_ints:
                point[name] = int(value) if value.lstrip("+-").isdigit() else float(value)
            else:
                point[name] = Fraction(value)
        except (ValueError, ZeroDivisionError):
            hint = "give a decimal number such as 2.5" if keep_ints else "give an integer, a decimal (2.5) or a fraction (1/3)"
            raise UsageError(f"--at {name}={value}: not a number", hint=hint) from None
    missing = [p for p in params if p not in point]
    if missing:
        raise UsageError(f"--at gives no value for {', '.join(missing)}", hint=f"give every parameter: {', '.join(params)}")
    return point


def _one_function(path: str, name: str) -> source.FunctionSource:
    (fs,) = source.select_functions(source.read_file(path), [name])
    return fs


def _write(text: str, output: str | None) -> None:
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror}") from None
    else:
        sys.stdout.write(text)


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "transform":
        if args.stage == "normalize":
            _write(normalized_file(args.file, args.function), args.output)
        else:
            _write(transform_file(args.file, args.function, args.mode, args.wrt, args.heaviside0, args.warn_kinks), args.output)
    elif args.command == "table":
        from . import table

        file = source.read_file(args.file)
        (fs,) = source.select_functions(file, [args.function])
        point = parse_exact_point(args.at, fs.params, fs.name, keep_ints=not args.exact)
        _write(table.render(table.build(fs, point, exact=args.exact), args.format), args.output)
    elif args.command == "graph":
        from . import graph

        fs = _one_function(args.file, args.function)
        at = None if args.at is None else parse_exact_point(args.at, fs.params, fs.name, keep_ints=not args.exact)
        _write(graph.render(graph.build(fs, at, args.seed, exact=args.exact), args.format), args.output)
    elif args.command == "order":
        from . import order

        fs = _one_function(args.file, args.function)
        at = None if args.at is None else parse_exact_point(args.at, fs.params, fs.name, keep_ints=True)
        _write(order.render(order.derive(fs, at)), args.output)
    elif args.command == "check":
        from . import gradcheck

        fs = _one_function(args.file, args.function)
        at = parse_exact_point(args.at, fs.params, fs.name, keep_ints=True)
        _write(str(gradcheck.check_source(fs, at, wrt=args.wrt, seed=args.seed)), args.output)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(argv)
    except SctError as exc:
        print(exc.render(), file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1
    except InternalError as exc:
        print(f"internal error in sct (a bug; please report it with your input): {exc}", file=sys.stderr)
        return 3
    except Exception as exc:  # noqa: BLE001 - any other failure is a bug in sct too
        print(f"internal error in sct (a bug; please report it with your input): {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:  # argparse has printed the usage and the problem
        return exc.code if isinstance(exc.code, int) else 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
