"""Arrays: the NumPy helpers generated code calls where a rule needs a shape.

Contract: each function is a piece of a rule of :mod:`sct.rules` that cannot
be written inline without knowing shapes: summing an adjoint back to the
shape of the operand it was broadcast from, spreading a reduction's adjoint
back over the reduced axes, the adjoints of matrix products, of indexing, of
joins. Every ``*_vjp`` takes the adjoint ``g`` of the result and returns the
adjoint of one argument, of that argument's shape and dtype; every ``*_jvp``
takes a tangent ``d`` of an argument and returns the result's tangent. NumPy
is imported here only, and only when generated code for arrays runs.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"  # string.ascii_letters (importing string compiles a regex)


def log(a: Any) -> Any:
    """The natural logarithm, a Python float for a Python number (so that it never widens a float32 array)."""
    return math.log(a) if isinstance(a, (int, float)) else np.log(a)


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(sorted(a % ndim for a in axes))


def unbroadcast(g: Any, x: Any) -> Any:
    """``g`` summed back to the shape of ``x``, the operand it was broadcast from, in ``x``'s dtype.

    A ``g`` of fewer elements than ``x`` (a constant partial: ``0``) is broadcast up to its shape.
    """
    if type(g) is np.ndarray and type(x) is np.ndarray and g.dtype == x.dtype:
        gs, xs = g.shape, x.shape
        if gs == xs:
            return g  # the common case, first: nothing was broadcast
        lead = len(gs) - len(xs)
        if lead > 0 and xs and gs[lead:] == xs:  # broadcast along leading axes only (a bias): one sum
            return g.sum(axis=0) if lead == 1 else g.sum(axis=tuple(range(lead)))
    elif type(g) is float and type(x) is float:
        return g
    shape = np.shape(x)
    if np.shape(g) == shape:
        return like(g, x)
    g = np.asarray(g, dtype=np.result_type(x, g))
    lead = g.ndim - len(shape)
    if lead > 0:
        g = g.sum(axis=tuple(range(lead)))
    if lead >= 0:
        ones = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
        if ones:
            g = g.sum(axis=ones, keepdims=True)
    if g.shape != shape:
        g = np.broadcast_to(g, shape).copy()
    if not shape and not isinstance(x, np.ndarray):
        return like(g[()], x)  # a Python number or NumPy scalar: a scalar adjoint
    return like(g, x)


def _spread(g: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """A reduction's adjoint ``g``, given back its reduced axes and broadcast to ``x``'s shape."""
    x = np.asarray(x)
    g = np.asarray(g)
    if not keepdims:
        g = np.expand_dims(g, _axes(axis, x.ndim)) if x.ndim else g
    return np.broadcast_to(g, x.shape)


def _count(x: Any, axis: Any) -> int:
    shape = np.shape(x)
    return int(np.prod([shape[a] for a in _axes(axis, len(shape))])) if shape else 1


def sum_vjp(g: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    if axis is None and not keepdims and type(x) is np.ndarray:  # the whole array: g everywhere
        return np.broadcast_to(np.asarray(g, dtype=np.result_type(x, g)), x.shape)
    return _spread(g, x, axis, keepdims).astype(np.result_type(x, g), copy=True)


def broadcast_like(d: Any, x: Any) -> Any:
    """A tangent ``d`` given the shape of the value ``x`` it is the tangent of.

    An elementwise operation's tangent only has the shapes of the operands that
    carry one: in ``t = x + c`` with ``c`` constant it is ``x_dot``, smaller
    than ``t`` when ``c`` broadcasts ``x``. Spread (a read-only view) before a
    reduction or a reshape reads it, in ``x``'s dtype.
    """
    if type(d) is np.ndarray and type(x) is np.ndarray and d.shape == x.shape:
        return d
    return np.broadcast_to(np.asarray(d, dtype=np.result_type(x, d)), np.shape(x))


def mean_vjp(g: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return sum_vjp(g, x, axis, keepdims) / _count(x, axis)


def _first_extreme(x: Any, out: Any, axis: Any, keepdims: bool) -> Any:
    """A mask of the first position reaching the extreme along the reduced axes (ties: the first)."""
    x = np.asarray(x)
    hit = x == _spread(out, x, axis, keepdims)
    if x.ndim == 0:
        return hit
    axes = _axes(axis, x.ndim)
    moved = np.moveaxis(hit, axes, tuple(range(-len(axes), 0))) if axes else hit
    flat = moved.reshape(moved.shape[: moved.ndim - len(axes)] + (-1,))
    first = np.zeros_like(flat)
    idx = np.argmax(flat, axis=-1)
    np.put_along_axis(first, idx[..., None], True, axis=-1)
    return np.moveaxis(first.reshape(moved.shape), tuple(range(-len(axes), 0)), axes) if axes else first


def extremum_jvp(d: Any, x: Any, out: Any, axis: Any = None, keepdims: bool = False) -> Any:
    mask = _first_extreme(x, out, axis, keepdims)
    return np.sum(np.where(mask, d, 0), axis=axis, keepdims=keepdims)


def extremum_vjp(g: Any, x: Any, out: Any, axis: Any = None, keepdims: bool = False) -> Any:
    mask = _first_extreme(x, out, axis, keepdims)
    return np.where(mask, _spread(g, x, axis, keepdims), 0).astype(np.result_type(x, g))


def prod_jvp(d: Any, x: Any, out: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.sum(d * _others_product(x, axis), axis=axis, keepdims=keepdims)


def prod_vjp(g: Any, x: Any, out: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return _spread(g, x, axis, keepdims) * _others_product(x, axis)


def _others_product(x: Any, axis: Any) -> Any:
    """For each element, the product of the others along the axes (exact with zeros)."""
    x = np.asarray(x)
    axes = _axes(axis, x.ndim)
    moved = np.moveaxis(x, axes, tuple(range(-len(axes), 0))) if axes else x
    flat = moved.reshape(moved.shape[: moved.ndim - len(axes)] + (-1,))
    ones = np.ones_like(flat[..., :1])
    before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = (before * after).reshape(moved.shape)
    return np.moveaxis(others, tuple(range(-len(axes), 0)), axes) if axes else others


def var_jvp(d: Any, x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Any:
    centered = x - np.mean(x, axis=axis, keepdims=True)
    return 2 * np.sum(centered * d, axis=axis, keepdims=keepdims) / (_count(x, axis) - ddof)


def var_vjp(g: Any, x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Any:
    centered = x - np.mean(x, axis=axis, keepdims=True)
    return 2 * centered * _spread(g, x, axis, keepdims) / (_count(x, axis) - ddof)


def matmul_vjp_a(g: Any, a: Any, b: Any) -> Any:
    """The adjoint of ``a`` in ``a @ b``, for vectors, matrices and stacks of them."""
    if type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2 and b.ndim == 2:
        # matrices, the common case, first; a sum over one column is an outer product, which
        # broadcasting computes faster than a matrix product, with the same numbers
        return g * b.T if b.shape[1] == 1 else g @ b.T
    a, b, g = np.asarray(a), np.asarray(b), np.asarray(g)
    if a.ndim == 2 and b.ndim == 2:
        return g @ b.T
    if a.ndim == 1 and b.ndim == 1:
        return g * b
    if a.ndim == 1:  # (k,) @ (..., k, m)
        return unbroadcast((b @ g[..., None])[..., 0], a)
    if b.ndim == 1:  # (..., n, k) @ (k,)
        return unbroadcast(g[..., None] * b, a)
    return unbroadcast(g @ np.swapaxes(b, -1, -2), a)


def matmul_vjp_b(g: Any, a: Any, b: Any) -> Any:
    """The adjoint of ``b`` in ``a @ b``."""
    if type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2 and b.ndim == 2:
        return a.T * g if a.shape[0] == 1 else a.T @ g  # one row: an outer product (see matmul_vjp_a)
    a, b, g = np.asarray(a), np.asarray(b), np.asarray(g)
    if a.ndim == 2 and b.ndim == 2:
        return a.T @ g
    if a.ndim == 1 and b.ndim == 1:
        return g * a
    if a.ndim == 1:
        return unbroadcast(a[:, None] * g[..., None, :], b)
    if b.ndim == 1:
        return unbroadcast((np.swapaxes(a, -1, -2) @ g[..., None])[..., 0], b)
    return unbroadcast(np.swapaxes(a, -1, -2) @ g, b)


def dot_vjp_a(g: Any, a: Any, b: Any) -> Any:
    """The adjoint of ``a`` in ``np.dot(a, b)``: a product, a matrix product, or (``b`` of 3 axes or more)
    a sum over the last axis of ``a`` and the second-to-last of ``b``."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a)
    if np.ndim(b) <= 2 or np.ndim(a) == 1:
        return matmul_vjp_a(g, a, b)
    nb = np.ndim(b)
    return np.tensordot(g, b, axes=(list(range(np.ndim(a) - 1, np.ndim(g))), list(range(nb - 2)) + [nb - 1]))


