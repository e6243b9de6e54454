"""Check: reject what sct cannot differentiate, with a position, before any rewriting.

Contract: :func:`check` walks the user's ``FunctionDef`` (the original CST,
inside its whole file) and raises a located :class:`~sct.errors.SctError`
for the first construct outside the supported subset, saying what to write
instead. Everything that passes is something :mod:`sct.normalize` can put in
three-address form and :mod:`sct.rules` can differentiate.
"""

from __future__ import annotations

from typing import Any, Iterable

import libcst as cst
import libcst.matchers as m

from . import rules
from .errors import NoRuleError, UndefinedNameError, UnsupportedError
from .signature import (
    CONSTRUCTORS,
    METHODS,
    Bound,
    _array_valued,
    attribute_key,
    bind,
    method_key,
)
from .source import FunctionSource
from .walk import run_visitor
from .syntax import (
    _always_returns,
    _assigned_names,
    _is_call_of,
    _names_assigned,
    _own_exits,
    aug_op_key,
    binary_op_key,
    is_literal_sequence,
)

# Constructs with no place in differentiable code, and what to do instead.
_REJECTED: dict[type, tuple[str, str]] = {
    cst.Lambda: ("a `lambda` expression", "define the function with `def` at the top level of the module"),
    cst.FunctionDef: ("a nested function definition", "define the function at the top level of the module"),
    cst.ClassDef: ("a class definition", "define classes outside the differentiated function"),
    cst.ListComp: ("a list comprehension", "write an explicit loop"),
    cst.SetComp: ("a set comprehension", "write an explicit loop"),
    cst.DictComp: ("a dict comprehension", "write an explicit loop"),
    cst.GeneratorExp: ("a generator expression", "write an explicit loop"),
    cst.Try: ("a `try` statement", "handle errors outside the differentiated function"),
    cst.With: ("a `with` statement", "move it outside the differentiated function"),
    cst.Yield: ("`yield`", "return the values instead of generating them"),
    cst.Await: ("`await`", "differentiate synchronous code"),
    cst.Global: ("a `global` statement", "pass the value as a parameter and return the new one"),
    cst.Nonlocal: ("a `nonlocal` statement", "pass the value as a parameter and return the new one"),
    cst.Raise: ("a `raise` statement", "validate inputs before calling the differentiated function"),
    cst.Del: ("a `del` statement", "drop the `del`; let the variable go out of scope"),
    cst.Import: ("an `import` inside the function", "import at the top of the module"),
    cst.ImportFrom: ("an `import` inside the function", "import at the top of the module"),
    cst.NamedExpr: ("an assignment expression (`:=`)", "assign in a statement of its own"),
    cst.StarredElement: ("starred unpacking", "name each value"),
    cst.List: ("a list", "use separate variables"),
    cst.Dict: ("a dict", "use separate variables"),
    cst.Set: ("a set", "use separate variables"),
    cst.SimpleString: ("a string", "keep strings outside the differentiated function"),
    cst.ConcatenatedString: ("a string", "keep strings outside the differentiated function"),
    cst.FormattedString: ("an f-string", "keep strings outside the differentiated function"),
    cst.Imaginary: ("a complex number", "sct differentiates real-valued code"),
    cst.Assert: ("an `assert` statement", "check inputs before calling the differentiated function"),
}

def callee_key(fs: FunctionSource, func: cst.BaseExpression) -> str | None:
    """The rule-table key a call's function resolves to, through the file's imports."""
    for qualified in sorted(fs.file.qualified_names(func)):
        key = rules.canonical(qualified)
        if key in rules.known_ops() or key in CONSTRUCTORS:
            return key
    return None


def callee_label(func: cst.BaseExpression) -> str:
    return cst.Module([]).code_for_node(func)


