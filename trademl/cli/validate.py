"""`trademl validate` commands: look at a splitting scheme before trusting it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from trademl.cli._console import FORCE_HELP, console


class Scheme(StrEnum):
    purged_kfold = "purged-kfold"
    walk_forward = "walk-forward"
    cpcv = "cpcv"


def _check_time_order(index, file: Path) -> None:
    """Folds are blocks of time: unsorted or repeated timestamps would make them lie."""
    from trademl.errors import DataError

    duplicated = index.duplicated()
    if duplicated.any():
        row = int(duplicated.argmax())
        raise DataError(
            f"{file}: duplicated timestamp {index[row]} (row {row}); "
            f"fix it first with `trademl data validate {file} --repair OUT`"
        )
    if not index.is_monotonic_increasing:
        row = int((index[1:] < index[:-1]).argmax()) + 1
        raise DataError(
            f"{file}: timestamps not sorted ({index[row]} at row {row} comes after "
            f"{index[row - 1]}); fix it first with `trademl data validate {file} --repair OUT`"
        )


def splits(
    file: Path = typer.Argument(..., help="OHLCV file (CSV/Parquet) indexed by timestamp."),
    scheme: Scheme = typer.Option(Scheme.purged_kfold, help="Splitting scheme."),
    folds: int = typer.Option(
        5, min=2, help="Folds (purged-kfold, walk-forward) or groups N (cpcv)."
    ),
    test_groups: int = typer.Option(2, min=1, help="Test groups k per split (cpcv only)."),
    horizon: int = typer.Option(24, min=0, help="Bars each label looks ahead (purge width)."),
    embargo: int = typer.Option(0, min=0, help="Bars after each test block never trained on."),
    png: Path | None = typer.Option(None, help="Also draw the folds to this PNG file."),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Print the folds of a scheme on FILE: train/test ranges, purged and embargoed counts."""
    from pydantic import ValidationError
    from rich.table import Table

    from trademl.config.validation import ValidationSpec
    from trademl.data.io import load_ohlcv
    from trademl.errors import SpecError
    from trademl.validation import fold_table, make_splitter, plot_folds

    if png is not None:
        from trademl._io import check_output

        check_output(png, inputs=[file], force=force, suffixes=(".png",), option="--png")
    try:
        spec = ValidationSpec(
            scheme=scheme.value, n_splits=folds, test_groups=test_groups, embargo=embargo
        )
    except ValidationError as exc:
        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise SpecError(f"invalid options: {problems}") from None
    frame = load_ohlcv(file)
    _check_time_order(frame.index, file)
    splitter = make_splitter(spec, horizon=horizon)
    table_data = fold_table(splitter, frame)
    table = Table(
        title=f"{scheme.value} on {file.name}: {len(frame):,} bars, horizon {horizon}, "
        f"embargo {embargo}"
    )
    for column in ("fold", "train", "n_train", "test", "n_test", "purged", "embargoed"):
        justify = "left" if column in ("train", "test") else "right"
        table.add_column(column, justify=justify, overflow="fold")
    for row in table_data.itertuples(index=False):
        table.add_row(*[f"{v:,}" if isinstance(v, int) else str(v) for v in row])
    console.print(table)
    if png is not None:
        plot_folds(splitter, frame, png)
        console.print(f"folds drawn to {png}")


def register(app: typer.Typer) -> None:
    """Add the ``validate`` group to the root app."""
    group = typer.Typer(
        help="Check validation schemes (purging, embargo) on real data.", no_args_is_help=True
    )
    group.command("splits")(splits)
    app.add_typer(group, name="validate")
