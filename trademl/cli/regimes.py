"""`trademl regimes` commands: fit, predict, plot and report market regimes.

Only typer is imported at module level; pandas/hmmlearn/matplotlib load when a command
runs, so ``trademl --help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path

import typer

from trademl.cli._console import FORCE_HELP, TABLE_SUFFIXES, console, err_console, fail

regimes_app = typer.Typer(
    help="Market regimes: fit a causal HMM, predict, plot and report.", no_args_is_help=True
)


def _load_candles(path: Path):
    from trademl.data.io import load_ohlcv

    return load_ohlcv(path)


def _parse_regimes(value: str) -> int | str:
    if value == "auto":
        return "auto"
    try:
        count = int(value)
    except ValueError:
        raise fail(f"--n-regimes must be an integer >= 2 or 'auto', got {value!r}") from None
    if count < 2:
        raise fail(f"--n-regimes must be an integer >= 2 or 'auto', got {value!r}")
    return count


def _cell(value) -> str:
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return str(value)
    if isinstance(value, numbers.Integral) or (float(value).is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    return f"{value:.4g}"


def _table(frame, title: str):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column(frame.index.name or "", style="bold")
    for column in frame.columns:
        table.add_column(str(column), justify="right", overflow="fold")
    for label, *values in frame.itertuples(index=True, name=None):
        table.add_row(str(label), *(_cell(v) for v in values))
    return table


@regimes_app.command("fit")
def fit_command(
    file: Path = typer.Argument(..., help="Candles (CSV/Parquet) to fit on."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the model (JSON)."),
    n_regimes: str = typer.Option("3", "--n-regimes", "-k", help="Number of regimes or 'auto'."),
    criterion: str = typer.Option("bic", help="bic or aic, for --n-regimes auto."),
    features: str = typer.Option(
        "log_return,volatility",
        help="Comma-separated: log_return, volatility, volume_z, range, momentum or columns.",
    ),
    covariance: str = typer.Option("full", help="full, diag, spherical or tied."),
    window: int = typer.Option(24, help="Bars of the rolling volatility / volume z-score."),
    restarts: int = typer.Option(5, help="Random restarts (best log-likelihood wins)."),
    seed: int = typer.Option(0, help="Seed of the restarts."),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Fit a Gaussian HMM on FILE and save it; prints regimes, durations and transitions."""
    from trademl._io import check_output
    from trademl.regimes.hmm import HMMRegimeDetector

    check_output(output, inputs=[file], force=force, suffixes=(".json",))
    candles = _load_candles(file)
    detector = HMMRegimeDetector(
        _parse_regimes(n_regimes),
        covariance_type=covariance,
        features=tuple(f.strip() for f in features.split(",") if f.strip()),
        window=window,
        criterion=criterion,
        n_init=restarts,
        random_state=seed,
    )
    from trademl.errors import DataError

    with console.status(f"fitting HMM on {len(candles):,} bars"):
        try:
            detector.fit(candles)
        except DataError as exc:
            raise DataError(f"{file}: {exc}") from None
    detector.save(output)
    if n_regimes == "auto":
        console.print(_table(detector.selection_, f"model selection ({criterion})"))
    summary = detector.transition_matrix()
    summary.insert(0, "expected_duration", detector.expected_durations())
    summary.index.name = "regime"
    console.print(_table(summary, f"{detector.n_regimes_} regimes (transition probabilities)"))
    console.print(
        f"log-likelihood {detector.log_likelihood_:.1f}, {detector.n_iter_} EM iterations, "
        f"converged={detector.converged_}; model written to {output}"
    )


def _predictions(model: Path, file: Path, smoothed: bool):
    from trademl.regimes.persistence import load_detector

    detector = load_detector(model)
    candles = _load_candles(file)
    if smoothed:
        if not hasattr(detector, "smooth_proba"):
            raise fail(f"{type(detector).__name__} has no smoothed regimes; drop --smoothed")
        err_console.print(
            "[yellow]warning:[/] --smoothed regimes use the WHOLE series (the future): "
            "for describing history only, never for trading signals or backtests"
        )
        proba = detector.smooth_proba(candles)
    else:
        proba = detector.predict_proba(candles)
    from trademl.regimes._base import most_probable

    return candles, proba, most_probable(proba), detector


@regimes_app.command("predict")
def predict_command(
    model: Path = typer.Argument(..., help="Model written by `trademl regimes fit`."),
    file: Path = typer.Argument(..., help="Candles to label."),
    output: Path = typer.Option(..., "--output", "-o", help="CSV or Parquet to write."),
    smoothed: bool = typer.Option(
        False, "--smoothed", help="Forward-backward over the whole series (sees the future)."
    ),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Write each bar's regime and probabilities (causal unless --smoothed)."""
    from trademl._io import atomic_path, check_output

    check_output(output, inputs=[model, file], force=force, suffixes=TABLE_SUFFIXES)
    candles, proba, labels, _ = _predictions(model, file, smoothed)
    out = proba.add_prefix("regime_p_")
    out.insert(0, "regime", labels)
    with atomic_path(output) as temporary:
        if output.name.lower().endswith(".parquet"):
            out.to_parquet(temporary)
        else:
            out.to_csv(temporary)
    counts = labels.value_counts(normalize=True)
    shares = ", ".join(f"{name} {share:.1%}" for name, share in counts.items())
    kind = "smoothed" if smoothed else "causal (filtered)"
    console.print(f"{len(out):,} bars, {kind} regimes: {shares}; written to {output}")


@regimes_app.command("plot")
def plot_command(
    model: Path = typer.Argument(..., help="Model written by `trademl regimes fit`."),
    file: Path = typer.Argument(..., help="Candles to plot."),
    output: Path = typer.Option(..., "--output", "-o", help="PNG to write."),
    smoothed: bool = typer.Option(False, "--smoothed", help="Shade smoothed regimes instead."),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Draw price with regimes shaded and regime probabilities below, to a PNG."""
    from trademl._io import check_output
    from trademl.regimes.plotting import plot_regimes

    check_output(output, inputs=[model, file], force=force, suffixes=(".png", ".svg", ".pdf"))
    candles, proba, labels, _ = _predictions(model, file, smoothed)
    kind = "smoothed" if smoothed else "causal"
    plot_regimes(candles, labels, output, proba=proba, title=f"{file.name}: {kind} regimes")
    console.print(f"plot written to {output}")


@regimes_app.command("report")
def report_command(
    model: Path = typer.Argument(..., help="Model written by `trademl regimes fit`."),
    file: Path = typer.Argument(..., help="Candles to describe."),
    smoothed: bool = typer.Option(False, "--smoothed", help="Use smoothed regimes."),
) -> None:
    """Per-regime statistics: share of time, mean return, volatility, durations."""
    from trademl.regimes.statistics import regime_statistics

    candles, _, labels, detector = _predictions(model, file, smoothed)
    table = regime_statistics(candles, labels)
    table = table.reindex([n for n in detector.names_ if n in table.index])
    # regimes as columns keeps the table narrow whatever the number of statistics
    table = table.T
    table.index.name = "statistic"
    kind = "smoothed" if smoothed else "causal"
    console.print(_table(table, f"{file.name}: {kind} regime statistics ({len(candles):,} bars)"))


def register(app: typer.Typer) -> None:
    """Add the ``regimes`` group to the root app."""
    app.add_typer(regimes_app, name="regimes")
