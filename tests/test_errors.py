"""Bad input: one located, clean diagnostic per problem, through the API and the CLI.

Each case below writes a module whose function ``f`` holds one problem. The
character ``‸`` marks where the diagnostic must point; it is removed before
the file is written. The error's class, message, line and 0-based column are
asserted; its rendering is ``file:line:col`` (1-based column), the source
line, and a caret under the column.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO, import_path

import sct
from sct.errors import (
    NoRuleError,
    SctError,
    SourceError,
    SyntaxProblem,
    UndefinedNameError,
    UnsupportedError,
    UsageError,
)

MARK = "‸"


def write_marked(tmp_path: Path, text: str, stem: str = "bad") -> tuple[Path, int, int]:
    """Write ``text`` without its mark; the mark's (1-based line, 0-based column)."""
    assert text.count(MARK) == 1, "one mark per case"
    before = text[: text.index(MARK)]
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1)
    path = tmp_path / f"{stem}.py"
    path.write_text(text.replace(MARK, ""), encoding="utf-8")
    return path, line, column


def in_function(body: str) -> str:
    return f"import math\n\n\ndef f(x, y):\n    {body}\n"


# (id, module text with the mark, error class, message)
CASES = [
    # ---- constructs outside the supported subset
    ("lambda", in_function("g = ‸lambda t: t * x\n    return x"), UnsupportedError,
     "a `lambda` expression is not supported in a differentiated function"),
    ("list-comprehension", in_function("s = ‸[t * x for t in (1, 2)]\n    return x"), UnsupportedError,
     "a list comprehension is not supported in a differentiated function"),
    ("dict-comprehension", in_function("s = ‸{t: x for t in (1, 2)}\n    return x"), UnsupportedError,
     "a dict comprehension is not supported in a differentiated function"),
    ("try", in_function("‸try:\n        z = x / y\n    except ZeroDivisionError:\n        z = x\n    return z"),
     UnsupportedError, "a `try` statement is not supported in a differentiated function"),
    ("with", in_function("‸with open('log.txt') as fh:\n        z = x\n    return z"), UnsupportedError,
     "a `with` statement is not supported in a differentiated function"),
    ("while-else", in_function("while x > 1:\n        x = x / 2\n    ‸else:\n        x = x * 3\n    return x"),
     UnsupportedError, "`while ... else` is not supported"),
    ("for-else", in_function("for i in range(3):\n        x = x * y\n    ‸else:\n        x = x + 1\n    return x"),
     UnsupportedError, "`for ... else` is not supported"),
    ("for-over-parameter", in_function("for t in ‸y:\n        x = x * t\n    return x"), UnsupportedError,
     "a loop over this iterable is not supported"),
    ("if-falls-off-the-end", "import math\n\n\n‸def f(x, y):\n    if x > 0:\n        return x * y\n",
     UnsupportedError, "`f` can reach its end without returning a value"),
    ("yield", in_function("z = ‸yield x\n    return z"), UnsupportedError,
     "`yield` is not supported in a differentiated function"),
    ("global", in_function("‸global counter\n    return x"), UnsupportedError,
     "a `global` statement is not supported in a differentiated function"),
    ("nested-def", in_function("‸def g(t):\n        return t * x\n\n    return x"), UnsupportedError,
     "a nested function definition is not supported in a differentiated function"),
    ("class", in_function("‸class C:\n        pass\n\n    return x"), UnsupportedError,
     "a class definition is not supported in a differentiated function"),
    ("write-into-expression", in_function("‸(x + y)[0] = 1\n    return x"), UnsupportedError,
     "a write into something other than an array held in a name"),
    ("string", in_function("return x * ‸'abc'"), UnsupportedError,
     "a string is not supported in a differentiated function"),
    ("f-string", in_function("z = ‸f'{x}'\n    return x"), UnsupportedError,
     "an f-string is not supported in a differentiated function"),
    ("list", in_function("z = ‸[x, y]\n    return x"), UnsupportedError,
     "a tuple or list held in one variable is not supported"),
    ("list-in-expression", in_function("return x * ‸[x, y][0]"), UnsupportedError,
     "a list is not supported in a differentiated function"),
    ("tuple-variable", in_function("z = (‸x, y)\n    return x"), UnsupportedError,
     "a tuple or list held in one variable is not supported"),
    ("dict", in_function("z = ‸{'x': x}\n    return x"), UnsupportedError,
     "a dict is not supported in a differentiated function"),
    ("complex", in_function("return x * ‸2j"), UnsupportedError,
     "a complex number is not supported in a differentiated function"),
    ("assert", in_function("‸assert x > 0\n    return x"), UnsupportedError,
     "an `assert` statement is not supported in a differentiated function"),
    ("raise", in_function("‸raise ValueError\n    return x"), UnsupportedError,
     "a `raise` statement is not supported in a differentiated function"),
    ("del", in_function("z = x\n    ‸del z\n    return x"), UnsupportedError,
     "a `del` statement is not supported in a differentiated function"),
    ("import-inside", in_function("‸import cmath\n    return x"), UnsupportedError,
     "an `import` inside the function is not supported in a differentiated function"),
    ("attribute", in_function("return ‸x.real * y"), UnsupportedError,
     "the attribute `x.real` is not supported"),
    ("expression-statement", in_function("‸math.sin(x)\n    return x"), UnsupportedError,
     "an expression statement has no effect on the result"),
    ("bare-return", in_function("‸return"), UnsupportedError, "a `return` without a value"),
    ("return-lengths", in_function("if x > 0:\n        return x, y\n    ‸return x"), UnsupportedError,
     "this `return` gives one value where an earlier one gives a tuple of 2"),
    ("star-args", "def f(x, ‸*args):\n    return x\n", UnsupportedError, "*args parameters are not supported"),
    ("star-kwargs", "def f(x, ‸**kw):\n    return x\n", UnsupportedError, "**kwargs parameters are not supported"),
    ("keyword-only", "def f(x, *, ‸y):\n    return x * y\n", UnsupportedError,
     "keyword-only parameters are not supported"),
    ("positional-only", "def f(‸x, /, y):\n    return x * y\n", UnsupportedError,
     "positional-only parameters are not supported"),
    ("keyword-argument", in_function("return math.log(x, ‸base=y)"), UnsupportedError,
     "`math.log` has no keyword `base` sct knows"),
    ("starred-target", in_function("‸a, *b = x, y\n    return a"), UnsupportedError,
     "this assignment target is not supported"),
    ("invert", in_function("return ‸~x"), UnsupportedError, "the operator `~` is not supported here"),
    ("unpack-mismatch", in_function("a, b = ‸x + y\n    return a * b"), UnsupportedError,
     "unpacking into 2 names needs a tuple of 2 values on the right"),
    # ---- operations with no derivative rule
    ("math-gamma", in_function("return ‸math.gamma(x) * y"), NoRuleError, "`math.gamma` has no derivative rule and no Python source sct can read"),
    ("from-math-gamma", "from math import gamma\n\n\ndef f(x):\n    return 1 + ‸gamma(x)\n", NoRuleError,
     "`gamma` has no derivative rule and no Python source sct can read"),
    ("builtin-divmod", in_function("return ‸divmod(x, y)"), NoRuleError,
     "`divmod` has no derivative rule and no Python source sct can read"),
    ("sum-of-a-name", in_function("s = x\n    return ‸sum(s)"), UnsupportedError, "`sum` of something other than a literal tuple or list"),
    ("callee-unsupported", "def g(t):\n    return ‸t.real\n\n\ndef f(x):\n    return g(x) + 1\n", UnsupportedError,
     "the attribute `t.real` is not supported"),
    ("xor", in_function("return ‸x ^ y"), NoRuleError, "the operator `^` has no derivative rule"),
    ("shift", in_function("z = ‸2 * x << 1\n    return z"), NoRuleError, "the operator `<<` has no derivative rule"),
    ("bitand", in_function("return ‸x & y"), NoRuleError, "the operator `&` has no derivative rule"),
    ("wrong-arity", in_function("return ‸math.sin(x, y)"), UnsupportedError,
     "`math.sin` called with 2 arguments; its rule takes 1"),
    ("aug-xor", in_function("‸x ^= y\n    return x"), UnsupportedError,
     "this augmented assignment has no derivative rule"),
    # ---- names
    ("undefined-name", in_function("return x * ‸undefined_thing"), UndefinedNameError,
     "the name `undefined_thing` is not defined"),
    ("undefined-callee", in_function("return ‸no_such_function(x)"), UndefinedNameError,
     "the name `no_such_function` is not defined"),
]


