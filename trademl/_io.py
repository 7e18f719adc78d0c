"""Safe file output: every file trademl writes goes through here.

Two jobs, kept together because every writer needs both:

- ``check_output`` refuses, before any work, an output that is one of the command's
  inputs (after resolving symlinks and relative paths), an existing file unless the
  caller passed ``force``, and an extension that does not name the format written.
- ``atomic_path`` / ``atomic_write_text`` / ``atomic_write_bytes`` write to a temporary
  name in the same folder, fsync it and ``os.replace`` it onto the target, so a reader
  (or a killed writer) never leaves half a file where a whole one was: the old file
  stays until the new one is complete.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from trademl.errors import TradeMLError

__all__ = [
    "OutputError",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_output",
    "fsync_tree",
    "same_file",
]


class OutputError(TradeMLError, ValueError):
    """An output path is refused: it is an input, it exists without ``--force``, or its
    extension does not name the format that would be written."""


def _umask() -> int:
    # mkstemp creates files 0600; a finished output gets the mode a plain open() would give
    current = os.umask(0)
    os.umask(current)
    return current


def _resolved(path: str | os.PathLike) -> Path:
    return Path(path).expanduser().resolve()


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when ``a`` and ``b`` name one file (symlinks, ``..`` and hard links included)."""
    first, second = _resolved(a), _resolved(b)
    if first == second:
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist yet: different files
        return False


def _suffix(path: Path) -> str:
    """``.csv.gz`` for ``x.csv.gz``, ``.parquet`` for ``a.b.parquet``: what names a format."""
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] == ".gz":
        return "".join(suffixes[-2:])
    return suffixes[-1] if suffixes else ""


def check_output(
    output: str | os.PathLike,
    *,
    inputs: Iterable[str | os.PathLike | None] = (),
    force: bool = False,
    suffixes: Iterable[str] | None = None,
    option: str = "--output",
    folder: bool = False,
) -> Path:
    """Refuse a bad output path before any work; return it as a ``Path``.

    ``inputs``: the paths the command reads (None entries are skipped); an output equal
    to one of them is refused whatever ``force`` says, since writing it would destroy the
    data being read. ``force``: allow replacing an existing output (the old file is kept
    until the new one is complete). ``suffixes``: the extensions the writer produces
    (``(".csv", ".csv.gz", ".parquet")``); anything else is refused. ``option`` names the
    setting in the message. ``folder``: the output is a directory of files; it may exist
    when empty, or with ``force``.
    """
    path = Path(output).expanduser()
    for source in inputs:
        if source is not None and same_file(path, source):
            raise OutputError(
                f"{option} {path} is the input file {source}; choose another output "
                "(trademl never overwrites its input)"
            )
    if suffixes is not None and not folder:
        allowed = tuple(s.lower() for s in suffixes)
        if _suffix(path) not in allowed:
            raise OutputError(
                f"{option} {path}: the extension {_suffix(path) or '(none)'!r} does not name the "
                f"format written; use one of {', '.join(allowed)}"
            )
    if folder:
        if path.exists() and not path.is_dir():
            raise OutputError(f"{option} {path} is a file; a folder is needed here")
        if path.is_dir() and any(path.iterdir()) and not force:
            raise OutputError(f"{option} {path} exists and is not empty; pass --force to replace")
        return path
    if path.is_dir():
        raise OutputError(f"{option} {path} is a folder; give a file name")
    if path.exists() and not force:
        raise OutputError(f"{option} {path} exists; pass --force to overwrite it")
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise OutputError(f"{option} {path}: {parent} is a file, not a folder")
    return path


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    # the rename itself lives in the directory: sync it so the new name survives power loss
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fsync_tree(path: str | os.PathLike) -> None:
    """fsync every file below ``path`` (a writer that produced a folder of files)."""
    root = Path(path)
    for item in [root, *root.rglob("*")] if root.is_dir() else [root]:
        if item.is_file():
            _fsync_file(item)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds, move it onto ``path``.

    The temporary name keeps the target's extension (pandas and matplotlib choose the
    format and compression by it) and starts with a dot, so folder listings and globs of
    data files skip it. On an exception the temporary file is removed and ``path`` is
    untouched. ``durable``: fsync the file and its folder (off only for scratch files).
    """
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    tail = "".join(target.suffixes[-2:]) if _suffix(target).endswith(".gz") else target.suffix
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp{tail}")
    try:
        yield temporary
        if not temporary.exists():
            raise OSError(f"{target}: the writer produced no file")
        if temporary.is_file():
            mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
            os.chmod(temporary, mode)
        if durable:
            fsync_tree(temporary)
        if temporary.is_dir() and target.is_dir():
            # a folder cannot be renamed over a non-empty one: move the old aside first
            old = target.with_name(f".{target.name}.{secrets.token_hex(4)}.old")
            os.replace(target, old)
            os.replace(temporary, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temporary, target)
        if durable:
            _fsync_dir(target.parent)
    finally:
        if temporary.is_dir():
            shutil.rmtree(temporary, ignore_errors=True)
        elif temporary.exists():
            temporary.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary name, fsync, rename)."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (temporary name, fsync, rename)."""
    return atomic_write_bytes(path, text.encode(encoding))
