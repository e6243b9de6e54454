"""Fixtures shared by the test modules (utilities live in helpers.py)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Tests transform on purpose (and change rules for a test's length): no cache,
# except in test_cache.py, which points the cache at a temporary directory.
os.environ["SCT_CACHE"] = "0"
# Every text emit formats without black is also formatted by black, and must come out the same.
os.environ["SCT_VERIFY_FORMAT"] = "1"

import helpers  # noqa: E402

import sct.cli  # noqa: E402


@pytest.fixture
def load(tmp_path: Path) -> Callable[..., sct.Differentiated]:
    """``load(source, name="f", wrt=None)``: the differentiated function ``name`` of a new module."""

    def _load(source: str, name: str = "f", wrt: Any = None) -> sct.Differentiated:
        return helpers.load_function(tmp_path, source, name, wrt)

    return _load


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """``write(source, stem=None)``: a new module file under tmp_path (never imported)."""

    def _write(source: str, stem: str | None = None) -> Path:
        return helpers.write_module(tmp_path, source, stem)

    return _write


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """``cli(*argv)``: run ``sct.cli.main`` in-process; its exit code, stdout and stderr."""

    def _cli(*argv: str) -> CliResult:
        capsys.readouterr()  # drop anything printed before
        code = sct.cli.main([str(a) for a in argv])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return _cli
