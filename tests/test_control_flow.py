"""Control flow in both modes: the specification, as tables of cases.

Every case is a small function ``f`` in a module of its own (``import math``
is added at the top). At each listed point, chosen on each side of every
branch and with loops running 0, 1 and many times, three things must hold
(:func:`helpers.check_point`):

* the tangent's value is the original function's value, exactly (``==``);
* tangent == central finite difference of the original, along every axis and
  random directions (only the differentiated parameters move: loop counts
  such as ``n`` stay integers);
* adjoint and tangent satisfy the dot-product identity
  ``sum_i grad_i * v_i == tangent along v`` for random ``v`` and seeds.

Supported: ``if``/``elif``/``else`` (nested), comparisons (chained),
``and``/``or``/``not``, ``a if c else b``, ``pass``; ``for`` over
``range(...)`` (start, stop, step, from parameters or computed), over a
literal tuple or list and over ``enumerate``/``zip`` of literal tuples (these
are unrolled); nested loops; ``while`` (also ``while True:``); ``break`` and
``continue`` anywhere in a ``range``/``while`` loop; ``return`` in branches
and loops. Integer loop counters stay plain code (no ``_dot``, no ``_bar``).

The generated code has a shape too: straight-line code's adjoint records
nothing (no ``.append(``), a loop's adjoint is a loop running backwards
(``for i in i_iter[::-1]``), and a long loop's adjoint runs in time linear in its trips.

Unsupported constructs raise :class:`sct.errors.UnsupportedError` located at
the offending line. The samples (``samples/horner.py``, ``newton_sqrt.py``,
``euler_oscillator.py``, ``piecewise.py``) are checked the same way, and
against their closed-form derivatives.
"""

from __future__ import annotations

import math
import re
import time
import textwrap
import functools
from dataclasses import dataclass
from typing import Any

import pytest

import sct
from sct.errors import UnsupportedError

import helpers as cf
from helpers import SAMPLES, import_path, load_function, write_module


@dataclass(frozen=True)
class Case:
    """A function ``f`` (source, without ``import math``) and labelled points."""

    id: str
    source: str
    points: dict[str, tuple[Any, ...]]
    wrt: tuple[str, ...] | None = None
    rtol: float = cf.FD_RTOL


def module_text(source: str) -> str:
    return "import math\n\n\n" + textwrap.dedent(source).strip("\n") + "\n"


def expand(cases: list[Case]) -> list[Any]:
    """One pytest param per (case, point), with ids ``case-label``."""
    return [pytest.param(c, label, point, id=f"{c.id}-{label}") for c in cases for label, point in c.points.items()]


def differentiate(tmp_path, case: Case) -> sct.Differentiated:
    return load_function(tmp_path, module_text(case.source), "f", case.wrt)


# ---- branches ---------------------------------------------------------------------

