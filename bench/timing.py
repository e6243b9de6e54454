"""Interleaved batch timing: the tools of one case take turns, round after round.

Why this shape:
- A *batch* of N calls is timed as one interval, N chosen so that a batch
  takes about 10 ms: long enough that the clock's resolution and the loop's
  own cost are small, short enough to fit many rounds. The loop calls the
  tool directly, with its arguments held in local variables (a loop compiled
  for the number of arguments), as ``timeit`` does.
- *Rounds*: each round runs one batch of every tool, starting with a
  different tool each round. Anything that drifts over a run (frequency
  scaling, another process, a warming cache) then touches every tool alike,
  and the ratios stay fair even when the absolute times move.
- The *median* of the rounds' per-call times is reported, with the
  interquartile range: a round that an interruption slowed is one outlier,
  not a shifted mean.
- The garbage collector is off during a batch (as in ``timeit``) and runs
  between batches, so one tool's garbage is not collected in another's time.
"""

from __future__ import annotations

import gc
import itertools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

TARGET_S = 0.010  # a batch takes about this long
MIN_S = 0.005  # calibration grows N until a batch takes at least this


@cache
def _batch_loop(nargs: int) -> Callable[..., float]:
    """``loop(n, f, *args)``: time n calls ``f(*args)``, arguments as locals."""
    names = [f"a{i}" for i in range(nargs)]
    params = ", ".join(["_n", "_f", *names])
    text = (
        f"def loop({params}):\n"
        f"    _it = _repeat(None, _n)\n"
        f"    _t0 = _clock()\n"
        f"    for _ in _it:\n"
        f"        _f({', '.join(names)})\n"
        f"    return _clock() - _t0\n"
    )
    namespace: dict[str, Any] = {
        "_clock": time.perf_counter,
        "_repeat": itertools.repeat,
    }
    exec(compile(text, f"<bench: batch loop of {nargs} arguments>", "exec"), namespace)
    return namespace["loop"]


def run_batch(call: Callable[..., Any], args: tuple[Any, ...], n: int) -> float:
    """Seconds for n calls, the collector paused."""
    loop = _batch_loop(len(args))
    enabled = gc.isenabled()
    gc.disable()
    try:
        return loop(n, call, *args)
    finally:
        if enabled:
            gc.enable()


def calibrate(
    call: Callable[..., Any], args: tuple[Any, ...], target_s: float = TARGET_S
) -> int:
    """N such that a batch of N calls takes about ``target_s`` (at least 1).

    The last trial batch is repeated and its fastest time used: a batch that
    another process slowed would otherwise make N, and every later batch of
    this tool, too short.
    """
    n = 1
    while True:
        elapsed = run_batch(call, args, n)
        if elapsed >= min(MIN_S, target_s / 2):
            elapsed = min([elapsed] + [run_batch(call, args, n) for _ in range(2)])
            return max(1, round(n * target_s / elapsed))
        # grow fast while the batch is far too short, carefully near the target
        n *= 10 if elapsed < target_s / 100 else 2


@dataclass
class Timing:
    batch: int  # calls per batch
    per_call: list[float] = field(default_factory=list)  # seconds, one per round

    @property
    def median(self) -> float:
        return statistics.median(self.per_call)

    @property
    def iqr(self) -> float:
        """Interquartile range of the per-call times, in seconds."""
        if len(self.per_call) < 4:
            return max(self.per_call) - min(self.per_call)
        q = statistics.quantiles(self.per_call, n=4)
        return q[2] - q[0]


def interleaved(
    entries: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]],
    rounds: int,
    target_s: float = TARGET_S,
    warmup: int = 1,
) -> dict[str, Timing]:
    """Time every entry in ``rounds`` rounds of one batch each, interleaved."""
    names = list(entries)
    timings = {}
    for name in names:
        call, args = entries[name]
        run_batch(call, args, 1)  # a first call outside any batch
        timings[name] = Timing(batch=calibrate(call, args, target_s))
    for r in range(-warmup, rounds):
        start = r % len(names) if names else 0
        for name in names[start:] + names[:start]:
            call, args = entries[name]
            timing = timings[name]
            elapsed = run_batch(call, args, timing.batch)
            if r >= 0:  # the warm-up rounds are not recorded
                timing.per_call.append(elapsed / timing.batch)
            gc.collect(0)
    return timings