@pytest.fixture(params=[pytest.param(c, id=c[0]) for c in CASES])
def case(request, tmp_path):
    name, text, cls, message = request.param
    path, line, column = write_marked(tmp_path, text)
    return path, line, column, cls, message


def api_error(path: Path) -> SctError:
    module = import_path(path)
    d = sct.differentiate(module.f)
    with pytest.raises(SctError) as info:
        d.tangent  # noqa: B018 - transforming on first use raises
    return info.value


def test_api_error(case) -> None:
    path, line, column, cls, message = case
    error = api_error(path)
    assert type(error) is cls
    assert error.message == message
    assert error.location is not None
    assert (error.location.line, error.location.column) == (line, column)
    assert error.location.filename == str(path)
    assert error.location.source_line == path.read_text().splitlines()[line - 1]
    assert error.hint, "every diagnostic says what to do instead"


def test_rendering(case) -> None:
    path, line, column, cls, message = case
    error = api_error(path)
    source_line = path.read_text().splitlines()[line - 1]
    stripped = source_line.lstrip()
    caret = " " * (column - (len(source_line) - len(stripped))) + "^"
    assert error.render().splitlines() == [
        f"{path}:{line}:{column + 1}: {cls.kind}: {message}",
        f"    {stripped}",
        f"    {caret}",
        f"hint: {error.hint}",
    ]
    assert str(error) == error.render()