BRANCHES = [
    Case(
        "if-else",
        """
        def f(x, y):
            if x > y:
                z = x * y
            else:
                z = math.sin(x) + y * y
            return z
        """,
        {"x>y": (1.3, 0.4), "x<y": (-0.2, 0.9)},
    ),
    Case(
        "if-without-else",
        """
        def f(x, y):
            z = x + y
            if z > 1.0:
                z = z * z
            return z * x
        """,
        {"taken": (1.0, 0.5), "not-taken": (0.2, 0.3)},
    ),
    Case(
        "if-elif-elif-else",
        """
        def f(x):
            if x < -1.0:
                y = -x
            elif x < 0.0:
                y = x * x + 1.0
            elif x < 2.0:
                y = math.exp(x)
            else:
                y = 3.0 * x
            return y
        """,
        {"first": (-2.5,), "second": (-0.5,), "third": (1.2,), "else": (3.5,)},
    ),
    Case(
        "nested-if",
        """
        def f(x, y):
            if x > 0.0:
                if y > 0.0:
                    z = x * y
                else:
                    z = x - y
            else:
                if y > x:
                    z = math.cos(x * y)
                else:
                    z = y / (1.0 + x * x)
            return z
        """,
        {"++": (0.7, 1.1), "+-": (0.7, -1.1), "-y>x": (-0.7, 0.4), "-y<x": (-0.7, -1.4)},
    ),
    Case(
        "branch-overwrites-with-constant",
        # the taken branch cuts the dependence of r on x: d/dx (r * x) = 2 there
        """
        def f(x):
            r = x
            if r < 1.0:
                r = 2.0
            return r * x
        """,
        {"constant": (0.5,), "kept": (1.5,)},
    ),
    Case(
        "branch-overwrites-with-other-input",
        """
        def f(x, y):
            r = x * x
            if x > y:
                r = y
            return r * x
        """,
        {"overwritten": (1.5, 0.5), "kept": (0.5, 1.5)},
    ),
    Case(
        "return-constant-in-one-branch",
        """
        def f(x, y):
            if x * y > 1.0:
                return 1.0
            return x * y
        """,
        {"constant": (2.0, 1.0), "product": (0.5, 0.7)},
    ),
    Case(
        "pass",
        """
        def f(x, y):
            z = x * y
            if z > 0.0:
                pass
            else:
                z = -z
            return z
        """,
        {"pass": (0.5, 2.0), "negate": (-0.5, 2.0)},
    ),
    Case(
        "chained-comparisons",
        """
        def f(x, y):
            if 0.0 < x < y:
                z = x * y
            elif y <= x <= 2.0:
                z = x - y * y
            else:
                z = math.sin(x + y)
            return z
        """,
        {"0<x<y": (0.5, 1.0), "y<=x<=2": (1.5, 1.0), "x>2": (3.0, 1.0), "x<0": (-0.5, 0.3)},
    ),
    Case(
        "and-or",
        """
        def f(x, y):
            if x > 0.0 and y > 0.0:
                z = x * y
            elif x > 0.0 or y < -1.0:
                z = x + 2.0 * y
            else:
                z = x * x - y
            return z
        """,
        {"and": (1.0, 1.0), "or-left": (1.0, -1.0), "or-right": (-1.0, -2.0), "else": (-1.0, 0.5)},
    ),
    Case(
        "not",
        """
        def f(x, y):
            if not x > y:
                z = x * y
            else:
                z = x - y
            return z
        """,
        {"not-taken": (1.0, 0.5), "taken": (0.5, 1.0)},
    ),
    Case(
        "and-or-not",
        """
        def f(x, y):
            if x > 0.0 and not y > 0.0:
                z = x * y
            elif not (x > 0.0 or y > 1.0):
                z = x + 2.0 * y
            else:
                z = x * x - y
            return z
        """,
        {"and-not": (1.0, -1.0), "not-or": (-1.0, 0.5), "else": (1.0, 1.0)},
    ),
    Case(
        "conditional-expressions",
        """
        def f(x, y):
            z = x * y if x > y else x + y
            w = x if x > 0.0 else (y if y > 0.0 else x * y)
            return z * (math.sin(w) if z > 0.0 else math.cos(y))
        """,
        {
            "x>y,z>0,x>0": (1.0, 0.5),
            "x<y,z>0,x>0": (0.5, 1.0),
            "x<y,z<0,y<0": (-1.0, -0.5),
            "x>y,z>0,y<0": (-0.5, -1.0),
            "x<y,z<0,y>0": (-1.0, 0.25),
        },
    ),
    Case(
        "comparison-of-comparisons",
        # same sign; the parentheses matter: `x > 0.0 == y > 0.0` is a chained comparison
        """
        def f(x, y):
            if (x > 0.0) == (y > 0.0):
                z = x * y
            else:
                z = x - y
            return z
        """,
        {"same-sign": (1.0, 2.0), "signs-differ": (1.0, -2.0), "both-negative": (-1.0, -0.5)},
    ),
    Case(
        "conditional-expression-in-condition",
        """
        def f(x, y):
            if (x if x < y else y) < 0.3:
                z = x * y
            else:
                z = x - y
            k = 0
            while (y if k < 1 else x) > 0.0 and k < 3:
                k += 1
                z = z * x
            return z
        """,
        {"x-min-above": (0.5, 0.8), "x-min-below": (0.1, 0.8), "y-min-below": (1.0, 0.2), "y-min-above": (1.0, 0.6)},
    ),
    Case(
        "returns-in-branches",
        """
        def f(x, y):
            if x > 1.0:
                return x * y
            elif x > 0.0:
                t = x * x
                return t + y
            z = math.exp(x)
            return z * y
        """,
        {"first": (1.5, 0.5), "second": (0.5, 0.5), "fall-through": (-0.5, 0.5)},
    ),
]


# ---- loops --------------------------------------------------------------------------

TRIPS = {"0-trips": 0, "1-trip": 1, "many-trips": 7}

