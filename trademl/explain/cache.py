"""Explanations cached on disk by (model version, data hash): the same model on the same
feature rows is explained once.

The key hashes the model's identity (registry name and version, or run), the method
and the exact feature matrix (values and timestamps), so any change of model or data
misses the cache. Entries are Parquet files written to a temporary name and renamed,
so a reader never sees half of one. ``$TRADEML_EXPLAIN_CACHE`` moves the folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import pandas as pd

from trademl.explain.shap_values import ShapValues

__all__ = ["ExplanationCache", "data_hash"]

ENV_VAR = "TRADEML_EXPLAIN_CACHE"


def data_hash(X: pd.DataFrame) -> str:
    """SHA-256 of a feature matrix: its columns, index and every value."""
    digest = hashlib.sha256()
    digest.update(json.dumps([str(c) for c in X.columns]).encode())
    digest.update(pd.util.hash_pandas_object(X, index=True).to_numpy().tobytes())
    return digest.hexdigest()


class ExplanationCache:
    """SHAP values on disk, one Parquet file per (model version, method, data hash)."""

    def __init__(self, folder: str | Path | None = None):
        self.folder = folder

    @property
    def path(self) -> Path:
        chosen = self.folder or os.environ.get(ENV_VAR)
        return Path(chosen) if chosen else Path.home() / ".cache" / "trademl" / "explain"

    def key(self, model_id: str, method: str, X: pd.DataFrame) -> str:
        text = f"{model_id}\n{method}\n{data_hash(X)}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def get(self, key: str) -> ShapValues | None:
        file = self.path / f"{key}.parquet"
        if not file.is_file():
            return None
        frame = pd.read_parquet(file)
        meta = json.loads(frame.attrs.get("trademl", "{}") or "{}")
        base = frame.pop("base_value").to_numpy(dtype=float)
        return ShapValues(frame, base, meta.get("output", ""), meta.get("method", ""))

    def put(self, key: str, values: ShapValues) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        frame = values.to_frame()
        frame.attrs["trademl"] = json.dumps({"output": values.output, "method": values.method})
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", dir=self.path)
        os.close(fd)
        try:
            frame.to_parquet(tmp)
            os.replace(tmp, self.path / f"{key}.parquet")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
