"""Kelly fraction: how much of the equity to put on each bet for maximal log growth."""

from __future__ import annotations

from typing import Literal

import numpy as np

from trademl.analytics._input import as_returns

__all__ = ["kelly_fraction"]


def _kelly(values: np.ndarray, method: str) -> float:
    if method == "continuous":
        if len(values) < 2 or values.max() == values.min():
            return float("nan")
        return float(values.mean() / np.var(values, ddof=1))
    wins = values[values > 0]
    losses = values[values < 0]
    if len(wins) == 0 or len(losses) == 0:
        return float("nan")
    p = len(wins) / (len(wins) + len(losses))
    payoff = float(wins.mean()) / abs(float(losses.mean()))
    return float((payoff * p - (1 - p)) / payoff)


def kelly_fraction(returns, method: Literal["binary", "continuous"] = "binary") -> float:
    """Kelly fraction of a return (or trade return) series.

    ``binary`` treats each non-zero return as a bet won with probability p = wins /
    (wins + losses) paying the average win over the average loss b: f = (b p - (1 - p)) / b
    (quantstats ``kelly_criterion``; zero returns are neither wins nor losses).
    ``continuous`` is the small-return approximation f = mean / variance (ddof=1).
    NaN when there are no wins or no losses (binary) or no variance (continuous).
    """
    if method not in ("binary", "continuous"):
        raise ValueError(f"method must be 'binary' or 'continuous', got {method=}")
    return _kelly(as_returns(returns).to_numpy(), method)