class _Checker(cst.CSTVisitor):
    def __init__(self, fs: FunctionSource, known_globals: set[str], resolver: Any = None):
        self.fs = fs
        self.known_globals = known_globals
        self.resolver = resolver
        self.defined = set(fs.params) | _assigned_names(fs.body_nodes())
        # lists used as stacks (`s = []`, `s.append(v)`, `v = s.pop()`) and names holding a range:
        # what generated adjoints record, so that generated code can be differentiated again
        self.assigns: list[cst.Assign] = fs.find(cst.Assign)
        self.stacks = _names_assigned(self.assigns, m.List(elements=[]))
        self.ranges: set[str] = set()
        candidates = _names_assigned(self.assigns, m.OneOf(m.Call(), m.Subscript()))
        while True:  # names whose every assignment is a range, or a slice of one
            more = {n for n in candidates - self.ranges if self._assigned_range(n)}
            if not more:
                break
            self.ranges |= more

    def fail(self, node: cst.CSTNode, what: str, hint: str, cls: type = UnsupportedError) -> None:
        raise cls(what, self.fs.file.location(node), hint)

    def on_visit(self, node: cst.CSTNode) -> bool:
        if type(node) in _REJECTED:
            what, hint = _REJECTED[type(node)]
            self.fail(node, f"{what} is not supported in a differentiated function", hint)
        return super().on_visit(node)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if binary_op_key(node.operator) is None:
            op = cst.Module([]).code_for_node(node.operator).strip()
            self.fail(node, f"the operator `{op}` has no derivative rule", "write it with + - * / **", NoRuleError)

    def visit_UnaryOperation(self, node: cst.UnaryOperation) -> None:
        if not isinstance(node.operator, (cst.Minus, cst.Plus, cst.Not)):
            op = cst.Module([]).code_for_node(node.operator).strip()
            self.fail(node, f"the operator `{op}` is not supported here", "use unary minus or plus")

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if aug_op_key(node.operator) is None:
            self.fail(node, "this augmented assignment has no derivative rule", "write it with += -= *= /= **=")
        if isinstance(node.target, cst.Subscript) and aug_op_key(node.operator) in ("+", "-", "*", "/"):
            self._check_write(node.target)
        elif not isinstance(node.target, cst.Name):
            self.fail(node.target, "only a plain name or an array element can be the target of an augmented assignment", "assign to a variable")

    def _assigned_range(self, name: str) -> bool:
        found = [a for a in self.assigns if isinstance(a.targets[0].target, cst.Name) and a.targets[0].target.value == name]
        return all(self._range_expr(a.value) for a in found)

    def _range_expr(self, node: cst.BaseExpression) -> bool:
        """A range: ``range(...)``, a name holding one, a slice of one (``r[:n][::-1]``), or reversed."""
        if _is_call_of(self.fs, node, ("builtins.range",)):
            return True
        if isinstance(node, cst.Name):
            return node.value in self.ranges
        if _is_call_of(self.fs, node, ("builtins.reversed",)) and len(node.args) == 1:  # type: ignore[attr-defined]
            return self._range_expr(node.args[0].value)  # type: ignore[attr-defined]
        bound = m.OneOf(m.Name(), m.Integer(), m.UnaryOperation(operator=m.Minus(), expression=m.Integer()))
        part = m.MatchIfTrue(lambda n: n is None or m.matches(n, bound))
        return m.matches(
            node, m.Subscript(slice=[m.SubscriptElement(m.Slice(lower=part, upper=part, step=part))])
        ) and self._range_expr(node.value)  # type: ignore[attr-defined]

    def _stack_method(self, func: cst.BaseExpression, method: str) -> bool:
        return m.matches(func, m.Attribute(value=m.Name(), attr=m.Name(method))) and func.value.value in self.stacks  # type: ignore[attr-defined]

    def visit_Assign(self, node: cst.Assign) -> bool:
        if m.matches(node, m.Assign(targets=[m.AssignTarget(m.Name())], value=m.List(elements=[]))):
            return False  # a new stack
        if self._range_expr(node.value) and not _is_call_of(self.fs, node.value, ("builtins.range",)):
            return False  # a slice of a range, as an adjoint records a loop's iterations
        for target in node.targets:
            self._check_target(target.target)
            if isinstance(target.target, cst.Name) and isinstance(node.value, (cst.Tuple, cst.List)):
                self.fail(node.value, "a tuple or list held in one variable is not supported",
                          "unpack it into names (`a, b = x, y`), or loop over the literal directly")
        run_visitor(node.value, self)
        return False  # targets are names (checked above), not reads

    def visit_AnnAssign(self, node: cst.AnnAssign) -> bool:
        if node.value is None:
            self.fail(node, "an annotation without a value", "assign a value")
        self._check_target(node.target)
        run_visitor(node.value, self)  # type: ignore[union-attr]
        return False  # the annotation itself is not code

    def _check_write(self, target: cst.Subscript) -> None:
        """``y[i] = ...``: a write into an array the function holds in a name."""
        if not (isinstance(target.value, cst.Name) and target.value.value in self.defined):
            self.fail(target, "a write into something other than an array held in a name", "write into a local array: y = np.zeros(n); y[i] = ...")
        for element in target.slice:
            run_visitor(element.slice, self)

    def _check_target(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            return
        if isinstance(target, cst.Subscript):
            self._check_write(target)
            return
        if isinstance(target, (cst.Tuple, cst.List)) and all(
            isinstance(e.value, cst.Name) and not isinstance(e, cst.StarredElement) for e in target.elements
        ):
            return
        self.fail(target, "this assignment target is not supported", "assign to a name or a tuple of names")

    def visit_IfExp(self, node: cst.IfExp) -> None:
        pass

    def visit_Call(self, node: cst.Call) -> bool:
        if self._stack_method(node.func, "pop") and not node.args:
            return False
        if _is_call_of(self.fs, node, ("builtins.range",)):
            for arg in node.args:
                run_visitor(arg.value, self)
            return False
        method = method_key(node.func, self.defined)
        if method is not None:  # x.sum(axis=0): the array is the first operand
            self._visit_bound(bind(self.fs, node, method, node.func.value))  # type: ignore[attr-defined]
            return False
        key = callee_key(self.fs, node.func)
        label = callee_label(node.func)
        if key in CONSTRUCTORS:  # a fresh array from a shape: no derivative
            for arg in node.args:
                if arg.keyword is None:
                    run_visitor(arg.value, self)
            return False
        if key is None and isinstance(node.func, cst.Attribute):
            base = node.func
            while isinstance(base, cst.Attribute):
                base = base.value
            if isinstance(base, cst.Name):
                self.visit_Name(base)  # `x.max()` with no `x`: an undefined name, said so
        if key is None and isinstance(node.func, cst.Attribute) and _array_valued(node.func.value, self.defined):
            self.fail(
                node,
                f"the array method `{label}` has no derivative rule",
                f"methods sct knows: {', '.join(sorted(METHODS))}; use a NumPy function with a rule "
                "(see the README's table), or declare one with sct.primitive",
                NoRuleError,
            )
        if key is None:
            callee = self.resolver.resolve(self.fs, node.func) if self.resolver is not None else None
            if callee is not None:
                self._check_user_call(node, callee, label)
                return False
            if isinstance(node.func, cst.Name):
                self.visit_Name(node.func)  # an undefined name is reported as such
            self.fail(
                node,
                f"`{label}` has no derivative rule and no Python source sct can read",
                f"declare its derivative: `{label.split('.')[-1]} = sct.primitive({label})`, then "
                f"`@{label.split('.')[-1]}.partials` on a function returning one partial per argument "
                "(see the README's table for the functions sct knows)",
                NoRuleError,
            )
        if key in rules.CHAINED:
            for arg in node.args:
                if arg.keyword is not None or arg.star:
                    self.fail(arg, f"keyword or starred arguments to `{label}`", "pass the arguments by position")
            values = node.args[0].value.elements if len(node.args) == 1 and is_literal_sequence(node.args[0].value) else None  # type: ignore[attr-defined]
            if key == "builtins.sum" and values is None:
                self.fail(node, "`sum` of something other than a literal tuple or list", "write sum((a, b, c)) or a + b + c")
            if values is None and len(node.args) < 2:
                self.fail(node, f"`{label}` of one value", f"write {label}(a, b, ...) or {label}((a, b, ...))")
            for v in values if values is not None else [a.value for a in node.args]:
                run_visitor(v, self)  # type: ignore[union-attr]
            return False
        self._visit_bound(bind(self.fs, node, key))  # type: ignore[arg-type]
        return False  # the function's own name is checked by resolution above

    def _visit_bound(self, bound: Bound) -> None:
        for value in [*bound.operands, *bound.statics.values()]:
            if not isinstance(value, cst.SimpleString):  # einsum's subscripts
                run_visitor(value, self)

    def visit_Subscript(self, node: cst.Subscript) -> bool:
        """Indexing and slicing reads (``x[i]``, ``x[1:3, None]``, ``x[mask]``): the index passes no derivative."""
        if isinstance(node.value, cst.Tuple):
            self.fail(node, "indexing a tuple", "use the element itself")
        run_visitor(node.value, self)
        for element in node.slice:
            s = element.slice
            if isinstance(s, cst.Index) and isinstance(s.value, cst.List):  # x[[2, 2, 0]]: an index array
                for e in s.value.elements:
                    run_visitor(e.value, self)
            else:
                run_visitor(s, self)
        return False

    def _check_user_call(self, node: cst.Call, callee: Any, label: str) -> None:
        """A call of the user's function or primitive: its arguments bind, its values are unpacked."""
        from .calls import bind

        for value in bind(callee, node, self.fs):
            if isinstance(value, cst.List) or (
                isinstance(value, cst.Tuple) and any(isinstance(e, cst.StarredElement) for e in value.elements)
            ):
                self.fail(value, "a list or starred tuple passed as an argument is not supported", "pass a tuple, or its values as separate arguments")
            if any(value is a.value for a in node.args):
                run_visitor(value, self)  # a default is the callee's, checked there
        if callee.returns > 0:
            parent = self.fs.file.parent(node)
            targets = parent.targets if isinstance(parent, cst.Assign) else None
            ok = isinstance(parent, cst.Return) or (
                targets is not None and len(targets) == 1 and isinstance(targets[0].target, (cst.Tuple, cst.List))
                and len(targets[0].target.elements) == callee.returns
            )
            if not ok:
                self.fail(
                    node,
                    f"`{label}` returns {callee.returns} values; they must be unpacked where it is called",
                    f"write `{', '.join('abcdefgh'[: min(callee.returns, 8)])} = {label}(...)`",
                )

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if attribute_key(node, self.defined) is not None:  # x.T, x.shape
            run_visitor(node.value, self)
            return False
        if _array_valued(node.value, self.defined):
            self.fail(
                node,
                f"the attribute `{cst.Module([]).code_for_node(node)}` is not supported",
                "array attributes sct knows: .T, .shape, .ndim, .size; compute anything else outside "
                "the function and pass it in",
            )
        names = self.fs.file.qualified_names(node)
        if not names & rules.CONSTANTS:
            self.fail(
                node,
                f"the attribute `{cst.Module([]).code_for_node(node)}` is not supported",
                "only module constants such as math.pi can be read; pass other values as arguments",
            )
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.defined or node.value in self.known_globals:
            return
        if node.value in {"True", "False", "None"}:
            return
        qualified = self.fs.file.qualified_names(node)
        if qualified and not any(q.startswith(self.fs.name + ".<locals>") for q in qualified):
            return
        self.fail(
            node,
            f"the name `{node.value}` is not defined",
            "define it before use, pass it as a parameter, or import it at the top of the module",
            UndefinedNameError,
        )

    def visit_For(self, node: cst.For) -> bool:
        if node.orelse is not None:
            self.fail(node.orelse, "`for ... else` is not supported", "set a flag before `break` and test it after the loop")
        if node.asynchronous is not None:
            self.fail(node, "`async for` is not supported", "use a plain `for` loop")
        if not isinstance(node.target, cst.Name):
            unrolled = is_literal_sequence(node.iter) or _is_call_of(self.fs, node.iter, ("builtins.enumerate", "builtins.zip"))
            if not (unrolled and m.matches(node.target, m.Tuple(elements=[m.ZeroOrMore(m.Element(value=m.Name()))]))):
                self.fail(node.target, "this loop target is not supported", "loop over `range(...)` with a single name")
        it = node.iter
        if _is_call_of(self.fs, it, ("builtins.range",)):
            for arg in it.args:  # type: ignore[attr-defined]
                run_visitor(arg.value, self)
        elif _is_call_of(self.fs, it, ("builtins.enumerate", "builtins.zip")):
            for arg in it.args:  # type: ignore[attr-defined]
                if not is_literal_sequence(arg.value):
                    self.fail(arg, "enumerate/zip over something other than a literal tuple or list", "write the values as a tuple literal, or loop over range(...)")
                run_visitor(arg.value, self)
        elif is_literal_sequence(it):
            for e in it.elements:  # type: ignore[attr-defined]
                run_visitor(e.value, self)
        elif self._range_expr(it):
            pass  # a range held in a name, sliced or reversed, as generated adjoints loop
        else:
            self.fail(it, "a loop over this iterable is not supported", "loop over range(...), a literal tuple or list, or enumerate/zip of those")
        if is_literal_sequence(it) or _is_call_of(self.fs, it, ("builtins.enumerate", "builtins.zip")):
            for inner in _own_exits(node.body):
                self.fail(inner, "`break`/`continue` in a loop over a literal sequence", "loop over range(len(...)) instead")
        run_visitor(node.body, self)
        return False

    def visit_While(self, node: cst.While) -> None:
        if node.orelse is not None:
            self.fail(node.orelse, "`while ... else` is not supported", "set a flag before `break` and test it after the loop")

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is None:
            self.fail(node, "a `return` without a value", "return the value to differentiate")
        if isinstance(node.value, cst.Tuple) and any(isinstance(e, cst.StarredElement) for e in node.value.elements):
            self.fail(node.value, "a starred value in a `return`", "return each value by name")

    def visit_Expr(self, node: cst.Expr) -> bool:
        if isinstance(node.value, (cst.SimpleString, cst.ConcatenatedString)):
            return False  # a docstring
        value = node.value
        if isinstance(value, cst.Call) and self._stack_method(value.func, "append") and len(value.args) == 1:
            run_visitor(value.args[0].value, self)
            return False
        self.fail(node, "an expression statement has no effect on the result", "assign its value or remove it")
        return False


def check(fs: FunctionSource, known_globals: Iterable[str] = (), resolver: Any = None) -> None:
    """Raise a located error for the first unsupported construct in ``fs``."""
    params = fs.node.params
    for bad, what in (
        (params.star_arg, "*args"),
        (params.star_kwarg, "**kwargs"),
    ):
        if isinstance(bad, cst.Param):
            raise UnsupportedError(f"{what} parameters are not supported", fs.file.location(bad), "name each parameter")
    if params.kwonly_params:
        raise UnsupportedError(
            "keyword-only parameters are not supported", fs.file.location(params.kwonly_params[0]), "make them positional"
        )
    if params.posonly_params:
        raise UnsupportedError(
            "positional-only parameters are not supported", fs.file.location(params.posonly_params[0]), "drop the `/`"
        )
    body = fs.node.body
    if not fs.find(cst.Return):
        raise UnsupportedError(
            f"`{fs.name}` has no `return`", fs.file.location(fs.node), "return the value to differentiate"
        )
    if not _always_returns(list(body.body) if isinstance(body, cst.IndentedBlock) else [body]):
        raise UnsupportedError(
            f"`{fs.name}` can reach its end without returning a value",
            fs.file.location(fs.node),
            "end the function with `return ...` (a function that falls off its end returns None)",
        )
    from .calls import returned_count

    returned_count(fs)
    run_visitor(body, _Checker(fs, set(known_globals), resolver))
