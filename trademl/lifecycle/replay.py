"""A replayed stretch of history through prediction, monitoring and retraining, on a clock
that moves one step of bars at a time.

At each step the bars of the step become known: the champion predicts them (from the
history before each bar only: ``predict_frame`` on a trailing window longer than every
feature's warm-up), and so does the previous champion in shadow; their predictions,
features and, once the label horizon has passed, outcomes go to the monitoring store.
Then, as a live deployment would: ``run_check`` (performance, drift, health), the
rollback rule, and one scheduler tick (``trademl retrain --daemon``'s) on the data up to
the clock, whose job trains on the trailing ``train_window`` and is promoted only when
the offline test on the common out-of-sample bars says so.

What it reports, whatever the result: every trigger decision and job, promotions and
rollbacks, and the net equity (the backtest engine, the spec's lag, fees and sizing) of
the retrained champion against the never-retrained first model and buy-and-hold.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trademl.errors import DataError

__all__ = ["LifecycleReplay", "replay_lifecycle"]

logger = logging.getLogger(__name__)

FIRST = "first"  # the event kind of the initial training
# a new champion is watched against its predecessor (in shadow) for this many times the
# rollback rule's minimum sample; after that it is confirmed and the predecessor retires
PROBATION = 4


@dataclass
class LifecycleReplay:
    model: str
    start: pd.Timestamp
    end: pd.Timestamp
    steps: int
    events: pd.DataFrame  # at, kind, version, detail
    equity: pd.DataFrame  # retrained, never_retrained, buy_and_hold (growth of 1)
    summary: dict[str, Any] = field(default_factory=dict)
    elapsed: float = 0.0


def _utc(value) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _with_window(spec, start: pd.Timestamp | None, end: pd.Timestamp):
    data = spec.data.model_copy(
        update={"start": None if start is None else start.isoformat(), "end": end.isoformat()}
    )
    return spec.model_copy(update={"data": data})


def _warmup_bars(package, candles: pd.DataFrame) -> int:
    """Bars before the first complete feature row (the longest warm-up of the recipe)."""
    X = package.features_frame(candles.iloc[:5000], package.symbols[0])
    complete = np.flatnonzero(X.notna().all(axis=1).to_numpy())
    if not len(complete):
        raise DataError("replay: 5,000 bars do not warm up every feature of the model")
    return int(complete[0])


class _Live:
    """The versions that predict each step: the champion and, in shadow, its predecessor."""

    def __init__(self, name: str):
        from trademl.package.load import load_model

        self.name = name
        self._load = load_model
        self.packages: dict[int, Any] = {}

    def package(self, version: int):
        if version not in self.packages:
            self.packages[version] = self._load(f"{self.name}/{version}")
        return self.packages[version]


def _log_step(store, live: _Live, versions: list[int], history: pd.DataFrame, bars, symbol: str):
    for version in versions:
        package = live.package(version)
        X = package.features_frame(history, symbol)
        rows = X.loc[bars]
        complete = rows.notna().all(axis=1).to_numpy()
        if not complete.any():
            continue
        rows = rows.loc[complete]
        scored = package.score_rows(rows, symbol)
        frame = pd.DataFrame(
            {"prediction": scored["y_pred"].to_numpy(dtype=float),
             "proba": scored["proba"].to_numpy(dtype=float),
             "signal": scored["signal"].to_numpy(dtype=float),
             "close": history["close"].loc[rows.index].to_numpy(dtype=float),
             "symbol": symbol},
            index=rows.index,
        )  # fmt: skip
        store.log_predictions(frame, model=live.name, version=str(version), features=rows)


def _outcomes(spec, candles: pd.DataFrame, symbol: str) -> pd.DataFrame:
    from trademl.labels import make_labels

    labels = make_labels(candles, spec.labels)
    close = candles["close"].astype(float)
    frame = pd.DataFrame(
        {"symbol": symbol, "label": labels.values.astype(float),
         "forward_return": close.shift(-spec.labels.horizon) / close - 1.0,
         "end": labels.end},
        index=candles.index,
    )  # fmt: skip
    return frame.dropna(subset=["label", "forward_return"])


def _equity(store, name, spec, champions: pd.Series, first_package, candles, symbol, start, end):
    """Growth of 1: the live champion bar by bar, the first model alone, buy-and-hold."""
    from trademl.backtest._strategy import buy_and_hold_spec, strategy_returns

    stamps = candles.index[(candles.index >= start) & (candles.index < end)]
    logged = store.predictions(name, since=start, until=end)
    logged["version"] = logged["version"].astype(int)
    owner = champions.reindex(logged.index, method="ffill").to_numpy()
    live = logged[logged["version"].to_numpy() == owner]
    live = live[~live.index.duplicated(keep="last")]
    close = candles["close"].astype(float)
    retrained = strategy_returns(
        live["close"], live["signal"].to_numpy(dtype=float), backtest=spec.backtest,
        proba=live["proba"].to_numpy(dtype=float),
    )  # fmt: skip
    frozen = first_package.predict_frame(candles, symbol)
    frozen = frozen.loc[(frozen.index >= start) & (frozen.index < end)]
    never = strategy_returns(
        frozen["close"], frozen["signal"].to_numpy(dtype=float), backtest=spec.backtest,
        proba=frozen["proba"].to_numpy(dtype=float),
    )  # fmt: skip
    window = close.loc[stamps]
    hold = strategy_returns(window, np.ones(len(window)), backtest=buy_and_hold_spec(spec.backtest))
    returns = pd.DataFrame({"retrained": retrained, "never_retrained": never, "buy_and_hold": hold})
    return returns.reindex(stamps).fillna(0.0)


def replay_lifecycle(spec, *, base_dir: str | Path | None = None, progress=None) -> LifecycleReplay:
    """Replay ``spec.retraining.replay`` (see the module doc); the stores are the spec's."""
    from trademl import tracking
    from trademl.config.retraining import RollbackRule
    from trademl.lifecycle.jobs import model_name
    from trademl.lifecycle.scheduler import tick
    from trademl.monitoring import open_store, resolve_db_url, run_check
    from trademl.monitoring._time import parse_duration
    from trademl.pipeline import load_frames, run
    from trademl.tracking import registry

    started = time.perf_counter()
    settings = spec.retraining.replay
    if settings is None:
        raise DataError("retraining.replay: the replay needs start and end dates")
    base = Path(base_dir) if base_dir is not None else None
    frames = load_frames(spec.model_copy(update={"data": spec.data.model_copy(
        update={"start": None, "end": None})}), base)  # fmt: skip
    if len(frames) != 1:
        raise DataError(f"replay: one symbol at a time, the spec names {list(frames)}")
    symbol, candles = next(iter(frames.items()))
    start, end = _utc(settings.start), _utc(settings.end)
    if not candles.index[0] < start < end <= candles.index[-1] + pd.Timedelta(seconds=1):
        raise DataError(
            f"retraining.replay: {start.date()}..{end.date()} is not inside the data "
            f"({candles.index[0].date()}..{candles.index[-1].date()})"
        )
    rule = spec.retraining.rollback or RollbackRule()
    spec = spec.model_copy(
        update={"retraining": spec.retraining.model_copy(update={"rollback": rule})}
    )
    step = pd.Timedelta(parse_duration(settings.step, name="retraining.replay.step"))
    train_window = pd.Timedelta(
        parse_duration(settings.train_window, name="retraining.replay.train_window")
    )
    name = model_name(spec)
    tracking.configure(spec.tracking)
    store = open_store(resolve_db_url(spec=spec.monitoring))
    events: list[dict] = []
    try:
        first = run(_with_window(spec, start - train_window, start), base_dir=base)
        if first.model_name != name:
            raise DataError(f"the spec registers {first.model_name!r}, retraining names {name!r}")
        tracking.promote(name, first.model_version, reason="lifecycle replay: first model")
        champions = {start: first.model_version}
        events.append({"at": start, "kind": FIRST, "version": first.model_version,
                       "detail": f"trained on {train_window.days} days before {start.date()}"})  # fmt: skip
        live = _Live(name)
        first_package = live.package(first.model_version)
        history_bars = _warmup_bars(first_package, candles) + 50
        outcomes = _outcomes(spec, candles, symbol)
        predecessor: int | None = None
        promoted_at = start
        clock = start
        steps = 0
        while clock < end:
            after = min(clock + step, end)
            champion = registry.champion_version(name)
            bars = candles.index[(candles.index >= clock) & (candles.index < after)]
            first_bar = candles.index.get_indexer([bars[0]])[0] if len(bars) else 0
            history = candles.iloc[max(0, first_bar - history_bars) : first_bar + len(bars)]
            versions = [champion] + ([predecessor] if predecessor not in (None, champion) else [])
            if len(bars):
                _log_step(store, live, versions, history, bars, symbol)
            # outcomes whose label horizon ended during this step (each logged once)
            ends = outcomes["end"]
            known = outcomes[(ends >= clock) & (ends < after) & (outcomes.index >= start)]
            if len(known):
                store.log_outcomes(known.drop(columns="end"), model=name)
            run_check(store, name, since=settings.check_window, version=str(champion),
                      spec=spec.monitoring, engine=False, now=after.to_pydatetime())  # fmt: skip
            job_spec = _with_window(spec, after - train_window, after)
            if predecessor is None:  # no predecessor in shadow: nothing to roll back to
                job_spec.retraining = job_spec.retraining.model_copy(update={"rollback": None})
            result = tick(job_spec, store, now=after.to_pydatetime(), base_dir=base,
                          rollback_since=promoted_at)  # fmt: skip
            decision = result.rollback
            if decision is not None and decision.rolled_back:
                events.append({"at": after, "kind": "rollback", "version": decision.restored,
                               "detail": decision.reason})  # fmt: skip
                champions[after] = decision.restored
                predecessor, promoted_at = None, after
            elif decision is not None and decision.n_bars >= PROBATION * rule.min_bars:
                # the probation is over: the champion is confirmed, its predecessor retires
                events.append({"at": after, "kind": "confirmed", "version": champion,
                               "detail": decision.reason})  # fmt: skip
                predecessor = None
            for fired in (d for d in result.decisions if d.fired):
                events.append({"at": after, "kind": f"trigger:{fired.trigger}", "version": None,
                               "detail": fired.reason})  # fmt: skip
            if result.job is not None:
                job = result.job
                events.append({"at": after, "kind": job.state, "version": job.challenger_version,
                               "detail": job.message})  # fmt: skip
                if job.state == "promoted":
                    predecessor = champion  # kept in shadow for the rollback rule
                    champions[after] = job.challenger_version
                    promoted_at = after
            steps += 1
            clock = after
            if progress is not None:
                progress(clock, steps, events)
        champion_series = pd.Series(champions).sort_index()
        equity_returns = _equity(store, name, spec, champion_series, first_package, candles,
                                 symbol, start, end)  # fmt: skip
    finally:
        store.close()
    equity = (1 + equity_returns).cumprod()
    summary = _summary(equity_returns, events, spec)
    return LifecycleReplay(
        model=name, start=start, end=end, steps=steps,
        events=pd.DataFrame(events, columns=["at", "kind", "version", "detail"]),
        equity=equity, summary=summary, elapsed=time.perf_counter() - started,
    )  # fmt: skip


