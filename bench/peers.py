"""The other tools: autograd, JAX (eager and jit) and PyTorch, each optional.

Each case is written once here, over a namespace ``m`` of array operations,
and run with each library's own operations (``m.sin`` is ``autograd.numpy.sin``,
``jax.numpy.sin`` or ``torch.sin``). The arithmetic is the same as in
:mod:`bench.cases`; two things differ, because these libraries need them:

- ``math.sin`` becomes the library's ``sin`` (``math`` cannot see their values);
- an ``if`` on a traced value becomes ``m.where(cond, a, b)``. For autograd and
  PyTorch ``where`` is an ordinary Python ``if`` (their values have a truth
  value); for JAX it is ``jnp.where``, so that the same function can be jitted,
  and ``jax.grad`` and ``jax.jit(jax.grad)`` run the same code. Both branches
  are computed before one is chosen; they are a few scalar operations.

Inputs are converted to each library's own type once, outside the timing, as a
user of that library holds their data (JAX arrays, leaf tensors).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from bench.registry import Case


def square(m, x):
    return x * x


def exercise_relu(m, x, w, b, y):
    v = w * x
    z = v + b
    h = m.relu(z)
    yhat = h + z
    d = yhat - y
    return d * d


def exercise_if(m, x, w, b, y):
    v = w * x
    z = v + b
    h = m.where(z > 0, z, 0.0 * z)
    yhat = h + z
    d = yhat - y
    return d * d


def scalar_loop(m, x):
    y = x
    for i in range(100):
        y = m.sin(y) * x + y * 0.5
    return y


def newton(m, a):
    x = m.where(a > 1.0, a, 1.0 + 0.0 * a)
    for i in range(30):
        step = (x * x - a) / (2.0 * x)
        x = m.where(step > 0.5 * x, 0.5 * x, x - step)
    return x


def mlp(m, W1, b1, W2, b2, X, Y):
    H = m.tanh(X @ W1 + b1)
    P = H @ W2 + b2
    return m.mean((P - Y) ** 2)


def elementwise(m, x):
    return m.sum(m.exp(m.sin(x)) * x**2)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    f.__name__: f
    for f in (square, exercise_relu, exercise_if, scalar_loop, newton, mlp, elementwise)
}


def python_where(cond: Any, a: Any, b: Any) -> Any:
    """``where`` as a Python ``if``, for libraries whose values have a truth value."""
    return a if cond else b


class NotInstalled(Exception):
    """The library cannot be imported; its columns say so and the rest runs."""


# ---- one builder per library: (case) -> (gradient callable, its arguments) --


def autograd_grad(case: Case) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError as e:
        raise NotInstalled(str(e)) from e
    m = SimpleNamespace(
        sin=anp.sin,
        exp=anp.exp,
        tanh=anp.tanh,
        sum=anp.sum,
        mean=anp.mean,
        relu=lambda z: anp.maximum(z, 0.0),
        where=python_where,
    )
    fn = functools.partial(FUNCTIONS[case.peer], m)
    return autograd.grad(fn, argnum=case.wrt_index), case.args


def _jax() -> Any:
    try:
        import jax
    except ImportError as e:
        raise NotInstalled(str(e)) from e
    jax.config.update("jax_enable_x64", True)
    return jax


def jax_grad(case: Case, jit: bool) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    jax = _jax()
    import jax.numpy as jnp

    m = SimpleNamespace(
        sin=jnp.sin,
        exp=jnp.exp,
        tanh=jnp.tanh,
        sum=jnp.sum,
        mean=jnp.mean,
        relu=jax.nn.relu,
        where=jnp.where,
    )
    grad = jax.grad(functools.partial(FUNCTIONS[case.peer], m), argnums=case.wrt_index)
    if jit:
        grad = jax.jit(grad)
    block = jax.block_until_ready

    def call(*args: Any) -> Any:  # JAX dispatches asynchronously: wait for the result
        return block(grad(*args))

    args = tuple(jax.device_put(jnp.asarray(a, dtype=jnp.float64)) for a in case.args)
    return call, args


def torch_grad(case: Case) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    try:
        import torch
    except ImportError as e:
        raise NotInstalled(str(e)) from e
    torch.set_num_threads(1)
    m = SimpleNamespace(
        sin=torch.sin,
        exp=torch.exp,
        tanh=torch.tanh,
        sum=torch.sum,
        mean=torch.mean,
        relu=torch.relu,
        where=python_where,
    )
    fn = FUNCTIONS[case.peer]
    index = case.wrt_index
    args = tuple(
        torch.tensor(a, dtype=torch.float64, requires_grad=i in index)
        for i, a in enumerate(case.args)
    )
    grad = torch.autograd.grad

    def call(*ts: Any) -> Any:
        return grad(fn(m, *ts), [ts[i] for i in index])

    return call, args


def versions() -> dict[str, str]:
    """Installed versions of the optional libraries (for the machine report)."""
    from importlib import metadata

    found = {}
    for name in ("autograd", "jax", "jaxlib", "torch"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found