def test_cli_error(case, cli) -> None:
    path, line, column, cls, message = case
    result = cli("transform", path)
    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith(f"{path}:{line}:{column + 1}: {cls.kind}: {message}\n")
    assert result.err == api_error(path).render() + "\n"  # exactly one message
    assert "Traceback" not in result.err


# ---- errors with no function to point into ------------------------------------------------------


def test_no_return(tmp_path) -> None:
    path, line, column = write_marked(tmp_path, "‸def f(x):\n    y = x * 2\n")
    error = api_error(path)
    assert type(error) is UnsupportedError
    assert error.message == "`f` has no `return`"
    assert (error.location.line, error.location.column) == (line, column)


def test_decorated_function_error_points_at_the_def_line(tmp_path) -> None:
    text = "import sct\n\n\n@sct.differentiate\ndef f(x):\n    return ‸x.real\n"
    path, line, column = write_marked(tmp_path, text)
    with pytest.raises(UnsupportedError) as info:
        import_path(path).f.adjoint  # noqa: B018
    assert (info.value.location.line, info.value.location.column) == (line, column)


@pytest.mark.parametrize(
    "text, message",
    [
        ("def f(x):\n    y = x +‸* 2\n    return y\n", "this is not valid Python (invalid syntax)"),
        ("def f(x)‸\n    return x\n", "this is not valid Python (expected ':')"),
        ("def f(x):\n    return ‸(x\n", "this is not valid Python ('(' was never closed)"),
        ("def f(x):\n    return x\n      ‸y = 2\n", "this is not valid Python (unexpected indent)"),
        ("def f(x):\n  if x:\n      y = 2\n    ‸return y\n",
         "this is not valid Python (unindent does not match any outer indentation level)"),
        ("def f(x):\n    return ‸'abc\n", "this is not valid Python (unterminated string literal (detected at line 2))"),
    ],
    ids=["operator", "colon", "paren", "indent", "unindent", "string"],
)
def test_syntax_error_in_a_file(tmp_path, cli, text: str, message: str) -> None:
    path, line, column = write_marked(tmp_path, text)
    with pytest.raises(SyntaxProblem) as info:
        sct.source.read_file(path)
    error = info.value
    assert error.message == message
    assert (error.location.line, error.location.column) == (line, column)
    result = cli("transform", path)
    assert result.code == 1 and result.out == ""
    assert result.err == error.render() + "\n"
    assert result.err.startswith(f"{path}:{line}:{column + 1}: syntax error: {message}\n")


def test_missing_file(tmp_path, cli) -> None:
    path = tmp_path / "nowhere.py"
    with pytest.raises(SourceError) as info:
        sct.source.read_file(path)
    assert info.value.message == f"no such file: {path}"
    assert info.value.location is None
    result = cli("transform", path)
    assert (result.code, result.out) == (1, "")
    assert result.err == f"source error: no such file: {path}\n"


def test_directory_instead_of_file(tmp_path, cli) -> None:
    result = cli("transform", tmp_path)
    assert (result.code, result.out) == (1, "")
    assert result.err == f"source error: {tmp_path} is a directory, not a Python file\n"


def test_function_without_source() -> None:
    namespace: dict = {}
    exec("def f(x):\n    return x * x\n", namespace)  # no file behind it
    d = sct.differentiate(namespace["f"])
    with pytest.raises(SourceError) as info:
        d.tangent  # noqa: B018
    assert info.value.message == "cannot find the source of 'f'"
    assert info.value.location is None
    assert "exec" in info.value.hint


def test_lambda_has_no_source_to_differentiate() -> None:
    d = sct.differentiate(lambda x: x * x)
    with pytest.raises(SourceError) as info:
        d.adjoint  # noqa: B018
    assert info.value.message == "a lambda cannot be differentiated"


