"""The tearsheet's charts, each drawn onto a given matplotlib Axes (HTML and PDF share them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trademl.analytics.var import _cvar, _var

STRATEGY = "#1f4e79"
BENCH = "#a0a0a0"
LOSS = "#c0392b"


MAX_POINTS = 3000  # a chart is ~1000 px wide: more points only cost rendering time


def _xy(series: pd.Series, reduce: str = "last") -> tuple[np.ndarray, np.ndarray]:
    """Plot-ready x (naive UTC datetime64: fast in matplotlib) and y, thinned to
    ``MAX_POINTS`` buckets keeping each bucket's last value (or minimum, for drawdowns)."""
    index = series.index
    if isinstance(index, pd.DatetimeIndex):
        x = index.tz_convert("UTC").tz_localize(None) if index.tz is not None else index
        x = x.to_numpy()
    else:
        x = np.asarray(index)
    y = series.to_numpy(dtype="float64")
    if len(y) <= MAX_POINTS:
        return x, y
    step = int(np.ceil(len(y) / MAX_POINTS))
    starts = np.arange(0, len(y), step)
    if reduce == "min":
        filled = np.where(np.isnan(y), np.inf, y)
        picked = starts + np.array([np.argmin(filled[s : s + step]) for s in starts])
    else:
        picked = np.minimum(starts + step - 1, len(y) - 1)
    return x[picked], y[picked]


def _percent_axis(ax, axis: str = "y", decimals: int | None = None) -> None:
    from matplotlib.ticker import PercentFormatter

    formatter = PercentFormatter(1.0, decimals=decimals)
    getattr(ax, f"{axis}axis").set_major_formatter(formatter)


def equity_chart(ax, report) -> None:
    equity = np.exp(np.log1p(report.returns.clip(lower=-1 + 1e-12)).cumsum())
    ax.plot(*_xy(equity), color=STRATEGY, lw=1.2, label="strategy")
    if report.benchmark is not None:
        bench = np.exp(np.log1p(report.benchmark.fillna(0.0).clip(lower=-1 + 1e-12)).cumsum())
        ax.plot(*_xy(bench), color=BENCH, lw=1.0, label="benchmark")
    if report.log_scale:
        from matplotlib.ticker import FuncFormatter, NullFormatter

        ax.set_yscale("log")
        low, high = ax.get_ylim()
        if high / low < 10:
            # less than a decade: log ticks would label nothing, so place a few plain ones
            ax.set_yticks(np.unique(np.round(np.geomspace(low, high, 6), 2)))
            ax.yaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.3g}"))
    ax.axhline(1.0, color="black", lw=0.5)
    ax.set_title("Equity (start = 1)" + (", log scale" if report.log_scale else ""))
    ax.legend(loc="upper left", frameon=False)
    ax.grid(alpha=0.3)


def underwater_chart(ax, report) -> None:
    x, y = _xy(report.underwater, reduce="min")
    ax.fill_between(x, y, 0.0, color=LOSS, alpha=0.5, lw=0)
    ax.set_title(f"Underwater (max drawdown {report.summary['max_drawdown']:.1%})")
    _percent_axis(ax, decimals=0)
    ax.grid(alpha=0.3)


def monthly_heatmap(ax, report) -> None:
    table = report.monthly
    if table is None or table.empty:
        ax.text(0.5, 0.5, "no calendar index", ha="center", va="center")
        ax.set_axis_off()
        return
    months = table.drop(columns="Year")
    values = months.to_numpy(dtype="float64")
    finite = np.abs(values[np.isfinite(values)])
    limit = float(np.percentile(finite, 95)) if len(finite) else 0.1
    limit = limit if limit > 0 else 0.1
    ax.imshow(np.ma.masked_invalid(values), cmap="RdYlGn", vmin=-limit, vmax=limit, aspect="auto")
    # a strip per year, not one giant row when there are only a few years
    ax.set_box_aspect(max(0.12, 0.075 * len(months)))
    ax.set_anchor("N")
    ax.set_xticks(range(12), list(months.columns))
    ax.set_yticks(range(len(months)), [str(y) for y in months.index])
    size = 7 if len(months) <= 12 else 6
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if np.isfinite(values[i, j]):
                ax.text(j, i, f"{values[i, j] * 100:.1f}", ha="center", va="center", fontsize=size)
    ax.set_title("Monthly returns (%)")


