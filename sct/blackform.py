"""Blackform: black's text for generated code, without running black when it can be shown.

Contract: :func:`fmt` returns exactly what ``black.format_str(text,
mode=black.Mode())`` returns. Black costs ~18 ms a function, and on emit's
text it mostly changes nothing: :func:`black_form` reads a text token by token
and, when every token is in the language it knows black's rules for (names,
numbers, brackets, operators, emit's statements, comments on their own lines,
lines that fit in 88 columns), returns black's text itself; else black runs.
Emit writes what black would (``**`` spaced by black's rule, ``(x,)``,
``a, b = ...``) so that most functions need no black. With
``SCT_VERIFY_FORMAT=1`` (the tests set it), black also runs whenever it was
skipped, and a different text raises :class:`InternalError`.
"""

from __future__ import annotations

import keyword
import os
import re

from .errors import InternalError


def fmt(source: str) -> str:
    """``source`` as black formats it: :func:`black_form`'s text when it has one, else black's."""
    fast = black_form(source)
    if fast is not None and VERIFY_FORMAT and _black(source) != fast:
        raise InternalError(f"emit: black_form and black disagree on\n{source}\nblack_form wrote\n{fast}")
    return _black(source) if fast is None else fast


def _black(source: str) -> str:
    import black  # when first needed: most generated text never is, and importing black costs ~80 ms

    try:
        return black.format_str(source, mode=black.Mode())
    except black.InvalidInput as exc:  # pragma: no cover - a bug in sct
        raise InternalError(f"emit produced code black cannot parse: {exc}\n{source}") from None


# ---- black's text without black (see the module docstring) ------------------------------------

VERIFY_FORMAT = os.environ.get("SCT_VERIFY_FORMAT") == "1"  # read once
_LINE_LENGTH = 88  # black's default, black.Mode().line_length (tests/test_blackform.py checks it)
_TOKEN = re.compile(r"( *)(?:([A-Za-z_]\w*)|(\d[\w.]*(?:(?<=e)[-+]\w+)?)|(\*\*|//|[=!<>+\-*/]=|[-+*/%@<>=()\[\],.:]))", re.ASCII)
_NUMBER = re.compile(r"(?:0|[1-9][0-9_]*)(?:\.[0-9][0-9_]*)?(?:e-?[0-9]+)?j?")  # black rewrites 1E5, 1., 0xff, 1e+5
_KEYWORDS = frozenset("and as break continue def elif else for from if import in is not or pass return while".split())
_OTHER_KEYWORDS = frozenset(keyword.kwlist) - _KEYWORDS - {"True", "False", "None"}
_ASSIGN = frozenset({"=", "+=", "-=", "*=", "/="})
_BINARY = frozenset("** * / // % @ + - < > <= >= == !=".split()) | _ASSIGN
_OPERAND_END = frozenset({"n", "1", ")", "]"})  # what a binary operator, a call's ( or a subscript's [ follows
_PART_START = frozenset({"return", "if", "elif", "while", "for", "in", "import"}) | _ASSIGN  # ( ) after these may go
_CONTINUES = _BINARY - _ASSIGN | {".", "(", "[", ",", "if", "and", "or", "not", "is"}


def black_form(source: str) -> str | None:
    """black's text for ``source`` when this knows it, else None.

    Known: comments on their own lines, at the indentation of the code below; blocks indented by
    4; no blank line, no line after imports but imports, nothing at column 0 after a `def` (black
    adds blank lines there); lines of code that fit, in the language :func:`_black_line` reads.
    """
    if not source.endswith("\n") or "\n\n" in source or "fmt:" in source or "yapf:" in source or "type:" in source:
        return None
    lines = source[:-1].split("\n")
    levels, opens, comment, imported = [0], False, -1, False  # open blocks' indentation; a header; a comment's
    for n, line in enumerate(lines):
        text = line.lstrip(" ")
        indent = len(line) - len(text)
        importing = text.startswith(("import ", "from "))
        if imported > importing or (n and not indent and lines[0].startswith("def ")):
            return None
        imported = importing
        if text[:1] == "#":
            if text[1:2] not in ("", " ") or line[-1] == " " or not line.isprintable() or comment not in (-1, indent):
                return None
            comment = indent
            continue
        if opens:
            levels.append(levels[-1] + 4)
        while indent < levels[-1] and not opens:
            levels.pop()
        if indent != levels[-1] or comment not in (-1, indent) or n and text.startswith("def "):
            return None
        if comment != -1 and text.startswith(("else:", "elif ")):
            return None  # the comment may belong to the block above
        lines[n] = _black_line(line, indent)  # type: ignore[call-overload]
        if lines[n] is None or len(lines[n]) > _LINE_LENGTH:
            return None
        opens, comment = lines[n][-1] == ":", -1
    return None if opens or comment > 0 else "\n".join(lines) + "\n"


def _black_line(line: str, indent: int) -> str | None:
    """A line of code as black writes it, or None: names, numbers as black writes them, brackets,
    arithmetic, comparison, boolean and assignment operators, emit's statements, `import`; spaced
    as black spaces them but for `**`, which is spaced here."""
    texts: list[str] = []
    kinds: list[str] = []  # "n" a name, "1" a number, "k" a keyword, else the operator or delimiter itself
    spaces: list[str] = []
    pos = indent
    for m in _TOKEN.finditer(line, indent):
        space, name, number, op = m.groups()
        if m.start() != pos or name in _OTHER_KEYWORDS or number and not _NUMBER.fullmatch(number):
            return None
        kinds.append(op or ("1" if number else "k" if name in _KEYWORDS else "n"))
        texts.append(name or number or op)
        spaces.append(space)
        pos = m.end()
    expected = _spacing(texts, kinds) if texts and pos == len(line) else None
    if expected is None or any(s != e and "**" not in (kinds[i], kinds[i - 1]) for i, (s, e) in enumerate(zip(spaces, expected))):
        return None
    return line if expected == spaces else line[:indent] + "".join(map(str.__add__, expected, texts))


