"""Every tool of a case, made ready to time, and checked before it is timed.

A tool is one callable and its arguments, timed as ``call(*args)``; nothing
else sits between the timer and the call, so a Python-level wrapper does not
count against a tool that does not need one. Before timing, its result is
compared with the hand-written gradient (``np.allclose``, rtol 1e-9, with the
same shape): a tool that disagrees, or raises, is reported in the table and
not timed, so that no number in a table comes from a wrong derivative.

sct's columns come from ``sct.differentiate(fn, wrt)``: the adjoint is timed
as ``f.adjoint(*args, 1.0)`` (the compiled function itself), the gradient as
``f.grad(*args)`` (the generated ``<name>_grad``: for one scalar input the
tangent with its seed fixed at 1, else the adjoint with its seed fixed at 1;
once loaded ``f.grad`` is that function, no wrapper; the gradient of
straight-line array code becomes, at its first call, which is the check
below, a copy specialised to that call's shapes, behind a guard:
:mod:`sct.firstcall`),
the tangent as the calls that give the full gradient (one per input, each with
a unit seed), or for an array case one directional derivative.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import sct
from bench import peers
from bench.registry import Case

TOOLS = [
    "function",
    "hand-written",
    "sct adjoint",
    "sct grad",
    "sct tangent",
    "autograd",
    "jax",
    "jax jit",
    "torch",
]
GRADIENTS = TOOLS[1:]

OK = "ok"
NOT_INSTALLED = "not installed"
RTOL = 1e-9
ATOL = 1e-12


@dataclass
class Tool:
    name: str
    status: str = (
        OK  # ok | not installed | unsupported: ... | MISMATCH: ... | error: ...
    )
    call: Callable[..., Any] | None = None
    args: tuple[Any, ...] = ()
    # what the call returns -> the values to compare (a tuple of arrays)
    result: Callable[[Any], tuple[Any, ...]] = lambda out: out
    expected: tuple[Any, ...] | None = None  # None: the hand-written gradient
    note: str = ""
    full_gradient: bool = (
        True  # False: the sct tangent of an array case (one direction)
    )
    detail: str = ""  # a full diagnostic, kept in the JSON

    @property
    def failed(self) -> bool:
        """A wrong derivative or a crash: loud, and a non-zero exit."""
        return self.status.startswith(("MISMATCH", "error"))


def _as_tuple(out: Any) -> tuple[Any, ...]:
    return out if isinstance(out, tuple) else (out,)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _sct(case: Case) -> list[Tool]:
    try:
        f = sct.differentiate(case.fn, wrt=case.wrt)
        f.transformed
    except sct.SctError as e:
        status = f"unsupported: {_first_line(e.message)}"
        return [
            Tool(name, status, detail=str(e)) for name in ("sct adjoint", "sct grad", "sct tangent")
        ]
    except Exception as e:  # an InternalError, or anything else: a bug in sct
        status = f"error: {type(e).__name__}: {_first_line(str(e))}"
        return [
            Tool(name, status, detail=repr(e))
            for name in ("sct adjoint", "sct grad", "sct tangent")
        ]
    adjoint = Tool(
        "sct adjoint",
        call=f.adjoint,
        args=case.args + (1.0,),
        note="adjoint(*args, 1.0)",
    )
    f.grad  # reading it makes (or loads) the generated gradient: f.grad is then that function itself
    how = "one input: the tangent, seed 1" if len(case.wrt_index) == 1 and not case.arrays else "the adjoint, seed fixed at 1"
    how += "; specialised to the shapes of its first call" if case.arrays else ""
    # one parameter: the derivative itself (as the hand-written gradient returns it)
    grad = Tool("sct grad", call=f.grad, args=case.args, result=_as_tuple, note=f"grad(*args): {how}")
    return [adjoint, grad, _sct_tangent(case, f.tangent)]


def _sct_tangent(case: Case, tangent: Callable[..., Any]) -> Tool:
    index = case.wrt_index
    if case.arrays:
        # The full gradient would take one call per array element: time one
        # directional derivative instead, checked against <hand gradient, v>.
        rng = np.random.default_rng(11)
        dots = tuple(rng.standard_normal(np.shape(case.args[i])) for i in index)
        hand = _as_tuple(case.hand(*case.args))
        expected = (sum(float(np.sum(h * v)) for h, v in zip(hand, dots)),)
        size = sum(int(np.size(case.args[i])) for i in index)
        return Tool(
            "sct tangent",
            call=tangent,
            args=case.args + dots,
            result=lambda out: (out[1],),
            expected=expected,
            note=f"1 directional derivative (full gradient: {size} calls)",
            full_gradient=False,
        )
    if len(index) == 1:
        return Tool(
            "sct tangent",
            call=tangent,
            args=case.args + (1.0,),
            result=lambda out: (out[1],),
            note="1 call, seed 1: the derivative",
        )
    # Several scalar inputs: one call per input, as a user would write it.
    n = len(case.args)
    params = [f"a{i}" for i in range(n)]
    calls = []
    for k in range(len(index)):
        seeds = ["1.0" if j == k else "0.0" for j in range(len(index))]
        calls.append(f"_tangent({', '.join(params + seeds)})[1]")
    text = f"def gradient({', '.join(params)}):\n    return ({', '.join(calls)},)\n"
    namespace: dict[str, Any] = {"_tangent": tangent}
    exec(compile(text, "<bench: sct tangent, one call per input>", "exec"), namespace)
    return Tool(
        "sct tangent",
        call=namespace["gradient"],
        args=case.args,
        note=f"{len(index)} calls, one per input: the full gradient",
    )


def _peer(
    name: str, build: Callable[[], tuple[Callable[..., Any], tuple[Any, ...]]]
) -> Tool:
    try:
        call, args = build()
    except peers.NotInstalled as e:
        return Tool(name, NOT_INSTALLED, detail=str(e))
    except Exception as e:
        return Tool(
            name, f"error: {type(e).__name__}: {_first_line(str(e))}", detail=repr(e)
        )
    return Tool(name, call=call, args=args)


def prepare(case: Case) -> list[Tool]:
    """All tools of one case, in the order of TOOLS, not yet checked."""
    tools = [
        Tool("function", call=case.fn, args=case.args, note="the function itself"),
        Tool(
            "hand-written",
            call=case.hand,
            args=case.args,
            result=_as_tuple,
            note="bench/hand.py",
        ),
        *_sct(case),
        _peer("autograd", lambda: peers.autograd_grad(case)),
        _peer("jax", lambda: peers.jax_grad(case, jit=False)),
        _peer("jax jit", lambda: peers.jax_grad(case, jit=True)),
        _peer("torch", lambda: peers.torch_grad(case)),
    ]
    assert [t.name for t in tools] == TOOLS
    return tools


def compare(got: tuple[Any, ...], expected: tuple[Any, ...]) -> str:
    """'' when ``got`` is the expected gradient, else what is wrong with it."""
    if len(got) != len(expected):
        return f"{len(got)} values, expected {len(expected)}"
    for k, (g, e) in enumerate(zip(got, expected)):
        g = np.asarray(g)
        e = np.asarray(e, dtype=np.float64)
        if g.dtype.kind == "f" and g.dtype != np.float64:
            return f"value {k} is {g.dtype}, expected float64"
        if g.shape != e.shape:
            return f"value {k} has shape {g.shape}, expected {e.shape}"
        if not np.allclose(g, e, rtol=RTOL, atol=ATOL):
            err = np.max(np.abs(g - e) / np.maximum(np.abs(e), ATOL))
            return f"value {k} differs (max relative error {err:.2e})"
    return ""


def check(case: Case, tools: list[Tool]) -> None:
    """Run each gradient once and compare it with the hand-written one.

    A tool that disagrees or raises gets a MISMATCH or error status (and is
    not timed). The first call also compiles a jitted function, so the timing
    that follows never includes compilation.
    """
    try:
        reference = _as_tuple(case.hand(*case.args))
    except Exception as e:  # nothing to compare with: every gradient is unchecked
        reference = None
        failure = f"error: hand-written gradient raised {type(e).__name__}"
    for tool in tools:
        if tool.status != OK:
            continue
        try:
            got = tool.result(tool.call(*tool.args))
        except Exception as e:
            tool.status = f"error: {type(e).__name__}: {_first_line(str(e))}"
            tool.detail = repr(e)
            continue
        if tool.name == "function":
            continue
        if reference is None:
            tool.status = failure
            continue
        if tool.name == "hand-written":
            continue
        problem = compare(
            got, tool.expected if tool.expected is not None else reference
        )
        if problem:
            tool.status = f"MISMATCH: {problem}"
