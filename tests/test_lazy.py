"""Each mode is made when first asked for (issue 7's transform time).

Specification: reading ``f.adjoint`` makes the adjoint and nothing else (no
tangent, no gradient); ``f.grad`` is made when ``.grad`` or ``.grad_source``
is first read. Whatever the order of reading, every source equals the one an
eager transform of all modes gives (the CLI's path), and an error is the one
that eager transform raises.
"""

from __future__ import annotations

import itertools

import pytest
from helpers import SAMPLES, import_path
from test_golden import POINTS

import sct
from sct import pipeline, source, specialize

READS = ("tangent_source", "adjoint_source", "grad_source")


def _boom(*args, **kwargs):
    raise AssertionError("made although nobody asked for it")


def test_the_adjoint_alone_makes_neither_tangent_nor_gradient(load, monkeypatch) -> None:
    f = load("import math\n\n\ndef f(x, y):\n    return math.sin(x) * y\n")
    monkeypatch.setattr(pipeline, "tangent", _boom)
    monkeypatch.setattr(specialize, "gradient", _boom)
    monkeypatch.setattr(specialize, "forward_gradient", _boom)
    assert f.adjoint(0.0, 2.0, 1.0) == (2.0, 0.0)
    assert "def f_adjoint(x, y, " in f.adjoint_source
    with pytest.raises(AssertionError, match="nobody asked"):
        f.tangent


def test_the_gradient_is_made_when_read(load, monkeypatch) -> None:
    f = load("def f(x, y):\n    return x * y\n")
    f.adjoint
    made = []
    real = specialize.gradient
    monkeypatch.setattr(specialize, "gradient", lambda *a, **k: made.append(1) or real(*a, **k))
    grad = f.grad  # reading it builds the generated gradient, which is then f.grad itself
    assert made == [1] and grad.__name__ == "f_grad" and f.grad is grad
    assert grad(2.0, 3.0) == (3.0, 2.0) and made == [1]


def _sample_functions() -> list:
    return [pytest.param(stem, name, id=f"{stem}.{name}") for stem, fns in POINTS.items() for name in fns]


@pytest.mark.parametrize("stem, name", _sample_functions())
def test_lazy_sources_equal_the_eager_ones(stem: str, name: str) -> None:
    fn = getattr(import_path(SAMPLES / f"{stem}.py"), name)
    fn = fn.fn if isinstance(fn, sct.Differentiated) else fn
    eager_d = sct.differentiate(fn)
    eager = pipeline.transform(
        source.for_callable(fn), known_globals=eager_d._namespace(), gradient=True,
        resolver=sct.calls.NamespaceResolver(eager_d._namespace(), fn.__module__),
    )
    expected = {"tangent_source": eager.mode_source("tangent"), "adjoint_source": eager.mode_source("adjoint"), "grad_source": eager.grad_source}
    for order in itertools.permutations(READS):
        d = sct.differentiate(fn)
        assert {read: getattr(d, read) for read in order} == expected, order


def test_an_error_is_the_eager_transforms(load) -> None:
    # the tangent of this function fails first in an eager transform; reading the adjoint gives that error too
    f = load("def f(x):\n    return undefined_helper(x)\n")
    with pytest.raises(sct.SctError) as lazy:
        f.adjoint
    d = sct.differentiate(f.fn)
    with pytest.raises(sct.SctError) as eager:
        pipeline.transform(source.for_callable(d.fn), known_globals=d._namespace())
    assert str(lazy.value) == str(eager.value)
