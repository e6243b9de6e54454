"""The README shows real output: its exercise code and table are what sct prints today."""

from __future__ import annotations

import re
from pathlib import Path

from sct import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def run(capsys, *argv: str) -> str:
    assert cli.main(list(argv)) == 0
    return capsys.readouterr().out


def test_the_generated_adjoint_shown_is_current(capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    shown = README.split("`sct transform samples/exercise.py --mode adjoint`:\n\n```python\n", 1)[1].split("```", 1)[0]
    assert shown == run(capsys, "transform", "samples/exercise.py", "--mode", "adjoint")


def test_the_table_shown_is_current(capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    table = run(capsys, "table", "samples/exercise.py", "--function", "loss", "--at", "x=5,w=2,b=-3,y=7", "--format", "markdown")
    assert table.strip() in README


def test_ci_runs_the_readme_test_command() -> None:
    command = re.search(r"python -m pip install -e '\.\[test\]' && python -m pytest -q", README)
    assert command is not None
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install --quiet --disable-pip-version-check -e '.[test]'" in ci and "python -m pytest -q" in ci
