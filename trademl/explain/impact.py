"""Feature impact over time: mean |SHAP| per feature per month, its share of the month's total,
and a drift flag when that share moves beyond a threshold from the reference share.

The reference is the share on rows the model was trained on (or, without them, on all
the explained rows). Shares, not raw |SHAP|, are compared so that a month in which the
model is simply more or less confident everywhere is not called drift. Months with fewer
than ``min_rows`` rows are reported but never flagged: a handful of bars says nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trademl.explain._target import ExplainError
from trademl.explain.shap_values import ShapValues

__all__ = ["DEFAULT_THRESHOLD", "impact_over_time", "impact_shares", "latest_impact_facts"]

# a feature whose share of total |SHAP| moves by 10 percentage points has changed role
DEFAULT_THRESHOLD = 0.10
MIN_ROWS = 24


def impact_shares(values: ShapValues) -> pd.Series:
    """Each feature's share of total mean |SHAP| (sums to 1)."""
    importance = values.values.abs().mean()
    total = float(importance.sum())
    if not total > 0:
        return importance * 0.0
    return importance / total


def impact_over_time(
    values: ShapValues, *, reference: ShapValues | pd.Series | None = None,
    threshold: float = DEFAULT_THRESHOLD, freq: str = "MS", min_rows: int = MIN_ROWS,
) -> pd.DataFrame:  # fmt: skip
    """One row per (period, feature): ``period, feature, n, mean_abs_shap, share,
    reference_share, share_change, drifted``; ``values`` must be indexed by UTC time."""
    if not 0 < threshold < 1:
        raise ExplainError(f"impact threshold is a share change in (0, 1), got {threshold=}")
    frame = values.values
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise ExplainError("impact over time needs SHAP values indexed by timestamp")
    if isinstance(reference, ShapValues):
        reference = impact_shares(reference)
    elif reference is None:
        reference = impact_shares(values)
    reference = reference.reindex(frame.columns).fillna(0.0)
    index = frame.index if frame.index.tz is not None else frame.index.tz_localize("UTC")
    periods = index.tz_convert("UTC").tz_localize(None).to_period(_period_freq(freq))
    grouped = frame.abs().groupby(periods.to_timestamp().tz_localize("UTC"))
    means, counts = grouped.mean(), grouped.size()
    totals = means.sum(axis=1).replace(0.0, np.nan)
    shares = means.div(totals, axis=0).fillna(0.0)
    long = (
        means.stack().rename("mean_abs_shap").to_frame()
        .join(shares.stack().rename("share"))
    )  # fmt: skip
    long.index.names = ["period", "feature"]
    long = long.reset_index()
    long["n"] = long["period"].map(counts).astype(int)
    long["reference_share"] = long["feature"].map(reference).astype(float)
    long["share_change"] = long["share"] - long["reference_share"]
    long["drifted"] = (long["share_change"].abs() > threshold) & (long["n"] >= min_rows)
    columns = ["period", "feature", "n", "mean_abs_shap", "share", "reference_share",
               "share_change", "drifted"]  # fmt: skip
    return (
        long[columns]
        .sort_values(["period", "share"], ascending=[True, False])
        .reset_index(drop=True)
    )


def _period_freq(freq: str) -> str:
    table = {"MS": "M", "M": "M", "ME": "M", "W": "W", "D": "D", "QS": "Q", "Q": "Q"}
    if freq not in table:
        raise ExplainError(f"impact period must be one of {sorted(table)}, got {freq=}")
    return table[freq]


def latest_impact_facts(stored: pd.DataFrame) -> dict[str, float]:
    """``impact.*`` facts for ``monitor check`` from the store's newest impact period:
    features flagged, the largest |share change|, and the period's age in days."""
    if stored is None or stored.empty:
        return {}
    # served predictions describe production; fall back to the holdout
    source = "served" if (stored["source"] == "served").any() else stored["source"].iloc[-1]
    rows = stored.loc[stored["source"] == source]
    latest = rows.loc[rows["period"] == rows["period"].max()]
    change = (latest["share"] - latest["reference_share"]).abs()
    return {
        "impact.n_drifted": float(latest["drifted"].sum()),
        "impact.max_share_change": float(change.max()),
        "impact.n_features": float(len(latest)),
    }