LOOPS = [
    Case(
        "for-range-n",
        """
        def f(x, n):
            s = 0.0
            for i in range(n):
                s = s + math.sin(x * s + i)
            return s + x
        """,
        {label: (0.7, n) for label, n in TRIPS.items()},
        wrt=("x",),
    ),
    Case(
        "for-range-overwrites-what-partials-read",
        """
        def f(x, y, n):
            p = y
            for i in range(n):
                p = p * x + y / (1.0 + i)
            return p
        """,
        {label: (0.9, 1.3, n) for label, n in TRIPS.items()},
        wrt=("x", "y"),
    ),
    Case(
        "for-range-start-stop-negative-step",
        """
        def f(x, n):
            s = x
            for i in range(n, 0, -2):
                s = s * math.cos(x / i)
            return s
        """,
        {"0-trips": (0.8, 0), "1-trip": (0.8, 1), "many-trips": (0.8, 8)},
        wrt=("x",),
    ),
    Case(
        "for-range-computed-bounds",
        """
        def f(x, n):
            m = 2 * n + 1
            s = 0.0
            for i in range(1, m, 3):
                s = s + x ** i / m
            return s
        """,
        {"0-trips": (0.9, 0), "1-trip": (0.9, 1), "many-trips": (0.9, 6)},
        wrt=("x",),
    ),
    Case(
        "for-range-bound-from-data",
        # int() passes no derivative: the trip count depends on x, the value smoothly
        """
        def f(x, y):
            s = y
            for i in range(int(x)):
                s = s * y + x
            return s
        """,
        {"0-trips": (0.5, 0.8), "1-trip": (1.5, 0.8), "many-trips": (5.5, 0.8)},
    ),
    Case(
        "for-range-constant",
        """
        def f(x, y):
            s = x
            for i in range(4):
                s = math.tanh(s * y + i * x)
            return s
        """,
        {"a": (0.3, 1.2), "b": (-1.1, 0.6)},
    ),
    Case(
        "nested-for-inner-depends-on-outer",
        """
        def f(x, y, n):
            s = 0.0
            for i in range(n):
                for j in range(i):
                    s = s + math.sin(x * j + y * s)
            return s
        """,
        {"0-trips": (0.4, 0.6, 0), "1-trip": (0.4, 0.6, 1), "inner-1-trip": (0.4, 0.6, 2), "many-trips": (0.4, 0.6, 5)},
        wrt=("x", "y"),
    ),
    Case(
        "branch-in-loop-in-loop",
        """
        def f(x, y, n):
            s = y
            for i in range(n):
                for j in range(3):
                    if s > x:
                        s = s * 0.5 + x * j
                    else:
                        s = s + math.cos(s * y) + i
            return s * x
        """,
        {"0-trips": (0.9, 1.7, 0), "1-trip": (0.9, 1.7, 1), "many-trips": (0.9, 1.7, 4), "other-side": (2.9, 0.3, 3)},
        wrt=("x", "y"),
    ),
    Case(
        "loop-in-branch",
        """
        def f(x, n):
            s = x
            if x > 0.0:
                for i in range(n):
                    s = s * x + 1.0
            else:
                s = -s * s
            return s
        """,
        {"loop-0": (0.8, 0), "loop-1": (0.8, 1), "loop-many": (0.8, 6), "no-loop": (-0.8, 6)},
        wrt=("x",),
    ),
    Case(
        "break-in-inner-loop",
        """
        def f(x, n):
            s = x
            for i in range(n):
                for j in range(10):
                    s = s * 1.1 + x
                    if s > 3.0 * (i + 1):
                        break
                s = s * 0.5
            return s
        """,
        {"0-trips": (0.3, 0), "1-trip": (0.3, 1), "many-trips": (0.3, 5), "no-break": (0.01, 1)},
        wrt=("x",),
    ),
    Case(
        "break-in-outer-loop",
        """
        def f(x, y, n):
            s = x
            for i in range(n):
                for j in range(3):
                    s = s + y * math.sin(s + j)
                if s > 2.5:
                    break
                s = s * 1.2
            return s * y
        """,
        {"0-trips": (0.5, 0.7, 0), "1-trip": (0.5, 0.7, 1), "breaks": (0.5, 0.7, 20), "early": (2.0, 1.0, 20)},
        wrt=("x", "y"),
    ),
    Case(
        "continue-in-nested-loops",
        """
        def f(x, y, n):
            s = 0.0
            for i in range(n):
                if i % 2 == 1:
                    continue
                for j in range(4):
                    if j == i:
                        continue
                    s = s + math.sin(x * (j + 1) + s) * y
            return s
        """,
        {"0-trips": (0.3, 0.8, 0), "1-trip": (0.3, 0.8, 1), "many-trips": (0.3, 0.8, 6)},
        wrt=("x", "y"),
    ),
    Case(
        "break-and-continue-in-one-loop",
        """
        def f(x, y, n):
            s = y
            for i in range(n):
                s = s * x + 0.25
                if s < 0.5:
                    continue
                s = math.sqrt(s) + y
                if s > 4.0:
                    break
            return s
        """,
        {"0-trips": (0.9, 0.6, 0), "1-trip": (0.9, 0.6, 1), "many": (0.9, 0.6, 12), "continues": (0.1, 0.2, 5), "breaks": (2.0, 1.5, 30)},
        wrt=("x", "y"),
    ),
    Case(
        "several-returns-in-loops",
        """
        def f(x, y, n):
            s = x
            for i in range(n):
                s = s * y + math.sin(s)
                if s > 5.0:
                    return s * x
                for j in range(2):
                    if s < -5.0:
                        return -s * y
                    s = s + 0.1 * x
            return s - y
        """,
        {
            "0-trips": (0.5, 1.1, 0),
            "falls-through": (0.5, 1.1, 2),
            "returns-first": (1.0, 2.0, 10),
            "returns-inner": (-1.0, 2.0, 10),
        },
        wrt=("x", "y"),
    ),
    Case(
        "return-in-first-trip",
        """
        def f(x, n):
            for i in range(n):
                if x > i:
                    return x * x
                x = x * 1.5
            return x - 1.0
        """,
        {"0-trips": (0.5, 0), "first-trip": (0.5, 3), "later-trip": (-0.5, 3), "never": (-5.0, 2)},
        wrt=("x",),
    ),
    Case(
        "while-true-break",
        """
        def f(x):
            y = x
            k = 0
            while True:
                y = math.sin(y) + x * 0.5
                k = k + 1
                if k >= 4:
                    break
            return y
        """,
        {"a": (0.3,), "b": (-1.2,)},
    ),
    Case(
        "while-true-data-break",
        """
        def f(x, y):
            z = x
            while True:
                z = z * y
                if z < 0.01:
                    break
            return z + x
        """,
        {"1-trip": (0.02, 0.4), "many-trips": (5.0, 0.7)},
    ),
    Case(
        "while-true-return",
        """
        def f(x, y):
            z = x
            while True:
                if z > y:
                    return z * y
                z = z * 1.5 + 0.1
        """,
        {"0-loops": (2.0, 1.0), "many": (0.3, 4.0)},
    ),
    Case(
        "while-true-returns-break-in-inner-loop",
        # the only `break` belongs to the inner `for`: the `while True` ends by returning
        """
        def f(x, y):
            s = x
            k = 0
            while True:
                for j in range(3):
                    s = s * y + math.sin(s)
                    if s < -4.0:
                        break
                k = k + 1
                if s > 4.0:
                    return s * x
                if k > 3:
                    return s - y
        """,
        {"returns-large": (0.5, 1.5), "breaks-then-returns": (2.0, -1.5), "by-count": (0.1, 0.5)},
    ),
    Case(
        "while-data-dependent",
        """
        def f(x, y):
            z = x
            while z > 0.01:
                z = z * y
            return z + x * y
        """,
        {"0-trips": (0.005, 0.4), "1-trip": (0.02, 0.4), "many-trips": (5.0, 0.7)},
    ),
    Case(
        "while-counter-and-data",
        """
        def f(x, y):
            k = 0
            s = x
            while k < 10 and s < 100.0:
                s = s * (1.0 + y) + 1.0
                k += 1
            return s
        """,
        {"0-trips": (200.0, 0.5), "1-trip": (60.0, 0.5), "by-data": (1.0, 0.9), "by-counter": (0.5, 0.1)},
    ),
    Case(
        "while-counter-param",
        """
        def f(x, n):
            k = 0
            s = 1.0
            while k < n:
                s = s * math.cos(x * k) + x
                k = k + 1
            return s
        """,
        {label: (0.4, n) for label, n in TRIPS.items()},
        wrt=("x",),
    ),
    Case(
        "while-continue",
        """
        def f(x, n):
            k = 0
            s = 0.0
            while k < n:
                k = k + 1
                if k % 3 == 0:
                    continue
                s = s + x ** k / k
            return s
        """,
        {label: (0.9, n) for label, n in TRIPS.items()},
        wrt=("x",),
    ),
    Case(
        "while-in-for-with-branch",
        """
        def f(x, y, n):
            s = x
            for i in range(n):
                k = 0
                while k < i and s < 10.0:
                    if s > y:
                        s = s * y + 1.0
                    else:
                        s = s + x * k
                    k += 1
            return s
        """,
        {"0-trips": (0.5, 1.2, 0), "1-trip": (0.5, 1.2, 1), "many-trips": (0.5, 1.2, 6)},
        wrt=("x", "y"),
    ),
    Case(
        "conditional-expression-in-loop",
        """
        def f(x, n):
            s = x
            for i in range(n):
                s = s * x if s < 1.0 else s - x * 0.5
            return s
        """,
        {"0-trips": (0.8, 0), "1-trip": (0.8, 1), "many-trips": (1.3, 9)},
        wrt=("x",),
    ),
    Case(
        "loop-counter-in-arithmetic",
        """
        def f(x, n):
            s = 0.0
            k = 1
            for i in range(n):
                k = k * 2
                s = s + x * k + i * x * x
            return s
        """,
        {label: (0.6, n) for label, n in TRIPS.items()},
        wrt=("x",),
    ),
    Case(
        "loop-target-reassigned",
        # the adjoint must see the i the body computed (2 * i), not the one range gave
        """
        def f(x, n):
            s = 1.0
            for i in range(n):
                i = i * 2
                s = s * x + s * i
            return s
        """,
        {label: (0.7, n) for label, n in TRIPS.items()},
        wrt=("x",),
    ),
    Case(
        "tuple-swap-in-loop",
        """
        def f(x, y, n):
            p = x
            q = y
            for i in range(n):
                p, q = q, p * x
            return p * q
        """,
        {label: (0.7, 1.3, n) for label, n in TRIPS.items()},
        wrt=("x", "y"),
    ),
    Case(
        "branch-in-loop-resets-to-constant",
        # s = 0.0 cuts the dependence on every earlier trip
        """
        def f(x, n):
            s = x
            for i in range(n):
                s = s * x
                if s > 2.0:
                    s = 0.0
            return s + x
        """,
        {"0-trips": (1.5, 0), "1-trip-no-reset": (1.1, 1), "1-trip-reset": (1.5, 1), "resets": (1.5, 3), "no-reset": (1.1, 5)},
        wrt=("x",),
    ),
    Case(
        "loop-overwrites-with-constant",
        # as in branch-overwrites-with-constant: after one trip, r no longer depends on x
        """
        def f(x, n):
            r = x
            for i in range(n):
                r = 2.0
            return r * x
        """,
        {label: (0.5, n) for label, n in TRIPS.items()},
        wrt=("x",),
    ),
    Case(
        "while-overwrites-with-constant",
        """
        def f(x, n):
            r = x
            k = 0
            while k < n:
                r = 2.0
                k = k + 1
            return r * x
        """,
        {label: (0.5, n) for label, n in TRIPS.items()},
        wrt=("x",),
    ),
]

