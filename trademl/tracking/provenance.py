"""What a run needs to be regenerated: code version, package versions, data hash, params."""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "PARAM_VALUE_LIMIT",
    "flatten_params",
    "frame_sha256",
    "git_commit",
    "package_versions",
]

# MLflow servers before 2.x accept 500 characters per param value (newer ones more); the
# portable limit keeps a run loggable to any server. The full spec is always an artifact.
PARAM_VALUE_LIMIT = 500
_TRUNCATION_MARK = "...[truncated]"

# distributions whose versions decide whether a result can be reproduced
TRACKED_PACKAGES = (
    "trademl",
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "lightgbm",
    "xgboost",
    "torch",
    "optuna",
    "mlflow",
    "hmmlearn",
    "ta-lib",
    "statsmodels",
    "arch",
)


@functools.cache
def git_commit(path: str | None = None) -> dict[str, str]:
    """``{"commit": sha, "dirty": "true"/"false"}`` of the repository holding ``path``.

    ``"unknown"`` outside a git repository (an installed package, a copied folder).
    """
    where = Path(path) if path else Path.cwd()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": "unknown"}
    return {"commit": commit or "unknown", "dirty": "true" if status else "false"}


@functools.cache
def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape results (missing ones are left out)."""
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def frame_sha256(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's content: index, column names, dtypes and every value.

    Hashes the raw bytes of each column (not a sample), so one changed price changes it.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    digest = hashlib.sha256()
    digest.update(json.dumps([str(c) for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame.index, index=False).to_numpy().tobytes())
    for column in frame.columns:
        values = frame[column]
        digest.update(str(values.dtype).encode())
        if isinstance(values.dtype, np.dtype) and values.dtype.kind in "biufcmM":
            digest.update(np.ascontiguousarray(values.to_numpy()).tobytes())
        else:
            digest.update(pd.util.hash_pandas_object(values, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _param_value(value: Any) -> str:
    if isinstance(value, (list, tuple, set)):
        text = json.dumps(list(value), default=str)
    else:
        text = str(value)
    if len(text) > PARAM_VALUE_LIMIT:
        text = text[: PARAM_VALUE_LIMIT - len(_TRUNCATION_MARK)] + _TRUNCATION_MARK
    return text


def flatten_params(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested mapping -> ``{"model.params.max_depth": "6", ...}`` with MLflow-safe values.

    Lists become JSON; values longer than ``PARAM_VALUE_LIMIT`` are cut and marked.
    """
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flat.update(flatten_params(value, name))
        else:
            flat[name] = _param_value(value)
    return flat
