"""Refold: a straight-line function's one-use temporaries, written back into the expression reading them.

Contract: :func:`refold` takes the source of one function whose body is
straight-line assignments under provenance comments (``# line 68: ...``),
as :mod:`sct.firstcall` writes it, and returns it with each *temporary*
folded into its one reader: ``t1 = X @ W1; t2 = t1 + b1; H = np.tanh(t2)``
becomes ``H = np.tanh(X @ W1 + b1)``. A temporary is a name assigned once,
read once, both in the same group of statements (those under one comment),
and not that group's last statement (which, in the forward sweep, is the
user's own variable). Parentheses are added only where precedence needs
them, and a fold that would make a line longer than black's 88, or change how
black spaces a power (``x**2``, ``(a * b) ** 2``), is not done.

Why: NumPy frees an intermediate array as soon as nothing names it, so the
next one reuses memory that is still in cache; a normalized forward sweep
names every intermediate, and keeps each alive until the function returns
(measured: about 3% of the MLP's gradient). The numbers do not change: the
same operations run on the same operands in the same order.
"""

from __future__ import annotations

import ast

# binding strength of binary operators, as in Python's grammar (higher binds tighter)
_PRECEDENCE = {
    ast.BitOr: 1, ast.BitXor: 2, ast.BitAnd: 3, ast.LShift: 4, ast.RShift: 4, ast.Add: 5, ast.Sub: 5,
    ast.Mult: 6, ast.MatMult: 6, ast.Div: 6, ast.FloorDiv: 6, ast.Mod: 6, ast.Pow: 8,
}  # fmt: skip
_UNARY = 7  # -x, +x, ~x: between the products and **
_SIMPLE = (ast.Name, ast.Attribute, ast.Constant)  # black's "simple" operands of **
ATOMS = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant, ast.Tuple, ast.List)  # never need parentheses


def _strength(node: ast.AST) -> int | None:
    """How tightly ``node`` binds; None for what is never folded (comparisons, and/or, ...)."""
    if isinstance(node, ATOMS):
        return 9
    if isinstance(node, ast.BinOp):
        return _PRECEDENCE[type(node.op)]
    if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not):
        return _UNARY
    return None


def _needs_parens(value: ast.AST, parent: ast.AST, name: ast.Name) -> bool:
    """Whether ``value`` written where ``name`` is (a child of ``parent``) needs parentheses."""
    strength = _strength(value)
    if isinstance(parent, ast.Call) and parent.func is name:
        return strength != 9
    if strength == 9 or isinstance(parent, (ast.Assign, ast.Return, ast.Call, ast.keyword, ast.Tuple, ast.List)):
        return False
    if isinstance(parent, ast.BinOp):
        outer = _PRECEDENCE[type(parent.op)]
        if isinstance(parent.op, ast.Pow):  # right-associative, and binds tighter than a unary minus on its left
            return not (strength == 9 or (parent.right is name and strength >= _UNARY))
        return strength < outer or (strength == outer and parent.right is name)
    if isinstance(parent, ast.UnaryOp):
        return strength < _UNARY
    return True  # the value of an attribute or subscript, or anything else


def _groups(lines: list[str], body: list[ast.stmt]) -> list[int]:
    """For each statement, the number of comment lines before it: equal numbers, one group."""
    comments = [i + 1 for i, line in enumerate(lines) if line.lstrip().startswith("#")]
    return [sum(1 for c in comments if c < stmt.lineno) for stmt in body]


def _one_fold(source: str) -> str | None:
    fn = ast.parse(source).body[0]
    assert isinstance(fn, ast.FunctionDef)
    lines, starts, data = source.splitlines(), offsets(source), source.encode("utf-8")
    body = fn.body
    group = _groups(lines, body)
    stores: dict[str, int] = {}
    stored_in: list[set[str]] = [set() for _ in body]
    loads: dict[str, list[tuple[ast.Name, ast.AST, int]]] = {}
    for k, stmt in enumerate(body):
        for parent in ast.walk(stmt):
            for child in ast.iter_child_nodes(parent):
                if isinstance(child, ast.Name):
                    if isinstance(child.ctx, ast.Store):
                        stores[child.id] = stores.get(child.id, 0) + 1
                        stored_in[k].add(child.id)
                    else:
                        loads.setdefault(child.id, []).append((child, parent, k))
    params = {a.arg for a in fn.args.args}
    for k, stmt in enumerate(body[:-1]):
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            continue
        name = stmt.targets[0].id
        if name in params or stores.get(name) != 1 or len(loads.get(name, [])) != 1 or _strength(stmt.value) is None:
            continue
        node, parent, reader = loads[name][0]
        if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Pow) and not isinstance(stmt.value, _SIMPLE):
            continue  # black writes x**2 but (a * b) ** 2: the reader's spacing would change
        if reader <= k or group[reader] != group[k] or group[k + 1] != group[k]:
            continue  # read in another group, or the group's last statement (the user's variable)
        read = {n.id for n in ast.walk(stmt.value) if isinstance(n, ast.Name)}
        if read & set().union(*stored_in[k + 1 : reader]):
            continue  # a name the value reads changes before its reader runs
        text = segment(data, starts, stmt.value)
        if _needs_parens(stmt.value, parent, node):
            text = f"({text})"
        if node.lineno != node.end_lineno or len(lines[node.lineno - 1]) + len(text) - len(name) > 88:
            continue
        return replaced(data, [span(node, starts) + (text,), (starts[stmt.lineno - 1], starts[stmt.end_lineno], "")])  # type: ignore[attr-defined]
    return None


def refold(source: str) -> str:
    """``source`` with every temporary folded into its reader, one at a time until none is left."""
    while (folded := _one_fold(source)) is not None:
        source = folded
    return source


# ---- text spans of ast nodes (ast's columns count UTF-8 bytes) ----


def offsets(source: str) -> list[int]:
    """The byte offset where each line of ``source`` starts, and its length at the end."""
    starts, total = [0], 0
    for line in source.splitlines(keepends=True):
        total += len(line.encode("utf-8"))
        starts.append(total)
    return starts


def span(node: ast.AST, starts: list[int]) -> tuple[int, int]:
    """A node's byte span in the source."""
    return starts[node.lineno - 1] + node.col_offset, starts[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined]


def segment(data: bytes, starts: list[int], node: ast.AST) -> str:
    """A node's text (``ast.get_source_segment`` splits the whole source on every call)."""
    begin, end = span(node, starts)
    return data[begin:end].decode("utf-8")


def replaced(data: bytes, edits: list[tuple[int, int, str]]) -> str:
    """The text with each byte span replaced, the edits not overlapping."""
    for start, end, text in sorted(edits, reverse=True):
        data = data[:start] + text.encode("utf-8") + data[end:]
    return data.decode("utf-8")
