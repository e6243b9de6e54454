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
from . import aliases, ir, rules, shapes
from .analysis import Activity, activity, prune
from .errors import InternalError
from .forward import Link, linear_terms, owned, partials, rule_of, zeros_like
from .lower import rename_block, single_exit, version
from .names import Namer
from .reverse_data import DataAdjoints, _call

POP = ir.POP  # the op of `x = x_stack.pop()`: kept by dead-code elimination


class _Reverse(DataAdjoints):
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
        given: list[tuple[E.Expr, str]] = []  # a product already assigned to an adjoint here, and that adjoint
        for var, partial in partials(stmt, self.act, self.arrays):
            term = E.mul(g, partial)
            # mse: yhat_bar = g * (2 * (yhat - y)); y_bar = -yhat_bar, not the product twice
            negated = isinstance(term, cst.UnaryOperation) and isinstance(term.operator, cst.Minus)
            if (held := _holding(term, given)) is not None:
                term = cst.Name(held)
            elif negated and (held := _holding(term.expression, given)) is not None:  # type: ignore[attr-defined]
                term = E.neg(cst.Name(held))
            elif not spread and var not in self.nonzero and not isinstance(term, cst.Name):
                given.append((term, self.namer.bar(var)))
            if spread:
                term = _call("sct.arrays.unbroadcast", term, cst.Name(var))
            self.accumulate(var, term, stmt.origin, out)
        reads = {n for s in out for n in ir.names_in(s.value)}
        pushes, pops = self.saved(reads, stmt)
        return [stmt] + pushes, pops + out

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


def _holding(term: E.Expr, given: list[tuple[E.Expr, str]]) -> str | None:
    """The adjoint already assigned a product written as ``term`` (texts compared only when there is one)."""
    if not given:
        return None
    text = E.code(term)
    return next((bar for product, bar in given if E.code(product) == text), None)


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
    note = ir.Comment("stacks: values the reverse sweep needs, recorded inside loops and branches")
    stacks: list[ir.Stmt] = [ir.Assign(s, cst.List([]), ir.INACTIVE, (), note.origin) for s in rev.stacks]
    stacks = [note] + stacks if stacks else []
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
    grads: list[E.Expr] = [
        cst.Name(namer.bar(p)) if p in rev.nonzero else zeros_like(cst.Name(p)) for p in wrt
    ]
    if fn.arrays:  # each adjoint in its parameter's shape and dtype (float32 stays float32), its own array
        shared = aliases.needs_copy(fwd + unpack + sweep, [namer.bar(p) for p in wrt if p in rev.nonzero], fn.params + [seed])
        grads = [
            _call("sct.arrays.copy_like" if namer.bar(p) in shared else "sct.arrays.like", g, cst.Name(p)) if p in rev.nonzero else g
            for g, p in zip(grads, wrt)
        ]
    ret = ir.Return(E.tuple_(grads), ir.Origin(0, ""))
    sections = [ir.Comment("forward sweep")] + fwd + [ir.Comment("reverse sweep")] + unpack + sweep
    body = stacks + sections + [ir.Comment(f"adjoints of {', '.join(wrt)}" if wrt else "no inputs"), ret]
    if fn.arrays:  # drop the shape helpers that shapes known here make unnecessary
        body = shapes.simplify(body, fn.params, {seed: result.value} if isinstance(result, cst.Name) else {})
    body = prune(_no_copy_back(body), set())
    if isinstance(result, cst.Name):
        seed, body = _user_named_seed(seed, origin_of.get(result.value, result.value), body, namer)
    return ir.Function(name or namer.fresh(f"{fn.name}_adjoint"), fn.params + [seed], body, fn.filename, fn.line, arrays=fn.arrays)


def _copy(stmt: ir.Stmt) -> tuple[str, str] | None:
    if isinstance(stmt, ir.Assign) and stmt.op is None and isinstance(stmt.value, cst.Name):
        return stmt.target, stmt.value.value
    return None


def _no_copy_back(body: list[ir.Stmt]) -> list[ir.Stmt]:
    """Without ``b = a`` right after ``a = b`` (it changes nothing), in every block.

    ``x = x - step`` normalizes to ``t4 = x - step; x = t4``, whose adjoints
    in reverse order are ``t4_bar = x_bar`` then ``x_bar = t4_bar``.
    """
    out: list[ir.Stmt] = []
    for stmt in body:
        if isinstance(stmt, ir.If):
            stmt = ir.If(stmt.test, _no_copy_back(stmt.body), _no_copy_back(stmt.orelse), stmt.origin)
        elif isinstance(stmt, ir.For):
            stmt = ir.For(stmt.target, stmt.iter, _no_copy_back(stmt.body), stmt.origin)
        elif isinstance(stmt, ir.While):
            stmt = ir.While(stmt.test, _no_copy_back(stmt.body), stmt.origin)
        here, before = _copy(stmt), _copy(out[-1]) if out else None
        if here is not None and before is not None and here == before[::-1]:
            continue
        out.append(stmt)
    return out


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
