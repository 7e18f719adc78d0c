"""Probabilistic and deflated Sharpe ratios, minimum track record length.

Bailey & López de Prado, "The Sharpe Ratio Efficient Frontier" (J. of Risk, 2012) and
"The Deflated Sharpe Ratio" (J. of Portfolio Management, 2014). All Sharpe ratios here
are per observation (not annualised); ``kurtosis`` is the plain (non-excess) kurtosis,
3 for normal returns.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = [
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "minimum_track_record_length",
    "probabilistic_sharpe_ratio",
    "sharpe_moments",
]

EULER_GAMMA = 0.5772156649015329


def sharpe_moments(returns) -> dict[str, float]:
    """Per-observation Sharpe ratio, observation count, skewness and kurtosis of returns."""
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 1 or len(r) < 3:
        raise ValueError(f"returns must be 1-D with >= 3 observations, got shape {r.shape}")
    if not np.isfinite(r).all():
        raise ValueError(f"returns hold NaN/inf at row {int(np.flatnonzero(~np.isfinite(r))[0])}")
    from trademl.analytics.ratios import per_bar_sharpe

    sharpe = per_bar_sharpe(r)  # the one Sharpe definition
    if not np.isfinite(sharpe):
        raise ValueError("returns are constant: the Sharpe ratio is undefined")
    return {
        "sharpe": float(sharpe),
        "n_obs": len(r),
        "skew": float(stats.skew(r)),
        "kurtosis": float(stats.kurtosis(r, fisher=False)),
    }


def _sharpe_std(sharpe: float, n_obs: int, skew: float, kurtosis: float) -> float:
    if n_obs < 2:
        raise ValueError(f"n_obs must be >= 2, but got {n_obs=}")
    var = 1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe**2
    if var <= 0:
        raise ValueError(
            f"the Sharpe ratio's variance is not positive for {sharpe=}, {skew=}, {kurtosis=}"
        )
    return float(np.sqrt(var / (n_obs - 1)))


def probabilistic_sharpe_ratio(
    sharpe: float, n_obs: int, skew: float = 0.0, kurtosis: float = 3.0, benchmark: float = 0.0
) -> float:
    """P(true Sharpe > ``benchmark``) given an observed per-observation Sharpe (PSR)."""
    return float(stats.norm.cdf((sharpe - benchmark) / _sharpe_std(sharpe, n_obs, skew, kurtosis)))


def expected_max_sharpe(n_trials: int, sharpe_variance: float, mean_sharpe: float = 0.0) -> float:
    """Expected maximum Sharpe of ``n_trials`` unskilled trials (False Strategy Theorem)."""
    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, but got {n_trials=}")
    if sharpe_variance < 0:
        raise ValueError(f"sharpe_variance must be >= 0, but got {sharpe_variance=}")
    if n_trials == 1:
        return float(mean_sharpe)
    z1 = stats.norm.ppf(1 - 1 / n_trials)
    z2 = stats.norm.ppf(1 - 1 / (n_trials * np.e))
    return float(
        mean_sharpe + np.sqrt(sharpe_variance) * ((1 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)
    )


def deflated_sharpe_ratio(
    sharpe: float,
    n_trials: int,
    sharpe_variance: float,
    n_obs: int,
    skew: float = 0.0,
    kurtosis: float = 3.0,
) -> float:
    """PSR against the Sharpe the best of ``n_trials`` unskilled trials would reach (DSR).

    ``sharpe_variance`` is the variance of the per-observation Sharpe ratios across trials.
    """
    benchmark = expected_max_sharpe(n_trials, sharpe_variance)
    return probabilistic_sharpe_ratio(sharpe, n_obs, skew, kurtosis, benchmark)


def minimum_track_record_length(
    sharpe: float,
    skew: float = 0.0,
    kurtosis: float = 3.0,
    benchmark: float = 0.0,
    confidence: float = 0.95,
) -> float:
    """Observations needed for PSR(benchmark) to reach ``confidence`` (MinTRL)."""
    if sharpe <= benchmark:
        raise ValueError(
            f"MinTRL is infinite unless sharpe > benchmark, but got {sharpe=}, {benchmark=}"
        )
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), but got {confidence=}")
    var = 1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe**2
    z = stats.norm.ppf(confidence)
    return float(1 + var * (z / (sharpe - benchmark)) ** 2)
