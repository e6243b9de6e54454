"""Transform time: how long ``sct.differentiate(fn).transformed`` takes the first time.

Measured in a fresh Python process per sample (``subprocess``), because the
first transform in a process is what a user waits for, and a process that has
already transformed something has its imports done and its caches warm. The
child imports sct and the cases first, outside the measured interval, then
times the first transform, then a second one of the same function in the same
process (a new ``Differentiated`` object: what in-process warm-up alone buys).

A cached transform (issue 7: across processes, keyed by source, version and
options) does not exist in sct yet; the column says so. If sct grows one, this
module must learn to measure it: it only detects that it exists.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import registry

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
import bench, sct
from bench import cases
name, wrt = sys.argv[1], json.loads(sys.argv[2])
fn = getattr(cases, name)
out = {"status": "ok"}
t0 = time.perf_counter()
try:
    sct.differentiate(fn, wrt=wrt).transformed
except sct.SctError as e:
    out["status"] = "unsupported: " + e.message.strip().splitlines()[0]
t1 = time.perf_counter()
try:
    sct.differentiate(fn, wrt=wrt).transformed
except sct.SctError:
    pass
t2 = time.perf_counter()
out["first_s"], out["again_s"] = t1 - t0, t2 - t1
print(json.dumps(out))
"""


def has_cache() -> bool:
    """Whether sct has grown a transform cache (a ``sct.cache`` module or attribute)."""
    import sct

    return hasattr(sct, "cache") or importlib.util.find_spec("sct.cache") is not None


def measure_one(name: str, wrt: tuple[str, ...] | None) -> dict[str, Any]:
    import sct

    # The child must import the same sct as this process (a snapshot, or the
    # working tree) and this bench: both directories go first on its path.
    sct_root = str(Path(sct.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (sct_root, str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, name, json.dumps(list(wrt) if wrt else None)],
        check=False,
        capture_output=True,
        text=True,
        cwd=sct_root,
        env=env,
        timeout=300,
    )
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or ["(no output)"]
        return {"status": f"error: {lines[-1]}", "first_s": None, "again_s": None}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(samples: int, names: list[str] | None = None) -> dict[str, Any]:
    """Median over ``samples`` fresh processes of each function's transform times."""
    cached = "measure it: sct has a cache" if has_cache() else "no cache yet"
    results: dict[str, Any] = {}
    for name, wrt in registry.TRANSFORMS.items():
        if names is not None and name not in names:
            continue
        runs = [measure_one(name, wrt) for _ in range(samples)]
        ok = [r for r in runs if r["first_s"] is not None]
        results[name] = {
            "status": runs[0]["status"],
            "lines": _body_lines(name),
            "first_ms": (
                1e3 * statistics.median(r["first_s"] for r in ok) if ok else None
            ),
            "again_ms": (
                1e3 * statistics.median(r["again_s"] for r in ok) if ok else None
            ),
            "samples": len(ok),
            "cached": cached,
        }
    return results


def _body_lines(name: str) -> int:
    """Lines of the function's body, comments and blank lines excluded."""
    import inspect

    from bench import cases

    lines = inspect.getsource(getattr(cases, name)).splitlines()[1:]
    return sum(1 for line in lines if line.strip() and not line.strip().startswith("#"))
