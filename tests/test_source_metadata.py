"""Names resolved one top-level statement at a time (issue 7's transform time).

Specification: :meth:`SourceFile.qualified_names` and :meth:`SourceFile.parent`
analyse only the statement that holds a node (the file's other functions and
classes emptied), and answer exactly what libcst's analysis of the whole
file answers, for every node of every top-level function of every sample, of
the benchmark's cases and of sct's own modules; a file with a ``global``
statement is analysed whole. :attr:`SourceFile.positions` tracks one
top-level statement at a time and gives every node of the file the range
libcst's tracking of the whole file gives it.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from helpers import REPO, SAMPLES
from libcst.metadata import MetadataWrapper, ParentNodeProvider, PositionProvider, QualifiedNameProvider

from sct import source, walk

FILES = sorted(SAMPLES.glob("*.py")) + [REPO / "bench" / "cases.py"] + sorted((REPO / "sct").glob("*.py"))


def _names(found) -> set[str]:
    if found is None:
        return set()
    return {q.name for q in (found if isinstance(found, (set, frozenset)) else found())}


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_answers_equal_the_whole_files(path: Path) -> None:
    file = source.read_file(path)
    whole = MetadataWrapper(file.module, unsafe_skip_copy=True)
    qualified, parents = whole.resolve(QualifiedNameProvider), whole.resolve(ParentNodeProvider)
    # every node of every top-level function: what sct asks about (a file of many top-level
    # calls, like rules.py, would otherwise be analysed once per call)
    functions = [s for s in file.module.body if isinstance(s, cst.FunctionDef)]
    for node in (n for f in functions for n in source.nodes(f)):
        assert file.qualified_names(node) == _names(qualified.get(node)), (path, file.location(node))
        assert file.parent(node) is parents.get(node), (path, type(node).__name__)


def test_a_global_statement_means_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "g.py"
    path.write_text("import math\n\n\ndef setup():\n    global sin\n    sin = math.cos\n\n\ndef f(x):\n    return sin(x)\n")
    file = source.read_file(path)
    call = next(n for n in source.nodes(file.module) if type(n).__name__ == "Call")
    assert file.qualified_names(call.func) == {"sin"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_children_are_libcsts_children(path: Path) -> None:
    # source.children reads dataclass fields instead of running libcst's visitor: the same nodes
    module = source.read_file(path).module
    count = 0
    for node in source.nodes(module):
        ours, libcsts = source.children(node), list(node.children)
        assert len(ours) == len(libcsts) and {id(n) for n in ours} == {id(n) for n in libcsts}, type(node).__name__
        count += 1
    assert count > 10


ODD_LAYOUT = """#!/usr/bin/env python
# a header comment

import math ; import sys
@staticmethod
# a comment between decorator and def
def f(x):
  if x: y = 1
  return math.sin(x)  # trailing


class K: pass
for i in (1,):
    try:
        pass
    except ValueError as e:  pass
    else:
        pass
    finally:
        j = 2
else:
    with open("f") as g: pass
while False:
    if i: pass
    elif j:
        pass
    else: k = 1
x = (1,
     2); z = 3
# a footer comment
"""


@pytest.mark.parametrize("path", FILES + ["odd layout"], ids=lambda p: p if isinstance(p, str) else f"{p.parent.name}/{p.name}")
def test_positions_equal_the_whole_files(path: Path | str) -> None:
    text = ODD_LAYOUT if isinstance(path, str) else path.read_text()
    file = source.parse(text, "m.py")
    whole = MetadataWrapper(file.module, unsafe_skip_copy=True).resolve(PositionProvider)
    functions = [s for s in file.module.body if isinstance(s, cst.FunctionDef)] or file.module.body[-1:]
    for node in source.nodes(functions[-1]):  # what a transform asks about: one function
        assert file.positions[node] == whole[node], (type(node).__name__, whole[node])
    assert not file.positions._whole  # ... without tracking the whole file
    lines = source.parse(text, "m.py")  # statements' lines come from ast, without tracking
    tracked = MetadataWrapper(lines.module, unsafe_skip_copy=True).resolve(PositionProvider)
    for node in source.nodes(lines.module):
        if isinstance(node, (cst.BaseStatement, cst.BaseSmallStatement, cst.Decorator)):
            assert lines.line(node) == tracked[node].start.line, type(node).__name__
    assert not lines.positions._done and not lines.positions._whole
    for node, where in whole.items():
        assert node in file.positions
        assert file.positions[node] == where, (type(node).__name__, where)
    assert cst.Name("made_by_sct") not in file.positions


_LAYOUT = (  # whitespace, punctuation and operator tokens: no visitor of sct's looks at them
    cst.BaseParenthesizableWhitespace, cst.TrailingWhitespace, cst.EmptyLine, cst.Newline, cst.Comment,
    cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket, cst.LeftCurlyBrace,
    cst.RightCurlyBrace, cst.Comma, cst.Dot, cst.Colon, cst.Semicolon, cst.AssignEqual, cst.ImportStar,
    cst.BaseBinaryOp, cst.BaseCompOp, cst.BaseUnaryOp, cst.BaseBooleanOp, cst.BaseAugOp,
)


class _Recorder(cst.CSTVisitor):
    """Records the nodes it is shown; skips what is under a Call's arguments (a False return)."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if not isinstance(node, _LAYOUT):
            self.seen.append(id(node))
        return not isinstance(node, cst.Arg)


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_run_visitor_visits_as_libcst_visits(path: Path) -> None:
    # sct.walk.run_visitor replaces node.visit(visitor) for visitors that only read: the same
    # nodes, and the syntax (not the layout tokens between it) in the same order
    module = source.read_file(path).module
    ours, libcsts = _Recorder(), _Recorder()
    walk.run_visitor(module, ours)
    module.visit(libcsts)
    assert ours.seen == libcsts.seen
