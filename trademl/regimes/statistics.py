"""Per-regime statistics of a price series: how each regime behaves and how long it lasts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trademl.errors import DataError
from trademl.regimes._inputs import log_returns

__all__ = ["regime_episodes", "regime_statistics"]

_YEAR = pd.Timedelta(days=365.25)


def regime_episodes(regimes: pd.Series) -> pd.DataFrame:
    """Consecutive runs of one regime: ``regime, start, end, bars`` (missing labels skipped)."""
    labels = regimes.astype(object).where(regimes.notna(), None).to_numpy()
    change = np.ones(len(labels), dtype=bool)
    change[1:] = labels[1:] != labels[:-1]
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], len(labels)) - 1
    rows = [
        {
            "regime": labels[s],
            "start": regimes.index[s],
            "end": regimes.index[e],
            "bars": int(e - s + 1),
        }
        for s, e in zip(starts, ends, strict=True)
        if labels[s] is not None
    ]
    return pd.DataFrame(rows, columns=["regime", "start", "end", "bars"])


def regime_statistics(frame: pd.DataFrame, regimes: pd.Series) -> pd.DataFrame:
    """Table per regime: bars, share of time, mean/vol of the log return, duration.

    The return of bar t (close_{t-1} -> close_t) is attributed to the regime labelled
    at t. Annualised figures use the median bar spacing of the index (24/7 markets).
    """
    if not regimes.index.equals(frame.index):
        raise DataError("regimes must be aligned to the frame's index (same bars, same order)")
    returns = log_returns(frame)
    spacing = pd.Series(frame.index).diff().median() if len(frame) > 1 else pd.NaT
    per_year = (
        _YEAR / spacing
        if isinstance(spacing, pd.Timedelta) and spacing > pd.Timedelta(0)
        else np.nan
    )
    episodes = regime_episodes(regimes)
    known = regimes.notna()
    names = list(dict.fromkeys(regimes[known]))
    rows = []
    for name in names:
        mask = (regimes == name).to_numpy() & known.to_numpy()
        r = returns[mask].dropna()
        runs = episodes.loc[episodes["regime"] == name, "bars"]
        rows.append(
            {
                "regime": name,
                "bars": int(mask.sum()),
                "share": mask.sum() / max(int(known.sum()), 1),
                "mean_return": r.mean(),
                "volatility": r.std(),
                "ann_return": r.mean() * per_year,
                "ann_volatility": r.std() * np.sqrt(per_year),
                "episodes": len(runs),
                "mean_duration": runs.mean() if len(runs) else np.nan,
                "total_log_return": r.sum(),
            }
        )
    table = pd.DataFrame(rows).set_index("regime")
    return table.sort_values("mean_return", ascending=False)
