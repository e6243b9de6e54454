"""The NumPy samples (issue 5): golden generated source, and derivatives checked on arrays.

``sct transform samples/numpy/<stem>.py`` must equal tests/golden/numpy/<stem>.py
byte for byte (``SCT_UPDATE_GOLDEN=1`` rewrites them); each golden module's
tangent and adjoint are checked against central finite differences of the
sample's own function and against each other (the dot-product identity), on
float64 arrays of the shapes people use, and the adjoint keeps float32 inputs
float32.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import GOLDEN, REPO, SAMPLES, check_array_derivatives, import_path

import sct

UPDATE = os.environ.get("SCT_UPDATE_GOLDEN") == "1"
NUMPY_SAMPLES = sorted((SAMPLES / "numpy").glob("*.py"))
NUMPY_GOLDEN = GOLDEN / "numpy"

rng = np.random.default_rng(7)
X64 = rng.standard_normal((64, 32))
LABELS = np.eye(4)[rng.integers(0, 4, 10)]

# stem -> function -> (arguments, positions differentiated)
POINTS = {
    "logistic": {"logistic_loss": ((rng.standard_normal(5), 0.1, rng.standard_normal((20, 5)), (rng.random(20) > 0.5) * 1.0), (0, 1))},
    "mlp": {
        "mlp_loss": (
            (rng.standard_normal((32, 64)) * 0.1, np.zeros(64), rng.standard_normal((64, 1)) * 0.1, np.zeros(1), X64, rng.standard_normal((64, 1))),
            (0, 1, 2, 3),
        )
    },
    "softmax": {"softmax_cross_entropy": ((rng.standard_normal((5, 4)), rng.standard_normal((10, 5)), LABELS), (0, 1))},
    "recurrent": {"recurrent_loss": ((0.3, 0.8, 0.5, rng.standard_normal(6)), (0, 1, 2, 3))},
}


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch) -> None:
    monkeypatch.chdir(REPO)


def test_every_numpy_sample_function_has_a_point() -> None:
    import ast

    for sample in NUMPY_SAMPLES:
        names = [n.name for n in ast.parse(sample.read_text()).body if isinstance(n, ast.FunctionDef)]
        assert set(names) <= set(POINTS.get(sample.stem, {})), sample


@pytest.mark.parametrize("sample", NUMPY_SAMPLES, ids=lambda p: p.stem)
def test_golden(sample: Path, cli) -> None:
    golden = NUMPY_GOLDEN / sample.name
    result = cli("transform", f"samples/numpy/{sample.name}")
    assert (result.code, result.err) == (0, "")
    if UPDATE:
        NUMPY_GOLDEN.mkdir(parents=True, exist_ok=True)
        golden.write_text(result.out, encoding="utf-8")
        warnings.warn(f"SCT_UPDATE_GOLDEN=1: rewrote {golden.relative_to(REPO)}", stacklevel=1)
        return
    assert result.out == golden.read_text(encoding="utf-8"), f"{sample.name} differs from its golden file"


CASES = [
    pytest.param(stem, name, args, wrt, id=f"{stem}.{name}")
    for stem, functions in POINTS.items()
    for name, (args, wrt) in functions.items()
]


@pytest.mark.parametrize("stem, name, args, wrt", CASES)
def test_golden_functions_are_right(stem: str, name: str, args: tuple, wrt: tuple) -> None:
    golden = import_path(NUMPY_GOLDEN / f"{stem}.py")
    fn = getattr(import_path(SAMPLES / "numpy" / f"{stem}.py"), name)
    n = len(args)
    full_tangent = getattr(golden, f"{name}_tangent")  # generated for every parameter
    full_adjoint = getattr(golden, f"{name}_adjoint")

    def tangent(*a):
        point, dots = a[:n], dict(zip(wrt, a[n:]))
        return full_tangent(*point, *(dots.get(i, np.zeros_like(np.asarray(args[i]) * 1.0)) for i in range(n)))

    def adjoint(*a):
        grads = full_adjoint(*a)
        return tuple(grads[i] for i in wrt)

    check_array_derivatives(fn, tangent, adjoint, args, wrt)


@pytest.mark.parametrize("stem, name, args, wrt", CASES)
def test_decorator_agrees_and_keeps_float32(stem: str, name: str, args: tuple, wrt: tuple) -> None:
    fn = getattr(import_path(SAMPLES / "numpy" / f"{stem}.py"), name)
    params = list(__import__("inspect").signature(fn).parameters)
    d = sct.differentiate(fn, wrt=[params[i] for i in wrt])
    check_array_derivatives(fn, d.tangent, d.adjoint, args, wrt, seed=3)
    single = tuple(a.astype(np.float32) if isinstance(a, np.ndarray) else a for a in args)
    for i, g in zip(wrt, d.grad(*single)):
        if isinstance(single[i], np.ndarray):
            assert g.dtype == np.float32, (params[i], g.dtype)