def _spacing(texts: list[str], kinds: list[str]) -> list[str] | None:
    """The space black writes before each token; None where black would do more than space them."""
    out: list[str] = []
    stack: list[int] = []  # open brackets
    pairs: dict[int, int] = {}  # opening bracket -> closing one
    commas: dict[int, int] = {}  # opening bracket -> the commas directly inside
    element: dict[int, int] = {}  # a subscript's [ -> where its current element starts (negated: a slice)
    unary: set[int] = set()
    parts: list[int] = []  # a ( opening the value of `return`, `=`, `if`...: black may drop it
    last = len(kinds) - 1
    for i, kind in enumerate(kinds):
        prev = kinds[i - 1] if i else None
        top = stack[-1] if stack else -1
        if top in element and kind in (",", "]"):
            if element[top] < 0 and any(kinds[k] not in (":", "n", "1") and k not in unary for k in range(-element[top], i)):
                return None  # black spaces a slice with a complex bound: a[i + 1 :]
            element[top] = i + 1
        if kind in (")", "]"):
            if top < 0 or kinds[top] != ("(" if kind == ")" else "[") or (
                prev == "," and (kind == "]" or commas[top] != 1 or top and kinds[top - 1] in _OPERAND_END)
            ):
                return None  # unbalanced, or a magic trailing comma (a one-tuple's is not one)
            pairs[stack.pop()] = i
        elif kind == ",":
            if prev in (None, "(", "[", ","):
                return None
            commas[top] = commas.get(top, 0) + 1
        elif kind == ":" and top in element:
            element[top] = -abs(element[top])  # a slice
        elif kind == ":" and (i != last or top >= 0 or texts[0] not in ("if", "elif", "else", "while", "for", "def")):
            return None  # a dict, a lambda, an annotation...
        elif (kind == "." and prev not in ("n", ")", "]")) or (prev == "." and kind != "n") or (kind in _BINARY and i == last):
            return None
        elif kind in ("-", "+") and prev not in _OPERAND_END:
            unary.add(i)
        elif kind in _BINARY and (prev not in _OPERAND_END or top >= 0 and kind in _ASSIGN and (kind != "=" or prev != "n")):
            return None  # a star argument, or an assignment in brackets other than a keyword argument
        elif kind in ("(", "[") and prev == "1":
            return None
        out.append(_space(kind, prev, i - 1 in unary or "=" in (kind, prev) and top >= 0))
        if kind in ("(", "["):
            if kind == "(" and (i == 0 or texts[i - 1] in _PART_START and not (prev in _ASSIGN and top >= 0)):
                parts.append(i)
            if kind == "[" and prev in _OPERAND_END:
                element[i] = i + 1
            stack.append(i)
            commas[i] = 0
    if stack or kinds[last] == ",":
        return None
    for opening in parts:  # black drops parentheses around a statement's part, unless they make a tuple
        after, before = pairs[opening] + 1, texts[opening - 1] if opening else None
        if not (
            after <= last and (kinds[after] in _CONTINUES or texts[after] in _CONTINUES)  # around only some of it
            or commas[opening] == 1 and kinds[after - 2] == "," and before != "import"  # a one-tuple
            or after > last and before in ("return", "=") and commas[opening]
        ):
            return None
    for opening, closing in pairs.items():
        if kinds[opening] == "(" and opening and kinds[opening - 1] == "[" and kinds[closing + 1] == "]":
            return None  # black drops parentheses around a list's sole item
    for i, kind in enumerate(kinds):
        if kind == "**":
            space = _power(kinds, i, pairs, unary)
            if space is None:
                return None
            out[i] = out[i + 1] = space
    return out


def _space(kind: str, prev: str | None, glued: bool) -> str:
    """The space before a token; ``glued``: after a unary operator, or at a keyword argument's `=`."""
    if kind == ":" and prev == ",":
        return " "  # a[1, :]
    if glued or prev in (None, "(", "[", ".", ":") or kind in (")", "]", ",", ":", "."):
        return ""
    return "" if kind in ("(", "[") and prev in _OPERAND_END else " "  # a call's, a subscript's bracket


def _power(kinds: list[str], i: int, pairs: dict[int, int], unary: set[int]) -> str | None:
    """The space around the `**` at ``i``: none when both operands are simple (a number, a name or
    an attribute but not of a call or subscript, the right one maybe after a unary minus).

    None when a unary operator applies to the power (black writes ``-(x**2)``), or when a name on
    the right is followed by `if`, `and`...: black reads on through those to the next bracket.
    """
    j, openings = i - 1, {c: o for o, c in pairs.items()}
    while True:  # back to the left operand's start
        j = openings.get(j, j)
        if j and kinds[j - 1] == ".":
            j -= 2
        elif j and kinds[j] in ("(", "[") and kinds[j - 1] in _OPERAND_END:
            j -= 1
        elif j - 1 in unary:
            return None
        else:
            break
    left = kinds[i - 1] == "1" or kinds[i - 1] == "n" and not (i > 2 and kinds[i - 2] == "." and kinds[i - 3] in (")", "]"))
    j = i + 1 + (i + 1 in unary)
    if kinds[j] != "n":
        return "" if left and kinds[j] == "1" else " "
    while j < len(kinds) and kinds[j] in ("n", "."):
        j += 1
    if j < len(kinds) and kinds[j] == "k":
        return None
    return "" if left and (j == len(kinds) or kinds[j] not in ("(", "[")) else " "