def _summary(returns: pd.DataFrame, events: list[dict], spec) -> dict[str, Any]:
    from trademl.analytics.periods import periods_per_year_for
    from trademl.data.timeframe import infer_timeframe
    from trademl.validation.metrics import sharpe

    ppy = periods_per_year_for(infer_timeframe(returns.index), spec.backtest.calendar)
    kinds = pd.Series([e["kind"] for e in events], dtype=object)
    out: dict[str, Any] = {
        "jobs": int(kinds.isin(["promoted", "rejected", "failed"]).sum()),
        "promoted": int((kinds == "promoted").sum()),
        "rejected": int((kinds == "rejected").sum()),
        "failed": int((kinds == "failed").sum()),
        "rollbacks": int((kinds == "rollback").sum()),
        "triggers": kinds[kinds.str.startswith("trigger:")].value_counts().to_dict(),
    }
    for column in returns.columns:
        series = returns[column].to_numpy(dtype=float)
        out[column] = {
            "total_return": float(np.prod(1 + series) - 1),
            "sharpe": float(sharpe(series, ppy)),
            "max_drawdown": float(
                (
                    1 - (1 + returns[column]).cumprod() / (1 + returns[column]).cumprod().cummax()
                ).max()
            ),
        }
    return out


_MARKERS = {"promoted": ("^", "tab:green"), "rejected": ("x", "tab:gray"),
            "rollback": ("v", "tab:red"), "failed": ("X", "black"), FIRST: ("o", "tab:blue")}  # fmt: skip