def dot_vjp_b(g: Any, a: Any, b: Any) -> Any:
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, b)
    if np.ndim(b) <= 2 or np.ndim(a) == 1:
        return matmul_vjp_b(g, a, b)
    lead = list(range(np.ndim(a) - 1))
    return np.moveaxis(np.tensordot(a, g, axes=(lead, lead)), 0, -2)


def trace_vjp(g: Any, x: Any) -> Any:
    """The adjoint of ``np.trace(x)``, the sum of the diagonal of x's first two axes."""
    shape = np.shape(x)
    eye = np.eye(shape[0], shape[1], dtype=np.result_type(x, g)).reshape(shape[:2] + (1,) * (len(shape) - 2))
    return eye * g


def det_jvp(d: Any, x: Any, out: Any) -> Any:
    """The tangent of ``np.linalg.det(x)`` (of one matrix or a stack): det(x) * trace(solve(x, d))."""
    return out * np.einsum("...ii->...", np.linalg.solve(x, d))


def det_vjp(g: Any, x: Any, out: Any) -> Any:
    return (np.asarray(g) * out)[..., None, None] * np.swapaxes(np.linalg.inv(x), -1, -2)


def bound(b: Any, side: int) -> Any:
    """A bound of ``np.clip``, with ``None`` (no bound on that side) as an infinite one."""
    return side * math.inf if b is None else b