# ---- loops over literal sequences (unrolled) ------------------------------------------

SEQUENCES = [
    Case(
        "tuple-of-variables",
        """
        def f(x, y, z):
            s = 0.0
            for v in (x, y, z, 2.0):
                s = s * v + math.sin(v)
            return s
        """,
        {"a": (0.5, -1.2, 0.8)},
    ),
    Case(
        "list-of-variables",
        """
        def f(x, y):
            p = 1.0
            for v in [x, y, x]:
                p = p * (v + 1.0)
            return p
        """,
        {"a": (0.3, 1.7)},
    ),
    Case(
        "enumerate",
        """
        def f(x, y):
            s = 1.0
            for i, v in enumerate((x, y, x)):
                s = s + (i + 1) * v * s
            return s
        """,
        {"a": (0.3, -0.8)},
    ),
    Case(
        "zip",
        """
        def f(x, y, w):
            s = 0.0
            for a, b in zip((x, y, 1.5), (w, w, y)):
                s = s + a * b
            return math.tanh(s)
        """,
        {"a": (0.4, -0.3, 0.9)},
    ),
    Case(
        "tuple-loop-with-branch",
        """
        def f(x, y):
            s = 0.0
            for v in (x, y, x * 0.5):
                if v > 0.0:
                    s = s + v * v
                else:
                    s = s - v
            return s
        """,
        {"mixed": (0.7, -0.4), "negative": (-0.7, -0.4)},
    ),
    Case(
        "return-in-unrolled-loop",
        """
        def f(x, y):
            for v in (x, y):
                if v > 0.0:
                    return v * v
            return x * y
        """,
        {"first": (0.5, 0.2), "second": (-0.5, 0.3), "none": (-0.5, -0.3)},
    ),
    Case(
        "chained-assignment",
        """
        def f(x, y):
            a = b = x * y
            for c in (x, y):
                a = a * c
            return a + b
        """,
        {"a": (0.5, 1.5)},
    ),
    Case(
        "break-in-range-loop-inside-tuple-loop",
        # the `break` belongs to the inner range loop, not to the unrolled one
        """
        def f(x, y, n):
            s = 0.0
            for c in (x, y):
                for i in range(n):
                    s = s + c * s + 0.5
                    if s > 3.0:
                        break
            return s
        """,
        {label: (0.5, 0.8, n) for label, n in TRIPS.items()},
        wrt=("x", "y"),
    ),
    Case(
        "range-loop-over-tuple-loop",
        """
        def f(x, y, n):
            s = 0.0
            for i in range(n):
                for c in (x, y):
                    s = s * 0.5 + c * i
            return s
        """,
        {label: (0.3, 0.9, n) for label, n in TRIPS.items()},
        wrt=("x", "y"),
    ),
]

