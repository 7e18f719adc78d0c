"""Paired tests of two models on the same bars, and a sequential test for live traffic.

Everything here works on *paired* per-bar differences ``d_t = a_t - b_t`` (the
challenger's strategy return minus the champion's, or the champion's loss minus the
challenger's), so a positive mean always favours the challenger.

- ``diebold_mariano``: the mean difference over its HAC (Newey-West) standard error,
  with the Harvey-Leybourne-Newbold small-sample correction and Student-t p-values.
  Per-bar strategy returns are autocorrelated (positions persist), which is why a plain
  paired t-test would be too confident.
- ``block_bootstrap_ci``: a stationary (Politis-Romano) bootstrap confidence interval of
  the mean difference, block length chosen by Politis-White, seeded.
- ``holm`` / ``benjamini_hochberg``: adjusted p-values when several challengers compete.
- ``MixtureSPRT``: the mixture sequential probability ratio test (Robbins; Johari et al.
  2017, "always valid p-values") on batch means of the differences. Its type-I error is
  at most ``alpha`` however often it is looked at, so live traffic can be checked after
  every batch and stopped as soon as the difference is significant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from trademl.errors import DataError

__all__ = [
    "BootstrapInterval",
    "DieboldMariano",
    "MixtureSPRT",
    "SequentialDecision",
    "benjamini_hochberg",
    "block_bootstrap_ci",
    "diebold_mariano",
    "effect_size",
    "holm",
]


def _differences(values, what: str, minimum: int) -> np.ndarray:
    d = np.asarray(values, dtype="float64").ravel()
    if not np.isfinite(d).all():
        bad = int(np.flatnonzero(~np.isfinite(d))[0])
        raise DataError(f"{what}: value at position {bad} is not finite")
    if len(d) < minimum:
        raise DataError(f"{what}: {len(d)} paired observations, need at least {minimum}")
    return d


@dataclass(frozen=True)
class DieboldMariano:
    statistic: float
    p_value: float
    mean: float
    n: int
    lags: int


def newey_west_variance(d: np.ndarray, lags: int) -> float:
    """Long-run variance of ``d`` with Bartlett weights up to ``lags``."""
    e = d - d.mean()
    n = len(e)
    total = float(e @ e) / n
    for k in range(1, lags + 1):
        total += 2.0 * (1.0 - k / (lags + 1)) * float(e[k:] @ e[:-k]) / n
    return total


def diebold_mariano(differences, *, lags: int | None = None) -> DieboldMariano:
    """Two-sided test that the mean paired difference is zero (HAC, HLN-corrected).

    ``lags`` defaults to the Newey-West rule floor(4 (n/100)^(2/9)). A difference series
    with no variance (two identical models) gives statistic 0 and p-value 1.
    """
    d = _differences(differences, "Diebold-Mariano test", 10)
    n = len(d)
    if lags is None:
        lags = int(math.floor(4 * (n / 100.0) ** (2.0 / 9.0)))
    lags = max(0, min(int(lags), n - 2))
    variance = newey_west_variance(d, lags)
    mean = float(d.mean())
    if not variance > 1e-300:
        return DieboldMariano(0.0, 1.0, mean, n, lags)
    raw = mean / math.sqrt(variance / n)
    # Harvey, Leybourne & Newbold (1997), with h - 1 = lags
    h = lags + 1
    correction = math.sqrt(max((n + 1 - 2 * h + h * (h - 1) / n) / n, 1e-12))
    statistic = raw * correction
    p_value = float(2 * stats.t.sf(abs(statistic), df=n - 1))
    return DieboldMariano(float(statistic), p_value, mean, n, lags)


def effect_size(differences) -> float:
    """Standardised mean difference of the pairs (mean / standard deviation)."""
    d = _differences(differences, "effect size", 2)
    sd = float(d.std(ddof=1))
    return float(d.mean() / sd) if sd > 0 else 0.0


@dataclass(frozen=True)
class BootstrapInterval:
    low: float
    high: float
    level: float
    block_length: float
    n_resamples: int
    p_value: float  # two-sided: how often the resampled mean falls on the other side of 0


def block_bootstrap_ci(
    differences, *, level: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> BootstrapInterval:
    """Stationary-bootstrap percentile interval of the mean paired difference."""
    from trademl.analytics.montecarlo import optimal_block_length

    if not 0 < level < 1:
        raise DataError(f"bootstrap level must be in (0, 1), got {level}")
    if n_resamples < 100:
        raise DataError(f"bootstrap n_resamples must be at least 100, got {n_resamples}")
    d = _differences(differences, "block bootstrap", 10)
    n = len(d)
    if not d.std() > 0:  # identical models (or a constant gap): nothing to resample
        return BootstrapInterval(float(d.mean()), float(d.mean()), level, 1.0, n_resamples, 1.0)
    block = optimal_block_length(d)
    rng = np.random.default_rng(seed)
    # stationary bootstrap: each position continues its block with probability 1 - 1/b,
    # otherwise jumps to a uniformly drawn start; indices wrap around (circular)
    starts = rng.integers(0, n, size=(n_resamples, n))
    jump = rng.random((n_resamples, n)) < 1.0 / block
    jump[:, 0] = True
    # positions since the last jump, then index = start of that block + offset
    idx = np.arange(n)
    last_jump = np.maximum.accumulate(np.where(jump, idx, 0), axis=1)
    block_start = np.take_along_axis(starts, last_jump, axis=1)
    positions = (block_start + (idx - last_jump)) % n
    means = d[positions].mean(axis=1)
    alpha = 1 - level
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    centred = means - means.mean()
    p_value = float(min(1.0, np.mean(np.abs(centred) >= abs(d.mean())) + 1.0 / n_resamples))
    return BootstrapInterval(float(low), float(high), level, block, n_resamples, p_value)


def holm(p_values) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (family-wise error), in the given order."""
    p = np.asarray(p_values, dtype="float64")
    m = len(p)
    order = np.argsort(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (m - rank) * p[i])
        adjusted[i] = min(1.0, running)
    return adjusted


