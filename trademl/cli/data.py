"""``trademl data``: inspect, validate, repair, resample, download and synthesise candles.

Every command reads CSV, Parquet or JSON (optionally .gz) by extension and writes the
format named by the output's extension. Only typer is imported at module level; the
data layer (pandas) loads when a command runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from trademl.cli._console import FORCE_HELP, OHLCV_SUFFIXES, console, fail

data_app = typer.Typer(
    help="Inspect, validate, repair, resample, download and synthesise OHLCV candles.",
    no_args_is_help=True,
)

FileArg = Annotated[
    Path, typer.Argument(help="Candle file: .csv, .parquet or .json, optionally .gz.")
]
TimeframeOpt = Annotated[
    str | None,
    typer.Option("--timeframe", "-t", help="Bar length (5m, 1h, 4h, 1d); inferred if omitted."),
]
ForceOpt = Annotated[bool, typer.Option("--force", help=FORCE_HELP)]
MaxJumpOpt = Annotated[
    float,
    typer.Option(
        "--max-jump", help="Largest believable close-to-close move between bars (0.5 = 50%)."
    ),
]


_GAPS_SHOWN = 50


def _when(stamp) -> str:
    return "-" if stamp is None else stamp.strftime("%Y-%m-%d %H:%M")


def _number(value: float) -> str:
    return f"{value:,.8g}" if abs(value) < 1e6 else f"{value:,.2f}"


def _print_problems(problems: list[dict]) -> None:
    from rich.table import Table

    table = Table(title="problems", title_justify="left")
    table.add_column("kind", style="bold red")
    table.add_column("count", justify="right")
    table.add_column("where (row numbers count data rows from 0)")
    for problem in problems:
        table.add_row(problem["kind"], str(problem["count"]), problem["message"])
    console.print(table)
    for problem in problems:
        gaps = problem.get("gaps", [])
        for gap in gaps[:_GAPS_SHOWN]:
            console.print(
                f"  gap: {gap['missing_bars']} bar(s) missing between {gap['after']} and {gap['before']}",
                highlight=False,
            )
        if len(gaps) > _GAPS_SHOWN:
            console.print(f"  ... and {len(gaps) - _GAPS_SHOWN} more gap(s)", highlight=False)
    if any(p["count"] > 5 for p in problems):
        console.print("(--json lists every row and timestamp)", highlight=False)


@data_app.command("info")
def info(file: FileArg, timeframe: TimeframeOpt = None, max_jump: MaxJumpOpt = 0.5) -> None:
    """Rows, range, timeframe, gaps and a summary table of FILE."""
    from rich.table import Table

    from trademl.data.io import load_ohlcv
    from trademl.data.summary import describe_ohlcv

    frame = load_ohlcv(file)
    about = describe_ohlcv(frame, timeframe, max_jump=max_jump)
    tf = about["timeframe"] or "-"
    console.print(f"[bold]{file}[/]", highlight=False)
    console.print(f"rows: {about['rows']:,}", highlight=False)
    console.print(f"range: {_when(about['start'])} -> {_when(about['end'])} UTC", highlight=False)
    console.print(
        f"timeframe: {tf}{' (inferred)' if about['timeframe_inferred'] else ''}", highlight=False
    )
    gaps = about["gaps"]
    line = f"gaps: {about['gap_count']} ({about['missing_bars']} missing bars)"
    if about["gap_count"]:
        longest = gaps.loc[gaps["missing_bars"].idxmax()]
        line += f"; longest {int(longest['missing_bars'])} bars after {_when(longest['after'])}"
    console.print(line, highlight=False)
    console.print(f"zero-volume bars: {about['zero_volume_bars']}", highlight=False)
    if about["filled_bars"]:
        console.print(f"filled bars (is_filled): {about['filled_bars']}", highlight=False)
    if about["extra_columns"]:
        console.print(
            f"other columns: {', '.join(map(str, about['extra_columns']))}", highlight=False
        )

    table = Table(title="columns", title_justify="left")
    for name in ("column", "min", "max", "mean", "missing"):
        table.add_column(name, justify="left" if name == "column" else "right")
    for column, row in about["stats"].iterrows():
        table.add_row(
            column,
            _number(row["min"]),
            _number(row["max"]),
            _number(row["mean"]),
            str(int(row["missing"])),
        )
    console.print(table)
    other = [p for p in about["problems"] if p["kind"] != "gaps"]
    if other:
        console.print(
            f"[yellow]{len(other)} other kind(s) of problem: {', '.join(p['kind'] for p in other)}"
            " (see trademl data validate)[/]",
            highlight=False,
        )


@data_app.command("validate")
def validate(
    file: FileArg,
    timeframe: TimeframeOpt = None,
    max_jump: MaxJumpOpt = 0.5,
    repair: Annotated[
        Path | None,
        typer.Option(
            "--repair", help="Write a repaired copy here (drop exact duplicates, sort, fill gaps)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the problems as JSON.")] = False,
    force: ForceOpt = False,
) -> None:
    """Check FILE; exit 0 when clean, 2 with every problem listed otherwise."""
    from trademl._io import check_output
    from trademl.data.io import detect_format, load_ohlcv, save_ohlcv
    from trademl.data.validation import find_problems, repair_ohlcv

    if repair is not None:
        # a bad output name fails before any work; the input itself is never the output
        check_output(repair, inputs=[file], force=force, suffixes=OHLCV_SUFFIXES, option="--repair")
        detect_format(repair)
    frame = load_ohlcv(file)
    problems = find_problems(frame, timeframe, max_jump=max_jump)
    if repair is None:
        if as_json:
            typer.echo(json.dumps(problems, indent=1))
        elif problems:
            _print_problems(problems)
        if problems:
            raise fail(f"{file}: {len(problems)} kind(s) of problem (listed above)")
        if not as_json:
            console.print(f"[green]{file}: clean[/] ({len(frame):,} rows)", highlight=False)
        return

    if problems:
        _print_problems(problems)
    repaired, report = repair_ohlcv(frame, timeframe)
    save_ohlcv(repaired, repair)
    console.print(f"[bold]repair -> {repair}[/]", highlight=False)
    for line in report.lines():
        console.print(f"  {line}", highlight=False)
    left = find_problems(repaired, report.timeframe, max_jump=max_jump)
    if left:
        console.print("still wrong after repair (repair never changes prices):")
        _print_problems(left)
        raise fail(f"{repair}: {len(left)} kind(s) of problem remain that repair cannot fix")
    console.print(f"[green]{repair}: clean[/] ({len(repaired):,} rows)", highlight=False)


@data_app.command("resample")
def resample(
    file: FileArg,
    to: Annotated[str, typer.Option("--to", help="Target timeframe, e.g. 4h or 1d.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output file (format by extension).")
    ],
    incomplete: Annotated[
        str,
        typer.Option(
            help="drop_trailing (default), drop (all incomplete), flag (add 'complete'), keep."
        ),
    ] = "drop_trailing",
    force: ForceOpt = False,
) -> None:
    """Aggregate FILE to a higher timeframe, bars labelled by open time."""
    from trademl._io import check_output
    from trademl.data.io import detect_format, load_ohlcv, save_ohlcv
    from trademl.data.resample import resample_ohlcv

    check_output(output, inputs=[file], force=force, suffixes=OHLCV_SUFFIXES)
    detect_format(output)
    frame = load_ohlcv(file)
    out = resample_ohlcv(frame, to, incomplete=incomplete)  # type: ignore[arg-type]
    save_ohlcv(out, output)
    console.print(
        f"{len(frame):,} bars -> {len(out):,} {to} bars "
        f"({_when(out.index.min() if len(out) else None)} -> {_when(out.index.max() if len(out) else None)}) "
        f"written to {output}",
        highlight=False,
    )


@data_app.command("fetch")
def fetch(
    exchange: Annotated[str, typer.Option(help="ccxt exchange id, e.g. binance.")],
    symbol: Annotated[str, typer.Option(help="Market symbol, e.g. BTC/USDT.")],
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Bar length, e.g. 1h.")],
    since: Annotated[str, typer.Option(help="First bar open time (UTC), e.g. 2024-01-01.")],
    until: Annotated[str | None, typer.Option(help="End (exclusive, UTC); default: now.")] = None,
    cache: Annotated[Path, typer.Option(help="Cache folder.")] = Path("~/.cache/trademl/ohlcv"),
    limit: Annotated[int, typer.Option(help="Candles asked per request.")] = 1000,
    timeout: Annotated[float, typer.Option(help="Seconds before a request is given up.")] = 10.0,
) -> None:
    """Download candles through ccxt into <cache>/<exchange>/<symbol>/<timeframe>.parquet (resumable)."""
    import ccxt

    from trademl.data.fetch import cache_path, download_ohlcv, make_exchange
    from trademl.data.io import load_ohlcv
    from trademl.data.timeframe import parse_timeframe

    parse_timeframe(timeframe)
    client = make_exchange(exchange)
    client.timeout = int(timeout * 1000)
    path = cache_path(cache, exchange, symbol, timeframe)
    before = len(load_ohlcv(path)) if path.exists() else 0
    try:
        frame = download_ohlcv(
            client, symbol, timeframe, since=since, until=until, cache_dir=cache,
            exchange_id=exchange, limit=limit, progress=True,
        )  # fmt: skip
    except ccxt.BadSymbol as exc:
        raise fail(f"{exchange} has no market {symbol!r}: {exc}", code=2) from None
    except ccxt.NetworkError as exc:
        cause = exc.__cause__ or exc.__context__
        why = f" ({type(cause).__name__})" if cause is not None else ""
        raise fail(f"could not reach {exchange}{why}: {exc}", code=1) from None
    except ccxt.BaseError as exc:
        raise fail(
            f"{exchange} refused the request ({type(exc).__name__}): {exc}", code=1
        ) from None
    after = len(load_ohlcv(path)) if path.exists() else 0
    console.print(
        f"{after - before:,} new bar(s); {len(frame):,} bars in range "
        f"({_when(frame.index.min() if len(frame) else None)} -> {_when(frame.index.max() if len(frame) else None)}); "
        f"cache {path} holds {after:,}",
        highlight=False,
    )


# bytes per synthetic bar at the peak: six float64 columns, regime, timestamps and the
# generator's intermediate arrays: an estimate with headroom, not a measurement
_SYNTH_BYTES_PER_BAR = 300


def _check_fits_in_memory(bars: int) -> None:
    """Refuse a size that cannot fit before allocating anything (not a MemoryError later)."""
    from trademl.errors import TradeMLError

    need = bars * _SYNTH_BYTES_PER_BAR
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: a generous fixed bound
        have = 64 * 2**30
    if need > have:
        raise TradeMLError(
            f"--bars {bars:,} needs about {need / 2**30:,.0f} GiB of memory; this machine has "
            f"{have / 2**30:,.0f} GiB (at most ~{have // _SYNTH_BYTES_PER_BAR:,} bars)"
        )


@data_app.command("synth")
def synth(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output file (format by extension).")
    ],
    bars: Annotated[int, typer.Option("--bars", "-n", min=2, help="Number of bars.")],
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same candles).")],
    regimes: Annotated[int, typer.Option(min=2, help="Number of regimes.")] = 3,
    force: ForceOpt = False,
) -> None:
    """Synthetic regime-switching OHLCV with the true regime per bar in column 'regime'."""
    from trademl._io import check_output
    from trademl.data.io import detect_format, save_ohlcv
    from trademl.data.synthetic import default_process, synthetic_ohlcv

    check_output(output, force=force, suffixes=OHLCV_SUFFIXES)
    detect_format(output)
    _check_fits_in_memory(bars)
    frame = synthetic_ohlcv(bars, seed=seed, n_regimes=regimes)
    save_ohlcv(frame, output)
    names = default_process(regimes).names
    shares = frame["regime"].value_counts(normalize=True).sort_index()
    mix = ", ".join(f"{names[int(k)]} {v:.0%}" for k, v in shares.items())
    console.print(
        f"{len(frame):,} synthetic bars (seed {seed}; {mix}) written to {output}", highlight=False
    )


def register(app: typer.Typer) -> None:
    """Add the ``data`` group to the root app."""
    app.add_typer(data_app, name="data")
