"""The benchmark's one command: ``python -m bench`` (or ``python bench/run.py``).

For each case: prepare every tool, check every gradient against the
hand-written one, then time the tools that passed, interleaved in rounds
(:mod:`bench.timing`). Then the transform times, each in fresh processes.
Prints markdown; ``--json OUT`` also writes everything as JSON.

Exit status: 0, or 1 when any gradient disagreed with the hand-written one or
raised (the table says which). An unsupported case (sct raising ``SctError``
at transform time) or a library that is not installed is not a failure.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench  # first: pins the thread count before NumPy loads

import argparse
import json
import os
import platform
import subprocess
import time
from typing import Any

import numpy as np

import sct
from bench import peers, registry, report, timing, tools, transform_time

FULL_ROUNDS = 61
QUICK_ROUNDS = 5
FULL_TRANSFORM_SAMPLES = 5


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Time sct's generated gradients against the function, a hand-written "
        "gradient, autograd, JAX and PyTorch; print a markdown table.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_ROUNDS} rounds and one transform sample: a smoke run",
    )
    parser.add_argument(
        "--case",
        action="append",
        metavar="NAME",
        choices=list(dict.fromkeys([*registry.BY_NAME, *registry.TRANSFORMS])),
        help="run only this case (repeatable); a transform-only name such as "
        "twenty_lines runs only its transform time",
    )
    parser.add_argument(
        "--json", metavar="OUT", help="also write the results as JSON to OUT"
    )
    parser.add_argument(
        "--check-only",
        action="store_true",
        help="compare every gradient with the hand-written one, time nothing; "
        "exit 1 on any mismatch",
    )
    parser.add_argument(
        "--rounds", type=int, help="rounds per case (overrides --quick)"
    )
    parser.add_argument(
        "--no-transform", action="store_true", help="skip the transform times"
    )
    return parser.parse_args(argv)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "sct_source": sct_source(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "versions": {
            "sct": sct.__version__,
            "numpy": np.__version__,
            **peers.versions(),
        },
        "threads": dict(bench.ONE_THREAD),
        "loaded_before_thread_pinning": bench.LOADED_TOO_EARLY,
        "empty_call_s": empty_call(),
    }


def _identity(x: Any) -> Any:
    return x


def empty_call() -> float:
    """Time per call of ``def f(x): return x``: the floor under every scalar case."""
    return timing.interleaved({"identity": (_identity, (1.0,))}, rounds=9)[
        "identity"
    ].median


def sct_source() -> str:
    """Which sct was measured: its commit, and whether it had uncommitted edits."""
    root = Path(sct.__file__).resolve().parent.parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", "sct")
    except (OSError, subprocess.CalledProcessError):
        return f"from {root} (not a git checkout)"
    return f"at commit {commit}" + (
        " with uncommitted changes in sct/" if dirty else ""
    )


def run_case(case: registry.Case, rounds: int, check_only: bool) -> dict[str, Any]:
    prepared = tools.prepare(case)
    tools.check(case, prepared)
    entries = {t.name: (t.call, t.args) for t in prepared if t.status == tools.OK}
    timings = {} if check_only else timing.interleaved(entries, rounds)
    fn = timings.get("function")
    hand = timings.get("hand-written")
    result: dict[str, Any] = {
        "about": case.about,
        "goal": case.goal,
        "hand_goal": case.hand_goal,
        "hand_ref": case.hand_ref,
        "jit_ref": case.jit_ref,
        "tools": {},
    }
    for t in prepared:
        row: dict[str, Any] = {
            "status": t.status,
            "note": t.note,
            "full_gradient": t.full_gradient,
        }
        if t.detail:
            row["detail"] = t.detail
        timed = timings.get(t.name)
        if timed is not None:
            row.update(
                per_call_s=timed.median,
                iqr_s=timed.iqr,
                fastest_s=min(timed.per_call),
                batch=timed.batch,
                rounds=len(timed.per_call),
            )
            row["vs_function"] = timed.median / fn.median if fn else None
            row["vs_hand"] = timed.median / hand.median if hand else None
        result["tools"][t.name] = row
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else FULL_ROUNDS)
    chosen = args.case or list(registry.BY_NAME) + list(registry.TRANSFORMS)
    if bench.LOADED_TOO_EARLY:
        print(
            f"warning: {', '.join(bench.LOADED_TOO_EARLY)} loaded before bench pinned the "
            "thread count; timings may use several threads",
            file=sys.stderr,
        )
    results: dict[str, Any] = {
        "machine": machine(),
        "settings": {
            "rounds": rounds,
            "batch_ms": 1e3 * timing.TARGET_S,
            "quick": args.quick,
            "check_only": args.check_only,
            "rtol": tools.RTOL,
            "atol": tools.ATOL,
        },
        "cases": {},
        "transform": {},
        "problems": [],
    }
    started = time.perf_counter()
    for case in registry.CASES:
        if case.name not in chosen:
            continue
        print(f"[bench] {case.name} ...", file=sys.stderr, flush=True)
        results["cases"][case.name] = run_case(case, rounds, args.check_only)
        for name, t in results["cases"][case.name]["tools"].items():
            if t["status"].startswith(("MISMATCH", "error")):
                results["problems"].append(f"{case.name}, {name}: {t['status']}")
    if not args.check_only and not args.no_transform:
        names = [n for n in registry.TRANSFORMS if n in chosen]
        # the function of a chosen case, e.g. elementwise for elementwise_10
        names += [c.fn.__name__ for c in registry.CASES if c.name in chosen]
        if names:
            print("[bench] transform times ...", file=sys.stderr, flush=True)
            samples = 1 if args.quick else FULL_TRANSFORM_SAMPLES
            results["transform"] = transform_time.measure(samples, sorted(set(names)))
    results["settings"]["elapsed_s"] = time.perf_counter() - started

    if args.check_only:
        print(check_summary(results))
    else:
        print(report.markdown(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    if results["problems"]:
        print(
            f"{len(results['problems'])} gradient(s) wrong or failing: see the table",
            file=sys.stderr,
        )
        return 1
    return 0


def check_summary(results: dict[str, Any]) -> str:
    """One line per case and tool: what the gradient check found."""
    lines = [
        (
            "gradient check against the hand-written gradients "
            f"(rtol {tools.RTOL:g}, atol {tools.ATOL:g}):"
        )
    ]
    for name, c in results["cases"].items():
        for tool_name, t in c["tools"].items():
            if tool_name in ("function", "hand-written"):
                continue
            status = "ok (matches)" if t["status"] == tools.OK else t["status"]
            lines.append(f"  {name:16} {tool_name:12} {status}")
    problems = results["problems"]
    lines.append(
        f"{len(problems)} problem(s)" if problems else "all gradients that ran match"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