def outer_vjp_a(g: Any, a: Any, b: Any) -> Any:
    """The adjoint of ``a`` in ``np.outer(a, b)`` (which flattens both)."""
    return np.reshape(g @ np.ravel(b), np.shape(a))


def outer_vjp_b(g: Any, a: Any, b: Any) -> Any:
    return np.reshape(np.ravel(a) @ g, np.shape(b))


def inner_vjp_a(g: Any, a: Any, b: Any) -> Any:
    """The adjoint of ``a`` in ``np.inner(a, b)``: a sum product over the last axes (a product for a 0-d operand)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a)
    lead = np.ndim(a) - 1
    return np.tensordot(g, b, axes=(list(range(lead, np.ndim(g))), list(range(np.ndim(b) - 1))))


def inner_vjp_b(g: Any, a: Any, b: Any) -> Any:
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, b)
    lead = np.ndim(a) - 1
    return np.tensordot(g, a, axes=(list(range(lead)), list(range(lead))))


def transpose_vjp(g: Any, axes: Any = None) -> Any:
    if axes is None:
        return np.transpose(g)
    return np.transpose(g, np.argsort([a % np.ndim(g) for a in axes]))  # negative axes too


def reshape_vjp(g: Any, x: Any) -> Any:
    return np.reshape(g, np.shape(x))


def getitem_vjp(g: Any, x: Any, index: Any) -> Any:
    """Zeros of ``x``'s shape with ``g`` added where ``x[index]`` read (repeated indices add up)."""
    out = np.zeros(np.shape(x), dtype=np.result_type(x, g))
    np.add.at(out, index, g)
    return out


def concatenate_vjp(g: Any, i: int, parts: Sequence[Any], axis: int = 0) -> Any:
    sizes = [np.shape(p)[axis] for p in parts]
    start = sum(sizes[:i])
    return np.take(g, np.arange(start, start + sizes[i]), axis=axis)


def stack_vjp(g: Any, i: int, axis: int = 0) -> Any:
    return np.take(g, i, axis=axis)


def where_jvp(c: Any, d: Any, out: Any, first: bool) -> Any:
    """The tangent of ``np.where(c, a, b)`` along ``a`` (``first``) or ``b``, in the result's dtype."""
    return like(np.where(c, d, 0) if first else np.where(c, 0, d), out)


def where_vjp(g: Any, c: Any, x: Any, first: bool) -> Any:
    """The adjoint of ``a`` (``first``) or ``b`` in ``np.where(c, a, b)``."""
    return unbroadcast(np.where(c, g, 0) if first else np.where(c, 0, g), x)


def _euclidean(x: Any, ord: Any, axis: Any) -> None:
    """Refuse a norm that is not sqrt(sum(x * x)) (its derivative is not the one written here)."""
    n = np.ndim(x) if axis is None else len(axis) if isinstance(axis, tuple) else 1
    if not (ord is None or (ord == 2 and n == 1) or (ord == "fro" and n == 2)):
        raise ValueError(
            f"sct differentiates np.linalg.norm as a 2-norm or a Frobenius norm, not ord={ord!r} over {n} axes: "
            "declare that norm with sct.primitive"
        )