def distribution_chart(ax, report) -> None:
    values = report.returns.to_numpy()
    low, high = np.percentile(values, [0.5, 99.5]) if len(values) else (0, 0)
    shown = values[(values >= low) & (values <= high)]
    ax.hist(shown, bins=80, color=STRATEGY, alpha=0.7)
    alpha = 1 - report.var_level
    lines = [
        ("historical VaR", _var(values, alpha, "historical"), "black", "-"),
        ("Gaussian VaR", _var(values, alpha, "gaussian"), "tab:orange", "--"),
        ("Cornish-Fisher VaR", _var(values, alpha, "cornish_fisher"), "tab:purple", ":"),
        ("historical CVaR", _cvar(values, alpha, "historical"), LOSS, "-."),
    ]
    for name, value, colour, style in lines:
        if np.isfinite(value):
            ax.axvline(value, color=colour, ls=style, lw=1.2, label=f"{name} {value:.2%}")
    level = int(round(report.var_level * 100))
    ax.set_title(f"Return distribution, {level}% VaR (central 99% of periods shown)")
    _percent_axis(ax, "x", decimals=1)
    ax.legend(frameon=False, fontsize=7)


def rolling_sharpe_chart(ax, report) -> None:
    ax.plot(*_xy(report.rolling["sharpe"]), color=STRATEGY, lw=1.0)
    ax.axhline(0.0, color="black", lw=0.5)
    overall = report.summary["sharpe"]
    if np.isfinite(overall):
        ax.axhline(overall, color=LOSS, ls="--", lw=0.8, label=f"full period {overall:.2f}")
        ax.legend(frameon=False, fontsize=7)
    ax.set_title(f"Rolling Sharpe ({report.rolling_window} periods)")
    ax.grid(alpha=0.3)


def montecarlo_chart(ax, report) -> None:
    mc = report.monte_carlo
    if mc is None:
        ax.text(0.5, 0.5, "Monte Carlo not run", ha="center", va="center")
        ax.set_axis_off()
        return
    bands = mc.bands
    steps = bands.index.to_numpy()
    ax.fill_between(steps, bands["p5"], bands["p95"], color=STRATEGY, alpha=0.15, label="5-95%")
    ax.fill_between(steps, bands["p25"], bands["p75"], color=STRATEGY, alpha=0.3, label="25-75%")
    ax.plot(steps, bands["p50"], color=STRATEGY, lw=1.2, label="median")
    ax.axhline(1.0, color="black", lw=0.5)
    ax.axhline(mc.ruin_level, color=LOSS, ls="--", lw=0.8,
               label=f"ruin {mc.ruin_level:.0%}: P = {mc.probability_of_ruin:.1%}")  # fmt: skip
    unit = "trades" if mc.method == "trade_bootstrap" else "periods"
    ax.set_title(f"Monte Carlo, {mc.n_paths:,} paths ({mc.method.replace('_', ' ')})")
    ax.set_xlabel(unit)
    ax.legend(frameon=False, fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)


def regime_chart(ax, report) -> None:
    table = report.regimes
    if table is None or table.empty:
        ax.text(0.5, 0.5, "no regimes", ha="center", va="center")
        ax.set_axis_off()
        return
    labels = [str(x) for x in table.index]
    position = np.arange(len(labels))
    sharpe = table["sharpe"].to_numpy(dtype="float64")
    colours = [STRATEGY if (np.isfinite(v) and v >= 0) else LOSS for v in sharpe]
    ax.bar(position, np.nan_to_num(sharpe), color=colours)
    for x, (value, share) in enumerate(zip(sharpe, table["share"], strict=True)):
        text = f"{value:.2f}\n{share:.0%} of time" if np.isfinite(value) else "n/a"
        ax.text(x, np.nan_to_num(value), text, ha="center",
                va="bottom" if np.nan_to_num(value) >= 0 else "top", fontsize=7)  # fmt: skip
    ax.set_xticks(position, labels)
    low, high = np.nanmin(np.append(sharpe, 0.0)), np.nanmax(np.append(sharpe, 0.0))
    pad = 0.25 * (high - low) if high > low else 1.0
    ax.set_ylim(low - pad, high + pad)  # room for the labels above and below the bars
    ax.axhline(0.0, color="black", lw=0.5)
    ax.set_title(f"Sharpe by regime ({report.regime_source})", fontsize=9)


CHARTS = {
    "equity": equity_chart,
    "underwater": underwater_chart,
    "monthly": monthly_heatmap,
    "distribution": distribution_chart,
    "rolling_sharpe": rolling_sharpe_chart,
    "montecarlo": montecarlo_chart,
    "regimes": regime_chart,
}


def figure(name: str, report, size=(10, 3.6)):
    """One chart on its own matplotlib Figure (no pyplot state, safe in threads)."""
    from matplotlib.figure import Figure

    height = size[1]
    if name == "monthly" and report.monthly is not None:
        height = max(2.5, 0.32 * len(report.monthly) + 1.2)
    fig = Figure(figsize=(size[0], height), layout="constrained")
    CHARTS[name](fig.add_subplot(), report)
    return fig
