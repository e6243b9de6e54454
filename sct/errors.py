"""The errors sct raises.

Contract: every problem with the user's input is an :class:`SctError` that
knows where it happened (file, line, column, the source line) and renders
itself like a compiler diagnostic::

    samples/bad.py:4:9: unsupported construct: a `lambda` expression
        f = lambda t: t * x
            ^
    hint: define the function with `def` at the top level of the module

A bug inside sct is an :class:`InternalError`, a separate class, so that a
user can tell "my code is outside what sct supports" from "sct is broken".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A position in a user's file: 1-based line, 0-based column."""

    filename: str
    line: int
    column: int
    source_line: str = ""

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}:{self.column + 1}"


class SctError(Exception):
    """A problem with the user's input, reported with its position."""

    kind = "error"

    def __init__(self, message: str, location: Location | None = None, hint: str = ""):
        self.message = message
        self.location = location
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        """The diagnostic: `file:line:col: kind: message`, the line, a caret."""
        head = f"{self.kind}: {self.message}"
        if self.location is None:
            text = head
        else:
            text = f"{self.location}: {head}"
            if self.location.source_line:
                line = self.location.source_line.rstrip("\n")
                stripped = line.lstrip()
                indent = len(line) - len(stripped)
                caret = " " * max(self.location.column - indent, 0) + "^"
                text += f"\n    {stripped}\n    {caret}"
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text


class SourceError(SctError):
    """The source cannot be had: missing file, no source for a function."""

    kind = "source error"


class SyntaxProblem(SctError):
    """The file is not valid Python."""

    kind = "syntax error"


class UnsupportedError(SctError):
    """A construct outside the subset sct differentiates."""

    kind = "unsupported"


class NoRuleError(SctError):
    """A call or operation with no derivative rule."""

    kind = "no derivative rule"


class RuleError(SctError):
    """A custom rule (``sct.primitive``) that does not fit its function."""

    kind = "bad rule"


class UndefinedNameError(SctError):
    """A name that is read but never defined."""

    kind = "undefined name"


class UsageError(SctError):
    """Bad arguments to the API or the CLI (unknown function, bad --at)."""

    kind = "usage error"


class InternalError(Exception):
    """A bug in sct itself: please report it with the input that caused it."""
