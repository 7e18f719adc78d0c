"""Monte Carlo: resample trades or returns into thousands of alternative equity paths.

Two resamplers, both vectorised over paths and seeded:
- :func:`trade_bootstrap`: draw trades with replacement (i.i.d.), the classic answer to
  "what if the same trades had come in another order".
- :func:`block_bootstrap`: the stationary block bootstrap of Politis & Romano (1994):
  blocks of returns with geometric lengths (mean ``block_length``) keep the serial
  dependence (volatility clustering) that an i.i.d. draw would destroy. The default mean
  block length is Politis & White's automatic choice (the algorithm of ``arch.bootstrap``).

Memory: paths are simulated in chunks of ``chunk_size`` (float64, exact), so 10,000 paths
of 8,760 steps never hold the 87.6M values (700 MB) at once; only the per-path results
and the equity at ``n_band_points`` evenly spaced steps (for percentile bands) are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from trademl.analytics._input import as_returns
from trademl.errors import DataError

__all__ = ["MonteCarloResult", "block_bootstrap", "trade_bootstrap"]

PERCENTILES = (5, 25, 50, 75, 95)
# elements per chunk: 2M float64 = 16 MB per temporary array (about six are alive at once)
_CHUNK_ELEMENTS = 2_000_000


@dataclass(frozen=True)
class MonteCarloResult:
    """Per-path outcomes and percentile bands of simulated equity (start = 1.0)."""

    method: Literal["trade_bootstrap", "block_bootstrap"]
    final_return: np.ndarray
    max_drawdown: np.ndarray
    sharpe: np.ndarray
    ruin_level: float
    probability_of_ruin: float
    bands: pd.DataFrame  # index: step number, columns: percentiles of equity

    @property
    def n_paths(self) -> int:
        return len(self.final_return)

    def percentiles(self, q=PERCENTILES) -> pd.DataFrame:
        """Rows final_return / max_drawdown / sharpe, one column per percentile."""
        data = {
            "final_return": self.final_return,
            "max_drawdown": self.max_drawdown,
            "sharpe": self.sharpe,
        }
        rows = {}
        for name, values in data.items():
            finite = values[np.isfinite(values)]
            rows[name] = np.percentile(finite, q) if len(finite) else np.full(len(q), np.nan)
        return pd.DataFrame.from_dict(rows, orient="index", columns=[f"p{int(p)}" for p in q])


def _check_common(n_paths: int, ruin_level: float, n_band_points: int) -> None:
    if int(n_paths) < 1:
        raise ValueError(f"n_paths must be at least 1, got {n_paths=}")
    if not 0 < float(ruin_level) < 1:
        raise ValueError(
            f"ruin_level must be a fraction of starting equity in (0, 1), got {ruin_level=}"
        )
    if int(n_band_points) < 2:
        raise ValueError(f"n_band_points must be at least 2, got {n_band_points=}")


def _simulate(
    values: np.ndarray,
    draw_indices,
    *,
    method: str,
    n_paths: int,
    n_steps: int,
    seed: int | None,
    ruin_level: float,
    sharpe_scale: float,
    n_band_points: int,
    chunk_size: int | None,
    progress: bool = False,
) -> MonteCarloResult:
    rng = np.random.default_rng(seed)
    # a loss of 100 % or more ends the account: cap at a tiny remainder so logs stay finite
    log_values = np.log1p(np.maximum(values, -1 + 1e-12))
    chunk = int(chunk_size) if chunk_size else max(1, _CHUNK_ELEMENTS // n_steps)
    band_steps = np.unique(np.linspace(0, n_steps - 1, min(n_band_points, n_steps)).round()).astype(
        int
    )
    final = np.empty(n_paths)
    worst_dd = np.empty(n_paths)
    sharpe = np.empty(n_paths)
    lowest = np.empty(n_paths)
    band_log = np.empty((n_paths, len(band_steps)))
    bar = _PathProgress(progress, method, n_paths)
    for first in range(0, n_paths, chunk):
        bar.advance(first)
        rows = min(chunk, n_paths - first)
        idx = draw_indices(rng, rows)
        log_equity = np.cumsum(log_values[idx], axis=1)
        done = slice(first, first + rows)
        final[done] = np.expm1(log_equity[:, -1])
        band_log[done] = log_equity[:, band_steps]
        lowest[done] = np.minimum(log_equity.min(axis=1), 0.0)
        peak = np.maximum.accumulate(np.maximum(log_equity, 0.0), axis=1)
        worst_dd[done] = np.expm1(np.min(log_equity - peak, axis=1))
        del log_equity, peak
        sampled = values[idx]
        mean = sampled.mean(axis=1)
        std = sampled.std(axis=1, ddof=1) if n_steps > 1 else np.zeros(rows)
        flat = sampled.max(axis=1) == sampled.min(axis=1)
        ratio = np.full(rows, np.nan)
        ok = (~flat) & (std > 0)
        ratio[ok] = mean[ok] / std[ok] * sharpe_scale
        sharpe[done] = ratio
    bar.close()
    bands = pd.DataFrame(
        np.exp(np.percentile(band_log, PERCENTILES, axis=0)).T,
        index=pd.Index(band_steps + 1, name="step"),
        columns=[f"p{p}" for p in PERCENTILES],
    )
    return MonteCarloResult(
        method=method,  # type: ignore[arg-type]
        final_return=final,
        max_drawdown=worst_dd,
        sharpe=sharpe,
        ruin_level=float(ruin_level),
        probability_of_ruin=float((lowest <= np.log(ruin_level)).mean()),
        bands=bands,
    )


class _PathProgress:
    """A transient rich progress bar over paths when ``enabled`` (the CLI), else silent."""

    def __init__(self, enabled: bool, method: str, total: int):
        self.progress = None
        if enabled:
            from rich.progress import Progress

            self.progress = Progress(transient=True)
            self.progress.start()
            self.task = self.progress.add_task(method.replace("_", " "), total=total)

    def advance(self, done: int) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=done)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def trade_bootstrap(
    trade_returns,
    *,
    n_paths: int = 10_000,
    n_trades: int | None = None,
    seed: int | None = 0,
    ruin_level: float = 0.5,
    trades_per_year: float | None = None,
    n_band_points: int = 250,
    chunk_size: int | None = None,
    progress: bool = False,
) -> MonteCarloResult:
    """Resample trade returns with replacement into ``n_paths`` sequences of ``n_trades``.

    ``ruin_level`` is the fraction of starting equity counted as ruin (0.5: half lost at
    any point). Sharpe is per trade unless ``trades_per_year`` is given. ``progress``
    shows a rich progress bar (for the command line).
    """
    _check_common(n_paths, ruin_level, n_band_points)
    values = as_returns(trade_returns, "trade returns").to_numpy()
    if len(values) < 2:
        raise DataError(f"trade bootstrap needs at least 2 trades, got {len(values)}")
    steps = int(n_trades) if n_trades is not None else len(values)
    if steps < 1:
        raise ValueError(f"n_trades must be at least 1, got {n_trades=}")

    def draw(rng: np.random.Generator, rows: int) -> np.ndarray:
        return rng.integers(0, len(values), size=(rows, steps))

    return _simulate(
        values,
        draw,
        method="trade_bootstrap",
        n_paths=int(n_paths),
        n_steps=steps,
        seed=seed,
        ruin_level=ruin_level,
        sharpe_scale=float(np.sqrt(trades_per_year)) if trades_per_year else 1.0,
        n_band_points=n_band_points,
        chunk_size=chunk_size,
        progress=progress,
    )


def optimal_block_length(values: np.ndarray) -> float:
    """Politis & White (2004) mean block length for the stationary bootstrap (>= 1)."""
    from trademl.analytics._block_length import stationary_block_length

    if len(values) < 10 or values.max() == values.min():
        return 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        length = stationary_block_length(values)
    return max(1.0, length) if np.isfinite(length) else 1.0


def block_bootstrap(
    returns,
    *,
    n_paths: int = 10_000,
    n_steps: int | None = None,
    block_length: float | None = None,
    seed: int | None = 0,
    ruin_level: float = 0.5,
    periods_per_year: float | None = None,
    n_band_points: int = 250,
    chunk_size: int | None = None,
    progress: bool = False,
) -> MonteCarloResult:
    """Stationary block bootstrap of per-period returns into ``n_paths`` paths.

    Each step continues the current block with probability ``1 - 1/block_length`` or jumps
    to a uniformly drawn start; blocks wrap around the end of the sample. ``n_steps``
    defaults to the sample length. Sharpe is annualised with ``periods_per_year`` (inferred
    from a DatetimeIndex when possible, else per period).
    """
    _check_common(n_paths, ruin_level, n_band_points)
    r = as_returns(returns)
    values = r.to_numpy()
    n = len(values)
    if n < 2:
        raise DataError(f"block bootstrap needs at least 2 returns, got {n}")
    steps = int(n_steps) if n_steps is not None else n
    if steps < 1:
        raise ValueError(f"n_steps must be at least 1, got {n_steps=}")
    mean_block = float(block_length) if block_length is not None else optimal_block_length(values)
    if not mean_block >= 1:
        raise ValueError(f"block_length must be at least 1 bar, got {block_length=}")
    if periods_per_year is None and isinstance(r.index, pd.DatetimeIndex) and n >= 3:
        from trademl.analytics.periods import periods_per_year as infer

        periods_per_year = infer(r.index)
    jump = 1.0 / mean_block
    time = np.arange(steps)

    def draw(rng: np.random.Generator, rows: int) -> np.ndarray:
        # flat layout: a block starts at every row's first step and wherever the coin says
        # so; within a block the index advances one bar per step from a random origin
        size = rows * steps
        new_block = rng.random(size, dtype=np.float32) < jump
        new_block[::steps] = True
        starts = np.flatnonzero(new_block)
        lengths = np.diff(np.append(starts, size))
        offsets = rng.integers(0, n, size=len(starts)) - starts % steps
        index = np.repeat(offsets, lengths)
        index += np.tile(time, rows)
        np.remainder(index, n, out=index)
        return index.reshape(rows, steps)

    return _simulate(
        values,
        draw,
        method="block_bootstrap",
        n_paths=int(n_paths),
        n_steps=steps,
        seed=seed,
        ruin_level=ruin_level,
        sharpe_scale=float(np.sqrt(periods_per_year)) if periods_per_year else 1.0,
        n_band_points=n_band_points,
        chunk_size=chunk_size,
        progress=progress,
    )
