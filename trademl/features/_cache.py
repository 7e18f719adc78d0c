"""Disk cache of computed features, keyed by (data hash, spec hash).

The spec hash covers the resolved feature list (names, parameters, the bytecode of each
feature function) and the trademl version, so editing a user feature or upgrading
invalidates old entries instead of serving stale columns.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trademl import __version__

__all__ = ["FeatureCache", "hash_data"]

logger = logging.getLogger(__name__)


def _code_fingerprint(fn: Any) -> bytes:
    code = getattr(fn, "__code__", None)
    if code is None:
        return repr(fn).encode()
    return code.co_code + repr(code.co_consts).encode()


def hash_data(bars: Any) -> str:
    digest = hashlib.sha256()
    digest.update(bars.index.asi8.tobytes())
    for name in sorted(bars.columns):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(bars.columns[name]).tobytes())
    for name in sorted(bars.extra):
        value = bars.extra[name]
        digest.update(name.encode())
        if isinstance(value, pd.DataFrame | pd.Series):
            digest.update(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
        else:
            digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


class FeatureCache:
    """Parquet files ``<data hash>-<spec hash>.parquet`` under ``directory``."""

    def __init__(self, directory: str | Path):
        self.directory = directory

    def key(self, bars: Any, planned: list[Any], spec: Any, float32: bool) -> str:
        digest = hashlib.sha256()
        digest.update(__version__.encode())
        digest.update(spec.model_dump_json(exclude={"cache"}).encode())
        digest.update(str(float32).encode())
        for item in planned:
            digest.update(item.label.encode())
            digest.update(_code_fingerprint(item.feature.compute))
        return f"{hash_data(bars)[:20]}-{digest.hexdigest()[:20]}"

    def path(self, key: str) -> Path:
        return Path(self.directory) / f"{key}.parquet"

    def load(self, key: str) -> pd.DataFrame | None:
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError) as exc:  # a truncated file from a killed run: recompute
            logger.warning("ignoring unreadable feature cache %s (%s)", path, exc)
            return None

    def save(self, key: str, frame: pd.DataFrame) -> Path:
        from trademl._io import atomic_path

        path = self.path(key)
        # write then rename, so a concurrent reader never sees half a file; a cache is
        # recomputed when lost, so no fsync (it would cost more than the features)
        with atomic_path(path, durable=False) as partial:
            frame.to_parquet(partial)
        return path
