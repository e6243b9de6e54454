"""The transform cache (issue 7): a second process loads generated code instead of transforming.

Specification: entries live in ``$SCT_CACHE_DIR`` (else ``~/.cache/sct``);
``SCT_CACHE=0`` turns the cache off; a change to the function's file, to a
callee's file, or to the options is a miss. A hit gives the same functions
and the same sources as a transform.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import sct

SCRIPT = """
import json, sys, time
sys.path.insert(0, {folder!r})
import sct
import {module} as m
t = time.perf_counter()
d = sct.differentiate(m.f, wrt={wrt!r})
grad = d.grad(1.5, 0.5)
grad = grad if isinstance(grad, tuple) else (grad,)  # one parameter: the derivative itself
elapsed = time.perf_counter() - t
print(json.dumps({{"grad": list(grad), "ms": elapsed * 1000, "transformed": d._transformed is not None,
                   "source": d.adjoint_source}}))
"""


def run(folder: Path, module: str, cache_dir: Path, wrt=None, enabled: str = "1") -> dict:
    code = SCRIPT.format(folder=str(folder), module=module, wrt=wrt)
    env = {"PATH": "/usr/bin:/bin", "SCT_CACHE_DIR": str(cache_dir), "SCT_CACHE": enabled, "HOME": str(cache_dir)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout)


@pytest.fixture
def module(tmp_path: Path) -> tuple[Path, str]:
    (tmp_path / "helper_mod.py").write_text("def helper(a):\n    return a * a\n")
    source = textwrap.dedent(
        """
        import math
        from helper_mod import helper


        def f(x, y):
            return math.sin(x) * helper(y) + x
        """
    )
    (tmp_path / "cached_mod.py").write_text(source)
    return tmp_path, "cached_mod"


def test_a_second_process_loads_from_the_cache(module, tmp_path) -> None:
    folder, name = module
    cache_dir = tmp_path / "cache"
    first = run(folder, name, cache_dir)
    second = run(folder, name, cache_dir)
    assert first["transformed"] and not second["transformed"]
    assert first["grad"] == second["grad"] and first["source"] == second["source"]
    assert len(list(cache_dir.glob("*.json"))) == 1


def test_changes_and_options_are_misses(module, tmp_path) -> None:
    folder, name = module
    cache_dir = tmp_path / "cache"
    run(folder, name, cache_dir)
    assert run(folder, name, cache_dir, wrt=["x"])["transformed"]  # other options
    (folder / "helper_mod.py").write_text("def helper(a):\n    return a * a * a\n")  # a callee's file changed
    changed = run(folder, name, cache_dir)
    assert changed["transformed"] and changed["grad"][1] == pytest.approx(__import__("math").sin(1.5) * 3 * 0.25)
    (folder / f"{name}.py").write_text((folder / f"{name}.py").read_text() + "\n# edited\n")
    assert run(folder, name, cache_dir)["transformed"]


def test_the_cache_can_be_turned_off(module, tmp_path) -> None:
    folder, name = module
    cache_dir = tmp_path / "cache"
    run(folder, name, cache_dir, enabled="0")
    assert not cache_dir.exists() or not list(cache_dir.glob("*.json"))
    assert run(folder, name, cache_dir, enabled="0")["transformed"]


def test_a_damaged_entry_is_a_miss(module, tmp_path) -> None:
    folder, name = module
    cache_dir = tmp_path / "cache"
    run(folder, name, cache_dir)
    (entry,) = cache_dir.glob("*.json")
    data = json.loads(entry.read_text())
    for made in data["modes"].values():
        made["text"] = "this is not python ("
    entry.write_text(json.dumps(data))
    again = run(folder, name, cache_dir)
    assert again["transformed"] and again["grad"] == run(folder, name, cache_dir)["grad"]


MODES_SCRIPT = """
import json, sys
sys.path.insert(0, {folder!r})
import sct
import {module} as m
d = sct.differentiate(m.f)
sources = {{read: getattr(d, read) for read in {reads!r}}}
print(json.dumps({{"transformed": d._transformed is not None, "sources": sources}}))
"""


def run_reads(folder: Path, module: str, cache_dir: Path, reads: list[str]) -> dict:
    code = MODES_SCRIPT.format(folder=str(folder), module=module, reads=reads)
    env = {"PATH": "/usr/bin:/bin", "SCT_CACHE_DIR": str(cache_dir), "SCT_CACHE": "1", "HOME": str(cache_dir)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout)


def test_each_mode_is_cached_when_made(module, tmp_path) -> None:
    folder, name = module
    cache_dir = tmp_path / "cache"
    first = run_reads(folder, name, cache_dir, ["adjoint_source"])  # makes the adjoint only
    assert first["transformed"] and not run_reads(folder, name, cache_dir, ["adjoint_source"])["transformed"]
    second = run_reads(folder, name, cache_dir, ["adjoint_source", "tangent_source"])  # the tangent is new: made
    assert second["transformed"] and second["sources"]["adjoint_source"] == first["sources"]["adjoint_source"]
    third = run_reads(folder, name, cache_dir, ["tangent_source", "adjoint_source", "grad_source"])
    assert third["transformed"]  # the gradient was not made yet
    fourth = run_reads(folder, name, cache_dir, ["grad_source", "tangent_source", "adjoint_source"])
    assert not fourth["transformed"] and fourth["sources"] == third["sources"]
    assert len(list(cache_dir.glob("*.json"))) == 1  # one entry per function and options, every mode in it


def test_sct_source_signature_changes_with_any_file_and_reads_none(tmp_path, monkeypatch) -> None:
    import builtins
    import os

    from sct import cache

    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "a.py").write_text("A = 1\n")
    (folder / "b.py").write_text("B = 2\n")
    (folder / "notes.txt").write_text("not source")
    monkeypatch.setattr(builtins, "open", lambda *a, **k: (_ for _ in ()).throw(AssertionError("a file was read")))
    first = cache.source_signature(folder)
    assert cache.source_signature(folder) == first
    monkeypatch.undo()
    seen = {first}
    (folder / "b.py").write_text("B = 23\n")  # edited: its size
    seen.add(cache.source_signature(folder))
    stat = (folder / "b.py").stat()
    os.utime(folder / "b.py", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # touched: its time
    seen.add(cache.source_signature(folder))
    (folder / "c.py").write_text("")  # a new module
    seen.add(cache.source_signature(folder))
    (folder / "notes.txt").write_text("still not source, longer")  # not a .py file: no change
    assert cache.source_signature(folder) in seen and len(seen) == 4


def _fresh(module_dir: Path, name: str):
    """The function ``f`` of ``name`` in ``module_dir``, differentiated by a new object (nothing loaded yet)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, module_dir / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return sct.differentiate(mod.f)


