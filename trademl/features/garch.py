"""GARCH(1,1) conditional volatility, fitted causally with the ``arch`` package.

Fitting at every bar would cost ~20 ms x bars. Instead the model is refitted every
``refit`` bars on the trailing ``window`` returns, and between refits the variance is
filtered forward with the fixed parameters (a linear recursion, one ``lfilter`` call).
Refit points depend only on the bar's position from the start of the series, and a fit
at row p uses returns of rows < p only, so a prefix of the data gives the same values.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
from scipy.signal import lfilter

from trademl.features._registry import Online, feature

logger = logging.getLogger(__name__)

SCALE = 100.0  # arch's optimiser is happiest with percent returns


def _fit(returns: np.ndarray) -> np.ndarray | None:
    from arch import arch_model

    model = arch_model(returns, mean="Zero", vol="GARCH", p=1, q=1, rescale=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = model.fit(disp="off", options={"maxiter": 200})
        except (ValueError, np.linalg.LinAlgError) as exc:
            logger.debug("GARCH fit failed: %s", exc)
            return None
    params = np.asarray(result.params, dtype=float)
    if not np.all(np.isfinite(params)) or params[0] <= 0:
        return None
    return params


def filter_variance(returns: np.ndarray, omega: float, alpha: float, beta: float,
                    initial: float) -> np.ndarray:  # fmt: skip
    """out[s] = sigma^2_{s+1} = omega + alpha r_s^2 + beta sigma^2_s, with sigma^2_0 = initial."""
    drive = omega + alpha * returns * returns
    out, _ = lfilter([1.0], [1.0, -beta], drive, zi=[beta * initial])
    return out


@feature(
    "garch",
    category="volatility",
    params={"window": 2000, "refit": 10000},
    warmup=lambda window, refit: window + 1,
    online=Online(
        "none",
        reason="refitted every `refit` bars counted from the series' first bar: the served "
        "value would depend on where the warm-up history starts, and a refit (~20 ms) "
        "does not fit in one bar's latency budget",
    ),
)
def garch(bars: Any, window: int, refit: int) -> np.ndarray:
    """One-bar-ahead GARCH(1,1) volatility forecast made at the bar's close (log-return
    units), refitted every `refit` bars on the last `window` returns."""
    if window < 100 or refit < 1:
        raise ValueError(f"garch: window must be >= 100 and refit >= 1, got {window=}, {refit=}")
    r = bars.logret() * SCALE
    n = len(r)
    out = np.full(n, np.nan)
    for fit_at in range(window + 1, n, refit):
        sample = r[fit_at - window : fit_at]
        if np.isnan(sample).any():
            continue
        params = _fit(sample)
        if params is None:
            continue
        omega, alpha, beta = params
        stop = min(fit_at + refit, n)
        path = r[fit_at - window : stop]
        variance = filter_variance(path, omega, alpha, beta, float(np.mean(sample * sample)))
        out[fit_at:stop] = np.sqrt(variance[window:]) / SCALE
    return out
