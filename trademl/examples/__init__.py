"""Example experiment specs, installed with the package (``trademl examples list|copy``).

The repository's ``examples/`` folder links to these files, so ``trademl run
examples/btc_1h_lightgbm.yaml`` works in a checkout and ``trademl examples copy`` gives
a pip user the same spec.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["example_names", "example_path", "example_summary"]


def _folder():
    return resources.files(__name__)


def example_names() -> list[str]:
    """Names of the shipped specs (file names without ``.yaml``), sorted."""
    return sorted(p.name[: -len(".yaml")] for p in _folder().iterdir() if p.name.endswith(".yaml"))


def example_path(name: str) -> Path:
    """The installed file of example ``name`` (with or without ``.yaml``)."""
    stem = name[: -len(".yaml")] if name.endswith(".yaml") else name
    if stem not in example_names():
        raise ValueError(f"no example named {name!r}; examples: {', '.join(example_names())}")
    return Path(str(_folder().joinpath(f"{stem}.yaml")))


def example_summary(name: str) -> str:
    """The first comment line of an example: what it runs."""
    for line in example_path(name).read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""
