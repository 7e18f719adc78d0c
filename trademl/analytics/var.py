"""Value at Risk and Conditional VaR: historical, Gaussian and Cornish-Fisher.

Results are RETURNS at the ``level`` tail (negative numbers for a loss), the sign
convention of empyrical and quantstats. ``level=0.95`` looks at the worst 5 %.
- historical VaR: ``np.percentile(r, 100 * (1 - level))`` with linear interpolation
  (empyrical ``value_at_risk(cutoff=1 - level)``); historical CVaR: the mean of the
  returns at or below that VaR (quantstats ``cvar(method="historical")``; empyrical
  ``conditional_value_at_risk`` averages the lowest ``int((n - 1) * cutoff) + 1`` values
  instead, which can differ by one observation).
- Gaussian: mean + z * std (ddof=1) (quantstats ``value_at_risk``); CVaR
  ``mean - std * pdf(z) / (1 - level)`` (quantstats ``cvar(method="parametric")``).
- Cornish-Fisher: the Gaussian quantile corrected for sample skew S and excess kurtosis
  K, ``z + (z²-1)S/6 + (z³-3z)K/24 - (2z³-5z)S²/36``; its CVaR is the average of the
  corrected quantiles over the tail (numerical integration on 2,000 midpoints).
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Literal

import numpy as np

from trademl.analytics._input import as_returns
from trademl.analytics.returns import _shape

__all__ = ["conditional_value_at_risk", "value_at_risk"]

VarMethod = Literal["historical", "gaussian", "cornish_fisher"]
_NORMAL = NormalDist()
_TAIL_POINTS = 2000


def _check(level: float, method: str) -> float:
    if not 0 < float(level) < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level=}")
    if method not in ("historical", "gaussian", "cornish_fisher"):
        raise ValueError(
            f"method must be 'historical', 'gaussian' or 'cornish_fisher', got {method=}"
        )
    return 1.0 - float(level)


def _cornish_fisher_z(z: np.ndarray, skew: float, kurt: float) -> np.ndarray:
    return (
        z + (z**2 - 1) * skew / 6 + (z**3 - 3 * z) * kurt / 24 - (2 * z**3 - 5 * z) * skew**2 / 36
    )


def moments(values: np.ndarray) -> tuple[float, float, float, float]:
    """(mean, std with ddof=1, skew, excess kurtosis) as the parametric methods use them."""
    mean = float(values.mean())
    std = float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
    skew, kurt = _shape(values)
    # zero variance: the distribution is a point, so there is no shape to correct for
    return mean, std, 0.0 if np.isnan(skew) else skew, 0.0 if np.isnan(kurt) else kurt


def _var(values: np.ndarray, alpha: float, method: str, shape=None) -> float:
    if len(values) == 0:
        return float("nan")
    if method == "historical":
        return float(np.percentile(values, 100 * alpha))
    mean, std, skew, kurt = shape if shape is not None else moments(values)
    if np.isnan(std):
        return float("nan")
    z = _NORMAL.inv_cdf(alpha)
    if method == "cornish_fisher":
        z = float(_cornish_fisher_z(np.array(z), skew, kurt))
    return mean + z * std


def _cvar(values: np.ndarray, alpha: float, method: str, shape=None, cutoff=None) -> float:
    if len(values) == 0:
        return float("nan")
    if method == "historical":
        cutoff = np.percentile(values, 100 * alpha) if cutoff is None else cutoff
        return float(values[values <= cutoff].mean())
    mean, std, skew, kurt = shape if shape is not None else moments(values)
    if np.isnan(std):
        return float("nan")
    if method == "gaussian":
        return mean - std * _NORMAL.pdf(_NORMAL.inv_cdf(alpha)) / alpha
    probs = (np.arange(_TAIL_POINTS) + 0.5) / _TAIL_POINTS * alpha
    z = np.array([_NORMAL.inv_cdf(float(p)) for p in probs])
    return float(mean + std * _cornish_fisher_z(z, skew, kurt).mean())


def value_at_risk(returns, level: float = 0.95, method: VarMethod = "historical") -> float:
    """The return at the (1 - level) quantile; NaN if empty."""
    alpha = _check(level, method)
    return _var(as_returns(returns).to_numpy(), alpha, method)


def conditional_value_at_risk(
    returns, level: float = 0.95, method: VarMethod = "historical"
) -> float:
    """Expected return in the tail beyond the VaR (expected shortfall); NaN if empty."""
    alpha = _check(level, method)
    return _cvar(as_returns(returns).to_numpy(), alpha, method)