ALL_CASES = BRANCHES + LOOPS + SEQUENCES


@pytest.mark.parametrize("case, label, point", expand(BRANCHES))
def test_branches(tmp_path, case: Case, label: str, point: tuple[Any, ...]) -> None:
    cf.check_point(differentiate(tmp_path, case), point, rtol=case.rtol)


@pytest.mark.parametrize("case, label, point", expand(LOOPS))
def test_loops(tmp_path, case: Case, label: str, point: tuple[Any, ...]) -> None:
    cf.check_point(differentiate(tmp_path, case), point, rtol=case.rtol)


@pytest.mark.parametrize("case, label, point", expand(SEQUENCES))
def test_literal_sequences(tmp_path, case: Case, label: str, point: tuple[Any, ...]) -> None:
    cf.check_point(differentiate(tmp_path, case), point, rtol=case.rtol)


def test_the_points_are_where_the_labels_say(tmp_path) -> None:
    """Guard for the tables: the 'many trips' points of a few loops really run many trips."""
    loop = load_function(tmp_path, module_text("def f(x, y):\n    z = x\n    k = 0\n    while z > 0.01:\n        z = z * y\n        k = k + 1\n    return k\n"))
    case = {c.id: c for c in LOOPS}["while-data-dependent"]
    assert [loop.fn(*case.points[p]) for p in ("0-trips", "1-trip", "many-trips")] == [0, 1, 18]


