"""Comparing two models on the same test samples: paired tests and effect size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from trademl.validation.metrics import aligned

__all__ = [
    "ComparisonResult",
    "diebold_mariano",
    "effect_size",
    "paired_t_test",
    "wilcoxon_test",
]

Alternative = Literal["two-sided", "less", "greater"]


@dataclass(frozen=True)
class ComparisonResult:
    statistic: float
    pvalue: float
    n_obs: int
    test: str


def _pvalue(stat: float, dist, alternative: Alternative) -> float:
    if alternative == "two-sided":
        return float(2 * dist.sf(abs(stat)))
    if alternative == "greater":
        return float(dist.sf(stat))
    if alternative == "less":
        return float(dist.cdf(stat))
    raise ValueError(f"alternative must be two-sided, less or greater, got {alternative=}")


def _differences(a, b) -> np.ndarray:
    x, y = aligned(a=a, b=b)
    if len(x) < 3:
        raise ValueError(f"paired tests need >= 3 paired observations, got {len(x)}")
    return x - y


def paired_t_test(a, b, *, alternative: Alternative = "two-sided") -> ComparisonResult:
    """t-test that the mean of ``a - b`` is zero (e.g. per-sample losses of two models)."""
    d = _differences(a, b)
    n = len(d)
    sd = d.std(ddof=1)
    if sd == 0:
        raise ValueError("a - b is constant: the paired t-test is undefined")
    stat = d.mean() / (sd / np.sqrt(n))
    return ComparisonResult(float(stat), _pvalue(stat, stats.t(n - 1), alternative), n, "paired t")


def wilcoxon_test(a, b, *, alternative: Alternative = "two-sided") -> ComparisonResult:
    """Wilcoxon signed-rank test of ``a - b`` (scipy's, after alignment checks)."""
    d = _differences(a, b)
    if not np.any(d):
        raise ValueError("a and b are identical: the Wilcoxon test is undefined")
    res = stats.wilcoxon(d, alternative=alternative)
    return ComparisonResult(float(res.statistic), float(res.pvalue), len(d), "wilcoxon")


def diebold_mariano(
    loss_a, loss_b, *, horizon: int = 1, alternative: Alternative = "two-sided"
) -> ComparisonResult:
    """Diebold-Mariano test of equal expected loss, with the HLN small-sample correction.

    d = loss_a - loss_b; its long-run variance uses autocovariances up to lag
    ``horizon - 1`` (an h-step forecast's errors overlap h-1 bars). Harvey, Leybourne &
    Newbold (1997) scale the statistic by sqrt((T + 1 - 2h + h(h-1)/T) / T) and compare it
    with Student's t with T-1 degrees of freedom. Negative statistic: ``a`` has lower loss.
    """
    d = _differences(loss_a, loss_b)
    t = len(d)
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"horizon must be an int >= 1, but got {horizon=}")
    if horizon >= t:
        raise ValueError(f"horizon={horizon} must be smaller than the {t} observations")
    centred = d - d.mean()
    gamma = [centred @ centred / t]
    gamma += [centred[k:] @ centred[:-k] / t for k in range(1, horizon)]
    long_run = gamma[0] + 2 * sum(gamma[1:])
    if long_run <= 0:
        raise ValueError("the loss differential's long-run variance is not positive")
    dm = d.mean() / np.sqrt(long_run / t)
    hln = np.sqrt((t + 1 - 2 * horizon + horizon * (horizon - 1) / t) / t)
    stat = float(dm * hln)
    return ComparisonResult(stat, _pvalue(stat, stats.t(t - 1), alternative), t, "diebold-mariano")


def effect_size(a, b, *, hedges: bool = True) -> float:
    """Standardised mean paired difference (Cohen's d_z; Hedges' small-sample g_z if set)."""
    d = _differences(a, b)
    sd = d.std(ddof=1)
    if sd == 0:
        raise ValueError("a - b is constant: the effect size is undefined")
    dz = d.mean() / sd
    if hedges:
        n = len(d)
        dz *= 1 - 3 / (4 * (n - 1) - 1)
    return float(dz)
