"""The benchmark cases: which function, at which point, against which goal.

One table, so that the runner, the self-check and the transform-time probe all
see the same cases. Points are fixed (a seeded generator for arrays) so that
two runs time the same arithmetic and the gradient check is reproducible.

``goal`` is issue 7's bound on sct's adjoint time / function time (median);
``hand_ref`` and ``jit_ref`` are the ratios the issue quotes for a
hand-written gradient and for JAX with jit "on this kind of machine", printed
beside ours for context. ``hand_goal`` is issue 5's bound for NumPy code: sct
within 10% of the hand-written gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench import cases, hand


@dataclass(frozen=True)
class Case:
    name: str
    fn: Callable[..., Any]  # the function, from bench/cases.py
    hand: Callable[..., Any]  # its hand-written gradient, from bench/hand.py
    peer: str  # the name of its version in bench/peers.py
    args: tuple[Any, ...]
    wrt: tuple[str, ...]  # the parameters differentiated, in signature order
    goal: float
    hand_ref: float
    jit_ref: float
    hand_goal: float | None = None
    about: str = ""
    arrays: bool = field(default=False)

    @property
    def wrt_index(self) -> tuple[int, ...]:
        params = self.fn.__code__.co_varnames[: self.fn.__code__.co_argcount]
        return tuple(params.index(name) for name in self.wrt)


def _mlp_point() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(7)
    W1 = rng.standard_normal((32, 64)) / np.sqrt(32)
    b1 = 0.1 * rng.standard_normal(64)
    W2 = rng.standard_normal((64, 1)) / 8.0
    b2 = 0.1 * rng.standard_normal(1)
    X = rng.standard_normal((64, 32))
    Y = rng.standard_normal((64, 1))
    return W1, b1, W2, b2, X, Y


def _vector(n: int) -> np.ndarray:
    return np.random.default_rng(n).standard_normal(n)


EXERCISE_POINT = (5.0, 2.0, -3.0, 7.0)
EXERCISE_WRT = ("x", "w", "b", "y")

CASES: list[Case] = [
    Case(
        "square",
        cases.square,
        hand.square,
        "square",
        (3.0,),
        ("x",),
        goal=1.6,
        hand_ref=1.4,
        jit_ref=165.0,
        about="x * x on a float: the fixed cost of a call",
    ),
    Case(
        "exercise_relu",
        cases.exercise_relu,
        hand.exercise_relu,
        "exercise_relu",
        EXERCISE_POINT,
        EXERCISE_WRT,
        goal=1.5,
        hand_ref=1.25,
        jit_ref=137.0,
        about="the exercise, relu as sct.relu; all four partials",
    ),
    Case(
        "exercise_if",
        cases.exercise_if,
        hand.exercise_if,
        "exercise_if",
        EXERCISE_POINT,
        EXERCISE_WRT,
        goal=1.5,
        hand_ref=1.25,
        jit_ref=137.0,
        about="the exercise, relu as an if; all four partials",
    ),
    Case(
        "scalar_loop",
        cases.scalar_loop,
        hand.scalar_loop,
        "scalar_loop",
        (0.7,),
        ("x",),
        goal=3.5,
        hand_ref=3.1,
        jit_ref=2.0,
        about="100 times y = sin(y) * x + y * 0.5; d/dx",
    ),
    Case(
        "newton",
        cases.newton,
        hand.newton,
        "newton",
        (2.0,),
        ("a",),
        goal=3.0,
        hand_ref=2.6,
        jit_ref=16.0,
        about="Newton for sqrt(a), 30 steps with an if/else step; d/da at a = 2",
    ),
    Case(
        "mlp",
        cases.mlp,
        hand.mlp,
        "mlp",
        _mlp_point(),
        ("W1", "b1", "W2", "b2"),
        goal=1.9,
        hand_ref=1.7,
        jit_ref=5.2,
        hand_goal=1.1,
        arrays=True,
        about="batch 64, 32 -> 64 -> 1, tanh, MSE; d/dW1, b1, W2, b2",
    ),
    Case(
        "elementwise_10",
        cases.elementwise,
        hand.elementwise,
        "elementwise",
        (_vector(10),),
        ("x",),
        goal=1.2,
        hand_ref=0.8,
        jit_ref=2.3,
        hand_goal=1.1,
        arrays=True,
        about="sum(exp(sin(x)) * x**2), x of size 10",
    ),
    Case(
        "elementwise_1e5",
        cases.elementwise,
        hand.elementwise,
        "elementwise",
        (_vector(100_000),),
        ("x",),
        goal=2.1,
        hand_ref=2.0,
        jit_ref=0.76,
        hand_goal=1.1,
        arrays=True,
        about="sum(exp(sin(x)) * x**2), x of size 10^5",
    ),
]

BY_NAME = {case.name: case for case in CASES}

# Transform time, function name -> wrt: every benchmarked function, plus a
# twenty-line one for the bound (the function the 30 ms goal is about).
TRANSFORM_GOAL_MS = 30.0
TRANSFORM_GOAL_FUNCTION = "twenty_lines"
TRANSFORMS: dict[str, tuple[str, ...] | None] = {
    "square": None,
    "exercise_relu": None,
    "exercise_if": None,
    "scalar_loop": None,
    "newton": None,
    "mlp": ("W1", "b1", "W2", "b2"),
    "elementwise": None,
    "twenty_lines": None,
}
