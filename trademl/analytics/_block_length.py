"""Politis & White (2004) automatic mean block length for the stationary bootstrap.

The same algorithm as ``arch.bootstrap.optimal_block_length`` (with the Patton, Politis
& White 2009 correction and arch's tuning constants), written here because importing
arch costs several seconds; tests/analytics checks that both give the same number.
"""

from __future__ import annotations

import numpy as np


def stationary_block_length(values: np.ndarray) -> float:
    """Mean block length b = (2 g² / d)^(1/3) n^(1/3), capped at min(3 sqrt(n), n / 3)."""
    x = np.asarray(values, dtype="float64")
    n = len(x)
    eps = x - x.mean()
    b_max = np.ceil(min(3 * np.sqrt(n), n / 3))
    kn = max(5, int(np.log10(n)))
    m_max = int(np.ceil(np.sqrt(n))) + kn
    # the first lag after which kn consecutive autocorrelations are insignificant
    band = 2 * np.sqrt(np.log10(n) / n)
    # all lagged cross products at once by FFT (a per-lag dot product is slow under BLAS
    # threading); sums of squares of the two overlapping segments from cumulative sums
    size = 1 << int(np.ceil(np.log2(2 * n)))
    spectrum = np.fft.rfft(eps, size)
    cross = np.fft.irfft(spectrum * np.conj(spectrum), size)[: m_max + 1]
    squares = np.concatenate(([0.0], np.cumsum(eps**2)))
    lags = np.arange(m_max + 1)
    v1 = squares[n] - squares[lags + 1]
    v2 = squares[n - lags - 1]
    acv = cross / n
    abs_acorr = np.abs(cross) / np.sqrt(v1 * v2)
    inside = abs_acorr < band
    chosen_m = None
    for lag in range(kn, m_max + 1):
        if inside[lag - kn : lag].all():
            chosen_m = lag - kn
            break
    m = min(2 * max(chosen_m, 1) if chosen_m is not None else m_max, m_max)
    k = np.arange(1, m + 1)
    weight = np.where(k / m <= 0.5, 1.0, 2 * (1 - k / m))
    g = float(np.sum(2 * weight * k * acv[1 : m + 1]))
    long_run = float(acv[0] + np.sum(2 * weight * acv[1 : m + 1]))
    d = 2 * long_run**2
    return float(min(((2 * g**2) / d) ** (1 / 3) * n ** (1 / 3), b_max))
