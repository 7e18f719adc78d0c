"""trademl: from raw market candles to a monitored model in production, honestly.

The top level stays small and imports nothing heavy: each name below is loaded from
its module on first use, so ``import trademl`` and ``trademl --help`` are instant.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "load_ohlcv": "trademl.data.io",
    "load_folder": "trademl.data.io",
    "load_data": "trademl.data.dataset",
    "load_sample": "trademl.datasets",
    "validate_ohlcv": "trademl.data.validation",
    "repair_ohlcv": "trademl.data.validation",
    "resample_ohlcv": "trademl.data.resample",
    "generate_features": "trademl.features",
    "run_backtest": "trademl.backtest",
    "performance_summary": "trademl.analytics",
    "load_spec": "trademl.config",
    "load_model": "trademl.package",
    "ModelPackage": "trademl.package",
    "ExperimentSpec": "trademl.config",
    "DataValidationError": "trademl.errors",
    "SpecError": "trademl.errors",
    "TradeMLError": "trademl.errors",
}
_SUBMODULES = {
    "datasets",
    "data",
    "features",
    "labels",
    "validation",
    "models",
    "tuning",
    "tracking",
    "backtest",
    "analytics",
    "regimes",
    "monitoring",
    "pipeline",
    "config",
    "package",
}

__all__ = ["__version__", *sorted(_LAZY), *sorted(_SUBMODULES)]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"trademl.{name}")
    else:
        raise AttributeError(f"module 'trademl' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover
    from trademl.analytics import performance_summary  # noqa: F401
    from trademl.backtest import run_backtest  # noqa: F401
    from trademl.config import ExperimentSpec, load_spec  # noqa: F401
    from trademl.data.dataset import load_data  # noqa: F401
    from trademl.data.io import load_folder, load_ohlcv  # noqa: F401
    from trademl.data.resample import resample_ohlcv  # noqa: F401
    from trademl.data.validation import repair_ohlcv, validate_ohlcv  # noqa: F401
    from trademl.datasets import load_sample  # noqa: F401
    from trademl.errors import DataValidationError, SpecError, TradeMLError  # noqa: F401
    from trademl.features import generate_features  # noqa: F401
    from trademl.package import ModelPackage, load_model  # noqa: F401