# ---- the tangent's value is the function's value, exactly --------------------------------


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in ALL_CASES])
def test_tangent_value_is_exactly_the_original(tmp_path, case: Case) -> None:
    d = differentiate(tmp_path, case)
    for point in case.points.values():
        dots = [0.37] * len(d.wrt)
        value, _ = d.tangent(*point, *dots)
        assert value == d.fn(*point), f"at {point}: {value!r} != {d.fn(*point)!r}"
        assert type(value) is type(d.fn(*point))


# ---- shape of the generated code ----------------------------------------------------------

STRAIGHT_LINE = {
    "reassignments": """
        def f(x, y):
            z = x * y
            z = math.sin(z) * x
            x = z * z + x
            return x * y
        """,
    "exp-reads-its-result": """
        def f(x):
            x = math.exp(x)
            x = math.exp(x * 0.5)
            return x * x
        """,
    "unrolled-tuple-loop": """
        def f(x, c0, c1, c2):
            p = 0.0
            for c in (c2, c1, c0):
                p = p * x + c
            return p
        """,
    "unrolled-enumerate": """
        def f(x, y):
            s = x
            for i, v in enumerate((x, y)):
                s = s * v + i
            return s
        """,
}


@pytest.mark.parametrize("source", [pytest.param(s, id=k) for k, s in STRAIGHT_LINE.items()])
def test_straight_line_adjoint_records_nothing(tmp_path, source: str) -> None:
    d = load_function(tmp_path, module_text(source))
    assert ".append(" not in d.adjoint_source, d.adjoint_source
    assert ".pop(" not in d.adjoint_source, d.adjoint_source
    assert not re.search(r"^\s*(for|while) ", code_lines(d.adjoint_source), re.M), d.adjoint_source
    cf.check_point(d, (0.7,) * len(d.wrt))


# (the loop's adjoint is a reversed loop whenever the body has an adjoint; a loop that
# only overwrites with constants is left to test_loops)
RANGE_LOOPS = [
    c for c in LOOPS if "for i in range(" in c.source and "while" not in c.source and "constant" not in c.id
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in RANGE_LOOPS])
def test_range_loop_adjoint_runs_backwards(tmp_path, case: Case) -> None:
    d = differentiate(tmp_path, case)
    src = d.adjoint_source
    assert re.search(r"^\s*for \w+ in \w+(\[:\w+\])?\[::-1\]:", src, re.M), src


def test_while_loop_adjoint_replays_its_trip_count(tmp_path) -> None:
    case = {c.id: c for c in LOOPS}["while-data-dependent"]
    src = differentiate(tmp_path, case).adjoint_source
    assert re.search(r"^\s*for _ in range\(trips\w*\):", src, re.M), src


def code_lines(source: str) -> str:
    """``source`` without its comment lines (provenance comments quote the user's code)."""
    return "\n".join(ln for ln in source.splitlines() if not ln.lstrip().startswith("#"))


@pytest.mark.parametrize(
    "case_id, counters, targets",
    [
        ("for-range-n", ["i"], ["i"]),
        ("while-counter-and-data", ["k"], []),
        ("while-continue", ["k"], []),
        ("loop-counter-in-arithmetic", ["i", "k"], ["i"]),
        ("nested-for-inner-depends-on-outer", ["i", "j"], ["i", "j"]),
    ],
)
def test_integer_counters_stay_plain(tmp_path, case_id: str, counters: list[str], targets: list[str]) -> None:
    """No tangent or adjoint for an integer counter; a loop target is replayed, never stacked.

    (A counter that a partial reads, like ``k`` in ``x ** k / k``, is saved as a value.)
    """
    d = differentiate(tmp_path, {c.id: c for c in ALL_CASES}[case_id])
    for name in counters:
        assert not re.search(rf"\b{name}_dot\b", d.tangent_source), d.tangent_source
        assert not re.search(rf"\b{name}_bar\b", d.adjoint_source), d.adjoint_source
    for name in targets:
        assert not re.search(rf"\b{name}_stack\b", d.adjoint_source), d.adjoint_source


LOOP_FREE = [c for c in BRANCHES if "while " not in c.source and "for " not in c.source]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in LOOP_FREE])
def test_loop_free_adjoint_records_in_locals(tmp_path, case: Case) -> None:
    """Without loops nothing is overwritten twice: records are locals, never stacks.

    (sct.reverse: "A record made at the top level is a local variable; one made
    inside a loop goes on a local list".) Branches nested in branches included.
    """
    src = differentiate(tmp_path, case).adjoint_source
    assert ".append(" not in src and "_stack" not in src, src


def test_straight_line_branch_records_only_its_condition(tmp_path) -> None:
    case = {c.id: c for c in BRANCHES}["if-else"]
    src = differentiate(tmp_path, case).adjoint_source
    assert ".append(" not in src, src
    assert re.search(r"^\s*cond\w* = x > y$", src, re.M), src


