"""Reverse: the adjoint of a normalized function (reverse mode).

Contract: :func:`adjoint` returns an IR function ``<name>_adjoint`` taking the
original parameters and the adjoint of the result last, and returning a tuple
with one adjoint per differentiated parameter. Its body is the forward sweep
(the primal statements the adjoint needs, and no others) followed by the
adjoint statements in explicit reverse order. For ``t = op(a, b)`` the
adjoint multiplies ``t_bar`` by each partial from the rule table and
accumulates into the argument's adjoint (``w_bar += v_bar * x``): the first
contribution assigns, later ones add, nothing is emitted for inactive
variables or for an adjoint known to be zero.

Control flow is replayed backwards from what the forward sweep records, and
only that: the branch an ``if`` took (``cond = x > 0``), how many times a loop
ran when it can exit early or is a ``while`` (``trips``), the values a loop
body overwrites while a partial still reads them (``t1_stack.append(t1)``).
A record made at the top level is a local variable; one made inside a loop
goes on a local list, popped in reverse order. The adjoint of a loop is a
loop running backwards (``for i in i_iter[::-1]``). Straight-line code
records nothing (see :mod:`sct.lower`).
"""

from __future__ import annotations

import libcst as cst

from . import expr as E
from . import ir, rules
from .analysis import Activity, activity, prune
from .errors import InternalError
from .forward import Link, active_params, linear_terms, owned, partials, rule_of, zeros_like
from .lower import rename_block, single_exit, version
from .names import Namer

POP = ir.POP  # the op of `x = x_stack.pop()`: kept by dead-code elimination


def _call(func: str, *args: E.Expr) -> cst.Call:
    return cst.Call(cst.parse_expression(func), [cst.Arg(a) for a in args])


