"""sct.scope resolves names as libcst's QualifiedNameProvider does, or leaves the statement to it.

The specification is libcst's own answer: on every name of a corpus of files
(the samples, the benchmark's cases, the golden outputs, sct's own modules and
a file of awkward bindings), wherever :mod:`sct.scope` gives a table, each
entry equals libcst's. Where it cannot, it says so (None), and
:class:`sct.source.SourceFile` asks libcst.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import QualifiedNameProvider

from sct import scope
from sct.source import nodes, parse

ROOT = Path(__file__).resolve().parent.parent

AWKWARD = '''
import math
import numpy as np
import os.path as osp
from math import sin, cos as c
from . import rel
from .mod import thing
from ..up.pkg import other
import sct

C = 2.0
a, (b, *rest) = 1, (2, 3, 4)
C += 1
D: float = 3.0
try:
    import scipy as sp
except ImportError:
    sp = None
    np = None
else:
    E = 1
finally:
    F = 2
if C > 1:
    G = 1
elif C:
    H = 2
else:
    for I in range(3):
        pass
while False:
    J = 1
with open("x") as (K, L):
    pass
if True: M = 1
import sys; argv = sys.argv + [helper]
early = later_function
x1 = C + 1
x1 = x1 + 1


def helper(v):
    return v


class Model:
    pass


@later_decorator
@sct.primitive
def f(x, y=C, *args, z: float = D, w=LATER, **kw) -> float:
    u = x.T + np.exp(y) + math.sin(x) + sin(x) + c(x) + osp.join(x) + sp.special.erf(x)
    w = helper(u) + C + max(x, y) + Model + undefined + sct.relu(u) + math.pi + np.linalg.norm(u)
    w = w + rel.q + thing + other + a + rest + sum([1, 2], start=0) + args + kw + z
    for i in range(3):
        w += i
    (p, q), r = (1, 2), 3
    s: float = p
    with open("f") as fh:
        pass
    try:
        pass
    except ValueError as err:
        pass
    return w[0].sum().real + f(x, y) + sct + math + G + H + I + J + K + M + p + q + r + s + fh + err

relu2 = sct.primitive(lambda x: x)
g = sct.primitive(helper)
LATER = 1


def later_function(v):
    return v + later_decorator(v)


def later_decorator(fn):
    return fn
'''


def _corpus() -> list[tuple[str, str]]:
    files = sorted(
        [*ROOT.glob("samples/**/*.py"), *ROOT.glob("tests/golden/**/*.py"), *ROOT.glob("sct/*.py"), ROOT / "bench" / "cases.py"]
    )
    return [(str(p.relative_to(ROOT)), p.read_text()) for p in files] + [("awkward.py", AWKWARD)]


def _libcst_names(found: object) -> set[str]:
    if not isinstance(found, (set, frozenset)):
        found = found()  # type: ignore[operator]
    return {q.name for q in found}  # type: ignore[union-attr]


@pytest.mark.parametrize("name,text", _corpus(), ids=[n for n, _ in _corpus()])
def test_every_name_resolves_as_libcst_resolves_it(name: str, text: str) -> None:
    file = parse(text, name)
    bindings = scope.module_bindings(file.module, text)
    expected = file.wrapper.resolve(QualifiedNameProvider)
    if bindings is None:  # a file-wide rule (`global`, `:=`): SourceFile asks libcst for every name
        for node in nodes(file.module):
            if isinstance(node, (cst.Name, cst.Attribute)) and node in expected:
                assert file.qualified_names(node) == _libcst_names(expected[node])
        return
    compared = 0
    for index, stmt in enumerate(file.module.body):
        table = scope.qualified_table(stmt, index, bindings)
        if table is None:
            continue
        for node in nodes(stmt):  # every node, as libcst names calls, subscripts, defs and decorators too
            want = _libcst_names(expected[node]) if node in expected else set()
            assert set(table.get(node, frozenset())) == want, cst.Module([]).code_for_node(node)
            compared += 1
    assert compared > 0


def test_the_corpus_mostly_takes_the_fast_path() -> None:
    """Every function of the samples and the benchmark is resolved without libcst."""
    for path in [*ROOT.glob("samples/**/*.py"), ROOT / "bench" / "cases.py"]:
        file = parse(path.read_text(), str(path))
        bindings = scope.module_bindings(file.module, file.text)
        assert bindings is not None, path
        for index, stmt in enumerate(file.module.body):
            if isinstance(stmt, cst.FunctionDef):
                assert scope.qualified_table(stmt, index, bindings) is not None, (path, stmt.name.value)


def test_awkward_bindings_are_modelled() -> None:
    file = parse(AWKWARD, "awkward.py")
    bindings = scope.module_bindings(file.module, AWKWARD)
    assert bindings is not None
    assert {q for _, q in bindings["np"]} == {"numpy", "np"}  # imported, then rebound in an except
    assert {q for _, q in bindings["c"]} == {"math.cos"}
    assert {q for _, q in bindings["other"]} == {"..up.pkg.other"}
    assert {q for _, q in bindings["rest"]} == {"rest"}


@pytest.mark.parametrize(
    "text",
    [
        "x = 1\ndef f():\n    global x\n    x = 2\n    return x\n",
        "from math import *\ndef f(x):\n    return sin(x)\n",
        "import os.path\ndef f(x):\n    return os.sep\n",
        "def f(x):\n    return x\ndel f\n",
        "def f(x):\n    return (y := x)\n",
        "match 1:\n    case 1:\n        pass\n",
    ],
    ids=["global", "star import", "dotted import", "del", "walrus", "match"],
)
def test_files_only_libcst_resolves(text: str) -> None:
    assert scope.module_bindings(parse(text, "m.py").module, text) is None


@pytest.mark.parametrize(
    "body",
    [
        "    def g(y):\n        return y\n    return g(x)\n",
        "    return sum([v for v in (x, x)])\n",
        "    g = lambda v: v\n    return g(x)\n",
        "    import math\n    return math.sin(x)\n",
        "    class K:\n        pass\n    return x\n",
    ],
    ids=["nested def", "comprehension", "lambda", "local import", "local class"],
)
def test_statements_only_libcst_resolves(body: str) -> None:
    text = "def f(x):\n" + body
    file = parse(text, "m.py")
    bindings = scope.module_bindings(file.module, text)
    assert bindings is not None
    assert scope.qualified_table(file.module.body[0], 0, bindings) is None


def test_a_class_statement_goes_to_libcst() -> None:
    text = "class K:\n    def m(self, x):\n        return x\n"
    file = parse(text, "m.py")
    assert scope.qualified_table(file.module.body[0], 0, scope.module_bindings(file.module, text) or {}) is None


MATCHING = """
match p:
    case {"k": v, **rest}:
        pass
    case Point(x=a, y=0) as q:
        pass
    case [first, *others]:
        pass
global g
f"{(w := 1)!r:>{width}}"
"""


@pytest.mark.parametrize("name,text", [*_corpus(), ("matching.py", MATCHING)], ids=[n for n, _ in _corpus()] + ["matching"])
def test_identifiers_are_libcsts_names(name: str, text: str) -> None:
    # the names generated code must avoid, read from Python's own tree
    file = parse(text, name)
    assert file.positions.tree is not None
    assert scope.identifiers(file.positions.tree) == {n.value for n in nodes(file.module) if isinstance(n, cst.Name)}
