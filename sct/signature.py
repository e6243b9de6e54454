"""Signature: how a call of a rule's function binds its arguments, as written.

Contract: :func:`bind` takes a call that :mod:`sct.check` resolved to a rule
key (``numpy.sum``), or a method or attribute of an array (``x.sum(axis=0)``,
``x.T``; see :data:`METHODS`), and returns its *operands*, the arguments a
derivative flows through, in the rule's parameter order, and its *statics*,
the keyword parameters that are never differentiated (``axis``,
``keepdims``, ``shape``, einsum's subscripts), by name. It raises a located
error for a call that does not fit the rule (an unknown keyword, too many
arguments). :mod:`sct.check` and :mod:`sct.normalize` both use it, so that
what is checked is what is normalized.

Array constructors (``np.zeros``, ``np.ones``, ...) are :data:`CONSTRUCTORS`:
they make fresh arrays from shapes and pass no derivative.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from . import rules
from .errors import UnsupportedError
from .source import FunctionSource

# array methods -> the rule they are (the object is the first operand)
METHODS = {
    "sum": "numpy.sum", "mean": "numpy.mean", "prod": "numpy.prod", "max": "numpy.max", "min": "numpy.min",
    "var": "numpy.var", "std": "numpy.std", "reshape": "numpy.reshape", "transpose": "numpy.transpose",
    "ravel": "numpy.ravel", "flatten": "numpy.ravel", "squeeze": "numpy.squeeze", "copy": "numpy.copy",
    "dot": "numpy.dot", "trace": "numpy.trace",
}
# array attributes -> the rule they are
ATTRIBUTES = {"T": "numpy.transpose", "shape": "numpy.shape", "ndim": "numpy.ndim", "size": "numpy.size"}
# methods whose extra positional arguments are one tuple: x.reshape(2, 3) is reshape(x, (2, 3))
_PACKED = {"reshape": "shape", "transpose": "axes"}
JOINS = {"numpy.concatenate", "numpy.stack"}
CONSTRUCTORS = {
    "numpy.zeros", "numpy.ones", "numpy.empty", "numpy.eye", "numpy.identity", "numpy.arange", "numpy.linspace",
    "numpy.full",  # with a constant fill (a computed one is zeros plus the fill: see sct.normalize)
}


@dataclass
class Bound:
    """A rule call's operands (in parameter order) and statics (by name)."""

    key: str
    operands: list[cst.BaseExpression]
    statics: dict[str, cst.BaseExpression] = field(default_factory=dict)
    rule: rules.Rule | None = None


def _array_valued(node: cst.BaseExpression, local: set[str]) -> bool:
    """A local variable or a computed value, never a module (``np``) or its attributes."""
    if isinstance(node, cst.Name):
        return node.value in local
    return not isinstance(node, cst.Attribute) or _array_valued(node.value, local)


def method_key(func: cst.BaseExpression, local: set[str]) -> str | None:
    """The rule an array method call is (``x.sum``), when ``x`` is an array (not a module)."""
    if isinstance(func, cst.Attribute) and _array_valued(func.value, local):
        return METHODS.get(func.attr.value)
    return None


def attribute_key(node: cst.Attribute, local: set[str]) -> str | None:
    """The rule an array attribute is (``x.T``, ``x.shape``), when ``x`` is an array (not a module)."""
    if _array_valued(node.value, local):
        return ATTRIBUTES.get(node.attr.value)
    return None


def _fail(fs: FunctionSource, node: cst.CSTNode, what: str, hint: str) -> None:
    raise UnsupportedError(what, fs.file.location(node), hint)


