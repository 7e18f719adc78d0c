"""The PDF tearsheet (matplotlib PdfPages): the same content as the HTML, page by page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from trademl.analytics.report import _tables
from trademl.analytics.report._content import Report
from trademl.analytics.report.charts import CHARTS

A4_LANDSCAPE = (11.69, 8.27)


def _table_axes(ax, frame, title: str, font: float = 7.5) -> None:
    ax.set_axis_off()
    ax.set_title(title, loc="left", fontsize=10)
    if frame is None or len(frame) == 0:
        ax.text(0, 0.5, "none", fontsize=font)
        return
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    table = ax.table(
        cellText=frame.astype(str).to_numpy(),
        colLabels=[str(c) for c in frame.columns],
        loc="upper left",
        cellLoc="right",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(font)
    table.scale(1, 1.15)
    for (row, _), cell in table.get_celld().items():
        cell.set_edgecolor("#dddddd")
        if row == 0:
            cell.set_facecolor("#f4f6f8")


def _readable_trades(trades: pd.DataFrame) -> pd.DataFrame:
    shown = pd.DataFrame(index=trades.index)
    for column in trades.columns:
        values = trades[column]
        if column == "return":
            shown[column] = [f"{v:.2%}" for v in values]
        elif pd.api.types.is_float_dtype(values.dtype):
            shown[column] = [f"{v:,.2f}" if np.isfinite(v) else "" for v in values]
        else:
            shown[column] = [str(v)[:16] for v in values]
    return shown


def _grid(fig, rows: int, cols: int = 1, **options):
    margins = dict(left=0.06, right=0.98, top=0.92, bottom=0.07, hspace=0.4, wspace=0.12)
    return fig.add_gridspec(rows, cols, **(margins | options))


def _page(pdf, report: Report, heading: str, layout) -> None:
    from matplotlib.figure import Figure

    # fixed margins instead of constrained layout: that costs a second full draw per page
    fig = Figure(figsize=A4_LANDSCAPE)
    fig.suptitle(f"{report.title} — {heading}", fontsize=12, x=0.02, y=0.98, ha="left")
    if report.warnings:
        # on every page: a page read alone must not look like a trustworthy strategy
        fig.text(0.02, 0.945, "; ".join(report.warnings), fontsize=8, color="#c0392b",
                 ha="left", va="top", wrap=True)  # fmt: skip
    layout(fig)
    pdf.savefig(fig)


def write_pdf(report: Report, path: str | Path) -> Path:
    """Write the tearsheet; pages: summary + equity, drawdowns, monthly, distribution and
    rolling Sharpe, Monte Carlo, regimes (and trades when there are any)."""
    from matplotlib.backends.backend_pdf import PdfPages

    path = Path(path)
    summary = _tables.summary_table(report)
    third = -(-len(summary) // 3)

    def first(fig) -> None:
        grid = _grid(fig, 2, 3, height_ratios=[1.2, 1], hspace=0.25)
        for part in range(3):
            rows = summary.iloc[part * third : (part + 1) * third].reset_index(drop=True)
            _table_axes(fig.add_subplot(grid[0, part]), rows, "Summary" if part == 0 else "")
        CHARTS["equity"](fig.add_subplot(grid[1, :]), report)

    def drawdowns(fig) -> None:
        grid = _grid(fig, 2, 1)
        CHARTS["underwater"](fig.add_subplot(grid[0]), report)
        table = _tables.drawdown_display(report)
        _table_axes(fig.add_subplot(grid[1]), table, "Top drawdowns")

    def monthly(fig) -> None:
        CHARTS["monthly"](fig.add_subplot(_grid(fig, 1, 1)[0]), report)

    def distribution(fig) -> None:
        grid = _grid(fig, 2, 1)
        CHARTS["distribution"](fig.add_subplot(grid[0]), report)
        CHARTS["rolling_sharpe"](fig.add_subplot(grid[1]), report)

    def montecarlo(fig) -> None:
        grid = _grid(fig, 2, 1, height_ratios=[2, 1])
        CHARTS["montecarlo"](fig.add_subplot(grid[0]), report)
        shown = _tables.montecarlo_table(report)
        _table_axes(fig.add_subplot(grid[1]), shown, "Monte Carlo percentiles")

    def regimes(fig) -> None:
        grid = _grid(fig, 2, 1)
        CHARTS["regimes"](fig.add_subplot(grid[0]), report)
        _table_axes(fig.add_subplot(grid[1]), _tables.regime_display(report), "By regime")

    with PdfPages(path) as pdf:
        _page(pdf, report, "summary", first)
        _page(pdf, report, "drawdowns", drawdowns)
        _page(pdf, report, "monthly returns", monthly)
        _page(pdf, report, "distribution and rolling Sharpe", distribution)
        _page(pdf, report, "Monte Carlo", montecarlo)
        _page(pdf, report, "regimes", regimes)
        trades = _tables.trades_display(report, limit=25)
        if trades is not None:
            shown = trades.drop(columns=[c for c in ("funding", "closed") if c in trades])
            shown = _readable_trades(shown)
            _page(pdf, report, "last 25 trades",
                  lambda fig: _table_axes(fig.add_subplot(_grid(fig, 1, 1, left=0.02)[0]), shown, "", font=6.5))  # fmt: skip
    return path
