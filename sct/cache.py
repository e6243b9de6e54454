"""Cache: generated modules kept on disk, so that a second process need not transform again.

Contract: :func:`lookup` and :func:`store` key an entry by everything the
generated text depends on that is known before transforming: sct's version
and a signature of its source files, the text of the function's file, the function's name and line, and the
options (``wrt``, modes, ``heaviside0``, ``warn_kinks``). An entry holds each
mode's generated module made so far (the caller adds a mode when it makes
one, :mod:`sct.api`), its text and its compiled code (:func:`packed_code`).
An entry also lists
the other files the transformation read (callees in other modules) with a
hash of each; a changed one makes the entry a miss. Entries are JSON files in
one directory: ``$SCT_CACHE_DIR``, else ``$XDG_CACHE_HOME/sct``, else
``~/.cache/sct``. ``SCT_CACHE=0`` turns the cache off; deleting the directory
empties it. A cache that cannot be read or written is silently skipped: it
only ever saves time.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import marshal
import os
import types
from pathlib import Path
from typing import Any

VERSION = "3"  # bump when the entry format changes


def enabled() -> bool:
    return os.environ.get("SCT_CACHE", "1") not in ("0", "off", "false", "no")


def directory() -> Path:
    if os.environ.get("SCT_CACHE_DIR"):
        return Path(os.environ["SCT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sct"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_SCT_SIGNATURE: list[str] = []


def _sct_signature() -> str:
    """sct's own source, as :func:`source_signature` sees it (once per process)."""
    if not _SCT_SIGNATURE:
        _SCT_SIGNATURE.append(source_signature(Path(__file__).resolve().parent))
    return _SCT_SIGNATURE[0]


def source_signature(folder: Path) -> str:
    """A hash of the names, sizes and modification times of ``folder``'s ``*.py`` files.

    Any change to sct (a rule, a stage) changes every key: editing a file in
    place changes its time. The files are not read: hashing their text cost
    ~2 ms of every first transform in a new cache directory, and it guarded
    against nothing more. A file whose text changed while its size and time
    did not is the one case either misses, because the hash of the text was
    itself kept under this signature and read back while it held.
    """
    with os.scandir(folder) as entries:
        files = sorted((e.name, e.stat()) for e in entries if e.name.endswith(".py") and e.is_file())
    return digest("\n".join([str(folder)] + [f"{n} {st.st_size} {st.st_mtime_ns}" for n, st in files]))


def key(file_text: str, name: str, line: int, options: Any) -> str:
    from . import __version__

    payload = json.dumps([VERSION, __version__, _sct_signature(), digest(file_text), name, line, repr(options)])
    return digest(payload)


MAGIC = importlib.util.MAGIC_NUMBER.hex()  # the interpreter's bytecode format


def packed_code(text: str, code: types.CodeType) -> dict[str, str]:
    """``code``, compiled from ``text``, as JSON: a cached load runs it without compiling again.

    Kept with this interpreter's bytecode magic and a hash of ``text``: another
    Python, or a text that no longer matches, compiles the text instead.
    """
    return {"magic": MAGIC, "text_digest": digest(text), "code": base64.b64encode(marshal.dumps(code)).decode("ascii")}


def unpacked_code(made: dict[str, Any]) -> types.CodeType | None:
    """The code :func:`packed_code` kept for ``made["text"]``, or None (compile the text)."""
    if made.get("magic") != MAGIC or made.get("text_digest") != digest(made.get("text", "")):
        return None
    try:
        code = marshal.loads(base64.b64decode(made["code"]))
    except (KeyError, ValueError, TypeError, EOFError):
        return None
    return code if isinstance(code, types.CodeType) else None


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return None


def lookup(entry_key: str) -> dict[str, Any] | None:
    """The entry stored under ``entry_key``, if every file it depends on is unchanged."""
    if not enabled():
        return None
    try:
        entry = json.loads((directory() / f"{entry_key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for path, expected in entry.get("depends", []):
        text = _read(path)
        if text is None or digest(text) != expected:
            return None
    return entry


def store(entry_key: str, entry: dict[str, Any], depends: list[str]) -> dict[str, Any] | None:
    """Keep ``entry`` (JSON-able) with a hash of each file in ``depends``; returns what was kept."""
    if not enabled():
        return None
    hashes = []
    for path in depends:
        text = _read(path)
        if text is None:
            return None  # a file that cannot be read again: nothing to check a hit against
        hashes.append([path, digest(text)])
    entry = {**entry, "depends": hashes}
    try:
        folder = directory()
        folder.mkdir(parents=True, exist_ok=True)
        temp = folder / f"{entry_key}.{os.getpid()}.tmp"
        temp.write_text(json.dumps(entry), encoding="utf-8")
        temp.replace(folder / f"{entry_key}.json")  # atomic: readers never see half an entry
    except OSError:
        return None
    return entry
