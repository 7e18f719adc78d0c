"""Price with regimes shaded, and regime probabilities below, written to a PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trademl._io import atomic_path

__all__ = ["plot_regimes"]

_COLOURS = {"bull": "#2ca02c", "sideways": "#7f7f7f", "bear": "#d62728"}
_OTHERS = ["#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def _colour_map(names: list[str]) -> dict[str, str]:
    others = iter(_OTHERS * 4)
    return {n: _COLOURS.get(n.split("_")[0]) or next(others) for n in names}


def plot_regimes(
    frame: pd.DataFrame,
    regimes: pd.Series,
    path: str | Path,
    *,
    proba: pd.DataFrame | None = None,
    title: str = "Market regimes",
    log_price: bool = True,
) -> Path:
    """Save a PNG: close price with each bar's regime shaded; probabilities (if given) below."""
    import matplotlib

    matplotlib.use("Agg")  # files only: never needs a display
    import matplotlib.pyplot as plt

    names = list(proba.columns) if proba is not None else list(dict.fromkeys(regimes.dropna()))
    colours = _colour_map(names)
    rows = 2 if proba is not None else 1
    fig, axes = plt.subplots(
        rows,
        1,
        figsize=(12, 6 if rows == 2 else 4),
        sharex=True,
        squeeze=False,
        gridspec_kw={"height_ratios": [3, 1.3][:rows]},
    )
    ax = axes[0, 0]
    index = frame.index
    ax.plot(index, frame["close"].to_numpy(), color="black", linewidth=0.6)
    if log_price:
        ax.set_yscale("log")
    labels = regimes.reindex(index).astype(object).to_numpy()
    for name in names:
        mask = labels == name
        if mask.any():
            ax.fill_between(
                index,
                0,
                1,
                where=mask,
                transform=ax.get_xaxis_transform(),
                color=colours[name],
                alpha=0.25,
                linewidth=0,
                label=name,
                step="post",
            )
    ax.set_title(title)
    ax.set_ylabel("close")
    ax.legend(loc="upper left", fontsize=8)
    if proba is not None:
        pax = axes[1, 0]
        values = np.nan_to_num(proba.reindex(index).to_numpy().T)
        pax.stackplot(index, values, colors=[colours[n] for n in names], alpha=0.8, labels=names)
        pax.set_ylim(0, 1)
        pax.set_ylabel("P(regime)")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=110)
    plt.close(fig)
    return path
