"""User feature modules: Python files whose ``@feature`` functions join the registry.

A spec names them in ``features.modules`` (paths relative to the spec file's folder).
Each file is imported under a module name made from its content hash: an unchanged file
loaded again is a no-op (no duplicate registration), an edited one is imported again and
its previous features make way for the new ones. The returned hashes identify exactly
which code a run used; the model package carries the source under them.

Features registered here are not ``proven`` causal (only trademl's own are): the run
checks them on its own data with :func:`trademl.features.check_run_causality`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from trademl.errors import SpecError
from trademl.features._registry import Feature, registry, restore

__all__ = ["load_feature_modules", "module_source"]

MODULE_PREFIX = "_trademl_user_features_"
_SETTING = "features.modules"


@dataclass
class _Loaded:
    """One imported file content: what it registered and what it replaced."""

    digest: str
    module: str
    given: str
    features: dict[str, Feature] = field(default_factory=dict)
    # entries its replace=True registrations overrode, put back when it is unloaded
    replaced: dict[str, Feature] = field(default_factory=dict)

    def registered(self, current: dict[str, Feature]) -> bool:
        return all(current.get(name) is feat for name, feat in self.features.items())


_LOCK = threading.RLock()
_BY_DIGEST: dict[str, _Loaded] = {}
_BY_PATH: dict[Path, str] = {}


def load_feature_modules(paths: list[str], *, base_dir: Path | None) -> dict[str, str]:
    """Import each user feature file so its ``@feature`` registrations land in the registry.

    ``paths`` are taken relative to ``base_dir`` (the spec file's folder; None: the
    working directory). Returns ``{path as given: sha256 of the file's content}``.
    A missing file, a syntax error or an exception while importing raises ``SpecError``
    naming ``features.modules``, the path and, where known, the line.
    """
    if isinstance(paths, str | Path):
        raise ValueError(f"load_feature_modules: paths must be a list of files, got {paths!r}")
    hashes: dict[str, str] = {}
    with _LOCK:
        for given in paths:
            hashes[given] = _load_one(str(given), _resolve(str(given), base_dir))
    return hashes


def module_source(origin: str) -> str | None:
    """The path (as given) of the user module a feature's ``origin`` names, else None."""
    for loaded in _BY_DIGEST.values():
        if loaded.module == origin:
            return loaded.given
    return None


def _resolve(given: str, base_dir: Path | None) -> Path:
    path = Path(given).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    if not path.is_file():
        where = f" (looked for {path.resolve()})" if str(path) != given else ""
        raise SpecError(f"{_SETTING}: {given}: file not found{where}")
    return path.resolve()


def _load_one(given: str, path: Path) -> str:
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"{_SETTING}: {given}: cannot read it ({exc.strerror})") from None
    digest = hashlib.sha256(source).hexdigest()
    previous = _BY_PATH.get(path)
    current = registry()
    loaded = _BY_DIGEST.get(digest)
    if loaded is not None and loaded.registered(current):
        # this content is imported already (from this path or another one)
        _BY_PATH[path] = digest
        if previous not in (None, digest):
            _release(previous)
        return digest

    snapshot = (current, dict(_BY_DIGEST), dict(_BY_PATH))
    _BY_PATH.pop(path, None)
    if previous not in (None, digest):
        _release(previous)  # the edited file's features make way for the new version
    _BY_DIGEST.pop(digest, None)
    try:
        _BY_DIGEST[digest] = _import(given, path, source, digest)
    except BaseException:
        _rollback(*snapshot)
        raise
    _BY_PATH[path] = digest
    return digest


def _import(given: str, path: Path, source: bytes, digest: str) -> _Loaded:
    name = f"{MODULE_PREFIX}{digest[:16]}"
    where = f"{_SETTING}: {given}"
    try:
        # compile the bytes that were hashed, so the hash names exactly the code that ran
        code = compile(source, str(path), "exec")
    except SyntaxError as exc:
        raise SpecError(f"{where}: syntax error at line {exc.lineno}: {exc.msg}") from None
    except ValueError as exc:  # null bytes
        raise SpecError(f"{where}: not a Python source file ({exc})") from None
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    before = registry()
    # in sys.modules while it runs, as for a normal import (dataclasses, pickling look it up)
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except Exception as exc:
        sys.modules.pop(name, None)
        line = _line_in(exc, path)
        at = f" at line {line}" if line else ""
        raise SpecError(f"{where}: importing it raised {type(exc).__name__}{at}: {exc}") from exc
    except BaseException:
        sys.modules.pop(name, None)
        raise
    after = registry()
    features = {n: f for n, f in after.items() if before.get(n) is not f}
    replaced = {n: before[n] for n in features if n in before}
    return _Loaded(digest, name, given, features, replaced)


def _line_in(exc: BaseException, path: Path) -> int | None:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    return frames[-1].lineno if frames else None


def _release(digest: str) -> None:
    """Unregister what the content ``digest`` registered: a feature name has one definition
    at a time, so another file with that same content must be loaded again to be used."""
    for path in [p for p, d in _BY_PATH.items() if d == digest]:
        del _BY_PATH[path]
    loaded = _BY_DIGEST.pop(digest, None)
    if loaded is None:
        return
    current = registry()
    for name, feat in loaded.features.items():
        if current.get(name) is feat:
            restore(name, loaded.replaced.get(name))


def _rollback(
    features: dict[str, Feature], by_digest: dict[str, _Loaded], by_path: dict[Path, str]
) -> None:
    """Put the registry and the bookkeeping back as they were before a failed import."""
    current = registry()
    for name in set(current) | set(features):
        if current.get(name) is not features.get(name):
            restore(name, features.get(name))
    _BY_DIGEST.clear()
    _BY_DIGEST.update(by_digest)
    _BY_PATH.clear()
    _BY_PATH.update(by_path)
