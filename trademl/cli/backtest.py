"""`trademl backtest`, `trademl report` and `trademl analytics ...`.

Only typer is imported at module level; pandas, mlflow and matplotlib load when a
command runs, so ``trademl --help`` stays instant.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Literal

import typer

from trademl.cli._console import FORCE_HELP, console, fail

analytics_app = typer.Typer(
    help="Performance and risk metrics of a returns file.", no_args_is_help=True
)

Sizing = Literal["sign", "fixed", "probability", "kelly"]
Format = Literal["html", "pdf", "xlsx"]


def _json_value(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _summary_table(summary: dict, title: str | None = None):
    from rich.table import Table

    from trademl.analytics.report._content import format_value
    from trademl.analytics.report._tables import label

    table = Table(title=title, title_justify="left")
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        table.add_row(label(key), format_value(key, value))
    return table


def _backtest_settings(spec_path: Path | None, overrides: dict, run_id: str | None = None):
    """Settings: the --spec file's, else the tracked run's own, else defaults; then options."""
    from trademl.backtest import backtest_spec_from_run
    from trademl.config import load_spec
    from trademl.config.backtest import BacktestSpec

    base = None
    if spec_path:
        base = load_spec(spec_path).backtest
    elif run_id:
        base = backtest_spec_from_run(run_id)
    base = base if base is not None else BacktestSpec()
    chosen = {k: v for k, v in overrides.items() if v is not None}
    try:
        return BacktestSpec.model_validate(base.model_dump() | chosen)
    except Exception as exc:  # pydantic's message names the option
        from pydantic import ValidationError

        from trademl.config import format_validation_error

        if isinstance(exc, ValidationError):
            raise fail(format_validation_error(exc, "backtest")) from None
        raise


def _predictions(run_id: str | None, predictions: Path | None):
    from trademl.backtest import load_predictions, predictions_from_run

    if (run_id is None) == (predictions is None):
        raise fail("give exactly one of --run-id or --predictions")
    return predictions_from_run(run_id) if run_id else load_predictions(predictions)


def _write_outputs(result, out: Path, summary: dict) -> None:
    from trademl._io import atomic_path, atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    frame = result.returns.to_frame("returns")
    frame["gross_returns"] = result.gross_returns
    frame["equity"] = result.equity
    frame["costs"] = result.costs
    frame["funding"] = result.funding
    if result.benchmark_returns is not None:
        frame["benchmark"] = result.benchmark_returns
    positions = result.positions
    tables = {
        "returns.csv": (frame, {"index_label": "timestamp"}),
        "positions.csv": (
            positions.to_frame("position") if positions.ndim == 1 else positions,
            {"index_label": "timestamp"},
        ),
        "trades.csv": (result.trades, {"index": False}),
    }
    for name, (table, options) in tables.items():
        with atomic_path(out / name) as temporary:
            table.to_csv(temporary, **options)
    clean = {k: _json_value(v) for k, v in summary.items()}
    atomic_write_text(out / "summary.json", json.dumps(clean, indent=2))


def _run_warnings(run_id: str) -> list[str]:
    """What the run recorded against trusting its figures (a degenerate model)."""
    from trademl.pipeline.degenerate import DEGENERATE_TAG, REASONS_TAG
    from trademl.tracking import _store

    _store.configure()
    tags = _store.client().get_run(run_id).data.tags
    if tags.get(DEGENERATE_TAG) != "true":
        return []
    return [f"DEGENERATE MODEL: {tags.get(REASONS_TAG, '')}"]


def backtest(
    run_id: str | None = typer.Option(None, "--run-id", help="Tracked run with predictions."),
    predictions: Path | None = typer.Option(
        None, "--predictions", help="Predictions file (.parquet/.csv) instead of a run."
    ),
    spec: Path | None = typer.Option(None, "--spec", help="Take settings from a spec's backtest:"),
    sizing: Sizing | None = typer.Option(None, "--sizing", help="sign|fixed|probability|kelly"),
    fraction: float | None = typer.Option(None, "--fraction", help="Size for --sizing fixed."),
    fee_bp: float | None = typer.Option(None, "--fee-bp", help="Fee per side, basis points."),
    slippage_bp: float | None = typer.Option(None, "--slippage-bp", help="Slippage, bp."),
    max_leverage: float | None = typer.Option(None, "--max-leverage"),
    long_only: bool = typer.Option(False, "--long-only", help="Turn short signals into flat."),
    lag: int | None = typer.Option(None, "--lag", help="Bars from signal to fill (default 1)."),
    capital: float | None = typer.Option(None, "--capital", help="Initial capital."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Folder for returns/positions/trades CSV + summary.json."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Backtest a tracked run's out-of-sample predictions (or a predictions file)."""
    from trademl._io import check_output
    from trademl.backtest import backtest_predictions

    if out is not None:
        check_output(out, inputs=[predictions, spec], force=force, option="--out", folder=True)

    settings = _backtest_settings(
        spec,
        {
            "sizing": sizing, "fraction": fraction, "fee_bp": fee_bp,
            "slippage_bp": slippage_bp, "max_leverage": max_leverage,
            "allow_short": False if long_only else None, "execution_lag": lag,
            "initial_capital": capital,
        },
        run_id,
    )  # fmt: skip
    frame = _predictions(run_id, predictions)
    result = backtest_predictions(frame, settings)
    summary = result.summary()
    if out is not None:
        _write_outputs(result, out, summary)
    if as_json:
        typer.echo(json.dumps({k: _json_value(v) for k, v in summary.items()}, indent=2))
        return
    symbols = sorted(frame["symbol"].unique())
    source = f"run {run_id}" if run_id else str(predictions)
    console.print(
        f"[bold]Backtest of {source}[/]: {', '.join(symbols)}, {len(result.returns):,} bars, "
        f"fee {settings.fee_bp:g} bp, slippage {settings.slippage_bp:g} bp, sizing "
        f"{settings.sizing}, fill {settings.execution_lag} bar(s) after the signal"
    )
    console.print(_summary_table(summary))
    for warning in _run_warnings(run_id) if run_id else []:
        console.print(f"[bold red]{warning}[/]", highlight=False)
    if out is not None:
        console.print(f"wrote returns.csv, positions.csv, trades.csv, summary.json to {out}")