def bind(fs: FunctionSource, call: cst.Call, key: str, obj: cst.BaseExpression | None = None) -> Bound:
    """Operands and statics of ``call`` to rule ``key`` (``obj``: the array of a method call)."""
    label = cst.Module([]).code_for_node(call.func)
    positional: list[cst.BaseExpression] = []
    keywords: dict[str, cst.BaseExpression] = {}
    where: dict[str, cst.CSTNode] = {}  # each keyword's argument, for errors
    for arg in call.args:
        if arg.star:
            _fail(fs, arg, f"starred arguments to `{label}`", "pass each argument")
        if arg.keyword is None:
            if keywords:
                _fail(fs, arg, "a positional argument after a keyword", "reorder the arguments")
            positional.append(arg.value)
        else:
            keywords[arg.keyword.value] = arg.value
            where[arg.keyword.value] = arg
    if obj is not None:
        method = call.func.attr.value  # type: ignore[attr-defined]
        if method in _PACKED and len(positional) > 1:
            positional = [cst.Tuple([cst.Element(p) for p in positional], lpar=[cst.LeftParen()], rpar=[cst.RightParen()])]
        positional = [obj, *positional]
    if key in JOINS:
        if not positional or not isinstance(positional[0], (cst.Tuple, cst.List)):
            _fail(fs, call, f"`{label}` of something other than a literal tuple or list", f"write {label}((a, b), axis=0)")
        operands = [e.value for e in positional[0].elements]  # type: ignore[attr-defined]
        positional = operands + positional[1:]
        return _match(fs, call, key, label, positional, keywords, len(operands), where)
    if key == "numpy.einsum":
        if not positional or not isinstance(positional[0], cst.SimpleString) or "->" not in positional[0].value:
            _fail(fs, call, "`einsum` without explicit subscripts", 'write the output too: np.einsum("ij,jk->ik", a, b)')
        keywords["subscripts"] = positional[0]
        return _match(fs, call, key, label, positional[1:], keywords, len(positional) - 1, where)
    return _match(fs, call, key, label, positional, keywords, None, where)


def _match(
    fs: FunctionSource, call: cst.Call, key: str, label: str, positional: list[cst.BaseExpression],
    keywords: dict[str, cst.BaseExpression], arity: int | None, where: dict[str, cst.CSTNode],
) -> Bound:
    arities = [arity] if arity is not None else rules.arities(key)
    for n in arities:
        rule = rules.lookup(key, n)
        if rule is None:
            continue
        statics = [name for name, _ in rule.statics]
        # past the operands, only the first static (axis, shape, ...) may be positional: NumPy's own
        # order goes on with parameters sct does not take (dtype, out), so keepdims= must be a keyword
        if not n <= len(positional) <= n + min(len(statics), 1):
            continue
        bound = dict(zip(statics, positional[n:]))
        operands = list(positional[:n])
        for name, value in keywords.items():
            if name in bound or (name not in statics and name not in rule.params[len(operands):]):
                _fail(fs, where.get(name, value), f"`{label}` has no keyword `{name}` sct knows",
                      f"sct knows: {', '.join(list(rule.params) + statics) or 'positional arguments only'}")
            if name in statics:
                bound[name] = value
            else:
                operands.append(value)
        if len(operands) != n:
            continue
        return Bound(key, operands, bound, rule)
    want = " or ".join(map(str, arities))
    first = rules.lookup(key, arities[0]) if arities else None
    statics = [name for name, _ in first.statics] if first is not None else []
    if statics and len(positional) > arities[0] + 1:
        _fail(fs, call, f"`{label}` called with {len(positional)} positional arguments; sct takes the array and "
              f"`{statics[0]}` by position", f"pass {', '.join(statics[1:]) or 'the rest'} by keyword")
    _fail(fs, call, f"`{label}` called with {len(positional)} arguments; its rule takes {want}", "check the call")
    raise AssertionError  # pragma: no cover


def index_value(node: cst.Subscript) -> cst.BaseExpression:
    """The runtime value of a subscript's index: ``x[1:3, None]`` -> ``(slice(1, 3, None), None)``."""

    def one(element: cst.SubscriptElement) -> cst.BaseExpression:
        s = element.slice
        if isinstance(s, cst.Index):
            return s.value
        parts = [s.lower, s.upper, s.step]  # type: ignore[attr-defined]
        args = [cst.Arg(p if p is not None else cst.Name("None")) for p in parts]
        return cst.Call(cst.Name("slice"), args)

    values = [one(e) for e in node.slice]
    if len(values) == 1:
        return values[0]
    return cst.Tuple([cst.Element(v) for v in values], lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
