"""Shapes: the helper calls of an array adjoint that shapes known at transform time make unnecessary.

Contract: :func:`simplify` takes the body of an adjoint of array code (forward
sweep, reverse sweep and return, before dead code is removed) and returns an
equivalent body with fewer calls of :mod:`sct.arrays`:

- ``unbroadcast(e, x)`` is ``e`` where ``e`` is known to have ``x``'s shape
  (``t3_bar * (2 * x)`` for ``t3 = x ** 2``): there is nothing to sum back.
- The adjoint of a whole-array reduction, ``sum_vjp(g, x)`` (``g`` a scalar),
  stays the scalar ``g`` (``mean_vjp``: ``g / np.size(x)``): broadcasting
  spreads it when it meets an array, as the full array would have been
  spread, and never builds an array of copies of one number. Such a
  *compact* adjoint may only be read where that is exact: in elementwise
  arithmetic, in ``unbroadcast(e, x)`` when ``x`` has the full shape (nothing
  is summed), and in ``like``. When one is read anywhere else (a matrix
  product's adjoint, a call, a loop), the analysis runs again with that
  adjoint, and those it was computed from, kept full.

What is known about a shape is a *term*: the set of values whose shapes
broadcast together to give it (``{x}`` for ``np.sin(x)``, ``{P, Y}`` for
``P - Y``, the empty set for a number or a whole-array sum). Two values with
equal terms have equal shapes, whatever the inputs' shapes turn out to be;
unequal terms prove nothing, and the helper call stays. An operation whose
result shape is not a broadcast (``@``, a reduction along an axis, a call)
gets a term of its own. Only the top level of the function is analysed:
every value assigned inside a branch or loop has a term of its own after it.

Adjoints of intermediate values may come out in a wider dtype than their
value (``unbroadcast`` cast them); each parameter's adjoint is still cast to
its parameter's dtype by ``like`` in the return.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import NamedTuple

import libcst as cst

from . import expr as E
from . import ir, rules
from .errors import InternalError

Term = frozenset[str]
SCALAR: Term = frozenset()

UNBROADCAST = "sct.arrays.unbroadcast"
LIKE = "sct.arrays.like"
COPY_LIKE = "sct.arrays.copy_like"
REDUCTIONS = {"sct.arrays.sum_vjp": False, "sct.arrays.mean_vjp": True}  # (is a mean)
SHAPED_AS_SECOND = {UNBROADCAST, LIKE, COPY_LIKE, *REDUCTIONS}  # the result has the shape of argument 2
SCALAR_RESULTS = {"sct.mse"}  # always one number, whatever the operands
CONSTANTS = {"None", "True", "False"}


class _Value(NamedTuple):
    node: E.Expr
    actual: Term  # the shape it has
    full: Term  # the shape it stands for (differs for a compact adjoint)


def _reduces_all(stmt: ir.Assign, rule: rules.Rule) -> bool:
    """A reduction over every axis without ``keepdims``: one number."""
    if stmt.op in SCALAR_RESULTS:
        return True
    defaults = dict(rule.statics)
    if defaults.get("axis") != "None" or defaults.get("keepdims") != "False":
        return False
    given = {k: E.code(v) for k, v in stmt.statics}
    return given.get("axis", "None") == "None" and given.get("keepdims", "False") == "False"


class _Shapes:
    def __init__(self, params: list[str], seeds: dict[str, str], once: set[str], full: set[str]):
        self.terms: dict[str, Term] = {p: frozenset({p}) for p in params}
        self.seeds = seeds  # a result's adjoint, given: the shape of the result
        self.once = once  # names bound once: a name to read a shape from
        self.compact: dict[str, Term] = {}  # compact adjoint -> the shape it stands for
        self.first: dict[Term, str] = {}  # a shape -> the first name bound once with it
        for p in params:
            if p in once:
                self.first.setdefault(self.terms[p], p)
        self.fresh_count = 0
        self.full = full  # adjoints that must not be compact (a reader needs all of them)
        self.needs: set[str] = set()  # compact adjoints found read where they must be full
        self.target = ""  # the name the statement being read assigns

    # ---- terms ------------------------------------------------------------

    def fresh(self, name: str) -> Term:
        self.fresh_count += 1
        return frozenset({f"{name}#{self.fresh_count}"})

    def term(self, name: str) -> Term:
        if name not in self.terms:
            seed_of = self.seeds.get(name)
            self.terms[name] = self.terms.get(seed_of, self.fresh(name)) if seed_of else self.fresh(name)
        return self.terms[name]

    def bind(self, name: str, term: Term) -> None:
        self.terms[name] = term
        self.compact.pop(name, None)
        if name in self.once:
            self.first.setdefault(term, name)

    def forward(self, stmt: ir.Assign) -> Term:
        """The term of an operation of the forward sweep."""
        if stmt.op == ir.INACTIVE:
            return self.fresh(stmt.target)
        rule = rules.lookup(stmt.op, len(stmt.args), arrays=True)  # type: ignore[arg-type]
        if rule is not None and rule.broadcasts and not stmt.statics:
            return frozenset().union(*(self.value(a).actual for a in stmt.args))
        if rule is not None and _reduces_all(stmt, rule):
            return SCALAR
        return self.fresh(stmt.target)

    # ---- expressions ------------------------------------------------------

    def unsafe(self, node: cst.CSTNode) -> None:
        """Compact adjoints read in ``node`` where they must be full."""
        self.needs.update(n for n in ir.names_in(node) if n in self.compact)

    def value(self, node: E.Expr) -> _Value:
        """``node`` rewritten, its shape, and the shape it stands for (more than its shape when compact)."""
        if isinstance(node, cst.Name):
            if node.value in CONSTANTS:
                return _Value(node, SCALAR, SCALAR)
            t = self.term(node.value)
            return _Value(node, t, self.compact.get(node.value, t))
        if isinstance(node, (cst.Integer, cst.Float)):
            return _Value(node, SCALAR, SCALAR)
        if isinstance(node, cst.BinaryOperation) and not isinstance(node.operator, cst.MatrixMultiply):
            a, b = self.value(node.left), self.value(node.right)
            rewritten = _numbers_first(node.with_changes(left=a.node, right=b.node), a, b, self)
            return _Value(rewritten, a.actual | b.actual, a.full | b.full)
        if isinstance(node, cst.UnaryOperation):
            a = self.value(node.expression)
            return _Value(node.with_changes(expression=a.node), a.actual, a.full)
        if isinstance(node, cst.Call):
            return self.call(node)
        self.unsafe(node)
        t = self.fresh("expr")
        return _Value(node, t, t)

    def call(self, node: cst.Call) -> _Value:
        func = E.dotted(node.func)
        args = [a.value for a in node.args if a.keyword is None and not a.star]
        keywords = {a.keyword.value: E.code(a.value) for a in node.args if a.keyword is not None}
        plain = len(args) == len(node.args)
        shaped = func in SHAPED_AS_SECOND and len(args) >= 2 and isinstance(args[1], cst.Name)
        if shaped and func in REDUCTIONS and len(args) == 2 and keywords.items() <= {("axis", "None"), ("keepdims", "False")}:
            return self.reduction(args[0], args[1], REDUCTIONS[func])  # type: ignore[arg-type]
        if shaped and plain and func in (LIKE, COPY_LIKE, UNBROADCAST):
            shape = self.term(args[1].value)  # type: ignore[attr-defined]
            inner = self.value(args[0])
            compact = inner.actual != inner.full
            if func == UNBROADCAST and inner.full == shape and (not compact or shape in self.first):
                return _Value(inner.node, inner.actual, shape)  # nothing to sum: the value, compact or not
            if func == UNBROADCAST and compact and inner.full != shape:
                self.unsafe(args[0])  # it sums: needs it full
            return _Value(node.with_changes(args=[node.args[0].with_changes(value=inner.node), *node.args[1:]]), shape, shape)
        rule = rules.lookup(func, len(node.args), arrays=True) if func else None
        if rule is not None and rule.broadcasts and plain:
            parts = [self.value(a) for a in args]
            new_args = [a.with_changes(value=p.node) for a, p in zip(node.args, parts)]
            actual = frozenset().union(*(p.actual for p in parts))
            return _Value(node.with_changes(args=new_args), actual, frozenset().union(*(p.full for p in parts)))
        self.unsafe(node)
        if shaped:
            shape = self.term(args[1].value)  # type: ignore[attr-defined]
            return _Value(node, shape, shape)
        t = self.fresh("call")
        return _Value(node, t, t)

    def reduction(self, g: E.Expr, x: cst.Name, mean: bool) -> _Value:
        """The adjoint of a whole-array sum or mean, kept compact when ``g`` is one number."""
        shape = self.term(x.value)
        inner = self.value(g)
        if inner.actual != SCALAR or inner.full != SCALAR or shape not in self.first or self.target in self.full:
            self.unsafe(g)
            func = "sct.arrays.mean_vjp" if mean else "sct.arrays.sum_vjp"
            return _Value(E.call(func, inner.node, x), shape, shape)
        size_of = cst.Name(self.first[shape])
        value = E.div(inner.node, E.call("numpy.size", size_of)) if mean else inner.node
        return _Value(value, SCALAR, shape)

    # ---- statements -------------------------------------------------------

    def stmt(self, stmt: ir.Stmt) -> ir.Stmt:
        if isinstance(stmt, ir.Assign) and stmt.op is not None:
            self.bind(stmt.target, self.forward(stmt))
            return stmt
        if isinstance(stmt, ir.Assign):
            self.target = stmt.target
            value = self.value(stmt.value)
            self.target = ""
            self.bind(stmt.target, value.actual)
            if value.actual != value.full:
                if stmt.target in self.full or value.full not in self.first:
                    self.unsafe(value.node)  # it must be full: so must be what it is computed from
                self.compact[stmt.target] = value.full
            return dataclasses.replace(stmt, value=value.node)
        if isinstance(stmt, ir.Return) and isinstance(stmt.value, cst.Tuple):
            parts = [self.value(e.value) for e in stmt.value.elements]
            for part in parts:
                if part.actual != part.full:
                    self.unsafe(part.node)
            elements = [e.with_changes(value=p.node) for e, p in zip(stmt.value.elements, parts)]
            return dataclasses.replace(stmt, value=stmt.value.with_changes(elements=elements))
        if not isinstance(stmt, ir.Comment):  # anything else reads compact adjoints as full arrays
            self.needs.update(n for s in ir.walk([stmt]) for n in _mentions(s) if n in self.compact)
            for n in sorted(_bound(stmt)):
                self.bind(n, self.fresh(n))
        return stmt


def _numbers_first(node: cst.BinaryOperation, a: _Value, b: _Value, shapes: _Shapes) -> E.Expr:
    """``s * (c * X)`` as ``s * c * X`` when ``s`` and ``c`` are numbers: one pass over the array, not two."""
    if not isinstance(node.operator, cst.Multiply) or a.actual != SCALAR:
        return node
    inner = b.node
    if not (isinstance(inner, cst.BinaryOperation) and isinstance(inner.operator, cst.Multiply)):
        return node
    if shapes.value(inner.left).actual == SCALAR:
        number, array = inner.left, inner.right
    elif shapes.value(inner.right).actual == SCALAR:
        number, array = inner.right, inner.left
    else:
        return node
    return E.mul(E.mul(a.node, number), array)


def _mentions(stmt: ir.Stmt) -> list[str]:
    out: list[str] = []
    for attr in ("value", "test", "iter", "target", "func", "index"):
        node = getattr(stmt, attr, None)
        if isinstance(node, cst.CSTNode):
            out.extend(ir.names_in(node))
    for a in getattr(stmt, "args", ()) or ():
        if isinstance(a, cst.CSTNode):
            out.extend(ir.names_in(a))
    return out


def _bound(stmt: ir.Stmt) -> set[str]:
    out = set(ir.assigned([stmt]))
    out |= {s.target for s in ir.walk([stmt]) if isinstance(s, ir.SetItem)}
    return out


def simplify(body: list[ir.Stmt], params: list[str], seeds: dict[str, str]) -> list[ir.Stmt]:
    """``body`` with the ``unbroadcast`` calls its shapes make unnecessary removed, and whole-array
    reductions' adjoints kept compact; ``seeds`` maps a parameter holding a result's adjoint to the result."""
    counts = Counter(n for s in ir.walk(body) for n in _bound(s))
    once = {n for n, c in counts.items() if c == 1} | {p for p in params if p not in counts}
    full: set[str] = set()
    while True:
        shapes = _Shapes(params, seeds, once, full)
        out = [shapes.stmt(stmt) for stmt in body]
        if not shapes.needs:
            return out
        if shapes.needs <= full:  # a name kept full came out compact: a bug of this module
            raise InternalError(f"shapes: {sorted(shapes.needs)} compact though kept full")
        full |= shapes.needs
