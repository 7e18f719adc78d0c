"""Signals or probabilities -> target positions (fraction of equity, signed)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from trademl.errors import DataError

Sizing = Literal["sign", "fixed", "probability", "kelly"]
SignalKind = Literal["auto", "signal", "proba"]


def detect_kind(values: np.ndarray) -> Literal["signal", "proba"]:
    """``proba`` if every value lies in [0, 1] and some are strictly between, else ``signal``."""
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return "signal"
    in_unit = bool(((finite >= 0) & (finite <= 1)).all())
    fractional = bool(((finite > 0) & (finite < 1)).any())
    return "proba" if in_unit and fractional else "signal"


def target_positions(
    signal_or_proba: pd.Series,
    *,
    kind: SignalKind = "auto",
    sizing: Sizing = "sign",
    fraction: float = 1.0,
    kelly_payoff: float = 1.0,
    kelly_cap: float = 0.5,
    threshold: float = 0.0,
    allow_short: bool = True,
    max_leverage: float = 1.0,
) -> pd.Series:
    """The position (fraction of equity, + long / - short) wanted after each bar's close.

    Signals: the sign gives the side (any real number; 0 or NaN = flat). Probabilities
    P(up): long above 0.5 + ``threshold``, short below 0.5 - ``threshold``, flat between
    (and where NaN). Size: ``sign`` 1, ``fixed`` ``fraction``, ``probability``
    |2p - 1| x ``fraction``, ``kelly`` the Kelly fraction of a bet won with probability p
    (or 1 - p for a short) paying ``kelly_payoff``, clipped to [0, ``kelly_cap``]. Shorts
    become flat unless ``allow_short``; every size is capped at ``max_leverage``.
    """
    if sizing not in ("sign", "fixed", "probability", "kelly"):
        raise ValueError(f"sizing must be sign, fixed, probability or kelly, got {sizing=}")
    if kind not in ("auto", "signal", "proba"):
        raise ValueError(f"kind must be auto, signal or proba, got {kind=}")
    for name, value in (("fraction", fraction), ("kelly_payoff", kelly_payoff),
                        ("kelly_cap", kelly_cap), ("max_leverage", max_leverage)):  # fmt: skip
        if not float(value) > 0:
            raise ValueError(f"{name} must be positive, got {name}={value!r}")
    if not 0 <= float(threshold) < 0.5:
        raise ValueError(f"threshold must be in [0, 0.5), got {threshold=}")
    if pd.api.types.is_numeric_dtype(signal_or_proba.dtype):
        values = signal_or_proba.to_numpy(dtype="float64")
    else:
        values = pd.to_numeric(signal_or_proba, errors="coerce").to_numpy(dtype="float64")
    resolved = detect_kind(values) if kind == "auto" else kind
    if resolved == "proba":
        finite = values[np.isfinite(values)]
        if ((finite < 0) | (finite > 1)).any():
            bad = finite[(finite < 0) | (finite > 1)][0]
            raise DataError(f"probabilities must lie in [0, 1], got {bad:g}")
        p = np.nan_to_num(values, nan=0.5)
        side = np.where(p > 0.5 + threshold, 1.0, np.where(p < 0.5 - threshold, -1.0, 0.0))
    else:
        if sizing in ("probability", "kelly"):
            raise DataError(
                f"sizing={sizing!r} needs probabilities P(up) in [0, 1], but the input looks "
                "like signals; pass kind='proba' or use sizing='sign' or 'fixed'"
            )
        p = None
        side = np.sign(np.nan_to_num(values, nan=0.0))
    if sizing == "sign":
        size = np.ones_like(side)
    elif sizing == "fixed":
        size = np.full_like(side, float(fraction))
    elif sizing == "probability":
        size = np.abs(2.0 * p - 1.0) * float(fraction)
    else:
        p_win = np.where(side >= 0, p, 1.0 - p)
        kelly = p_win - (1.0 - p_win) / float(kelly_payoff)
        size = np.clip(kelly, 0.0, float(kelly_cap))
    if not allow_short:
        side = np.maximum(side, 0.0)
    position = np.minimum(side * size, float(max_leverage))
    position = np.maximum(position, -float(max_leverage)) + 0.0  # +0.0 turns -0.0 into 0.0
    return pd.Series(position, index=signal_or_proba.index, name="target_position", copy=False)
