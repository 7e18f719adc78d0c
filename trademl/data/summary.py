"""A short factual description of a candle frame (what ``data info`` and the demo print)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trademl.data.io import OHLCV_COLUMNS
from trademl.data.timeframe import infer_timeframe
from trademl.data.validation import find_gaps, find_problems

__all__ = ["describe_ohlcv"]


def describe_ohlcv(
    frame: pd.DataFrame, timeframe: str | None = None, *, max_jump: float = 0.5
) -> dict:
    """Rows, range, timeframe, gaps, zero-volume bars, problems and per-column statistics.

    ``gaps`` is the ``find_gaps`` table; ``problems`` the ``find_problems`` list (gaps
    included), so a caller can tell "clean" from "loaded but suspicious".
    """
    inferred = timeframe is None
    timeframe = timeframe or (infer_timeframe(frame.index) if len(frame) > 1 else None)
    gaps = find_gaps(frame.index, timeframe) if timeframe else pd.DataFrame()
    stats = pd.DataFrame(
        {
            "min": frame[list(OHLCV_COLUMNS)].min(),
            "max": frame[list(OHLCV_COLUMNS)].max(),
            "mean": frame[list(OHLCV_COLUMNS)].mean(),
            "missing": frame[list(OHLCV_COLUMNS)].isna().sum(),
        }
    )
    close = frame["close"].to_numpy()
    return {
        "rows": len(frame),
        "start": frame.index.min() if len(frame) else None,
        "end": frame.index.max() if len(frame) else None,
        "timeframe": timeframe,
        "timeframe_inferred": inferred,
        "gaps": gaps,
        "gap_count": len(gaps),
        "missing_bars": int(gaps["missing_bars"].sum()) if len(gaps) else 0,
        "zero_volume_bars": int((frame["volume"] == 0).sum()),
        "filled_bars": int(frame["is_filled"].sum()) if "is_filled" in frame.columns else 0,
        "first_close": float(close[0]) if len(close) else np.nan,
        "last_close": float(close[-1]) if len(close) else np.nan,
        "extra_columns": [c for c in frame.columns if c not in OHLCV_COLUMNS],
        "stats": stats,
        "problems": find_problems(frame, timeframe, max_jump=max_jump),
    }
