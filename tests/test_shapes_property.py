"""Property: random elementwise NumPy programs over operands that broadcast, differentiated right.

The guard of :mod:`sct.shapes`, which removes ``unbroadcast`` calls and keeps
reductions' adjoints compact only where shapes known at transform time allow
it. Hypothesis draws a straight-line program ``f(a, b, c)`` of elementwise
operations (``+ - *``, a division by a denominator that cannot vanish,
``np.sin``/``np.tanh``/``np.exp`` of bounded arguments, negation, literals)
ending in a whole-array ``np.sum`` or ``np.mean`` (sometimes of a product of
two values, sometimes a reduction along an axis first, with or without
``keepdims``) or returning an array, and shapes for
``a, b, c`` that broadcast together: equal, of fewer axes, with axes of one,
0-d, or a Python float. At a random point:

1. the tangent agrees with central differences and the adjoint with the
   tangent (the dot-product identity), each adjoint of its parameter's shape;
2. ``.grad`` equals the adjoint with seed 1 (for a function returning a
   number), at its first call, at later ones (specialised to the first
   call's shapes, :mod:`sct.firstcall`), and at a point of other shapes;
3. every array the tangent, the adjoint and the gradient return is its own:
   writeable, sharing memory with no other and with no argument or seed.

``SCT_HYPOTHESIS_EXAMPLES`` (default 30) sets the number of programs; the
examples are derandomized, so CI is reproducible.
"""

from __future__ import annotations

import os

import numpy as np
from helpers import check_array_derivatives, load_function
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("SCT_HYPOTHESIS_EXAMPLES", "30"))

# shapes that broadcast to (3, 4) with each other, and the scalar cases
SHAPES = [(3, 4), (4,), (3, 1), (1, 4), (1, 1), (), "float"]

UNARY = ["np.sin({x})", "np.tanh({x})", "np.exp(0.3 * np.sin({x}))", "-{x}", "2.5 * {x}", "{x} * 0.5 + 1.0"]
BINARY = ["{x} + {y}", "{x} - {y}", "{x} * {y}", "{x} / (1.5 + {y} * {y})"]


@st.composite
def programs(draw: st.DrawFn) -> tuple[str, tuple[object, ...], str]:
    # a NumPy call first: a function without one is scalar code, which takes numbers (README)
    names = ["a", "b", "c", "u"]
    lines = ["    u = np.sin(a)"]
    for i in range(draw(st.integers(1, 5))):
        if draw(st.booleans()):
            expr = draw(st.sampled_from(UNARY)).format(x=draw(st.sampled_from(names)))
        else:
            expr = draw(st.sampled_from(BINARY)).format(x=draw(st.sampled_from(names)), y=draw(st.sampled_from(names)))
        lines.append(f"    t{i} = {expr}")
        names.append(f"t{i}")
    last = names[-1]
    ending = draw(st.sampled_from(["sum", "mean", "product", "axis", "array", "keepdims"]))
    if ending == "sum":
        lines.append(f"    return np.sum({last})")
    elif ending == "mean":
        lines.append(f"    return np.mean({last})")
    elif ending == "product":
        lines.append(f"    return np.sum({last} * {draw(st.sampled_from(names))})")
    elif ending == "array":  # an array result: its tangent and its adjoint's seed have its shape
        lines.append(f"    return {last}")
    elif ending == "keepdims":
        lines.append(f"    s = np.sum({last} + 0.0 * a, axis=1, keepdims=True)")
        lines.append(f"    return np.sum(s * {last})")
    else:  # every value has at least the shape of a, which is drawn 2-d for this ending
        lines.append(f"    s = np.sum({last} + 0.0 * a, axis=0)")
        lines.append("    return np.mean(np.tanh(s) * s)")
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    points = []
    for _ in range(2):  # the second: other shapes, for the gradient specialised to the first's
        shapes = [draw(st.sampled_from(SHAPES)) for _ in range(3)]
        if ending in ("axis", "keepdims"):
            shapes[0] = (3, 4)
        points.append(tuple(float(rng.uniform(0.5, 1.5)) if s == "float" else rng.uniform(-1.0, 1.0, size=s) for s in shapes))
    return "import numpy as np\n\n\ndef f(a, b, c):\n" + "\n".join(lines) + "\n", points[0], ending, points[1]


def _assert_own(derivatives: tuple, given: tuple) -> None:
    """No returned array shares memory with another or with an argument, and none is read-only."""
    arrays = [d for d in derivatives if isinstance(d, np.ndarray)]
    for k, d in enumerate(arrays):
        assert d.flags.writeable
        for other in arrays[k + 1 :] + [a for a in given if isinstance(a, np.ndarray)]:
            assert not np.shares_memory(d, other)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(programs())
def test_random_broadcasting_programs(tmp_path_factory, program) -> None:
    text, point, ending, other = program
    note(text)
    note(repr([np.shape(p) for p in point]))
    f = load_function(tmp_path_factory.mktemp("prog"), text)
    note(f.adjoint_source)
    check_array_derivatives(f.fn, f.tangent, f.adjoint, point, (0, 1, 2))
    seed = np.ones(np.shape(f.fn(*point)))
    _assert_own(f.adjoint(*point, seed), (*point, seed))
    dots = tuple(np.ones(np.shape(p)) if np.ndim(p) else 1.0 for p in point)
    _assert_own(f.tangent(*point, *dots)[1:], (*point, *dots))
    if ending != "array":
        # the first call specialises the gradient to these shapes (sct.firstcall); then other
        # shapes take the general one, and these the specialised one: the adjoint's numbers each time
        for at in (point, point, other, point):
            grads, full = f.grad(*at), f.adjoint(*at, 1.0)
            for g, expected, p in zip(grads, full, at):
                np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-14)
                assert np.shape(g) == np.shape(p) and type(g) is type(expected)
            _assert_own(grads, at)
        note(f.specialized_source)
