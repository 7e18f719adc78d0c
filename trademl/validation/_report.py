"""Describe splits as a table of folds and draw them (for people checking a scheme)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trademl._io import atomic_path
from trademl.validation._base import PurgedSplitter

__all__ = ["fold_table", "plot_folds"]


def fold_table(splitter: PurgedSplitter, X) -> pd.DataFrame:
    """One row per split: train/test ranges (as timestamps if X has them) and counts."""
    index = getattr(X, "index", None)
    label = (lambda i: index[i]) if isinstance(index, pd.DatetimeIndex) else (lambda i: int(i))
    rows = []
    for fold in splitter.iter_folds(X):
        rows.append(
            {
                "fold": fold.number,
                "train": _ranges(fold.train, label),
                "n_train": len(fold.train),
                "test": _ranges(fold.test, label),
                "n_test": len(fold.test),
                "purged": fold.purged,
                "embargoed": fold.embargoed,
            }
        )
    return pd.DataFrame(rows)


def _ranges(positions: np.ndarray, label) -> str:
    if len(positions) == 0:
        return "-"
    breaks = np.flatnonzero(np.diff(positions) > 1)
    starts = np.concatenate([[positions[0]], positions[breaks + 1]])
    stops = np.concatenate([positions[breaks], [positions[-1]]])
    return " + ".join(
        f"{_fmt(label(a))} → {_fmt(label(b))}" for a, b in zip(starts, stops, strict=True)
    )


def _fmt(value) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def plot_folds(splitter: PurgedSplitter, X, path: str | Path) -> Path:
    """Draw each split as a row: train, test, purged and embargoed samples, to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    n = len(X)
    folds = list(splitter.iter_folds(X))
    # state per sample: 0 unused, 1 train, 2 test, 3 removed (purged or embargoed)
    grid = np.zeros((len(folds), n), dtype=np.int8)
    for row, (fold, (train_blocks, _)) in enumerate(
        zip(folds, splitter._iter_blocks(n), strict=True)
    ):
        for a, b in train_blocks:  # candidates that are neither trained nor tested
            grid[row, a:b] = 3
        grid[row, fold.test] = 2
        grid[row, fold.train] = 1
    width = min(n, 2000)
    # bin columns for huge inputs; max() keeps thin purge/embargo bands visible
    edges = np.linspace(0, n, width + 1).astype(int)[:-1]
    binned = np.maximum.reduceat(grid, edges, axis=1) if len(folds) else grid
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(folds) + 1.5))
    cmap = ListedColormap(["#eeeeee", "#4c72b0", "#dd8452", "#c44e52"])
    ax.imshow(binned, aspect="auto", cmap=cmap, vmin=0, vmax=3, interpolation="nearest")
    ax.set_yticks(range(len(folds)))
    ax.set_yticklabels([f"fold {f.number}" for f in folds])
    index = getattr(X, "index", None)
    ticks = np.linspace(0, width - 1, 6).astype(int)
    ax.set_xticks(ticks)
    if isinstance(index, pd.DatetimeIndex):
        ax.set_xticklabels([index[edges[t]].strftime("%Y-%m-%d") for t in ticks])
    else:
        ax.set_xticklabels([str(edges[t]) for t in ticks])
    handles = [plt.Rectangle((0, 0), 1, 1, color=cmap(i)) for i in (1, 2, 3)]
    ax.legend(
        handles,
        ["train", "test", "purged / embargoed"],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=3,
        frameon=False,
    )
    ax.set_title(type(splitter).__name__)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=110)
    plt.close(fig)
    return path
