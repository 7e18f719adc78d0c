"""Every TA-Lib wrapper returns exactly what TA-Lib itself returns, for its whole default
grid, and its declared warm-up is TA-Lib's lookback (the first non-NaN row)."""

from __future__ import annotations

import numpy as np
import pytest
import talib
from talib import abstract

from trademl.features import generate_features, registry

WRAPPERS = sorted(name for name, feat in registry().items() if feat.talib is not None)


def test_all_61_candlestick_patterns_are_registered():
    patterns = talib.get_function_groups()["Pattern Recognition"]
    assert len(patterns) == 61
    names = {f"cdl_{p.removeprefix('CDL').lower()}" for p in patterns}
    assert names <= set(registry())
    assert "cdl_engulfing" in names


@pytest.mark.parametrize("name", WRAPPERS)
def test_wrapper_equals_talib_exactly(name, btc):
    feat = registry()[name]
    function, to_kwargs, picks = feat.talib
    frame = generate_features(btc, {"indicators": [name]})
    inputs = [btc[column].to_numpy(np.float64) for column in feat.inputs]
    for params in feat.param_sets():
        raw = getattr(talib, function)(*inputs, **to_kwargs(**params))
        raw = raw if isinstance(raw, tuple) else (raw,)
        for column, pick in zip(feat.columns(params), picks, strict=True):
            if pick is None:
                continue  # a derived output (e.g. distance to the average), tested elsewhere
            expected = raw[pick].astype(np.float64)
            np.testing.assert_array_equal(frame[column].to_numpy(), expected, err_msg=column)
            lookback = abstract.Function(function)
            lookback.set_parameters(**to_kwargs(**params))
            assert feat.warmup_bars(params) == lookback.lookback, column
            if raw[pick].dtype.kind == "f":  # patterns (int) report 0 during their lookback
                assert int(np.argmax(~np.isnan(expected))) == lookback.lookback, column
