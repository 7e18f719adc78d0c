"""Save and load any regime detector; the file says which kind it is (no pickle)."""

from __future__ import annotations

import json
from pathlib import Path

from trademl.errors import DataError
from trademl.regimes._base import RegimeDetector

__all__ = ["load_detector", "save_detector"]

# kind written in the file -> module and class; imported on demand (torch only for "lstm")
_KINDS = {
    "hmm": ("trademl.regimes.hmm", "HMMRegimeDetector"),
    "lstm": ("trademl.regimes.neural", "NNRegimeDetector"),
}
NN_CONFIG = "config.json"


def save_detector(detector: RegimeDetector, path: str | Path) -> Path:
    """``detector.save(path)``: a JSON file (HMM) or a directory of weights + config (LSTM)."""
    return detector.save(path)


def load_detector(path: str | Path) -> RegimeDetector:
    """Load a detector saved by ``save_detector``, whatever its kind."""
    import importlib

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no regime model at {path}")
    config = path / NN_CONFIG if path.is_dir() else path
    try:
        kind = json.loads(config.read_text()).get("kind")
    except (OSError, json.JSONDecodeError, AttributeError) as exc:
        raise DataError(f"{path} is not a saved regime model: {exc}") from exc
    if kind not in _KINDS:
        raise DataError(
            f"{path} holds an unknown regime model kind {kind!r}; known: {list(_KINDS)}"
        )
    module, name = _KINDS[kind]
    return getattr(importlib.import_module(module), name).load(path)
