"""Block-bootstrap confidence interval of the difference of a metric between two models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from trademl.validation.metrics import aligned

__all__ = ["BootstrapResult", "block_bootstrap_difference"]


@dataclass(frozen=True)
class BootstrapResult:
    estimate: float  # metric(a) - metric(b) on the original samples
    low: float
    high: float
    confidence: float
    block_size: int
    samples: np.ndarray  # the bootstrap distribution of the difference


def block_bootstrap_difference(
    y_true,
    pred_a,
    pred_b,
    metric: Callable[[np.ndarray, np.ndarray], float],
    *,
    block_size: int | None = None,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapResult:
    """Percentile CI of ``metric(y, a) - metric(y, b)`` by the circular block bootstrap.

    Consecutive test samples are correlated (overlapping labels, volatility clusters), so
    blocks of ``block_size`` consecutive samples (default ≈ n^(1/3)) are resampled
    together; both models always see the same resampled rows, which keeps the pairing.
    """
    y, a, b = aligned(y_true=y_true, pred_a=pred_a, pred_b=pred_b)
    n = len(y)
    size = max(1, round(n ** (1 / 3))) if block_size is None else block_size
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 1 <= size <= n:
        raise ValueError(f"block_size must be an int in [1, {n}], but got {block_size=}")
    if n_boot < 10:
        raise ValueError(f"n_boot must be >= 10, but got {n_boot=}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), but got {confidence=}")
    rng = np.random.default_rng(seed)
    n_blocks = -(-n // size)
    starts = rng.integers(0, n, size=(n_boot, n_blocks))
    rows = ((starts[:, :, None] + np.arange(size)) % n).reshape(n_boot, -1)[:, :n]
    diffs = np.array([metric(y[r], a[r]) - metric(y[r], b[r]) for r in rows])
    alpha = (1 - confidence) / 2
    low, high = np.quantile(diffs, [alpha, 1 - alpha])
    return BootstrapResult(
        estimate=float(metric(y, a) - metric(y, b)),
        low=float(low),
        high=float(high),
        confidence=confidence,
        block_size=int(size),
        samples=diffs,
    )