# ---- a long loop: the adjoint's cost is linear in the trips --------------------------------

LONG = """
def f(x, y, n):
    s = x
    c = y
    for i in range(n):
        s = s + 1e-6 * math.sin(c * s)
        c = c * 0.999999 + 1e-6 * x
    return s * c
"""


def test_adjoint_of_a_million_trips(tmp_path) -> None:
    d = load_function(tmp_path, module_text(LONG), wrt=("x", "y"))
    point = (0.8, 1.3, 10**6)
    d.adjoint  # transform outside the timing
    start = time.perf_counter()
    grads = d.grad(*point)
    elapsed = time.perf_counter() - start
    for i, g in enumerate(grads):
        axis = [1.0 if j == i else 0.0 for j in range(2)]
        _, dot = d.tangent(*point, *axis)
        assert cf.close(g, dot, 1e-9), (i, g, dot)
    # about 1 s on a laptop: linear in the trips; the bound is loose for loaded CI machines
    assert elapsed < 10.0, f"adjoint of 10**6 trips took {elapsed:.1f} s"
    # and it is right: a central difference over a shorter run agrees as well
    cf.check_point(d, (0.8, 1.3, 1000), mixed=1)


# ---- unsupported constructs: a located UnsupportedError ------------------------------------

# The line marked `# <-` is where the error must point (counted in the module file).
UNSUPPORTED = {
    "for-else": """
        def f(x):
            for i in range(3):
                x = x * 2.0
            else:  # <-
                x = x + 1.0
            return x
        """,
    "while-else": """
        def f(x):
            while x < 10.0:
                x = x * 2.0
            else:  # <-
                x = x + 1.0
            return x
        """,
    "try": """
        def f(x):
            y = x * 2.0
            try:  # <-
                y = 1.0 / x
            except ZeroDivisionError:
                y = 0.0
            return y
        """,
    "with": """
        def f(x):
            y = x
            with open("f") as fh:  # <-
                y = y * 2.0
            return y
        """,
    "yield": """
        def f(x):
            y = x * x
            yield y  # <-
            return y
        """,
    "global": """
        G = 1.0


        def f(x):
            global G  # <-
            G = x
            return x * G
        """,
    "nonlocal": """
        def outer():
            y = 1.0

            def f(x):
                nonlocal y  # <-
                y = y * x
                return y

            return f
        """,
    "list-comprehension": """
        def f(x):
            s = x
            ys = [x * i for i in range(3)]  # <-
            return s
        """,
    "set-comprehension": """
        def f(x):
            ys = {x * i for i in range(3)}  # <-
            return x
        """,
    "dict-comprehension": """
        def f(x):
            ys = {i: x * i for i in range(3)}  # <-
            return x
        """,
    "generator-expression": """
        def f(x):
            g = (x * i for i in range(3))  # <-
            return x
        """,
    "nested-def": """
        def f(x):
            y = x * 2.0
            def g(t):  # <-
                return t * y
            return y
        """,
    "lambda": """
        def f(x):
            g = lambda t: t * x  # <-
            return x
        """,
    "break-in-unrolled-loop": """
        def f(x, y):
            s = 0.0
            for v in (x, y):
                s = s + v
                if s > 1.0:
                    break  # <-
            return s
        """,
    "continue-in-enumerate": """
        def f(x, y):
            s = 0.0
            for i, v in enumerate((x, y)):
                if i == 0:
                    continue  # <-
                s = s + v
            return s
        """,
    "loop-over-a-parameter": """
        def f(x, r):
            s = 0.0
            for i in r:  # <-
                s = s + x
            return s
        """,
}


@pytest.mark.parametrize("source", [pytest.param(s, id=k) for k, s in UNSUPPORTED.items()])
def test_unsupported_constructs_are_located(tmp_path, source: str) -> None:
    text = module_text(source)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "# <-" in ln)
    module = import_path(write_module(tmp_path, text))
    fn = module.outer() if hasattr(module, "outer") else module.f
    d = sct.differentiate(fn)
    with pytest.raises(UnsupportedError) as info:
        d.tangent  # noqa: B018 - the transformation runs on first use
    assert info.value.location is not None
    assert info.value.location.line == line, info.value.render()
    assert info.value.location.filename.endswith(".py")


# ---- the samples -------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def sample(stem: str, name: str, wrt: tuple[str, ...] | None = None) -> sct.Differentiated:
    """``sct.differentiate`` of function ``name`` of ``samples/<stem>.py`` (transformed once)."""
    return sct.differentiate(getattr(import_path(SAMPLES / f"{stem}.py"), name), wrt=wrt)


