"""Transform time: how long the first use of ``sct.differentiate(fn)`` takes, and a cached one.

Measured in fresh Python processes (``subprocess``), because the first
transform in a process is what a user waits for. The child imports sct and
the cases first, outside the measured interval, then times getting the
adjoint (``d.adjoint``: transform, emit, compile), then a second transform of
the same function's adjoint in the same process, not from the cache (what
in-process warm-up alone buys).
Each sample uses its own empty cache directory (``SCT_CACHE_DIR``): a first
child fills it, a second child's ``d.adjoint`` is the cached transform (sct's
cache, issue 7: keyed by source, version and options).
"""

from __future__ import annotations

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
    d = sct.differentiate(fn, wrt=wrt)
    d.adjoint
    out["from_cache"] = d._transformed is None
except sct.SctError as e:
    out["status"] = "unsupported: " + e.message.strip().splitlines()[0]
t1 = time.perf_counter()
try:
    sct.differentiate(fn, wrt=wrt).transformed.adjoint_source  # modes are made lazily: make the adjoint
except sct.SctError:
    pass
t2 = time.perf_counter()
out["first_s"], out["again_s"] = t1 - t0, t2 - t1
print(json.dumps(out))
"""


def measure_one(name: str, wrt: tuple[str, ...] | None, cache_dir: str) -> dict[str, Any]:
    import sct

    # The child must import the same sct as this process (a snapshot, or the
    # working tree) and this bench: both directories go first on its path.
    sct_root = str(Path(sct.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["SCT_CACHE"], env["SCT_CACHE_DIR"] = "1", cache_dir
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
    """Median over ``samples`` fresh processes of each function's transform times.

    sct's bytecode is compiled first, as any install leaves it: with
    ``PYTHONDONTWRITEBYTECODE`` set and a module edited since its ``.pyc``,
    every child would otherwise compile that module from source, and the
    measurement would be of the compiler (a few ms per module).
    """
    import compileall
    import tempfile

    import sct

    compileall.compile_dir(str(Path(sct.__file__).resolve().parent), quiet=1)
    results: dict[str, Any] = {}
    for name, wrt in registry.TRANSFORMS.items():
        if names is not None and name not in names:
            continue
        runs, hits = [], []
        for _ in range(samples):
            with tempfile.TemporaryDirectory() as cache_dir:
                runs.append(measure_one(name, wrt, cache_dir))  # an empty cache: a transform
                hits.append(measure_one(name, wrt, cache_dir))  # the entry it left
        ok = [r for r in runs if r["first_s"] is not None]
        loaded = [h["first_s"] for h in hits if h.get("from_cache")]
        cached = f"{1e3 * statistics.median(loaded):.1f} ms" if len(loaded) == len(hits) and loaded else "not cached"
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
