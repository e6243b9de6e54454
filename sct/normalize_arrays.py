"""Normalize, for arrays: NumPy calls, methods and attributes, writes, and memory shared in place.

Contract: :class:`ArrayNormalizer` is the part of :class:`sct.normalize._Normalizer`
that puts array code in three-address form, under the same rules (one
operation on atoms per statement):

- a call of a rule with keyword parameters or an array method
  (``np.sum(x, axis=0)``, ``x.mean()``) becomes one assignment whose operands
  are atoms and whose statics (``axis``) are kept as written;
- ``x.T``, ``x.shape``: an assignment of the attribute's rule;
- a write ``y[i] = v`` is one :class:`~sct.ir.SetItem`; ``y[i] += v`` reads,
  adds, writes;
- an in-place change (``z += v``, ``v[0] = ...``) to a name that shares memory
  with another array (a view, or the same object) is a located error: sct
  could not follow the other name's change.

Also here: :func:`_bare` (an expression without parentheses and whitespace)
and :func:`_is_constant`, which both normalizers use.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from . import expr as E
from . import ir
from .signature import attribute_key, bind

# (expression, rule key, operands, statics): one operation on atoms
Operation = tuple[E.Expr, "str | None", tuple[E.Expr, ...], tuple[tuple[str, E.Expr], ...]]


# operations whose result is a view of their operand's memory
_VIEWS = {"getitem", "numpy.transpose", "numpy.reshape", "numpy.ravel", "numpy.squeeze", "numpy.expand_dims"}


def _replaced(node: cst.CSTNode, mapping: dict[int, cst.BaseExpression]) -> cst.CSTNode:
    """``node`` with the given nodes (by identity) replaced: a plain walk, no libcst transformer."""
    if id(node) in mapping:
        return mapping[id(node)]
    return E.map_children(node, lambda child: _replaced(child, mapping))


def _bare_element(element: cst.SubscriptElement) -> cst.SubscriptElement:
    s = element.slice
    if isinstance(s, cst.Index):
        s = s.with_changes(value=_bare(s.value))
    else:
        s = s.with_changes(**{k: _bare(getattr(s, k)) for k in ("lower", "upper", "step") if getattr(s, k) is not None})
    return cst.SubscriptElement(s)


def _unparenthesized(node: cst.CSTNode) -> cst.CSTNode:
    if getattr(node, "lpar", None) and type(node) is not cst.Tuple:  # (2, 3) keeps its own
        return node.with_changes(lpar=(), rpar=())
    return node


def _bare(node: cst.BaseExpression) -> E.Expr:
    """A copy of ``node`` without its parentheses, simplified."""
    return E.simplify(E.rebuild(node, _unparenthesized))  # type: ignore[arg-type]


def _is_constant(node: cst.BaseExpression) -> bool:
    """A literal, a module constant (math.pi), or arithmetic on those alone."""
    if isinstance(node, (cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.Name) and node.value in {"True", "False", "None"}:
        return True
    if isinstance(node, cst.Attribute):
        return True  # check admits only module constants
    if isinstance(node, cst.UnaryOperation):
        return _is_constant(node.expression)
    if isinstance(node, cst.BinaryOperation):
        return _is_constant(node.left) and _is_constant(node.right)
    return False




class ArrayNormalizer:
    """Mixed into ``_Normalizer``: the attributes named here are its own."""

    fs: Any
    namer: Any
    local: set[str]
    shared: set[str]
    arrays: bool
    mentions_numpy: bool

    def note(self, target: str, op: str | None, args: tuple[E.Expr, ...]) -> None:
        """Track names that share memory with another array (a view, or the same object)."""
        self.shared.discard(target)
        if op in _VIEWS or (op is None and len(args) == 1 and isinstance(args[0], cst.Name)):
            self.shared.add(target)
            if op is None:
                self.shared.add(args[0].value)  # type: ignore[attr-defined]

    def refuse_in_place(self, name: str, node: cst.CSTNode, what: str) -> None:
        """An in-place change to an array another name shares: sct could not follow it."""
        if name in self.shared and (self.arrays or self.mentions_numpy):
            from .errors import UnsupportedError

            raise UnsupportedError(
                f"{what} `{name}`, which shares its memory with another array (a view or the same object)",
                self.fs.file.location(node),
                f"make it its own array first (`{name} = {name}.copy()`), or write `{name} = {name} + ...`",
            )

    def array_attribute(self, node: cst.BaseExpression) -> str | None:
        return attribute_key(node, self.local) if isinstance(node, cst.Attribute) else None

    def rule_call(self, node: cst.Call, key: str, is_method: bool, out: list[ir.Stmt], origin: ir.Origin) -> Operation:
        """A call with keyword parameters or a method (``np.sum(x, axis=0)``, ``x.mean()``)."""
        bound = bind(self.fs, node, key, node.func.value if is_method else None)  # type: ignore[attr-defined]
        atoms = [self.atom(o, out, origin) for o in bound.operands]
        value: cst.BaseExpression = _replaced(node, {id(o): a for o, a in zip(bound.operands, atoms)})  # type: ignore[assignment]
        value = _bare(value if is_method else self.rewrite(value, key))  # type: ignore[arg-type]
        statics = tuple((name, _bare(v)) for name, v in bound.statics.items())
        self.arrays |= key.startswith("numpy.")
        return value, key, tuple(atoms), statics

    def rewrite(self, node: cst.Call, key: str | None) -> cst.Call:
        """The call as written, its function spelled for the generated module."""
        return _bare(node.with_changes(func=self.func(node.func, key)))  # type: ignore[return-value]

    def write(self, target: cst.Subscript, value: cst.BaseExpression, op: str | None, out: list[ir.Stmt], origin: ir.Origin) -> None:
        """``y[i] = v``; ``y[i] += v`` as ``t = y[i]; t2 = t + v; y[i] = t2``."""
        self.arrays = True
        name = target.value.value  # type: ignore[attr-defined]
        self.refuse_in_place(name, target, "a write into")
        index = tuple(_bare_element(e) for e in target.slice)
        if op is None:
            atom = self.atom(value, out, origin)
        else:
            binop = {"+": cst.Add, "-": cst.Subtract, "*": cst.Multiply, "/": cst.Divide}[op]
            atom = self.atom(cst.BinaryOperation(target, binop(), value), out, origin)
        out.append(ir.SetItem(name, index, atom, origin))
