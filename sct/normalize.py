"""Normalize: the user's function in three-address form, one operation per statement.

Contract: :func:`normalize` turns a checked ``FunctionDef`` into an
:class:`~sct.ir.Function` in which every assignment applies one operation to
atoms (names and literals) or copies an atom, exactly the shape of the
exercise (``v = w * x``; ``z = v + b``). Nested expressions get temporaries
``t1, t2, ...`` in evaluation order; augmented assignments become plain ones;
tuple assignments become one copy per name; an assignment never reads its own
target (``x = x * y`` becomes ``t1 = x * y; x = t1``), so the value an
operation reads is never the value it overwrites. ``return <expr>`` becomes
an assignment to ``result`` and ``return result``. Every statement keeps the
user's line as its :class:`~sct.ir.Origin`.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import libcst as cst
import libcst.matchers as m

from . import expr as E
from . import ir, rules
from .check import callee_key
from .errors import InternalError
from .names import Namer
from .normalize_blocks import BlockNormalizer, unpack_error
from .normalize_arrays import (
    ArrayNormalizer,
    Operation,
    _bare,
    _bare_element,
    _is_constant,
)
from .signature import CONSTRUCTORS, index_value, method_key
from .source import FunctionSource
from .syntax import _assigned_names, aug_op_key, binary_op_key


class _Normalizer(BlockNormalizer, ArrayNormalizer):
    def __init__(self, fs: FunctionSource, namer: Namer, resolver: Any = None, qualify: bool = False):
        self.fs = fs
        self.namer = namer
        self.resolver = resolver
        self.qualify = qualify  # spell rules by qualified name: the code lands in another file's module
        self.result: str | None = None
        self.results: list[str] | None = None
        self.constants = _module_constants(fs) if qualify else {}
        self.local = set(fs.params) | _assigned_names(fs.body_nodes())  # x.sum(): a method of a local array
        self.ranges: set[str] = set()  # names holding a range (generated adjoints slice them)
        self.arrays = False  # set on the first NumPy operation
        self.shared: set[str] = set()  # names that may share memory with another array

    # asked of few functions (an in-place change of a shared name; a tuple returned): walked for when asked

    @functools.cached_property
    def mentions_numpy(self) -> bool:  # type: ignore[override]
        names = self.fs.find((cst.Name, cst.Attribute))
        return any(q.startswith("numpy") for node in names for q in self.fs.file.qualified_names(node))

    @functools.cached_property
    def one_return(self) -> bool:
        return len(self.fs.find(cst.Return)) == 1

    def user_callee(self, node: cst.BaseExpression) -> Any:
        """The user's function or primitive that a call calls, or None."""
        if not isinstance(node, cst.Call) or self.resolver is None or callee_key(self.fs, node.func) is not None:
            return None
        return self.resolver.resolve(self.fs, node.func)

    def argument(self, node: cst.BaseExpression, out: list[ir.Stmt], origin: ir.Origin) -> E.Expr:
        """An atom, or a tuple of atoms (``g(x, (a, b))``, as adjoints pass several seeds)."""
        if isinstance(node, cst.Tuple):
            return E.tuple_([self.atom(e.value, out, origin) for e in node.elements]).with_changes(
                lpar=[cst.LeftParen()], rpar=[cst.RightParen()]
            )
        return self.atom(node, out, origin)

    def call(self, node: cst.Call, callee: Any, targets: list[str], out: list[ir.Stmt], origin: ir.Origin) -> None:
        """``targets = g(args)`` for the user's function ``g``: one :class:`ir.Call`."""
        from .calls import bind

        args = tuple(self.argument(a, out, origin) for a in bind(callee, node, self.fs))
        read = {n for a in args for n in ir.names_in(a)}
        staged = [self.namer.temp() if t in read else t for t in targets]
        out.append(ir.Call(ir.tuple_target(staged, force=callee.returns > 0), callee.expr(), args, origin, callee))
        for t, s in zip(targets, staged):
            if t != s:
                out.append(ir.Assign(t, cst.Name(s), None, (cst.Name(s),), origin))

    # ---- expressions ------------------------------------------------------

    def atom(self, node: cst.BaseExpression, out: list[ir.Stmt], origin: ir.Origin) -> E.Expr:
        """An atom holding ``node``'s value, emitting statements for its operations."""
        if isinstance(node, cst.Name):
            if node.value in self.constants:
                return self.constants[node.value]
            return cst.Name(node.value)
        if _is_constant(node) and not self.array_attribute(node):
            return _bare(node)
        callee = self.user_callee(node)
        if callee is not None and callee.kind == "function":
            target = self.namer.temp()
            self.call(node, callee, [target], out, origin)  # type: ignore[arg-type]
            return cst.Name(target)
        value, op, args, statics = self.operation(node, out, origin)
        target = self.namer.temp()
        out.append(ir.Assign(target, value, op, args, origin, statics))
        self.note(target, op, args)
        return cst.Name(target)

    def operation(self, node: cst.BaseExpression, out: list[ir.Stmt], origin: ir.Origin) -> Operation:
        """``node`` as one operation on atoms: (expression, rule key, operands, statics)."""
        if isinstance(node, cst.Name) or (_is_constant(node) and not self.array_attribute(node)):
            a = self.atom(node, out, origin)
            return a, None, (a,), ()
        if isinstance(node, cst.BinaryOperation):
            key = binary_op_key(node.operator)
            left = self.atom(node.left, out, origin)
            right = self.atom(node.right, out, origin)
            value = cst.BinaryOperation(left=left, operator=type(node.operator)(), right=right)
            self.arrays |= key == "@"
            return value, key, (left, right), ()
        if isinstance(node, cst.UnaryOperation) and not isinstance(node.operator, cst.Not):
            operand = self.atom(node.expression, out, origin)
            key = "u-" if isinstance(node.operator, cst.Minus) else "u+"
            return cst.UnaryOperation(type(node.operator)(), operand), key, (operand,), ()
        if isinstance(node, (cst.Comparison, cst.BooleanOperation)) or (
            isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not)
        ):
            return self.condition(node), ir.INACTIVE, (), ()
        if isinstance(node, cst.IfExp):
            target = self.namer.temp()
            body: list[ir.Stmt] = []
            orelse: list[ir.Stmt] = []
            self.assign(target, node.body, body, origin)
            self.assign(target, node.orelse, orelse, origin)
            out.append(ir.If(self.condition(node.test), body, orelse, origin))
            return cst.Name(target), None, (cst.Name(target),), ()
        if isinstance(node, cst.List) and not node.elements:  # a new stack
            return cst.List([]), ir.STACK, (), ()
        if m.matches(node, m.Call(func=m.Attribute(value=m.Name(), attr=m.Name("pop")), args=[])):
            stack = cst.Name(node.func.value.value)  # type: ignore[attr-defined]
            return cst.Call(cst.Attribute(stack, cst.Name("pop"))), ir.POP, (stack,), ()
        if isinstance(node, cst.Subscript):
            if isinstance(node.value, cst.Name) and node.value.value in self.ranges:  # a range, sliced
                return _bare(node), ir.INACTIVE, (), ()
            base = self.atom(node.value, out, origin)  # x[1:3, None]: the index passes no derivative
            self.arrays = True
            index = E.simplify(index_value(node.with_changes(slice=[_bare_element(e) for e in node.slice])))
            value = cst.Subscript(base, [_bare_element(e) for e in node.slice])
            return value, "getitem", (base,), (("index", index),)
        if isinstance(node, cst.Attribute):  # x.T, x.shape
            key = self.array_attribute(node)
            base = self.atom(node.value, out, origin)
            self.arrays = True
            return cst.Attribute(base, cst.Name(node.attr.value)), key, (base,), ()
        if self._is_call(node, ("builtins.range",)):  # a range kept in a name: never differentiated
            args = [cst.Arg(self.atom(a.value, out, origin)) for a in node.args]  # type: ignore[attr-defined]
            return cst.Call(cst.Name("range"), args), ir.INACTIVE, (), ()
        if isinstance(node, cst.Call) and callee_key(self.fs, node.func) in rules.CHAINED:
            value, op, args = self.chained(node, out, origin)
            return value, op, args, ()
        callee = self.user_callee(node)
        if callee is not None:  # a primitive: its rule is in the table under its key
            from .calls import bind as bind_callee

            args = tuple(self.atom(a, out, origin) for a in bind_callee(callee, node, self.fs))  # type: ignore[arg-type]
            return cst.Call(func=callee.expr(), args=[cst.Arg(a) for a in args]), callee.key, args, ()
        if isinstance(node, cst.Call):
            method = method_key(node.func, self.local)
            key = method or callee_key(self.fs, node.func)
            if key == "numpy.full" and len(node.args) >= 2 and not _is_constant(node.args[1].value):
                # np.full(shape, v) with a computed v: zeros of the shape plus v, so v's derivative flows
                self.arrays = True
                zeros = self.namer.temp()
                shape = _bare(node.args[0].value)
                out.append(ir.Assign(zeros, E.call("numpy.zeros", shape), ir.INACTIVE, (), origin))
                fill = self.atom(node.args[1].value, out, origin)
                return cst.BinaryOperation(cst.Name(zeros), cst.Add(), fill), "+", (cst.Name(zeros), fill), ()
            if key in CONSTRUCTORS:  # a fresh array from a shape
                self.arrays = True
                return self.rewrite(node, key), ir.INACTIVE, (), ()
            if key is not None and "." in key and not key.startswith(("math.", "builtins.", "sct.")) or method:
                return self.rule_call(node, key, method is not None, out, origin)  # type: ignore[arg-type]
            args = tuple(self.atom(a.value, out, origin) for a in node.args)
            call = cst.Call(func=self.func(node.func, key), args=[cst.Arg(a) for a in args])
            return call, key, args, ()
        raise InternalError(f"normalize: unexpected expression {type(node).__name__} (check let it through)")

    def chained(
        self, node: cst.Call, out: list[ir.Stmt], origin: ir.Origin
    ) -> tuple[E.Expr, str | None, tuple[E.Expr, ...]]:
        """``max(a, b, c)`` as ``max(max(a, b), c)``; ``sum((a, b, c))`` as ``a + b + c``."""
        key = callee_key(self.fs, node.func)
        only = node.args[0].value if len(node.args) == 1 else None
        values = [e.value for e in only.elements] if isinstance(only, (cst.Tuple, cst.List)) else [a.value for a in node.args]
        if not values:
            return E.number(0), None, (E.number(0),)
        if len(values) == 1:
            return self.operation(values[0], out, origin)[:3]  # type: ignore[return-value]
        op = rules.CHAINED[key]  # type: ignore[index]
        acc = self.atom(values[0], out, origin)
        for i, value in enumerate(values[1:], start=2):
            nxt = self.atom(value, out, origin)
            if op == "+":
                expr: E.Expr = cst.BinaryOperation(acc, cst.Add(), nxt)
            else:
                expr = cst.Call(_bare(node.func), [cst.Arg(acc), cst.Arg(nxt)])
            if i == len(values):
                return expr, op, (acc, nxt)
            temp = self.namer.temp()
            out.append(ir.Assign(temp, expr, op, (acc, nxt), origin))
            acc = cst.Name(temp)
        raise InternalError("normalize: chained call")  # pragma: no cover

    def func(self, func: cst.BaseExpression, key: str | None) -> E.Expr:
        """A rule's function as written, or by qualified name when the code moves to another module."""
        if self.qualify and key and "." in key:
            module, _, attr = key.rpartition(".")
            return cst.Name(attr) if module == "builtins" else cst.parse_expression(key)
        return _bare(func)

    def condition(self, node: cst.BaseExpression) -> E.Expr:
        """A test, kept as written: it is evaluated, never differentiated."""
        return _bare(node)

    # ---- statements -------------------------------------------------------

    def origin(self, node: cst.CSTNode) -> ir.Origin:
        line = self.fs.file.line(node)
        if isinstance(node, (cst.If, cst.For, cst.While)):  # its header, as written (not the comments above it)
            lines = self.fs.file.lines
            text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        else:
            text = re.sub(r"\s+", " ", cst.Module([]).code_for_node(node)).strip()
        return ir.Origin(line, text if len(text) <= 72 else text[:69] + "...")

    def assign(self, target: str, value: cst.BaseExpression, out: list[ir.Stmt], origin: ir.Origin) -> None:
        callee = self.user_callee(value)
        if callee is not None and callee.kind == "function":
            self.call(value, callee, [target], out, origin)  # type: ignore[arg-type]
            return
        expr, op, args, statics = self.operation(value, out, origin)
        made_by = (op, args)  # what the target's value is (through a temporary, below)
        if op is not None and target in ir.names_in(expr):
            temp = self.namer.temp()
            out.append(ir.Assign(temp, expr, op, args, origin, statics))
            expr, op, args, statics = cst.Name(temp), None, (cst.Name(temp),), ()
        if op == ir.INACTIVE and _is_range(value, self):
            self.ranges.add(target)
        out.append(ir.Assign(target, expr, op, args, origin, statics))
        self.note(target, *made_by)

    def small(self, node: cst.BaseSmallStatement, origin: ir.Origin, out: list[ir.Stmt]) -> None:
        if isinstance(node, cst.Assign) and isinstance(node.targets[0].target, cst.Subscript):
            self.write(node.targets[0].target, node.value, None, out, origin)
        elif isinstance(node, cst.AugAssign) and isinstance(node.target, cst.Subscript):
            self.write(node.target, node.value, aug_op_key(node.operator), out, origin)
        elif isinstance(node, cst.Assign):
            for t in node.targets:
                self.assign_to(t.target, node.value, out, origin)
        elif isinstance(node, cst.AnnAssign):
            self.assign_to(node.target, node.value, out, origin)  # type: ignore[arg-type]
        elif isinstance(node, cst.AugAssign):
            op = aug_op_key(node.operator)
            binop = {"+": cst.Add, "-": cst.Subtract, "*": cst.Multiply, "/": cst.Divide,
                     "**": cst.Power, "//": cst.FloorDivide, "%": cst.Modulo, "@": cst.MatrixMultiply}[op]  # type: ignore[index]
            value = cst.BinaryOperation(left=node.target, operator=binop(), right=node.value)
            self.refuse_in_place(node.target.value, node, f"`{cst.Module([]).code_for_node(node.operator).strip()}` in place on")  # type: ignore[attr-defined]
            self.assign(node.target.value, value, out, origin)  # type: ignore[attr-defined]
        elif isinstance(node, cst.Return):
            self.returns(node.value, out, origin)  # type: ignore[arg-type]
        elif isinstance(node, cst.Break):
            out.append(ir.Break(origin))
        elif isinstance(node, cst.Continue):
            out.append(ir.Continue(origin))
        elif isinstance(node, cst.Expr) and isinstance(node.value, cst.Call):  # stack.append(v)
            call = node.value
            value = self.atom(call.args[0].value, out, origin)
            out.append(ir.ExprStmt(call.with_changes(func=_bare(call.func), args=[cst.Arg(value)]), origin))
        elif isinstance(node, (cst.Pass, cst.Expr)):
            pass  # `pass` and docstrings
        else:
            raise InternalError(f"normalize: unexpected statement {type(node).__name__}")

    def assign_to(self, target: cst.BaseExpression, value: cst.BaseExpression, out: list[ir.Stmt], origin: ir.Origin) -> None:
        if isinstance(target, cst.Name):
            self.assign(target.value, value, out, origin)
            return
        names = [e.value.value for e in target.elements]  # type: ignore[attr-defined]
        callee = self.user_callee(value)
        if callee is not None and callee.kind == "function" and callee.returns == len(names) >= 1:
            self.call(value, callee, names, out, origin)  # type: ignore[arg-type]
            return
        if isinstance(value, cst.Name):  # a tuple held in a name (a parameter): unpacked
            staged = [self.namer.temp() if n == value.value else n for n in names]
            out.append(ir.Call(ir.tuple_target(staged, force=True), None, (cst.Name(value.value),), origin))
            for name, s in zip(names, staged):
                if name != s:
                    out.append(ir.Assign(name, cst.Name(s), None, (cst.Name(s),), origin))
            return
        if not isinstance(value, (cst.Tuple, cst.List)) or len(value.elements) != len(names):
            raise unpack_error(self.fs, value, len(names))
        # Evaluate every right-hand side first, as Python does, then copy.
        atoms = [self.atom(e.value, out, origin) for e in value.elements]
        staged = []
        for a in atoms:
            if isinstance(a, cst.Name) and a.value in names:
                temp = self.namer.temp()
                out.append(ir.Assign(temp, a, None, (a,), origin))
                a = cst.Name(temp)
            staged.append(a)
        for name, a in zip(names, staged):
            out.append(ir.Assign(name, a, None, (a,), origin))

    def returns(self, value: cst.BaseExpression, out: list[ir.Stmt], origin: ir.Origin) -> None:
        callee = self.user_callee(value)
        many = isinstance(value, cst.Tuple) or (callee is not None and callee.kind == "function" and callee.returns > 0)
        if many:
            count = len(value.elements) if isinstance(value, cst.Tuple) else callee.returns
            if self.results is None:
                self.results = [self.namer.fresh(f"result{i + 1}") for i in range(count)]
            if isinstance(value, cst.Tuple):
                atoms = [self.atom(e.value, out, origin) for e in value.elements]
                names = [a.value for a in atoms if isinstance(a, cst.Name)]
                if self.one_return and len(set(names)) == len(atoms) and not set(names) & set(self.fs.params):
                    out.append(ir.Return(ir.tuple_target(names, force=True), origin))  # `return a, b` as written
                    return
                # every return gives its values in the same names: the adjoint has one seed for each
                for name, a in zip(self.results, atoms):
                    out.append(ir.Assign(name, a, None, (a,), origin))
            else:
                self.call(value, callee, list(self.results), out, origin)  # type: ignore[arg-type]
            out.append(ir.Return(ir.tuple_target(self.results, force=True), origin))
            return
        if isinstance(value, cst.Name):
            out.append(ir.Return(cst.Name(value.value), origin))
            return
        if self.result is None:
            self.result = self.namer.fresh("result")
        self.assign(self.result, value, out, origin)
        out.append(ir.Return(cst.Name(self.result), origin))


