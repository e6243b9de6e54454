"""A file is parsed whole only where a transform reads it (sct.skeleton, SourceFile.whole).

Specification: for every top-level statement of every file of a corpus, the
skeleton kept for it parses to the same statement (its code, its lines), the
other definitions' bodies are left out, and :meth:`SourceFile.whole` then
gives exactly the file (its code) while keeping the nodes handed out before.
A callee in the same file, a method, and an error inside the kept function
work as with a whole parse.
"""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import pytest
from helpers import REPO, SAMPLES

from sct import skeleton, source

FILES = sorted(SAMPLES.glob("**/*.py")) + [REPO / "bench" / "cases.py"] + sorted((REPO / "sct").glob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_skeleton_keeps_its_statement_and_whole_gives_the_file(path: Path) -> None:
    text = path.read_text()
    full = source.parse(text, str(path))
    kept_any = False
    for index, stmt in enumerate(ast.parse(text).body):
        if not isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
            continue
        file = source.parse(text, str(path), keep=stmt.lineno)
        if not file.cut:
            assert skeleton.skeleton(text, ast.parse(text), stmt.lineno) is None
            continue
        kept_any = True
        mine = next(s for s in file.module.body if file.line(s) == stmt.lineno)
        theirs = next(s for s in full.module.body if full.line(s) == stmt.lineno)
        assert file.module.code_for_node(mine) == full.module.code_for_node(theirs)
        assert stmt.lineno not in file.cut
        assert all(file.line(n) == full.line(m) for n, m in zip(source.nodes(mine), source.nodes(theirs)) if isinstance(n, cst.BaseStatement))
        file.whole()
        assert file.module.code == text and not file.cut
        assert any(s is mine for s in file.module.body)  # handed-out nodes are the whole file's
    definitions = [s for s in ast.parse(text).body if isinstance(s, (ast.FunctionDef, ast.ClassDef))]
    assert kept_any or len(definitions) < 2 or "global" in text  # else there is always a body to leave out


CALLER = '''import math


def helper(v):
    """A callee in the same file: its body is parsed when the caller's transform reads it."""
    return math.sin(v) * v


class Model:
    def scale(self, x):
        return 2.0 * x


def caller(x):
    return helper(x) + x * x
'''


def test_a_callee_in_the_same_file_is_read_whole(load) -> None:
    d = load(CALLER, name="caller")
    file = d.transformed.source.file
    x = 0.7
    assert d.grad(x) == pytest.approx(math_grad(x))
    assert not file.cut  # reading helper's body parsed the rest


def math_grad(x: float) -> float:
    import math

    return math.cos(x) * x + math.sin(x) + 2 * x


def test_a_function_that_calls_nothing_leaves_the_rest_unparsed(load) -> None:
    d = load(CALLER + "\n\ndef alone(x):\n    return x * x * x\n", name="alone")
    assert d.grad(2.0) == pytest.approx(12.0)
    file = d.transformed.source.file
    assert file.cut  # helper's and Model's bodies were never parsed
    helper = next(s for s in file.module.body if isinstance(s, cst.FunctionDef) and s.name.value == "helper")
    assert "sin" not in file.module.code_for_node(helper)


def test_an_error_in_the_kept_function_is_located_in_the_file(write, tmp_path) -> None:
    import importlib
    import sys

    import sct

    path = write(CALLER + "\n\ndef bad(x):\n    return {'a': x}\n", stem="skel_bad")
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module("skel_bad")
        with pytest.raises(sct.SctError) as raised:
            sct.differentiate(module.bad).adjoint
    finally:
        sys.path.remove(str(tmp_path))
    where = raised.value.location
    assert (where.line, where.column) == (CALLER.count("\n") + 4, 11)
    assert path.read_text().splitlines()[where.line - 1] == where.source_line