def benjamini_hochberg(p_values) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate), in the given order."""
    p = np.asarray(p_values, dtype="float64")
    m = len(p)
    order = np.argsort(p)[::-1]
    adjusted = np.empty(m)
    running = 1.0
    for position, i in enumerate(order):
        rank = m - position
        running = min(running, p[i] * m / rank)
        adjusted[i] = running
    return adjusted


@dataclass
class SequentialDecision:
    decision: str  # "challenger", "champion", "continue", "no difference"
    p_value: float  # always-valid p-value so far
    n: int  # paired observations seen
    batches: int
    mean: float
    reason: str


@dataclass
class MixtureSPRT:
    """Always-valid two-sided test of a zero mean difference, fed batch by batch.

    Paired differences are grouped into batches of ``batch_size`` bars; batch means are
    close to independent and normal even when bars are autocorrelated and heavy-tailed.
    With a normal mixing distribution N(0, tau²) over the mean of a batch, the mixture
    likelihood ratio after k batches with mean m and variance s² is

        Lambda_k = sqrt(s² / (s² + k tau²)) * exp(k² tau² m² / (2 s² (s² + k tau²)))

    and rejecting when Lambda_k >= 1/alpha keeps P(false rejection) <= alpha over any
    number of looks. The variance is the running sample variance of batch means (a plug-in,
    so the guarantee is asymptotic: ``false_promotion_rate`` measures it by simulation).
    No decision is taken before ``min_samples`` bars; after ``max_samples`` bars without a
    significant difference the champion stays ("no difference").
    """

    alpha: float = 0.05
    batch_size: int = 24
    min_samples: int = 500
    max_samples: int = 20_000
    tau: float | None = None  # mixing scale, in units of the batch-mean sd (default 1)
    _batch_means: list[float] = field(default_factory=list)
    _pending: list[float] = field(default_factory=list)
    _p_value: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise DataError(f"sequential test: alpha must be in (0, 1), got {self.alpha}")
        if self.batch_size < 1:
            raise DataError(f"sequential test: batch_size must be >= 1, got {self.batch_size}")
        if self.min_samples < 2 * self.batch_size:
            raise DataError(
                f"sequential test: min_samples ({self.min_samples}) must cover at least two "
                f"batches of {self.batch_size}"
            )
        if self.max_samples < self.min_samples:
            raise DataError(
                f"sequential test: max_samples ({self.max_samples}) < min_samples "
                f"({self.min_samples})"
            )

    @property
    def n(self) -> int:
        return len(self._batch_means) * self.batch_size + len(self._pending)

    def _likelihood_ratio(self) -> float:
        k = len(self._batch_means)
        if k < 2:
            return 1.0
        means = np.asarray(self._batch_means)
        s2 = float(means.var(ddof=1))
        if not s2 > 0:
            return 1.0
        tau2 = (self.tau if self.tau is not None else 1.0) ** 2 * s2
        m = float(means.mean())
        log_ratio = 0.5 * math.log(s2 / (s2 + k * tau2)) + (k * k * tau2 * m * m) / (
            2 * s2 * (s2 + k * tau2)
        )
        return math.exp(min(log_ratio, 700.0))

    def update(self, differences) -> SequentialDecision:
        """Feed new paired differences; the decision so far."""
        values = np.asarray(differences, dtype="float64").ravel()
        if not np.isfinite(values).all():
            raise DataError("sequential test: a paired difference is not finite")
        self._pending.extend(values.tolist())
        while len(self._pending) >= self.batch_size:
            batch, self._pending = (
                self._pending[: self.batch_size],
                self._pending[self.batch_size :],
            )
            self._batch_means.append(float(np.mean(batch)))
            # looks start at min_samples: a variance from a handful of batches would make
            # the plug-in ratio (and the false promotion rate) far too large
            if len(self._batch_means) * self.batch_size >= self.min_samples:
                ratio = self._likelihood_ratio()
                self._p_value = min(self._p_value, 1.0 / ratio if ratio > 0 else 1.0)
        return self.decision()

    def decision(self) -> SequentialDecision:
        n = self.n
        mean = float(np.mean(self._batch_means)) if self._batch_means else 0.0
        k = len(self._batch_means)
        if n < self.min_samples:
            return SequentialDecision(
                "continue", self._p_value, n, k, mean, f"{n} of {self.min_samples} bars needed"
            )
        if self._p_value <= self.alpha:
            side = "challenger" if mean > 0 else "champion"
            return SequentialDecision(
                side,
                self._p_value,
                n,
                k,
                mean,
                f"significant after {n} bars (p={self._p_value:.4f} <= {self.alpha})",
            )
        if n >= self.max_samples:
            return SequentialDecision(
                "no difference",
                self._p_value,
                n,
                k,
                mean,
                f"no significant difference after {n} bars (p={self._p_value:.4f})",
            )
        return SequentialDecision(
            "continue", self._p_value, n, k, mean, f"p={self._p_value:.4f} after {n} bars"
        )


def false_promotion_rate(
    *,
    alpha: float = 0.05,
    batch_size: int = 24,
    min_samples: int = 500,
    max_samples: int = 5_000,
    n_simulations: int = 400,
    autocorrelation: float = 0.3,
    seed: int = 0,
) -> float:
    """Share of simulated A/A tests (no true difference) that the sequential test ends
    with "challenger": the false promotion rate at ``alpha`` (checked every batch).

    Differences are AR(1) with Student-t(4) innovations, like per-bar return spreads.
    """
    rng = np.random.default_rng(seed)
    promoted = 0
    for _ in range(n_simulations):
        test = MixtureSPRT(
            alpha=alpha, batch_size=batch_size, min_samples=min_samples, max_samples=max_samples
        )
        shocks = rng.standard_t(4, size=max_samples) * 0.01
        d = np.empty(max_samples)
        previous = 0.0
        for i, shock in enumerate(shocks):
            previous = autocorrelation * previous + shock
            d[i] = previous
        for start in range(0, max_samples, batch_size):
            result = test.update(d[start : start + batch_size])
            if result.decision != "continue":
                break
        promoted += result.decision == "challenger"
    return promoted / n_simulations