def test_a_cached_load_runs_the_kept_code_without_compiling(tmp_path, monkeypatch) -> None:
    import traceback

    from sct import emit

    monkeypatch.setenv("SCT_CACHE", "1")
    monkeypatch.setenv("SCT_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "kept_mod.py").write_text("def f(x, y):\n    return x / y\n")
    first = _fresh(tmp_path, "kept_mod")
    assert first.adjoint(3.0, 2.0, 1.0) == (0.5, -0.75)

    def no_compile(*args, **kwargs):
        raise AssertionError("compiled again")

    monkeypatch.setattr(emit, "compile", no_compile, raising=False)  # shadows the builtin in emit
    second = _fresh(tmp_path, "kept_mod")
    assert second.adjoint(3.0, 2.0, 1.0) == (0.5, -0.75) and second._transformed is None
    # a traceback through the kept code shows the generated line, under this process's file name
    try:
        second.adjoint(3.0, 0.0, 1.0)
    except ZeroDivisionError as e:
        frame = traceback.extract_tb(e.__traceback__)[-1]
        assert frame.filename.startswith("<sct generated f #") and "/ y" in frame.line
    else:
        raise AssertionError("expected a ZeroDivisionError")


@pytest.mark.parametrize("damage", ["magic", "text"])
def test_kept_code_for_another_python_or_another_text_is_compiled_again(tmp_path, monkeypatch, damage) -> None:
    monkeypatch.setenv("SCT_CACHE", "1")
    monkeypatch.setenv("SCT_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "kept_mod2.py").write_text("def f(x, y):\n    return x * y\n")
    _fresh(tmp_path, "kept_mod2").adjoint
    (entry,) = (tmp_path / "cache").glob("*.json")
    data = json.loads(entry.read_text())
    made = data["modes"]["adjoint"]
    if damage == "magic":
        made["magic"] = "00000000"
    else:  # the text changed after its code was kept: the code is not trusted for it
        made["text"] = made["text"].replace("x * y", "x * y ")
    entry.write_text(json.dumps(data))
    from sct import cache

    assert cache.unpacked_code(made) is None
    again = _fresh(tmp_path, "kept_mod2")
    assert again.adjoint(3.0, 2.0, 1.0) == (2.0, 3.0)
