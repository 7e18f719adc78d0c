"""Markov regime-switching OHLCV: candles whose true regime is known, for honest tests.

A hidden regime follows a sticky Markov chain; each bar's log return is drawn from the
regime's Gaussian (drift, volatility). The bar is built from an intrabar random walk so
that high/low are realistic (the extremes of a path, not a fixed multiple of the close),
and volume rises with the bar's realised range (volume correlated with volatility).

Default processes (``default_process(n_regimes)``), states listed from the highest drift
to the lowest — the same naming the regime detectors use:

- 2 regimes: ``bull``, ``bear``
- 3 regimes: ``bull``, ``sideways``, ``bear``
- n >= 4: ``bull``, ``mid_1``, …, ``mid_{n-2}``, ``bear``
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["RegimeProcess", "default_process", "synthetic_ohlcv"]


def _default_names(n_regimes: int) -> list[str]:
    if n_regimes == 2:
        return ["bull", "bear"]
    if n_regimes == 3:
        return ["bull", "sideways", "bear"]
    return ["bull", *(f"mid_{i}" for i in range(1, n_regimes - 1)), "bear"]


class RegimeProcess:
    """A hidden Markov chain of regimes emitting hourly (or any ``freq``) candles.

    Parameters
    ----------
    names : regime names, one per state.
    drift, volatility : per-regime mean and standard deviation of the bar's log return.
    transition_matrix : row-stochastic matrix, ``[i, j]`` = P(next regime j | regime i);
        a large diagonal makes regimes sticky (expected duration ``1 / (1 - p_ii)`` bars).
    volume_response : elasticity of volume to the bar's range relative to the typical
        range (1.0: a bar twice as wide trades about twice the volume).
    initial_price, base_volume : price level at the start and volume of a typical bar.
    intrabar_steps : random-walk steps per bar used to draw high and low.
    """

    def __init__(
        self,
        *,
        names: Sequence[str],
        drift: Sequence[float],
        volatility: Sequence[float],
        transition_matrix: Sequence[Sequence[float]],
        volume_response: float = 1.0,
        initial_price: float = 10_000.0,
        base_volume: float = 100.0,
        intrabar_steps: int = 8,
    ):
        self.names = names
        self.drift = drift
        self.volatility = volatility
        self.transition_matrix = transition_matrix
        self.volume_response = volume_response
        self.initial_price = initial_price
        self.base_volume = base_volume
        self.intrabar_steps = intrabar_steps

    # -- checked views of the parameters -------------------------------------------------
    def _arrays(self) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        names = [str(n) for n in self.names]
        k = len(names)
        if k < 1 or len(set(names)) != k:
            raise ValueError(f"names must be distinct and non-empty, but got names={names!r}")
        drift = np.asarray(self.drift, dtype=float)
        vol = np.asarray(self.volatility, dtype=float)
        trans = np.asarray(self.transition_matrix, dtype=float)
        if drift.shape != (k,):
            raise ValueError(f"drift needs {k} values (one per name), but got {drift.shape=}")
        if vol.shape != (k,) or not np.all(vol > 0):
            raise ValueError(f"volatility needs {k} positive values, but got {vol.tolist()}")
        if trans.shape != (k, k):
            raise ValueError(f"transition_matrix must be {k}x{k}, but got shape {trans.shape}")
        if np.any(trans < 0) or not np.allclose(trans.sum(axis=1), 1.0, atol=1e-8):
            raise ValueError(
                "transition_matrix rows must be probabilities summing to 1, but got row sums "
                f"{np.round(trans.sum(axis=1), 6).tolist()}"
            )
        if not self.initial_price > 0 or not self.base_volume > 0:
            raise ValueError(
                f"initial_price and base_volume must be > 0, but got "
                f"initial_price={self.initial_price}, base_volume={self.base_volume}"
            )
        if int(self.intrabar_steps) < 1:
            raise ValueError(f"intrabar_steps must be >= 1, but got {self.intrabar_steps=}")
        return names, drift, vol, trans

    def stationary_distribution(self) -> np.ndarray:
        """Long-run share of time in each regime (left eigenvector of the transition matrix)."""
        _, _, _, trans = self._arrays()
        values, vectors = np.linalg.eig(trans.T)
        vec = np.real(vectors[:, np.argmin(np.abs(values - 1.0))])
        return vec / vec.sum()

    def expected_durations(self) -> pd.Series:
        """Mean number of bars a regime lasts once entered: ``1 / (1 - p_ii)``."""
        names, _, _, trans = self._arrays()
        stay = np.diag(trans)
        with np.errstate(divide="ignore"):
            return pd.Series(1.0 / (1.0 - stay), index=names, name="expected_duration")

    # -- sampling ---------------------------------------------------------------------------
    def sample_regimes(self, n_bars: int, rng: np.random.Generator) -> np.ndarray:
        """A path of regime indices; the first is drawn from the stationary distribution.

        Sampled segment by segment (exactly the same law as bar by bar): the time spent in
        regime i is geometric with success probability ``1 - p_ii`` and the next regime
        is drawn from row i without its diagonal. A loop over segments instead of bars
        keeps a million bars well under a second.
        """
        _, _, _, trans = self._arrays()
        k = len(trans)
        states = np.empty(n_bars, dtype=np.int64)
        current = int(rng.choice(k, p=self.stationary_distribution()))
        filled = 0
        while filled < n_bars:
            leave = 1.0 - trans[current, current]
            length = n_bars - filled if leave <= 0 else int(rng.geometric(leave))
            states[filled : filled + length] = current
            filled += length
            if filled < n_bars:
                row = trans[current].copy()
                row[current] = 0.0
                current = int(rng.choice(k, p=row / row.sum()))
        return states

    def sample(
        self,
        n_bars: int,
        seed: int | None = None,
        *,
        start: str | pd.Timestamp = "2020-01-01",
        freq: str = "1h",
    ) -> pd.DataFrame:
        """Draw ``n_bars`` candles.

        Returns a frame indexed by a UTC ``DatetimeIndex`` named ``timestamp`` (bar open
        time) with float64 ``open, high, low, close, volume`` and the int ``regime`` (index
        into ``names``) that generated each bar. The same seed gives the same frame.
        """
        if int(n_bars) < 1:
            raise ValueError(f"n_bars must be >= 1, but got {n_bars=}")
        n_bars = int(n_bars)
        _, drift, vol, _ = self._arrays()
        rng = np.random.default_rng(seed)
        regimes = self.sample_regimes(n_bars, rng)

        steps = int(self.intrabar_steps)
        step_mu = (drift[regimes] / steps)[:, None]
        step_sigma = (vol[regimes] / np.sqrt(steps))[:, None]
        increments = step_mu + step_sigma * rng.standard_normal((n_bars, steps))
        path = np.cumsum(increments, axis=1)  # log price relative to the bar's open
        bar_return = path[:, -1]
        log_close = np.log(self.initial_price) + np.cumsum(bar_return)
        log_open = log_close - bar_return
        high = log_open + np.maximum(path.max(axis=1), 0.0)
        low = log_open + np.minimum(path.min(axis=1), 0.0)

        # volume follows the bar's relative range (crypto volume clusters with volatility),
        # with lognormal noise so the link is strong but not deterministic
        log_range = np.log(np.maximum(high - low, 1e-12))
        relative = log_range - np.median(log_range)
        volume = self.base_volume * np.exp(
            float(self.volume_response) * relative + 0.3 * rng.standard_normal(n_bars)
        )

        first = pd.Timestamp(start)
        first = first.tz_localize("UTC") if first.tzinfo is None else first.tz_convert("UTC")
        index = pd.date_range(start=first, periods=n_bars, freq=freq, name="timestamp")
        close = np.exp(log_close)
        # each bar opens exactly where the previous one closed (24/7 market, no gaps)
        open_ = np.concatenate(([float(self.initial_price)], close[:-1]))
        # exp() rounding could put the high a hair below max(open, close); clamp it
        high = np.maximum(np.exp(high), np.maximum(open_, close))
        low = np.minimum(np.exp(low), np.minimum(open_, close))
        return pd.DataFrame(
            {
                "open": open_,
                "high": high,
                "low": low,
                "close": close,
                "volume": volume,
                "regime": regimes,
            },
            index=index,
        )


def default_process(n_regimes: int = 3, *, stay_probability: float = 0.99) -> RegimeProcess:
    """The process behind ``synthetic_ohlcv``: sticky regimes, overlapping return laws.

    With 3 regimes: ``bull`` (drift +6 bp/bar, vol 0.6%), ``sideways`` (0, 0.35%),
    ``bear`` (-8 bp, 1.1%) and a 0.99 chance of staying (mean duration 100 bars). The
    return distributions overlap heavily, so even the Bayes-optimal causal filter with
    the true parameters misclassifies a good share of bars (see docs/regimes.md).
    """
    if int(n_regimes) < 2:
        raise ValueError(f"n_regimes must be >= 2, but got {n_regimes=}")
    if not 0.0 < stay_probability < 1.0:
        raise ValueError(f"stay_probability must be in (0, 1), but got {stay_probability=}")
    n = int(n_regimes)
    if n == 2:
        drift, vol = [0.0006, -0.0008], [0.005, 0.011]
    elif n == 3:
        drift, vol = [0.0006, 0.0, -0.0008], [0.006, 0.0035, 0.011]
    else:
        # extremes as in the 3-state case; the middle states alternate calm and turbulent
        # so each state differs from its neighbours in volatility, not only in drift
        drift = np.linspace(0.0006, -0.0008, n).tolist()
        middle = [0.0035 if i % 2 else 0.008 for i in range(1, n - 1)]
        vol = [0.006, *middle, 0.011]
    off = (1.0 - stay_probability) / (n - 1)
    trans = np.full((n, n), off)
    np.fill_diagonal(trans, stay_probability)
    return RegimeProcess(
        names=_default_names(n), drift=drift, volatility=vol, transition_matrix=trans.tolist()
    )


def synthetic_ohlcv(n_bars: int, seed: int | None = None, n_regimes: int = 3) -> pd.DataFrame:
    """Hourly regime-switching candles with a known ``regime`` column (see module doc).

    ``regime`` indexes ``default_process(n_regimes).names``; for 3 regimes
    0 = bull, 1 = sideways, 2 = bear.
    """
    return default_process(n_regimes).sample(n_bars, seed)
