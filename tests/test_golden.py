"""Golden files: ``sct transform samples/<stem>.py`` is byte-identical to tests/golden/<stem>.py.

Run with ``SCT_UPDATE_GOLDEN=1`` to rewrite the golden files from the current
output (then read the diff before committing it). Each golden module is also
imported and its functions checked against finite differences of the sample's
own functions, so a golden file cannot record wrong derivatives unnoticed.
"""

from __future__ import annotations

import ast
import os
import warnings
from pathlib import Path

import sys

import pytest
from helpers import GOLDEN, REPO, SAMPLES, Generated, check_derivatives, import_path

import sct
import sct.cli

UPDATE = os.environ.get("SCT_UPDATE_GOLDEN") == "1"

# A generated module imports the sample's own functions it calls (``from recursion import power``).
sys.path.insert(0, str(SAMPLES))

SAMPLE_FILES = sorted(SAMPLES.glob("*.py"))

# stem -> function -> [(point, wrt or None for all parameters)]: where each
# sample's functions are checked. Every function of every sample needs one.
POINTS: dict[str, dict[str, list[tuple[tuple, tuple[str, ...] | None]]]] = {
    "exercise": {"loss": [((5.0, 2.0, -3.0, 7.0), None), ((0.5, 1.5, 0.25, -1.0), None)]},
    "projectile": {
        "projectile_range": [((20.0, 0.6, 9.81), None)],
        "max_height": [((20.0, 0.6, 9.81), None)],
        "pendulum_energy": [((1.5, 0.8, 0.4, -1.2, 9.81), None)],
    },
    "neuron": {
        "neuron_loss": [((0.5, -1.0, 0.8, 0.3, 0.1, 1.0), None)],
        "two_layer_loss": [((0.5, 1.2, 0.3, -0.7, 0.2, 1.0), None), ((0.5, -1.2, 0.3, -0.7, 0.2, 1.0), None)],
    },
    "softplus": {
        "softplus": [((0.3,), None), ((-2.0,), None)],
        "logsumexp2": [((0.3, -1.2), None)],
        "log_sigmoid": [((0.3,), None), ((-2.0,), None)],
        "smooth_abs": [((-0.4, 0.1), None)],
    },
    "horner": {"horner": [((0.7, 1.0, -2.0, 0.5, 3.0), None)]},
    "springs": {
        "spring": [((2.0, 1.7, 1.0), None)],
        "two_springs": [((2.0, 0.5, 1.2), None)],
    },
    "recursion": {
        "power": [((1.3, 0), ("x",)), ((1.3, 7), ("x",)), ((0.8, 10), ("x",))],
        "continued_fraction": [((1.5, 0), ("x",)), ((1.5, 6), ("x",))],
    },
    "newton_sqrt": {"newton_sqrt": [((2.0,), None), ((0.3,), None)]},
    "piecewise": {
        "huber": [((0.3, 1.0), None), ((2.0, 1.0), None), ((-2.0, 1.0), None)],
        "smoothstep": [((0.4, 0.0, 1.0), None), ((-0.5, 0.0, 1.0), None), ((1.5, 0.0, 1.0), None)],
    },
    "euler_oscillator": {
        "position": [((1.0, 0.0, 2.0, 0.1, 0.01, 50), ("x0", "v0", "omega", "zeta", "dt"))],
        "energy": [((1.0, 0.5, 2.0, 0.1), None)],
    },
}


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch) -> None:
    monkeypatch.chdir(REPO)  # the output's header names the path as given


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda p: p.stem)
def test_golden(sample: Path, cli) -> None:
    golden = GOLDEN / f"{sample.stem}.py"
    result = cli("transform", f"samples/{sample.name}")
    assert (result.code, result.err) == (0, "")
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(result.out, encoding="utf-8")
        warnings.warn(f"SCT_UPDATE_GOLDEN=1: rewrote {golden.relative_to(REPO)}", stacklevel=1)
        return
    assert golden.exists(), f"no golden file for {sample.name}: run with SCT_UPDATE_GOLDEN=1"
    assert result.out == golden.read_text(encoding="utf-8"), (
        f"sct transform samples/{sample.name} differs from {golden.relative_to(REPO)}; "
        "if the change is intended, run with SCT_UPDATE_GOLDEN=1 and review the diff"
    )


def test_no_stale_golden_files() -> None:
    stems = {p.stem for p in SAMPLE_FILES}
    assert {p.stem for p in GOLDEN.glob("*.py")} <= stems


def cases() -> list[pytest.param]:
    out = []
    for sample in SAMPLE_FILES:
        for name, points in POINTS.get(sample.stem, {}).items():
            for i, (point, wrt) in enumerate(points):
                out.append(pytest.param(sample, name, point, wrt, id=f"{sample.stem}.{name}-{i}"))
    return out


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda p: p.stem)
def test_every_sample_function_has_a_point(sample: Path) -> None:
    functions = [n.name for n in ast.parse(sample.read_text()).body if isinstance(n, ast.FunctionDef)]
    missing = [f for f in functions if f not in POINTS.get(sample.stem, {})]
    assert not missing, f"add points for {missing} of {sample.name} to POINTS in tests/test_golden.py"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """``generated(sample)``: the sample's golden module, imported (the CLI's output if none yet)."""
    modules: dict[str, object] = {}

    def _generated(sample: Path):
        if sample.stem not in modules:
            path = GOLDEN / f"{sample.stem}.py"
            if UPDATE or not path.exists():
                path = tmp_path_factory.mktemp("generated") / f"{sample.stem}_generated.py"
                path.write_text(sct.cli.transform_file(str(sample), None, "both", None), encoding="utf-8")
            modules[sample.stem] = import_path(path)
        return modules[sample.stem]

    return _generated


@pytest.mark.parametrize("sample, name, point, wrt", cases())
def test_generated_functions_are_right(generated, sample: Path, name: str, point: tuple, wrt) -> None:
    """The golden file's functions pass the derivative checks against the sample's own."""
    module = generated(sample)
    original = getattr(import_path(sample), name)
    fn = original.fn if isinstance(original, sct.Differentiated) else original
    pair = Generated(fn, getattr(module, f"{name}_tangent"), getattr(module, f"{name}_adjoint"), wrt)
    check_derivatives(pair, point)
