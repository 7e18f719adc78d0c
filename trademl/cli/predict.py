"""``trademl predict --model NAME@ALIAS CANDLES -o OUT``: a registered model on raw candles.

The model package is downloaded, its files checked against their SHA-256 manifest before
anything is unpickled, and its feature recipe rebuilds the training columns from the
candles; the output has the columns of the run's ``predictions/oos.parquet`` (without
the outcomes).
"""

from __future__ import annotations

from pathlib import Path

import typer

from trademl.cli._console import console, fail

__all__ = ["predict_command", "register"]


def _write(frame, out: Path) -> None:
    """To a temporary name beside ``out``, then renamed: a reader never sees half a file."""
    from trademl._io import atomic_path

    with atomic_path(out) as temporary:
        if out.name.lower().endswith(".parquet"):
            frame.to_parquet(temporary)
        else:
            frame.to_csv(temporary)


def predict_command(
    candles: Path = typer.Argument(..., help="OHLCV file (CSV/Parquet/JSON) of one symbol."),
    model: str = typer.Option(
        ..., "--model", "-m", help="NAME@ALIAS, NAME/VERSION or runs:/RUN_ID."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Predictions file (.parquet or .csv)."),
    symbol: str | None = typer.Option(
        None, "--symbol", help="Which symbol the candles are (models of several symbols)."
    ),
    since: str | None = typer.Option(
        None, "--since", help="Write only bars from this date on (features still use the history)."
    ),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow store URI."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output file."),
    allow_unsigned: bool = typer.Option(
        False, "--allow-unsigned", help="Accept a model whose manifest has no signature (warns)."
    ),
) -> None:
    """Predict raw candles with a registered model package (verified before loading)."""
    import pandas as pd

    from trademl._io import check_output
    from trademl.data.io import load_ohlcv
    from trademl.package import load_model

    if not candles.is_file():
        raise fail(f"{candles}: candles file not found")
    check_output(
        out, inputs=[candles], force=force, suffixes=(".parquet", ".csv", ".csv.gz"), option="--out"
    )
    package = load_model(model, tracking_uri=tracking_uri, allow_unsigned=allow_unsigned)
    frame = load_ohlcv(candles)
    predictions = package.predict_frame(frame, symbol=symbol)
    if since is not None:
        start = pd.Timestamp(since)
        start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
        predictions = predictions.loc[predictions.index >= start]
        if predictions.empty:
            raise fail(f"--since {since}: no predicted bar on or after it")
    _write(predictions, out)
    counts = predictions["signal"].value_counts().to_dict()
    console.print(
        f"{len(predictions):,} predictions by {package.name} ({model}) written to {out}; "
        f"signals long {counts.get(1, 0):,}, flat {counts.get(0, 0):,}, short {counts.get(-1, 0):,}"
    )


def register(app: typer.Typer) -> None:
    app.command("predict")(predict_command)
