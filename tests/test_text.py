"""sct.text writes an expression exactly as libcst's code generation does.

Specification: for every expression of a corpus (the samples, the golden
outputs, the benchmark's cases, sct's own modules and these tests), the text
equals ``cst.Module([]).code_for_node``; and the corpus's expressions are
mostly written by sct.text itself, not handed back to libcst.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from helpers import REPO

from sct import text
from sct.walk import nodes

FILES = sorted(
    [*REPO.glob("samples/**/*.py"), *REPO.glob("tests/golden/**/*.py"), REPO / "bench" / "cases.py", *REPO.glob("sct/*.py"), *REPO.glob("tests/*.py")]
)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_expression_is_written_as_libcst_writes_it(path: Path) -> None:
    module = cst.parse_module(path.read_text())
    for node in nodes(module):
        if isinstance(node, cst.BaseExpression):
            assert text.code(node) == cst.Module([]).code_for_node(node)


def test_the_generated_codes_expressions_take_the_fast_path() -> None:
    written = handed_back = 0
    for path in sorted(REPO.glob("tests/golden/**/*.py")):
        for node in nodes(cst.parse_module(path.read_text())):
            if isinstance(node, cst.BaseExpression):
                out: list[str] = []
                try:
                    text._write(node, out)
                    written += 1
                except text._Unknown:
                    handed_back += 1
    assert written > 20 * max(handed_back, 1)


@pytest.mark.parametrize(
    "source",
    ["f(a, b=1, *c, **d)", "x[1:2, ::3, i]", "(a,)", "a if b else (c, d)", "not a in b", "a is not b", "[1, 2,]", "f(\n    a,\n)", "x . y"],
)
def test_awkward_expressions(source: str) -> None:
    node = cst.parse_expression(source)
    assert text.code(node) == cst.Module([]).code_for_node(node) == source
