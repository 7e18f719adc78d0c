"""``trademl demo``: the data path on the bundled samples (load, validate, summarise).

It must keep running anywhere, offline, from the samples shipped inside the package;
``make demo`` follows it with the full experiment (``trademl run examples/...``).
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
    table.add_column("")
    abouts = {}
    for name in names:
        sample_path(name)  # unknown names fail before any work, listing the valid ones
        abouts[name] = describe_ohlcv(load_sample(name))
        table.add_column(name, justify="right")
    rows: dict[str, list[str]] = {
        k: []
        for k in ("rows", "first bar (UTC)", "last bar (UTC)", "timeframe", "gaps (missing bars)",
                  "zero-volume bars", "first -> last close", "checks")
    }  # fmt: skip
    for about in abouts.values():
        others = [p["kind"] for p in about["problems"] if p["kind"] != "gaps"]
        checks = "[green]ok[/]" if not others else "[red]" + ", ".join(others) + "[/]"
        if about["gap_count"]:
            checks += " [yellow](gaps = real outages)[/]"
        change = about["last_close"] / about["first_close"] - 1.0
        rows["rows"].append(f"{about['rows']:,}")
        rows["first bar (UTC)"].append(f"{about['start']:%Y-%m-%d %H:%M}")
        rows["last bar (UTC)"].append(f"{about['end']:%Y-%m-%d %H:%M}")
        rows["timeframe"].append(about["timeframe"])
        rows["gaps (missing bars)"].append(f"{about['gap_count']} ({about['missing_bars']})")
        rows["zero-volume bars"].append(str(about["zero_volume_bars"]))
        rows["first -> last close"].append(
            f"{about['first_close']:,.2f} -> {about['last_close']:,.2f} ({change:+.1%})"
        )
        rows["checks"].append(checks)
    for label, cells in rows.items():
        table.add_row(label, *cells)
    console.print(table)
    console.print(
        "Next: [bold]trademl run examples/btc_1h_lightgbm.yaml[/] (the whole experiment), "
        "[bold]trademl data validate FILE --repair OUT[/]",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``trademl demo`` to the root app."""
    app.command("demo")(demo)