@pytest.mark.parametrize("x", [-1.5, 0.0, 0.4, 2.0])
def test_sample_horner(x: float) -> None:
    d = sample("horner", "horner")
    c = (0.5, -1.25, 2.0, 0.75)
    point = (x, *c)
    cf.check_point(d, point)
    grads = d.grad(*point)
    assert cf.close(grads[0], c[1] + 2 * c[2] * x + 3 * c[3] * x * x, 1e-12)  # p'(x)
    for k in range(4):
        assert cf.close(grads[1 + k], x**k, 1e-12), (k, grads)
    assert ".append(" not in d.adjoint_source  # the tuple loop is unrolled: straight-line


@pytest.mark.parametrize("a", [0.01, 0.3, 0.999, 1.0, 2.0, 49.0, 1e6])
def test_sample_newton_sqrt(a: float) -> None:
    d = sample("newton_sqrt", "newton_sqrt")
    cf.check_value(d, (a,))
    assert cf.close(d.fn(a), math.sqrt(a), 1e-15)
    g = d.grad(a)
    _, dot = d.tangent(a, 1.0)
    assert cf.close(g, 0.5 / math.sqrt(a), 1e-9), (g, 0.5 / math.sqrt(a))
    assert cf.close(dot, 0.5 / math.sqrt(a), 1e-9), (dot, 0.5 / math.sqrt(a))
    cf.check_point(d, (a,), rtol=1e-5)
    assert re.search(r"for _ in range\(trips\w*\)", d.adjoint_source)  # the while loop, replayed


@pytest.mark.parametrize("n", [0, 1, 50])
@pytest.mark.parametrize("zeta", [0.1, 1.5])
def test_sample_euler_position(n: int, zeta: float) -> None:
    d = sample("euler_oscillator", "position", ("x0", "v0", "omega", "zeta", "dt"))
    point = (1.0, -0.3, 2.0, zeta, 0.05, n)
    cf.check_point(d, point)
    if n == 0:  # no step: the position is x0
        assert list(d.grad(*point)) == [1.0, 0.0, 0.0, 0.0, 0.0]


def test_sample_euler_position_is_linear_in_the_initial_state() -> None:
    """x_n = A x0 + B v0 for an n-step linear recurrence: the gradient is (A, B) everywhere."""
    d = sample("euler_oscillator", "position", ("x0", "v0"))
    g1 = d.grad(1.0, -0.3, 2.0, 0.1, 0.05, 40)
    g2 = d.grad(-3.0, 7.0, 2.0, 0.1, 0.05, 40)
    assert cf.close(g1[0], g2[0], 1e-12) and cf.close(g1[1], g2[1], 1e-12)
    a, b = g1
    assert cf.close(d.fn(1.0, -0.3, 2.0, 0.1, 0.05, 40), a * 1.0 + b * -0.3, 1e-12)


@pytest.mark.parametrize("point", [(1.0, 0.0, 2.0, 0.1), (0.2, -1.0, 3.0, 0.5)])
def test_sample_euler_energy(point: tuple[float, ...]) -> None:
    d = sample("euler_oscillator", "energy")
    cf.check_point(d, point)
    x0, v0, omega, _ = point
    assert d.fn(*point) < 0.5 * (v0 * v0 + omega * omega * x0 * x0)  # damping loses energy
    assert "[::-1]:" in d.adjoint_source


@pytest.mark.parametrize("r", [-3.0, -0.5, 0.0, 0.7, 2.5])
def test_sample_huber(r: float) -> None:
    d = sample("piecewise", "huber")
    delta = 1.0
    cf.check_point(d, (r, delta))
    dr, ddelta = d.grad(r, delta)
    assert cf.close(dr, max(-delta, min(delta, r)), 1e-15)
    expected_ddelta = (abs(r) - delta) if abs(r) > delta else 0.0
    assert cf.close(ddelta, expected_ddelta, 1e-15)


@pytest.mark.parametrize("x", [-1.0, 0.1, 0.5, 0.93, 2.0])
def test_sample_smoothstep(x: float) -> None:
    d = sample("piecewise", "smoothstep")
    lo, hi = 0.0, 1.0
    cf.check_point(d, (x, lo, hi))
    dx = d.grad(x, lo, hi)[0]
    t = (x - lo) / (hi - lo)
    assert cf.close(dx, 6 * t * (1 - t) if lo < x < hi else 0.0, 1e-12)


def test_a_branch_or_loop_comment_names_its_header_as_written(tmp_path) -> None:
    # the provenance comment of an if/elif/for is its header line, not a comment above it
    source = (
        "def f(x, xs):\n"
        "    # a comment above the branch\n"
        "    if x > 1.0:\n"
        "        y = x\n"
        "    elif x < -1.0:\n"
        "        y = -x\n"
        "    else:\n"
        "        y = x * x\n"
        "    for c in range(2):\n"
        "        y = y * x\n"
        "    return y\n"
    )
    d = load_function(tmp_path, source, wrt=("x",))
    text = d.adjoint_source + d.tangent_source
    assert "# line 3: if x > 1.0:" in text and "# line 5: elif x < -1.0:" in text
    assert "# line 9: for c in range(2):" in text
    assert "a comment above" not in text
