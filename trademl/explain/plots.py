"""The explanation's PNG plots: beeswarm summary, waterfall of one prediction, impact over time.

Beeswarm and waterfall are shap's own plots (drawn on matplotlib's Agg backend, no
display needed); impact over time is a line per top feature of its monthly share.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trademl.explain.shap_values import ShapValues

__all__ = ["beeswarm_png", "impact_png", "waterfall_png"]


def _explanation(values: ShapValues, data: pd.DataFrame, rows=slice(None)):
    import shap

    return shap.Explanation(
        values=values.values.to_numpy()[rows], base_values=values.base_values[rows],
        data=data[values.values.columns].to_numpy(dtype=float)[rows],
        feature_names=list(values.values.columns),
    )  # fmt: skip


def _save(path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure = plt.gcf()
    figure.set_size_inches(9, max(4.0, figure.get_size_inches()[1]))
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close("all")
    return path


def beeswarm_png(values: ShapValues, data: pd.DataFrame, path: Path, *, max_display=15) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import shap

    shap.plots.beeswarm(_explanation(values, data), max_display=max_display, show=False)
    return _save(path)


def waterfall_png(values: ShapValues, data: pd.DataFrame, row: int, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import shap

    shap.plots.waterfall(_explanation(values, data)[row], max_display=12, show=False)
    return _save(path)


def impact_png(impact: pd.DataFrame, path: Path, *, top: int = 8) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wide = impact.pivot_table(index="period", columns="feature", values="share")
    order = wide.mean().sort_values(ascending=False).index[:top]
    figure, axis = plt.subplots(figsize=(9, 4.5))
    for name in order:
        axis.plot(wide.index, wide[name], marker="o", label=name)
    flagged = impact.loc[impact["drifted"] & impact["feature"].isin(order)]
    if len(flagged):
        axis.scatter(flagged["period"], flagged["share"], s=120, facecolors="none",
                     edgecolors="red", label="share moved beyond threshold")  # fmt: skip
    from matplotlib.dates import DateFormatter

    axis.xaxis.set_major_formatter(DateFormatter("%Y-%m"))
    axis.set_ylabel("share of mean |SHAP|")
    axis.set_title("Feature impact over time (monthly)")
    axis.set_ylim(0, max(0.05, float(np.nanmax(wide[order].to_numpy())) * 1.15))
    axis.legend(fontsize=7, ncol=2)
    return _save(path)