def plot_timeline(result: LifecycleReplay, path: Path) -> Path:
    """Equity curves with every job and rollback marked on the retrained line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 5))
    labels = {"retrained": "retrained champion", "never_retrained": "never retrained",
              "buy_and_hold": "buy and hold"}  # fmt: skip
    for column, label in labels.items():
        ax.plot(result.equity.index, result.equity[column], label=label, linewidth=1.2)
    line = result.equity["retrained"]
    for kind, (marker, colour) in _MARKERS.items():
        at = pd.DatetimeIndex([e for e, k in zip(result.events["at"], result.events["kind"],
                                                  strict=True) if k == kind])  # fmt: skip
        if len(at):
            y = line.reindex(at, method="ffill").fillna(1.0)
            ax.scatter(at, y, marker=marker, color=colour, zorder=3, label=kind, s=36)
    ax.set_yscale("log")
    ax.set_ylabel("growth of 1 (net of fees, log scale)")
    ax.set_title(f"{result.model}: lifecycle replay {result.start.date()} .. {result.end.date()}")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(result: LifecycleReplay, out_dir: Path, *, force: bool = False) -> Path:
    """``events.csv``, ``equity.csv``, ``timeline.png`` and ``lifecycle_report.html``."""
    import base64
    import html

    out_dir = Path(out_dir)
    names = ["events.csv", "equity.csv", "timeline.png", "lifecycle_report.html"]
    existing = [n for n in names if (out_dir / n).exists()]
    if existing and not force:
        raise DataError(f"{out_dir}: {', '.join(existing)} exist; pass --force to replace them")
    out_dir.mkdir(parents=True, exist_ok=True)
    result.events.to_csv(out_dir / "events.csv", index=False)
    result.equity.to_csv(out_dir / "equity.csv", index_label="timestamp")
    png = plot_timeline(result, out_dir / "timeline.png")
    image = base64.b64encode(png.read_bytes()).decode("ascii")
    rows = "".join(
        f"<tr><td>{pd.Timestamp(e.at):%Y-%m-%d %H:%M}</td><td>{html.escape(str(e.kind))}</td>"
        f"<td>{'' if e.version is None or e.version != e.version else int(e.version)}</td>"
        f"<td>{html.escape(str(e.detail))}</td></tr>"
        for e in result.events.itertuples()
    )
    figures = "".join(
        f"<tr><td>{label}</td><td>{result.summary[c]['total_return']:+.1%}</td>"
        f"<td>{result.summary[c]['sharpe']:.2f}</td><td>{result.summary[c]['max_drawdown']:.1%}</td></tr>"
        for c, label in (
            ("retrained", "retrained champion"),
            ("never_retrained", "never retrained"),
            ("buy_and_hold", "buy and hold"),
        )  # fmt: skip
    )
    s = result.summary
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>trademl lifecycle replay: {html.escape(result.model)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px}}</style>
</head><body>
<h1>Lifecycle replay: {html.escape(result.model)}</h1>
<p>{result.start:%Y-%m-%d} to {result.end:%Y-%m-%d}, {result.steps} clock steps, {result.elapsed:.0f} s.
{s["jobs"]} retraining jobs: {s["promoted"]} promoted, {s["rejected"]} rejected, {s["failed"]} failed;
{s["rollbacks"]} rollbacks. Triggers fired: {html.escape(str(s["triggers"]))}.</p>
<h2>Net equity</h2><img alt="timeline" src="data:image/png;base64,{image}" width="100%">
<table><tr><th>strategy</th><th>total return</th><th>Sharpe (annualised)</th><th>max drawdown</th></tr>
{figures}</table>
<h2>Timeline</h2><table><tr><th>at</th><th>event</th><th>version</th><th>detail</th></tr>{rows}</table>
</body></html>"""
    path = out_dir / "lifecycle_report.html"
    path.write_text(page, encoding="utf-8")
    return path
