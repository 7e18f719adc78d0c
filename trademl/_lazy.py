"""Lazy re-exports: a package lists the names it offers and the module defining each, and
the module is imported on first use, so importing the package stays cheap."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_getattr(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """Return a module-level ``__getattr__`` for ``package`` that loads ``exports`` lazily.

    ``exports`` maps a public name to the module that defines it; a loaded value is cached
    in the package's namespace so the import happens once.
    """
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        namespace[name] = value
        return value

    return __getattr__
