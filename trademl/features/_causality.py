"""The causality check every registered feature must pass: computed on the first k bars,
it equals the first k rows computed on all bars. Event data (trades, book, l2) is cut
at the prefix's last bar close too, so a feature peeking at later events fails."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from trademl.config.features import FeatureSpec, IndicatorSpec
from trademl.features._bars import infer_bar_delta
from trademl.features._registry import FeatureError

__all__ = ["check_causality"]


def _cut_events(frame: Any, end_ns: int) -> Any:
    from trademl.features.orderbook import _event_times

    if not isinstance(frame, pd.DataFrame):
        return frame
    times = _event_times(
        frame, "events", ("exch_time_ms", "second", "time", "timestamp", "local_ns")
    )
    return frame[times < end_ns]


def check_causality(
    ohlcv: pd.DataFrame,
    spec: str | FeatureSpec,
    *,
    params: Mapping[str, Any] | None = None,
    prefixes: Iterable[int] | None = None,
    rtol: float = 1e-9,
    **data: Any,
) -> dict[str, int]:
    """Raise FeatureError at the first prefix row that differs from the full run.

    ``spec`` is a feature name (with optional ``params``) or a whole FeatureSpec (to check
    higher timeframes, lags, normalisation). Returns {column: rows compared}.
    """
    from trademl.features._generate import generate_features

    if isinstance(spec, str):
        spec = FeatureSpec(indicators=[IndicatorSpec(name=spec, params=dict(params or {}))])
    spec = spec.model_copy(update={"on_short": "nan"})
    n = len(ohlcv)
    prefixes = sorted(set(prefixes or (n // 4, n // 2, (3 * n) // 4, n - 1)))
    full = generate_features(ohlcv, spec, **data)
    bar = infer_bar_delta(ohlcv.index).value
    compared: dict[str, int] = {}
    for k in prefixes:
        if not 1 < k <= n:
            raise ValueError(f"check_causality: prefix length must be in 2..{n}, got {k}")
        end = ohlcv.index[k - 1].value + bar
        cut = {key: _cut_events(value, end) for key, value in data.items()}
        part = generate_features(ohlcv.iloc[:k], spec, **cut)
        expected = full.iloc[:k]
        # too short for the prefix is an all-NaN column by design, not a leak
        blanked = set(part.attrs.get("too_short", ()))
        for column in full.columns:
            if column in blanked:
                continue
            a = part[column].to_numpy()
            b = expected[column].to_numpy()
            same = np.isclose(a, b, rtol=rtol, atol=0.0, equal_nan=True)
            if not same.all():
                row = int(np.argmax(~same))
                raise FeatureError(
                    f"{column} is not causal: with the first {k} bars, row {row} "
                    f"({ohlcv.index[row]}) is {a[row]!r} but {b[row]!r} with all {n} bars"
                )
            compared[column] = compared.get(column, 0) + k
    return compared