class _Reverse:
    def __init__(self, act: Activity, namer: Namer, link: Link | None = None, arrays: bool = False):
        self.act = act
        self.namer = namer
        self.link = link
        self.arrays = arrays
        self.written: set[str] = set()  # arrays written into (y[i] = v): their adjoints are their own arrays
        self.nonzero: set[str] = set()  # adjoints that may hold a value; others are zero
        self.records: dict[tuple[int, str], str] = {}
        self.stacks: dict[str, None] = {}
        self.scope: set[str] = set()  # names assigned inside the current top-level statement
        self.depth = 0
        self.loop_depth = 0
        self.defined_before: dict[int, set[str]] = {}  # top-level statement -> names bound before it
        self.reassigned: set[str] = set()
        self.loop_targets: list[str] = []
        self.filename = ""
        self.live_pushes: set[str] = set()  # pushed by a later statement of the current block, unchanged since

    # ---- names --------------------------------------------------------------

    def record(self, stmt: ir.Stmt, kind: str, base: str) -> str:
        key = (id(stmt), kind)
        if key not in self.records:
            self.records[key] = self.namer.fresh(base)
        name = self.records[key]
        if self.depth > 1:  # made inside a top-level loop or branch: overwritten there
            self.scope.add(name)
        return name

    def bar(self, var: str) -> cst.Name:
        return cst.Name(self.namer.bar(var))

    # ---- saving values inside loops and branches ----------------------------

    def saved(self, names: set[str], site: ir.Stmt) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        """Saves after ``site`` and restores before its adjoint, for what is overwritten later.

        In a loop a value is pushed on a local list (``t1_stack.append(t1)``); in a
        branch outside any loop, which runs at most once, it is copied to a local
        (``z_saved = z``).
        """
        if self.depth == 0:
            return [], []  # top-level values are never overwritten (sct.lower.version)
        origin = site.origin
        keep = sorted(n for n in names if n in self.scope and n not in self.loop_targets)
        pushes: list[ir.Stmt] = []
        pops: list[ir.Stmt] = []
        if self.loop_depth == 0:
            # a branch runs once: only a value assigned again later in it needs a copy
            keep = [n for n in keep if n in self.reassigned]
            for n in keep:
                local = self.record(site, f"saved {n}", f"{n}_saved")
                pushes.append(ir.Assign(local, cst.Name(n), ir.INACTIVE, (), origin))
                pops.insert(0, ir.Assign(n, cst.Name(local), POP, (), origin))
            return pushes, pops
        # a value a later statement of this block pushes already (unchanged since) is popped there
        keep = [n for n in keep if n not in self.live_pushes]
        self.live_pushes |= set(keep)
        for n in keep:
            stack = self.namer.derived(n, "stack")
            self.stacks[stack] = None
            pushes.append(ir.ExprStmt(_call(f"{stack}.append", cst.Name(n)), origin))
            pops.insert(0, ir.Assign(n, _call(f"{stack}.pop"), POP, (), origin))
        return pushes, pops

    def zeros(self, names: set[str], origin: ir.Origin) -> list[ir.Stmt]:
        return [
            ir.Assign(self.namer.bar(v), owned(E.number(0), v) if v in self.written else E.number(0), None, (), origin)
            for v in sorted(names)
        ]

    def setitem(self, stmt: ir.SetItem) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        """``y[i] = v``: forward, keep what it overwrites; backward, ``v_bar`` from ``y_bar[i]``, then restore.

        Restoring the overwritten elements in reverse order gives every earlier
        statement's adjoint the array as it was when that statement ran.
        """
        y, origin = stmt.target, stmt.origin
        old = self.record(stmt, "old", f"{y}_old")
        if self.depth:
            self.scope.add(old)  # overwritten on every trip of a loop
        save = ir.Assign(old, _call("sct.arrays.copy_of", stmt.at(cst.Name(y))), ir.INACTIVE, (), origin)
        pushes, pops = self.saved({old}, stmt)
        back: list[ir.Stmt] = []
        if self.act.is_active(y) and y in self.nonzero:
            v = stmt.value
            if isinstance(v, cst.Name) and self.act.is_active(v.value):
                part = _call("sct.arrays.copy_of", stmt.at(self.bar(y)))  # not a view: zeroed next
                self.accumulate(v.value, _call("sct.arrays.unbroadcast", part, v), origin, back)
            back.append(ir.SetItem(self.namer.bar(y), stmt.index, E.number(0), origin))
        back.append(ir.SetItem(y, stmt.index, cst.Name(old), origin))
        reads = {n for s in back for n in (ir.names_in(s.value) if isinstance(s, ir.Assign) else s.reads)} - {old}
        more_pushes, more_pops = self.saved(reads, stmt)
        return [save, stmt] + pushes + more_pushes, pops + more_pops + back

    # ---- statements ---------------------------------------------------------

    def accumulate(self, var: str, contribution: E.Expr, origin: ir.Origin, out: list[ir.Stmt]) -> None:
        if var in self.written and var not in self.nonzero:  # written into later: its own array
            contribution = owned(contribution, var)
        if var in self.nonzero and self.arrays:  # never +=: an array adjoint may be another's object
            out.append(ir.Assign(self.namer.bar(var), E.add(self.bar(var), contribution), None, (), origin))
        elif var in self.nonzero:
            out.append(ir.AugAssign(self.namer.bar(var), contribution, origin))
        else:
            out.append(ir.Assign(self.namer.bar(var), contribution, None, (), origin))
            self.nonzero.add(var)

    def stack_op(self, stmt: ir.Stmt) -> tuple[list[ir.Stmt], list[ir.Stmt]] | None:
        """Stacks of values that carry derivatives (a generated adjoint, differentiated again).

        A push's adjoint pops the adjoint stack into the value's adjoint; a pop's
        adjoint pushes the popped value's adjoint. The reverse sweep meets the
        pops first, so each adjoint lands where its value was pushed.
        """
        pushed = ir.pushed(stmt)
        if pushed is not None and self.act.is_active(pushed[0]):
            stack, value = pushed
            popped = _call(f"{self.adjoint_stack(stack)}.pop")
            back: list[ir.Stmt] = []
            if isinstance(value, cst.Name) and self.act.is_active(value.value):
                self.accumulate(value.value, popped, stmt.origin, back)
            else:
                back.append(ir.ExprStmt(popped, stmt.origin))
            return [stmt], back
        if isinstance(stmt, ir.Assign) and stmt.op == ir.POP and stmt.args:
            stack = stmt.args[0].value  # type: ignore[attr-defined]
            if not self.act.is_active(stack):
                return None
            bar = self.bar(stmt.target) if stmt.target in self.nonzero else E.number(0)
            self.nonzero.discard(stmt.target)
            push = ir.ExprStmt(_call(f"{self.adjoint_stack(stack)}.append", bar), stmt.origin)
            return [stmt], [push]
        if isinstance(stmt, ir.Assign) and stmt.op == ir.STACK and self.act.is_active(stmt.target):
            self.adjoint_stack(stmt.target)
            return [stmt], []
        return None

    def adjoint_stack(self, stack: str) -> str:
        name = self.namer.bar(stack)
        self.stacks[name] = None  # made empty at the start, with the records' stacks
        return name

    def assign(self, stmt: ir.Assign) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        target = stmt.target
        if not self.act.is_active(target) or target not in self.nonzero:
            return [stmt], []
        self.nonzero.discard(target)  # the value it was the adjoint of is gone
        out: list[ir.Stmt] = []
        statics = dict(stmt.statics)
        g = self.bar(target)

        def vjp(rule: rules.Rule, i: int, var: str) -> E.Expr | None:
            return rule.vjp(i, stmt.args, cst.Name(target), statics, g)

        for var, term in linear_terms(stmt, self.act, self.arrays, vjp):
            self.accumulate(var, term, stmt.origin, out)
        rule = rule_of(stmt, self.arrays)
        # elementwise on arrays: each operand's adjoint is summed back to its own shape
        spread = self.arrays and rule is not None and rule.broadcasts and len(stmt.args) > 1
        given: dict[str, str] = {}  # a product already assigned to an adjoint here, by its text
        for var, partial in partials(stmt, self.act, self.arrays):
            term = E.mul(g, partial)
            # mse: yhat_bar = g * (2 * (yhat - y)); y_bar = -yhat_bar, not the product twice
            negated = isinstance(term, cst.UnaryOperation) and isinstance(term.operator, cst.Minus)
            if E.code(term) in given:
                term = cst.Name(given[E.code(term)])
            elif negated and E.code(term.expression) in given:  # type: ignore[attr-defined]
                term = E.neg(cst.Name(given[E.code(term.expression)]))  # type: ignore[attr-defined]
            elif not spread and var not in self.nonzero and not isinstance(term, cst.Name):
                given[E.code(term)] = self.namer.bar(var)
            if spread:
                term = _call("sct.arrays.unbroadcast", term, cst.Name(var))
            self.accumulate(var, term, stmt.origin, out)
        reads = {n for s in out for n in ir.names_in(s.value)}
        pushes, pops = self.saved(reads, stmt)
        return [stmt] + pushes, pops + out

    def call(self, stmt: ir.Call) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        """``y = g(a, b)``: forward, the call itself; backward, ``a_bar, b_bar = g_adjoint(a, b, y_bar)``."""
        live = [t for t in stmt.targets if self.act.is_active(t) and t in self.nonzero]
        if not live:
            return [stmt], []
        seeds = [self.bar(t) if t in live else E.number(0) for t in stmt.targets]
        seed = seeds[0] if isinstance(stmt.target, cst.Name) else _parenthesized(E.tuple_(seeds))
        for t in stmt.targets:
            self.nonzero.discard(t)
        out: list[ir.Stmt] = []
        if stmt.func is None:  # a, b = p: p's adjoint is the tuple of theirs
            source = stmt.args[0].value  # type: ignore[attr-defined]
            self.accumulate_tuple(source, seed, stmt.origin, out)
            return [stmt], out
        active = active_params(stmt, self.act)
        if not active or self.link is None:
            return [stmt], []
        name = self.link(stmt.callee, tuple(p for p, _ in active), "adjoint")
        # an argument's adjoint takes the result directly when it is its first contribution
        names = [a.value for _, a in active if isinstance(a, cst.Name)]
        received: list[str] = []
        direct: list[str] = []
        later: list[tuple[E.Expr, str]] = []
        for _, arg in active:
            if isinstance(arg, cst.Name) and arg.value not in self.nonzero and names.count(arg.value) == 1:
                received.append(self.namer.bar(arg.value))
                direct.append(arg.value)
            else:
                label = arg.value if isinstance(arg, cst.Name) else "args"
                part = self.namer.fresh(f"{self.namer.bar(label)}_{stmt.callee.name}")
                received.append(part)
                later.append((arg, part))
        target = cst.Tuple([cst.Element(cst.Name(n)) for n in received])
        out.append(ir.Call(target, cst.Name(name), stmt.args + (seed,), stmt.origin))
        self.nonzero.update(direct)
        for arg, part in later:
            if isinstance(arg, cst.Name):
                self.accumulate(arg.value, cst.Name(part), stmt.origin, out)
            else:  # a tuple argument: its adjoint is a tuple, one entry per element
                parts = [self.namer.fresh(f"{part}_{i + 1}") for i in range(len(arg.elements))]  # type: ignore[attr-defined]
                out.append(ir.Call(ir.tuple_target(parts, force=True), None, (cst.Name(part),), stmt.origin))
                for element, p in zip(arg.elements, parts):  # type: ignore[attr-defined]
                    if isinstance(element.value, cst.Name) and self.act.is_active(element.value.value):
                        self.accumulate(element.value.value, cst.Name(p), stmt.origin, out)
        pushes, pops = self.saved(set(stmt.reads), stmt)
        return [stmt] + pushes, pops + out

    def accumulate_tuple(self, var: str, contribution: E.Expr, origin: ir.Origin, out: list[ir.Stmt]) -> None:
        """``p_bar = (a_bar, b_bar)``, or added entry by entry to what ``p_bar`` holds."""
        if var not in self.nonzero:
            out.append(ir.Assign(self.namer.bar(var), contribution, None, (), origin))
            self.nonzero.add(var)
            return
        items = [e.value for e in contribution.elements] if isinstance(contribution, cst.Tuple) else [contribution]
        held = [self.namer.fresh(f"{self.namer.bar(var)}_{i + 1}") for i in range(len(items))]
        out.append(ir.Call(ir.tuple_target(held, force=True), None, (self.bar(var),), origin))
        total = _parenthesized(E.tuple_([E.add(cst.Name(h), c) for h, c in zip(held, items)]))
        out.append(ir.Assign(self.namer.bar(var), total, None, (), origin))

    def if_(self, stmt: ir.If) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        start = set(self.nonzero)
        fwd_body, rev_body = self.block(stmt.body)
        end_body = self.nonzero
        self.nonzero = set(start)
        fwd_else, rev_else = self.block(stmt.orelse)
        end_else = self.nonzero
        merged = end_body | end_else
        self.nonzero = merged
        # an adjoint consumed on one side only is zeroed there (it holds a stale value)
        rev_body += self.zeros(merged - end_body, stmt.origin)
        rev_else += self.zeros(merged - end_else, stmt.origin)
        if not rev_body and not rev_else:
            return [ir.If(stmt.test, fwd_body, fwd_else, stmt.origin)], []
        cond = self.record(stmt, "cond", "cond")
        pushes, pops = self.saved({cond}, stmt)
        fwd = [ir.Assign(cond, stmt.test, ir.INACTIVE, (), stmt.origin), ir.If(cst.Name(cond), fwd_body, fwd_else, stmt.origin)]
        return fwd + pushes, pops + [ir.If(cst.Name(cond), rev_body, rev_else, stmt.origin)]

    def loop(self, stmt: ir.For | ir.While) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        entry = set(self.nonzero)
        state = set(entry)
        # The reversed loop re-binds its variable, unless the body assigns it too.
        rebinds = isinstance(stmt, ir.For) and stmt.target not in ir.assigned(stmt.body)
        if rebinds:
            self.loop_targets.append(stmt.target)  # type: ignore[union-attr]
        while True:  # the adjoints live at the top of the reversed body, for every trip
            self.nonzero = set(state)
            self.loop_depth += 1
            fwd_body, rev_body = self.block(stmt.body)
            self.loop_depth -= 1
            end = self.nonzero
            if end <= state:
                break
            state |= end
        if rebinds:
            self.loop_targets.pop()
        self.nonzero = state
        # adjoints consumed by the body are zeroed at its end, for the trip before
        rev_body += self.zeros(state - end, stmt.origin)
        before = self.zeros(state - entry, stmt.origin)
        if not rev_body:
            if isinstance(stmt, ir.For):
                return [ir.For(stmt.target, stmt.iter, fwd_body, stmt.origin)], []
            return [ir.While(stmt.test, fwd_body, stmt.origin)], []
        exits = any(isinstance(s, ir.Break) for s in _this_loop(stmt.body))
        fwd: list[ir.Stmt] = []
        recorded: set[str] = set()
        trips = None
        if exits or isinstance(stmt, ir.While):
            trips = self.record(stmt, "trips", "trips")
            recorded.add(trips)
            fwd.append(ir.Assign(trips, E.number(0), ir.INACTIVE, (), stmt.origin))
            fwd_body = [ir.AugAssign(trips, E.number(1), stmt.origin)] + fwd_body
        if isinstance(stmt, ir.For):
            values = self.record(stmt, "iter", f"{stmt.target}_iter")
            recorded.add(values)
            fwd.append(ir.Assign(values, stmt.iter, ir.INACTIVE, (), stmt.origin))
            fwd.append(ir.For(stmt.target, cst.Name(values), fwd_body, stmt.origin))
            seq: E.Expr = cst.Name(values)
            if trips is not None:
                seq = cst.Subscript(seq, [cst.SubscriptElement(cst.Slice(None, cst.Name(trips)))])
            # a range backwards (not `reversed`, an iterator): it can be recorded and reversed again
            backwards = cst.Subscript(seq, [cst.SubscriptElement(cst.Slice(None, None, cst.UnaryOperation(cst.Minus(), cst.Integer("1"))))])
            rev_loop: ir.Stmt = ir.For(stmt.target, backwards, rev_body, stmt.origin)
        else:
            fwd.append(ir.While(stmt.test, fwd_body, stmt.origin))
            rev_loop = ir.For("_", _call("range", cst.Name(trips)), rev_body, stmt.origin)  # type: ignore[arg-type]
        pushes, pops = self.saved(recorded, stmt)
        fwd[0] = _with_origin(fwd[0], ir.Origin(0, _records_note(stmt, trips, fwd_body)))
        return fwd + pushes, pops + before + [rev_loop]

    def stmt(self, stmt: ir.Stmt) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        stacked = self.stack_op(stmt)
        if stacked is not None:
            return stacked
        if isinstance(stmt, ir.Assign):
            return self.assign(stmt)
        if isinstance(stmt, ir.Call):
            return self.call(stmt)
        if isinstance(stmt, ir.SetItem):
            return self.setitem(stmt)
        if isinstance(stmt, ir.If):
            return self.nested(self.if_, stmt)
        if isinstance(stmt, (ir.For, ir.While)):
            return self.nested(self.loop, stmt)
        if isinstance(stmt, (ir.Break, ir.Continue, ir.Return, ir.ExprStmt)):
            return [stmt], []
        raise InternalError(f"reverse: unexpected {type(stmt).__name__}")

    def refuse(self, stmt: ir.Stmt, what: str) -> None:
        """What reverse mode does not handle yet, located at the statement."""
        from .errors import Location, UnsupportedError

        raise UnsupportedError(
            f"reverse mode over {what}",
            Location(self.filename, stmt.origin.line, 0, stmt.origin.text),
            "differentiate generated adjoints in forward mode (sct.hessian and sct.hvp do: forward over reverse)",
        )

    def nested(self, method, stmt):  # type: ignore[no-untyped-def]
        """Run ``method`` one level deeper; a top-level statement opens a new scope."""
        if self.depth == 0:
            self.scope = ir.assigned([stmt])
            counts: dict[str, int] = {}
            for s in ir.walk([stmt]):
                if isinstance(s, (ir.Assign, ir.AugAssign)):
                    counts[s.target] = counts.get(s.target, 0) + 1
            before = self.defined_before.get(id(stmt), set())
            self.reassigned = {v for v, c in counts.items() if c > 1 or v in before}
        self.depth += 1
        try:
            return method(stmt)
        finally:
            self.depth -= 1

    def block(self, body: list[ir.Stmt]) -> tuple[list[ir.Stmt], list[ir.Stmt]]:
        """The forward sweep and the reverse sweep of a block."""
        fwd_parts: list[list[ir.Stmt]] = []
        rev: list[ir.Stmt] = []
        outer, self.live_pushes = self.live_pushes, set()
        for stmt in reversed(body):
            compound = isinstance(stmt, (ir.If, ir.For, ir.While))
            if compound:  # a push on one path, or in another loop, serves no statement here
                self.live_pushes = set()
            fwd, back = self.stmt(stmt)
            fwd_parts.append(fwd)
            rev.extend(back)
            if compound:
                self.live_pushes = set()
            else:  # earlier statements saw the values from before this one
                self.live_pushes -= ir.assigned([stmt]) | ({stmt.target} if isinstance(stmt, ir.SetItem) else set())
        self.live_pushes = outer
        return [s for part in reversed(fwd_parts) for s in part], rev