def report(
    output: Path = typer.Option(..., "--output", "-o", help="Output file (.html/.pdf/.xlsx)."),
    run_id: str | None = typer.Option(None, "--run-id", help="Tracked run with predictions."),
    predictions: Path | None = typer.Option(None, "--predictions", help="Predictions file."),
    returns: Path | None = typer.Option(None, "--returns", help="Returns CSV/Parquet."),
    trades: Path | None = typer.Option(None, "--trades", help="Trades CSV/Parquet."),
    fmt: Format | None = typer.Option(None, "--format", help="html|pdf|xlsx (default: suffix)"),
    benchmark: Path | None = typer.Option(None, "--benchmark", help="Benchmark returns file."),
    regimes: Path | None = typer.Option(None, "--regimes", help="timestamp,regime file."),
    column: str | None = typer.Option(None, "--column", help="Returns column to use."),
    periods_per_year: float | None = typer.Option(None, "--periods-per-year"),
    log_scale: bool = typer.Option(False, "--log-scale", help="Log scale equity chart."),
    mc_paths: int = typer.Option(10_000, "--mc-paths", help="Monte Carlo paths (0: none)."),
    seed: int = typer.Option(0, "--seed"),
    title: str | None = typer.Option(None, "--title"),
    explain: Path | None = typer.Option(
        None, "--explain", help="Folder written by trademl explain -o: adds its page (HTML)."
    ),
    sizing: Sizing | None = typer.Option(None, "--sizing"),
    fee_bp: float | None = typer.Option(None, "--fee-bp"),
    slippage_bp: float | None = typer.Option(None, "--slippage-bp"),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Write a tearsheet (HTML, PDF or Excel) from a run, predictions, returns or trades."""
    from trademl._io import check_output
    from trademl.analytics.io import read_regimes, read_returns, read_trades
    from trademl.analytics.report import build_report, write_report

    sources = [x for x in (run_id, predictions, returns, trades) if x is not None]
    if len(sources) != 1 and not (returns is not None and trades is not None and len(sources) == 2):
        raise fail("give one of --run-id, --predictions, --returns or --trades")
    chosen = fmt or output.suffix.lower().lstrip(".")
    if chosen not in ("html", "pdf", "xlsx"):
        raise fail(f"cannot tell the report format from {output.name!r}: pass --format")
    # the name says what the file is: --format pdf -o report.html is refused, not obeyed
    check_output(
        output, inputs=[predictions, returns, trades, benchmark, regimes], force=force,
        suffixes=(f".{chosen}",),
    )  # fmt: skip
    if mc_paths < 0:
        raise fail(f"--mc-paths must be >= 0, got {mc_paths}")
    kwargs = dict(
        periods_per_year=periods_per_year, mc_paths=mc_paths, seed=seed, log_scale=log_scale,
        progress=True,
        regimes=read_regimes(regimes) if regimes else None,
        benchmark=read_returns(benchmark) if benchmark else None,
    )  # fmt: skip
    if run_id or predictions:
        from trademl.backtest import backtest_predictions

        settings = _backtest_settings(
            None, {"sizing": sizing, "fee_bp": fee_bp, "slippage_bp": slippage_bp}, run_id
        )
        frame = _predictions(run_id, predictions)
        result = backtest_predictions(frame, settings)
        if kwargs["benchmark"] is None:
            kwargs["benchmark"] = result.benchmark_returns
        name = f"run {run_id}" if run_id else predictions.name
        symbols = ", ".join(sorted(frame["symbol"].unique()))
        built = build_report(
            result.returns, trades=result.trades, positions=result.positions,
            title=title or f"trademl tearsheet: {name} ({symbols})",
            warnings=_run_warnings(run_id) if run_id else None, **kwargs,
        )  # fmt: skip
    else:
        series = read_returns(returns, column) if returns else None
        trade_list = read_trades(trades) if trades else None
        source = (returns or trades).name
        built = build_report(
            series, trades=trade_list, title=title or f"trademl tearsheet: {source}", **kwargs
        )
    if explain is not None:
        from trademl.explain.report_page import load_page

        built.explanation = load_page(explain)
    elif run_id:
        from trademl.explain.report_page import page_from_run

        built.explanation = page_from_run(run_id)  # None when the run was never explained
    if built.explanation is not None and chosen != "html":
        console.print("[yellow]note:[/] the explanation page is drawn in HTML reports only")
    path = write_report(built, output, chosen)
    console.print(f"wrote {chosen} report to {path} ({path.stat().st_size / 1024:,.0f} KiB)")


@analytics_app.command("metrics")
def metrics(
    returns_file: Path = typer.Argument(..., help="CSV/Parquet with timestamp and returns."),
    periods_per_year: float | None = typer.Option(
        None, "--periods-per-year", help="Override bars per year (default: from timestamps)."
    ),
    column: str | None = typer.Option(None, "--column", help="Returns column to use."),
    benchmark: Path | None = typer.Option(None, "--benchmark", help="Benchmark returns file."),
    risk_free: float = typer.Option(0.0, "--risk-free", help="Annual risk-free rate."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Print every performance and risk metric of a returns file."""
    from trademl.analytics import performance_summary
    from trademl.analytics.io import read_returns

    series = read_returns(returns_file, column)
    bench = read_returns(benchmark) if benchmark else None
    summary = performance_summary(series, periods_per_year, benchmark=bench, risk_free=risk_free)
    if as_json:
        typer.echo(json.dumps({k: _json_value(v) for k, v in summary.items()}, indent=2))
        return
    console.print(f"[bold]Metrics of {returns_file.name}[/]: {len(series.dropna()):,} returns")
    console.print(_summary_table(summary))


@analytics_app.command("montecarlo")
def montecarlo(
    returns_file: Path = typer.Argument(..., help="CSV/Parquet with timestamp and returns."),
    paths: int = typer.Option(10_000, "--paths"),
    steps: int | None = typer.Option(None, "--steps", help="Steps per path (default: sample)."),
    block_length: float | None = typer.Option(None, "--block-length", help="Default: auto."),
    ruin_level: float = typer.Option(0.5, "--ruin-level", help="Equity fraction called ruin."),
    seed: int = typer.Option(0, "--seed"),
    periods_per_year: float | None = typer.Option(None, "--periods-per-year"),
    column: str | None = typer.Option(None, "--column"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Stationary block bootstrap: percentiles of final return, max drawdown and Sharpe."""
    from trademl.analytics import block_bootstrap
    from trademl.analytics.io import read_returns

    result = block_bootstrap(
        read_returns(returns_file, column), n_paths=paths, n_steps=steps,
        block_length=block_length, seed=seed, ruin_level=ruin_level,
        periods_per_year=periods_per_year, progress=True,
    )  # fmt: skip
    table = result.percentiles()
    if as_json:
        payload = {"probability_of_ruin": result.probability_of_ruin, "paths": result.n_paths}
        payload["percentiles"] = {
            row: {k: _json_value(float(v)) for k, v in table.loc[row].items()}
            for row in table.index
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    from rich.table import Table

    out = Table(title=f"Monte Carlo of {returns_file.name}: {result.n_paths:,} paths")
    out.add_column("")
    for name in table.columns:
        out.add_column(name, justify="right")
    for row in table.index:
        out.add_row(row, *(f"{v:.3f}" for v in table.loc[row]))
    console.print(out)
    console.print(
        f"probability of ruin (equity below {ruin_level:.0%} of start): "
        f"{result.probability_of_ruin:.2%}"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands and groups to the root app."""
    app.command("backtest")(backtest)
    app.command("report")(report)
    app.add_typer(analytics_app, name="analytics")
