"""Names: every identifier sct writes, chosen so that none collides with the user's.

Contract: a :class:`Namer` is made with the set of names the user's code
already uses. It hands out ``<var>_dot`` and ``<var>_bar`` for each variable,
``t1, t2, ...`` for temporaries (numbered in the order they are created) and
any other name the generated code needs; when a candidate is taken it moves
to the next number (``x_bar`` is the user's, so x's adjoint is ``x_bar2``).
Same requests in the same order give the same names: output is deterministic.
"""

from __future__ import annotations

import builtins


class Namer:
    def __init__(self, taken: set[str]):
        self.taken = set(taken) | set(dir(builtins))
        self._derived: dict[tuple[str, str], str] = {}
        self._next_temp = 1

    def claim(self, name: str) -> str:
        self.taken.add(name)
        return name

    def fresh(self, base: str) -> str:
        """``base`` if free, else ``base2``, ``base3``, ..."""
        candidate, n = base, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{base}{n}"
        return self.claim(candidate)

    def temp(self) -> str:
        """The next temporary, ``t1``, ``t2``, ... (its _dot and _bar free too)."""
        while True:
            candidate = f"t{self._next_temp}"
            self._next_temp += 1
            related = {candidate, f"{candidate}_dot", f"{candidate}_bar"}
            if not related & self.taken:
                return self.claim(candidate)

    def derived(self, var: str, suffix: str) -> str:
        """``var_suffix`` (``x_dot``, ``x_bar``), the same name every time for ``var``."""
        key = (var, suffix)
        if key not in self._derived:
            self._derived[key] = self.fresh(f"{var}_{suffix}")
        return self._derived[key]

    def dot(self, var: str) -> str:
        return self.derived(var, "dot")

    def bar(self, var: str) -> str:
        return self.derived(var, "bar")
