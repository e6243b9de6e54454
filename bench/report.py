"""The results as markdown (printed) and as a JSON-ready dict (``--json OUT``).

Both are built from one structure, the ``results`` dict that :mod:`bench.run`
fills: ``{"machine": ..., "settings": ..., "cases": {name: {"tools": {tool:
{"status", "per_call_s", "iqr_s", "vs_function", "vs_hand", "batch", "note"}}}},
"transform": ...}``. A cell shows a ratio only for a tool that was checked and
timed; otherwise it shows why not (not installed, unsupported, MISMATCH, error),
so a missing number is never mistaken for a small one.
"""

from __future__ import annotations

from typing import Any

from bench import registry
from bench.tools import GRADIENTS, OK, TOOLS


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_ratio(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    return f"{ratio:,.0f}x" if ratio >= 1000 else f"{ratio:.3g}x"


def short_status(status: str) -> str:
    """The status without its detail, for a narrow cell."""
    return status.split(":")[0]


def cell(tool: dict[str, Any], key: str) -> str:
    if tool["status"].startswith(("MISMATCH", "error")):
        return f"**{short_status(tool['status'])}**"
    if tool["status"] != OK:
        return short_status(tool["status"])
    if tool.get(key) is None:
        return "not timed"
    return fmt_ratio(tool[key])


def goal_verdict(case_result: dict[str, Any]) -> str:
    adjoint = case_result["tools"]["sct grad"]
    if adjoint["status"] != OK:
        return f"not measured ({short_status(adjoint['status'])})"
    if adjoint.get("vs_function") is None:
        return "not timed"
    return "met" if adjoint["vs_function"] <= case_result["goal"] else "NOT met"


def tangent_verdict(case_result: dict[str, Any]) -> str:
    """The tangent against the same goal, where its calls give the full gradient.

    For a function of one input the tangent *is* a gradient, and often the
    cheaper one; for an array case it is one directional derivative, not
    comparable with the goal.
    """
    tangent = case_result["tools"]["sct tangent"]
    if tangent["status"] != OK or tangent.get("vs_function") is None:
        return cell(tangent, "vs_function")
    if not tangent.get("full_gradient", True):
        return f"{fmt_ratio(tangent['vs_function'])} (one direction)"
    met = "met" if tangent["vs_function"] <= case_result["goal"] else "NOT met"
    return f"{fmt_ratio(tangent['vs_function'])}: {met}"


def markdown(results: dict[str, Any]) -> str:
    out: list[str] = []
    m = results["machine"]
    s = results["settings"]
    out.append("# sct benchmark\n")
    out.append(
        f"Python {m['python']} on {m['cpu']} ({m['cores']} cores), one compute thread; "
        f"sct {m['sct_source']}; "
        f"{s['rounds']} rounds of ~{s['batch_ms']:g} ms batches per tool, interleaved; "
        f"medians. An empty call `f(x)` (`return x`) takes {fmt_time(m['empty_call_s'])}."
        f"{' Quick run: rough numbers.' if s['quick'] else ''}\n"
    )
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    out.append(f"Versions: {versions}. Platform: {m['platform']}.\n")
    cases = results["cases"]
    if cases:
        out += _summary(cases)
        out += _goals(cases)
        for name, c in cases.items():
            out += _detail(name, c)
    if results.get("transform"):
        out += _transform(results["transform"])
    problems = results.get("problems", [])
    out.append("## Problems\n")
    out += (
        [f"- **{p}**" for p in problems]
        if problems
        else ["None: every gradient that ran matched the hand-written one."]
    )
    out.append("")
    return "\n".join(out)


def _table(
    header: list[str], rows: list[list[str]], align: list[str] | None = None
) -> list[str]:
    align = align or ["---"] + ["---:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def _summary(cases: dict[str, Any]) -> list[str]:
    out = ["## Gradient time / function time (median)\n"]
    header = ["case", "function", *GRADIENTS, "goal (sct grad)", "met"]
    rows = []
    for name, c in cases.items():
        fn = c["tools"]["function"]
        row = [
            name,
            fmt_time(fn.get("per_call_s")) if fn["status"] == OK else cell(fn, ""),
        ]
        row += [cell(c["tools"][t], "vs_function") for t in GRADIENTS]
        row += [f"≤ {c['goal']:g}x", goal_verdict(c)]
        rows.append(row)
    return out + _table(header, rows, ["---"] + ["---:"] * (len(header) - 2) + ["---"])


def _goals(cases: dict[str, Any]) -> list[str]:
    out = [
        "## Goals (issue 7: sct grad / function; issue 5: sct grad / hand-written)\n",
        (
            "The issue's reference ratios were measured on another machine of this kind; "
            "ours are from this run. The last column holds sct's tangent to the same goal "
            "where its calls give the full gradient.\n"
        ),
    ]
    header = [
        "case",
        "goal",
        "sct grad",
        "met",
        "hand-written",
        "issue's hand-written",
        "jax jit",
        "issue's jax jit",
        "sct / hand-written",
        "issue 5 goal",
        "sct tangent",
    ]
    rows = []
    for name, c in cases.items():
        t = c["tools"]
        adjoint = t["sct grad"]
        hand_goal = c.get("hand_goal")
        if hand_goal is None:
            issue5 = ""
        elif adjoint["status"] != OK or adjoint.get("vs_hand") is None:
            issue5 = f"≤ {hand_goal:g}x: not measured"
        else:
            verdict = "met" if adjoint["vs_hand"] <= hand_goal else "NOT met"
            issue5 = f"≤ {hand_goal:g}x: {verdict}"
        rows.append(
            [
                name,
                f"≤ {c['goal']:g}x",
                cell(adjoint, "vs_function"),
                goal_verdict(c),
                cell(t["hand-written"], "vs_function"),
                fmt_ratio(c["hand_ref"]),
                cell(t["jax jit"], "vs_function"),
                fmt_ratio(c["jit_ref"]),
                cell(adjoint, "vs_hand"),
                issue5,
                tangent_verdict(c),
            ]
        )
    return out + _table(
        header,
        rows,
        [
            "---",
            "---:",
            "---:",
            "---",
            "---:",
            "---:",
            "---:",
            "---:",
            "---:",
            "---",
            "---",
        ],
    )


def _detail(name: str, c: dict[str, Any]) -> list[str]:
    out = [f"### {name}: {c['about']}\n"]
    header = [
        "tool",
        "time per call",
        "IQR",
        "fastest round",
        "/ function",
        "/ hand-written",
        "batch",
        "status",
        "note",
    ]
    rows = []
    for tool_name in TOOLS:
        t = c["tools"][tool_name]
        timed = t.get("per_call_s") is not None
        rows.append(
            [
                tool_name,
                fmt_time(t.get("per_call_s")),
                fmt_time(t.get("iqr_s")) if timed else "-",
                fmt_time(t.get("fastest_s")) if timed else "-",
                (
                    fmt_ratio(t.get("vs_function"))
                    if tool_name != "function"
                    else "1x" if timed else "-"
                ),
                fmt_ratio(t.get("vs_hand")) if tool_name != "function" else "-",
                str(t.get("batch") or "-"),
                t["status"].replace("|", "\\|"),
                t.get("note", ""),
            ]
        )
    return out + _table(
        header,
        rows,
        ["---", "---:", "---:", "---:", "---:", "---:", "---:", "---", "---"],
    )


def _transform(transform: dict[str, Any]) -> list[str]:
    out = [
        "## Transform time: first use of `sct.differentiate(fn)` (`d.adjoint`)\n",
        (
            f"Median over {_processes(next(iter(transform.values()))['samples'])}; "
            '"again" is a second transform of the same function in the same process.\n'
        ),
    ]
    header = [
        "function",
        "body lines",
        "first transform",
        "again, same process",
        "cached",
        "status",
    ]
    rows = [
        [
            name,
            str(t["lines"]),
            _ms(t["first_ms"]),
            _ms(t["again_ms"]),
            t["cached"],
            t["status"],
        ]
        for name, t in transform.items()
    ]
    out += _table(header, rows, ["---", "---:", "---:", "---:", "---", "---"])
    goal = transform.get(registry.TRANSFORM_GOAL_FUNCTION)
    if goal and goal["first_ms"] is not None:
        verdict = "met" if goal["first_ms"] <= registry.TRANSFORM_GOAL_MS else "NOT met"
        out.append(
            f"Goal: transforming a {goal['lines']}-line function "
            f"(`{registry.TRANSFORM_GOAL_FUNCTION}`) ≤ {registry.TRANSFORM_GOAL_MS:g} ms: "
            f"{_ms(goal['first_ms'])}, **{verdict}**. Cached transform ≤ 2 ms: "
            f"{goal['cached']}.\n"
        )
    return out


def _processes(n: int) -> str:
    return "1 fresh process" if n == 1 else f"{n} fresh processes"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"