def _is_range(node: cst.BaseExpression, n: "_Normalizer") -> bool:
    """``range(...)``, or a slice of a name holding one."""
    if n._is_call(node, ("builtins.range",)):
        return True
    return isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name) and node.value.value in n.ranges


def constant_assignments(module: cst.Module) -> list[tuple[str, cst.Assign]]:
    """Top-level ``NAME = <literal arithmetic>`` lines of a file, in order."""
    found = []
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
            small = stmt.body[0]
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
                and _is_constant(small.value)
                and not isinstance(small.value, cst.Attribute)
            ):
                found.append((small.targets[0].target.value, small))
    return found


def _module_constants(fs: FunctionSource) -> dict[str, E.Expr]:
    """The literal constants at the top level of the function's file, by name, as values."""
    return {name: _bare(assign.value) for name, assign in constant_assignments(fs.file.module)}


def normalize(fs: FunctionSource, namer: Namer, resolver: Any = None, qualify: bool = False) -> ir.Function:
    """The three-address form of a checked function.

    ``resolver`` finds the user's functions it calls (:mod:`sct.calls`);
    ``qualify`` is for a function from another file than the generated
    module's: its rules are spelled by qualified name and its module's
    constants written as their values, so that the code means the same there.
    """
    n = _Normalizer(fs, namer, resolver, qualify)
    body = n.body(fs.node.body)
    fn = ir.Function(fs.name, fs.params, body, fs.file.filename, fs.file.line(fs.node))
    fn.locals = ir.assigned(body) | set(fs.params)
    fn.arrays = n.arrays
    return fn