def test_wrt_naming_no_parameter(tmp_path) -> None:
    path, _, _ = write_marked(tmp_path, "def f(x, y):\n    return ‸x * y\n")
    d = sct.differentiate(import_path(path).f, wrt=("x", "q"))
    with pytest.raises(UsageError) as info:
        d.tangent  # noqa: B018
    assert info.value.message == "wrt names 'q', not a parameter of 'f'"
    assert info.value.hint == "parameters: x, y"


# ---- command-line usage ---------------------------------------------------------------------------

EXERCISE = REPO / "samples" / "exercise.py"


def test_function_naming_no_function(cli) -> None:
    result = cli("transform", EXERCISE, "--function", "nope")
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"usage error: {EXERCISE} has no top-level function named 'nope'\n"
        "hint: functions defined there: loss\n"
    )


def test_file_with_no_function(tmp_path, cli) -> None:
    path = tmp_path / "empty.py"
    path.write_text("X = 1\n")
    result = cli("transform", path)
    assert (result.code, result.out) == (2, "")
    assert result.err == f"usage error: {path} defines no top-level function\n"


@pytest.mark.parametrize(
    "at, message, hint",
    [
        ("x=5,w=2", "--at gives no value for b, y", "give every parameter: x, w, b, y"),
        ("x=5,w=two,b=-3,y=7", "--at w=two: not a number", "give a decimal number such as 2.5"),
        ("x=5,w=2,b=-3,y=7,q=1", "--at names 'q', not a parameter of 'loss'", "parameters: x, w, b, y"),
        ("x5,w=2,b=-3,y=7", "--at expects name=value pairs, got 'x5'", "write --at x=5,w=2"),
    ],
    ids=["missing", "not-a-number", "unknown", "no-equals"],
)
def test_table_bad_point(cli, at: str, message: str, hint: str) -> None:
    result = cli("table", EXERCISE, "--function", "loss", "--at", at)
    assert (result.code, result.out) == (2, "")
    assert result.err == f"usage error: {message}\nhint: {hint}\n"


def test_table_function_naming_no_function(cli) -> None:
    result = cli("table", EXERCISE, "--function", "nope", "--at", "x=1")
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith(f"usage error: {EXERCISE} has no top-level function named 'nope'\n")


def test_unwritable_output(tmp_path, cli) -> None:
    out = tmp_path / "no" / "such" / "dir" / "out.py"
    result = cli("transform", EXERCISE, "-o", out)
    assert result.code == 2
    assert result.err.startswith(f"usage error: cannot write {out}: ")
    assert "Traceback" not in result.err


def test_bad_option_is_argparse_usage(cli) -> None:
    result = cli("transform", EXERCISE, "--mode", "sideways")
    assert result.code == 2 and "invalid choice: 'sideways'" in result.err


# ---- the same through a real process: one message, no traceback ------------------------------------


def run(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env={**os.environ, "PYTHONHASHSEED": "0"})


SUBPROCESS_CASES = [
    ("syntax", "def f(x):\n    return ‸(x\n", "syntax error: this is not valid Python ('(' was never closed)"),
    ("unsupported", "def f(x):\n    return ‸x.real\n",
     "unsupported: the attribute `x.real` is not supported"),
    ("no-rule", "import math\n\n\ndef f(x):\n    return ‸math.gamma(x)\n", "no derivative rule: `math.gamma` has no derivative rule and no Python source sct can read"),
]


def commands() -> list[pytest.param]:
    out = [pytest.param((sys.executable, "-m", "sct"), id="python-m-sct")]
    if shutil.which("sct"):
        out.append(pytest.param((shutil.which("sct"),), id="sct-script"))
    return out


@pytest.mark.parametrize("command", commands())
@pytest.mark.parametrize("text, head", [pytest.param(t, h, id=i) for i, t, h in SUBPROCESS_CASES])
def test_subprocess_prints_one_clean_message(tmp_path, command, text: str, head: str) -> None:
    path, line, column = write_marked(tmp_path, text)
    done = run(*command, "transform", path.name, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == f"{path.name}:{line}:{column + 1}: {head}"
    assert len(lines) == 4 and lines[3].startswith("hint: ")


@pytest.mark.parametrize("command", commands())
def test_subprocess_missing_file(tmp_path, command) -> None:
    done = run(*command, "transform", "missing.py", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "source error: no such file: missing.py\n"


@pytest.mark.parametrize("command", commands())
def test_subprocess_table_bad_point(command) -> None:
    done = run(*command, "table", "samples/exercise.py", "--function", "loss", "--at", "x=5", cwd=REPO)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "usage error: --at gives no value for w, b, y\nhint: give every parameter: x, w, b, y\n"