def _parenthesized(node: cst.Tuple) -> cst.Tuple:
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _with_origin(stmt: ir.Stmt, origin: ir.Origin) -> ir.Stmt:
    import dataclasses

    return dataclasses.replace(stmt, origin=origin)  # type: ignore[type-var]


def _records_note(stmt: ir.For | ir.While, trips: str | None, body: list[ir.Stmt]) -> str:
    """What a loop records for its adjoint, said in a comment above it."""
    pushed: list[str] = []
    for s in ir.walk(body):
        if isinstance(s, ir.ExprStmt) and isinstance(s.value, cst.Call) and s.value.args:
            arg = s.value.args[0].value
            if isinstance(arg, cst.Name) and arg.value not in pushed:
                pushed.append(arg.value)
    parts = [f"its trip count ({trips})"] if trips else []
    if pushed:
        parts.append(f"each trip: {', '.join(pushed)}")
    what = " and ".join(parts) if parts else "nothing (its adjoint replays the same iterations)"
    return f"the loop at line {stmt.origin.line} records {what}"


def _this_loop(body: list[ir.Stmt]) -> list[ir.Stmt]:
    """Statements of a loop body, not looking into nested loops."""
    out: list[ir.Stmt] = []
    for s in body:
        out.append(s)
        if isinstance(s, ir.If):
            out.extend(_this_loop(s.body) + _this_loop(s.orelse))
    return out


