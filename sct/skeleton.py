"""Skeleton: the user's file with the bodies a transform will not read left out, line for line.

Contract: :func:`skeleton` returns the file's text in which the body of every
top-level function and class but the one holding line ``keep`` is replaced by
one string over the same lines, so that every line keeps its number and every
statement left whole keeps its text; and the first lines (``def`` or
``class``) of the statements it cut. libcst parses the skeleton in a fraction
of the time: parsing was the largest part of a first transform, and grew with
the file while the function did not. :meth:`sct.source.SourceFile.whole`
parses the rest when something outside the kept function is read (a callee
in the same file).

None when the file is not one this models: a ``global`` or ``nonlocal``
statement (which binds module names from inside a body), no top-level
statement holding ``keep``, or nothing to leave out.
"""

from __future__ import annotations

import ast
import re

_BINDS_FROM_INSIDE = re.compile(r"\bglobal\b|\bnonlocal\b")
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def skeleton(text: str, tree: ast.Module, keep: int) -> tuple[str, frozenset[int]] | None:
    """``text`` with the other definitions' bodies cut, and the lines their ``def``/``class`` is on."""
    if _BINDS_FROM_INSIDE.search(text):
        return None
    lines = text.splitlines(keepends=True)
    cut: set[int] = set()
    kept = False
    for stmt in tree.body:
        first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", ())])
        last = stmt.end_lineno or stmt.lineno
        if first <= keep <= last:
            kept = True
            continue
        if isinstance(stmt, _DEFINITIONS) and _cut(lines, stmt):
            cut.add(stmt.lineno)
    if not kept or not cut:
        return None
    return "".join(lines), frozenset(cut)


def _cut(lines: list[str], stmt: ast.stmt) -> bool:
    """Replace ``stmt``'s body in ``lines`` by a string (``pass`` on one line); False if it shares a line with its header."""
    body = stmt.body  # type: ignore[attr-defined]
    start, end = body[0].lineno, stmt.end_lineno or body[0].lineno
    line = lines[start - 1]
    indent = line.encode()[: body[0].col_offset]
    if start == stmt.lineno or indent.strip() or not indent:  # `def f(): pass`, or a header's last line
        return False
    pad = indent.decode()
    endings = {n: lines[n - 1][len(lines[n - 1].rstrip("\r\n")) :] or "\n" for n in range(start, end + 1)}
    if start == end:
        lines[start - 1] = pad + "pass" + endings[start]
        return True
    for number in range(start, end + 1):  # one string over the body's lines: one token for libcst, not a node a line
        lines[number - 1] = endings[number]
    lines[start - 1] = pad + '"""' + endings[start]
    lines[end - 1] = pad + '"""' + endings[end]
    return True