def norm_jvp(d: Any, x: Any, out: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    """The tangent of ``np.linalg.norm(x, ord, axis, keepdims)``, a 2-norm or a Frobenius norm."""
    _euclidean(x, ord, axis)
    return np.sum(x * d, axis=axis, keepdims=keepdims) / out


def norm_vjp(g: Any, x: Any, out: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    _euclidean(x, ord, axis)
    return x * _spread(np.asarray(g) / out, x, axis, keepdims)


def solve_jvp_a(d: Any, a: Any, out: Any) -> Any:
    return -np.linalg.solve(a, d @ out)


def solve_vjp_a(g: Any, a: Any, out: Any) -> Any:
    gb = np.linalg.solve(np.swapaxes(a, -1, -2), g)
    return -(np.multiply.outer(gb, out) if np.ndim(out) == 1 else gb @ np.swapaxes(out, -1, -2))


def solve_vjp_b(g: Any, a: Any) -> Any:
    return np.linalg.solve(np.swapaxes(a, -1, -2), g)


def _explicit(subscripts: str, operands: Sequence[Any]) -> tuple[list[str], str]:
    """Each operand's indices and the output's, ``...`` written out as letters (right-aligned, as it broadcasts)."""
    inputs, output = subscripts.replace(" ", "").split("->")
    names = inputs.split(",")
    if "..." not in subscripts:
        return names, output
    free = [c for c in _LETTERS if c not in subscripts]
    widths = [np.ndim(o) - len(n.replace("...", "")) if "..." in n else 0 for n, o in zip(names, operands)]
    spelled = "".join(free[: max(widths)])
    names = [n.replace("...", spelled[len(spelled) - w :]) for n, w in zip(names, widths)]
    return names, output.replace("...", spelled)


def einsum_vjp(g: Any, subscripts: str, i: int, *operands: Any) -> Any:
    """The adjoint of operand ``i`` of an einsum with explicit subscripts.

    An index of operand ``i`` alone (``"ij->j"``: ``i``) was summed over, so the
    adjoint is constant along it; an index repeated in operand ``i`` (``"ii->"``)
    reads its diagonal, so the adjoint is zero off it.
    """
    names, output = _explicit(subscripts, operands)
    x = operands[i]
    target = names[i]
    letters = "".join(dict.fromkeys(target))  # each index once, in order
    sizes = {c: np.shape(x)[k] for k, c in enumerate(target)}
    elsewhere = set(output).union(*(n for j, n in enumerate(names) if j != i))
    kept = "".join(c for c in letters if c in elsewhere)
    others = [j for j in range(len(names)) if j != i]
    spec = ",".join([output] + [names[j] for j in others]) + "->" + kept
    grad = np.einsum(spec, g, *[operands[j] for j in others])
    stretched = tuple(k for k, c in enumerate(kept) if sizes[c] == 1 and grad.shape[k] != 1)
    if stretched:  # an axis of size 1 that einsum broadcast
        grad = grad.sum(axis=stretched, keepdims=True)
    grad = np.expand_dims(grad, tuple(k for k, c in enumerate(letters) if c not in elsewhere))
    grad = np.broadcast_to(grad, tuple(sizes[c] for c in letters))
    out = np.zeros(np.shape(x), dtype=np.result_type(x, g))
    if len(letters) == len(target):
        out[...] = grad
    else:
        np.einsum(f"{target}->{letters}", out)[...] = grad  # a writeable view of the diagonal
    return out


def mse_jvp(d: Any, a: Any, b: Any) -> Any:
    """The tangent of ``mse(a, b)`` (the mean of squared differences) along ``a``."""
    return np.mean(2 * (a - b) * d)


def mse_vjp(g: Any, a: Any, b: Any) -> Any:
    """The adjoint of ``a`` in ``mse(a, b)``."""
    diff = np.asarray(a - b)
    return unbroadcast(g * 2 * diff / max(diff.size, 1), a)


def copy_of(x: Any) -> Any:
    """A fresh array (same dtype): what an adjoint or tangent is written into starts as its own."""
    return np.array(x, copy=True)


def own(x: Any) -> Any:
    """``x``, copied when it is an array: a returned tangent that may be a given one, or a view of it."""
    return x.copy() if isinstance(x, np.ndarray) else x


def copy_like(g: Any, x: Any) -> Any:
    """``like(g, x)``, and a copy when that is ``g`` itself: for an adjoint that may be another's array."""
    out = like(g, x)
    return out.copy() if out is g and isinstance(out, np.ndarray) else out


def like(g: Any, x: Any) -> Any:
    """A parameter's adjoint as the caller expects it: ``x``'s shape and floating dtype, its own array."""
    if not isinstance(x, np.ndarray):
        return float(g) if type(x) is float and type(g) is int else g  # a compact 1 for a float: 1.0
    if type(g) is np.ndarray and g.shape == x.shape and g.dtype == x.dtype and g.flags.writeable:
        return g
    g = np.asarray(g)
    if g.shape != x.shape:
        g = np.broadcast_to(g, x.shape).copy()  # an adjoint known only to be 0
    if g.dtype != x.dtype and np.issubdtype(x.dtype, np.floating):
        g = g.astype(x.dtype)
    if not g.flags.writeable:  # a broadcast view (sum's adjoint): the caller gets its own array
        g = g.copy()
    return g
