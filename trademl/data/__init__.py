"""Market data: loading, validation, repair, resampling, exchange download, synthetic regimes.

The standard frame everywhere: a UTC ``DatetimeIndex`` named ``timestamp`` (bar open
time) and float64 ``open, high, low, close, volume``. Several symbols are a
``dict[str, DataFrame]`` of such frames. Names load lazily so that importing this
package (and ``trademl --help``) stays cheap.
"""

from __future__ import annotations

from trademl._lazy import lazy_getattr

__all__ = [
    "DataValidationError",
    "OHLCVExchange",
    "describe_ohlcv",
    "download_ohlcv",
    "find_gaps",
    "find_problems",
    "infer_timeframe",
    "load_data",
    "load_folder",
    "load_ohlcv",
    "make_exchange",
    "repair_ohlcv",
    "resample_ohlcv",
    "save_ohlcv",
    "synthetic_ohlcv",
    "timeframe_to_timedelta",
    "validate_ohlcv",
]

_LAZY = {
    "DataValidationError": "trademl.errors",
    "OHLCVExchange": "trademl.data.fetch",
    "describe_ohlcv": "trademl.data.summary",
    "download_ohlcv": "trademl.data.fetch",
    "find_gaps": "trademl.data.validation",
    "find_problems": "trademl.data.validation",
    "infer_timeframe": "trademl.data.timeframe",
    "load_data": "trademl.data.dataset",
    "load_folder": "trademl.data.io",
    "load_ohlcv": "trademl.data.io",
    "make_exchange": "trademl.data.fetch",
    "repair_ohlcv": "trademl.data.validation",
    "resample_ohlcv": "trademl.data.resample",
    "save_ohlcv": "trademl.data.io",
    "synthetic_ohlcv": "trademl.data.synthetic",
    "timeframe_to_timedelta": "trademl.data.timeframe",
    "validate_ohlcv": "trademl.data.validation",
}


__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return __all__
