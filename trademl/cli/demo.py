"""``trademl demo``: the data path on the bundled samples (load, validate, summarise).

Later stages grow this into the full pipeline; it must keep running anywhere, offline,
from the samples shipped inside the package.
"""

from __future__ import annotations

from typing import Annotated

import typer

from trademl.cli._console import console


def demo(
    sample: Annotated[
        list[str] | None,
        typer.Option("--sample", "-s", help="Bundled sample(s) to use; default: all of them."),
    ] = None,
) -> None:
    """Run the demo on the bundled real candles: load, validate, summarise."""
    from rich.table import Table

    from trademl.data.summary import describe_ohlcv
    from trademl.datasets import available_samples, load_sample, sample_path

    names = sample or available_samples()
    table = Table(title="bundled samples: load -> validate", title_justify="left")
    for column in (
        "sample",
        "rows",
        "first bar",
        "last bar",
        "tf",
        "gaps",
        "missing",
        "zero vol",
        "close",
        "change",
        "checks",
    ):
        table.add_column(column, justify="left" if column in ("sample", "checks") else "right")
    for name in names:
        sample_path(name)  # unknown names fail before any work, listing the valid ones
        frame = load_sample(name)
        about = describe_ohlcv(frame)
        others = [p["kind"] for p in about["problems"] if p["kind"] != "gaps"]
        checks = "[green]ok[/]" if not others else "[red]" + ", ".join(others) + "[/]"
        if about["gap_count"]:
            checks += " [yellow](gaps are real exchange outages)[/]"
        change = about["last_close"] / about["first_close"] - 1.0
        table.add_row(
            name,
            f"{about['rows']:,}",
            about["start"].strftime("%Y-%m-%d %H:%M"),
            about["end"].strftime("%Y-%m-%d %H:%M"),
            about["timeframe"],
            str(about["gap_count"]),
            str(about["missing_bars"]),
            str(about["zero_volume_bars"]),
            f"{about['last_close']:,.2f}",
            f"{change:+.1%}",
            checks,
        )
    console.print(table)
    console.print(
        "Next: [bold]trademl data info FILE[/], [bold]trademl data validate FILE --repair OUT[/]",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``trademl demo`` to the root app."""
    app.command("demo")(demo)