def adjoint(
    fn: ir.Function, wrt: list[str], act: Activity, namer: Namer, link: Link | None = None, name: str | None = None
) -> ir.Function:
    versioned, origin_of = version(fn, namer, fn.arrays)
    body, result = single_exit(versioned, namer)
    results = ir.target_names(result)
    # Activity again, over the program the adjoint is built from (versions, flags).
    renamed_act = activity(ir.Function(fn.name, fn.params, body), wrt)
    rev = _Reverse(renamed_act, namer, link, fn.arrays)
    rev.written = {s.target for s in ir.walk(body) if isinstance(s, ir.SetItem)}
    rev.filename = fn.filename
    rev.nonzero.update(r for r in results if renamed_act.is_active(r))
    *statements, final = body
    bound = set(fn.params)
    for stmt in statements:
        rev.defined_before[id(stmt)] = set(bound)
        bound |= ir.assigned([stmt])
    fwd, sweep = rev.block(statements)
    grads: list[E.Expr] = [
        cst.Name(namer.bar(p)) if p in rev.nonzero else zeros_like(cst.Name(p)) for p in wrt
    ]
    if fn.arrays:  # each adjoint in its parameter's shape and dtype (float32 stays float32)
        grads = [_call("sct.arrays.like", g, cst.Name(p)) if p in rev.nonzero else g for g, p in zip(grads, wrt)]
    note = ir.Comment("stacks: values the reverse sweep needs, recorded inside loops and branches")
    stacks: list[ir.Stmt] = [ir.Assign(s, cst.List([]), ir.INACTIVE, (), note.origin) for s in rev.stacks]
    stacks = [note] + stacks if stacks else []
    ret = ir.Return(E.tuple_(grads), ir.Origin(0, ""))
    if isinstance(result, cst.Name):
        seed = namer.bar(result.value)
        unpack: list[ir.Stmt] = []
    else:  # several results: their adjoints come in one tuple
        seed = namer.fresh("result_bar")
        bars = ir.tuple_target([namer.bar(r) for r in results], force=True)
        unpack = [ir.Call(bars, None, (cst.Name(seed),), ir.Origin(0, "the adjoints of the results"))]
    # a result written into (y[i] = v) gets its own adjoint array, not the caller's
    unpack += [
        ir.Assign(namer.bar(r), owned(cst.Name(namer.bar(r)), r), None, (), ir.Origin(0, "")) for r in results if r in rev.written
    ]
    sections = [ir.Comment("forward sweep")] + fwd + [ir.Comment("reverse sweep")] + unpack + sweep
    body = prune(stacks + sections + [ir.Comment(f"adjoints of {', '.join(wrt)}" if wrt else "no inputs"), ret], set())
    if isinstance(result, cst.Name):
        seed, body = _user_named_seed(seed, origin_of.get(result.value, result.value), body, namer)
    return ir.Function(name or namer.fresh(f"{fn.name}_adjoint"), fn.params + [seed], body, fn.filename, fn.line, arrays=fn.arrays)


def _user_named_seed(seed: str, variable: str, body: list[ir.Stmt], namer: Namer) -> tuple[str, list[ir.Stmt]]:
    """Call the result's adjoint after the user's variable (``p_bar``, not ``p5_bar``) when free."""
    wanted = namer.bar(variable)
    if wanted == seed:
        return seed, body
    used = {n for s in ir.walk(body) for n in _names(s)} | ir.assigned(body)
    if wanted in used:
        return seed, body
    return wanted, rename_block(body, {seed: wanted})


def _names(stmt: ir.Stmt) -> list[str]:
    for attr in ("value", "test", "iter"):
        node = getattr(stmt, attr, None)
        if isinstance(node, cst.CSTNode):
            return ir.names_in(node)
    return []
