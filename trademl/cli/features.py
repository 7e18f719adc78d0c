"""`trademl features` commands: generate a feature file, list the registry.

pandas, TA-Lib and the feature modules are imported inside the commands so that
`trademl --help` stays instant.
"""

from __future__ import annotations

from pathlib import Path

import typer

from trademl.cli._console import FORCE_HELP, TABLE_SUFFIXES, console, fail

features_app = typer.Typer(
    help="Compute features from candles (and order book / trades); list the registry.",
    no_args_is_help=True,
)


def _read_ohlcv(path: Path):
    try:
        from trademl.data.io import load_ohlcv
    except ImportError:  # the data layer not installed yet: read the documented CSV layout
        load_ohlcv = None
    if load_ohlcv is not None:
        return load_ohlcv(str(path))
    import pandas as pd

    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, parse_dates=["timestamp"], index_col="timestamp")


@features_app.command("generate")
def generate(
    file: Path = typer.Argument(..., help="OHLCV file (CSV, CSV.gz or Parquet)."),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Output file: .parquet, or .csv / .csv.gz."
    ),
    spec: Path | None = typer.Option(
        None, "--spec", "-s", help="YAML with a `features:` section (default: the full set)."
    ),
    modules: list[Path] | None = typer.Option(
        None,
        "--module",
        "-m",
        help="Python file with your own @feature functions (repeatable); checked for "
        "look-ahead on this data.",
    ),
    float32: bool = typer.Option(False, "--float32", help="Store float32 (half the memory)."),
    cache_dir: Path | None = typer.Option(None, "--cache", help="Feature cache directory."),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Compute features for FILE and write them to OUTPUT (format by extension)."""
    import time

    from trademl._io import atomic_path, check_output

    blocking = next((p for p in output.parents if p.is_file()), None)
    if blocking is not None:
        raise fail(f"{blocking}: is a file where a folder is needed (--output {output})")

    from trademl.features import (
        check_run_causality,
        generate_features,
        load_feature_modules,
        load_feature_spec,
    )

    if not file.is_file():
        raise fail(f"{file}: file not found")
    check_output(
        output, inputs=[file, spec, *(modules or [])], force=force, suffixes=TABLE_SUFFIXES
    )
    feature_spec = load_feature_spec(spec)
    # the spec's modules sit beside the spec file; --module paths are taken as given
    if spec is not None:
        load_feature_modules(feature_spec.modules, base_dir=spec.resolve().parent)
    load_feature_modules([str(m) for m in modules or []], base_dir=None)
    with console.status(f"reading {file.name}"):
        ohlcv = _read_ohlcv(file)
    started = time.perf_counter()
    with console.status(f"computing features on {len(ohlcv):,} bars"):
        frame = generate_features(
            ohlcv, feature_spec, float32=float32, cache_dir=cache_dir, check_causality=False
        )
    elapsed = time.perf_counter() - started
    # before anything is written: a leaking user feature exits 2 naming the column and bar
    report = check_run_causality(ohlcv, feature_spec, full=frame)
    with atomic_path(output) as temporary:
        if output.name.lower().endswith(".parquet"):
            frame.to_parquet(temporary)
        else:
            frame.to_csv(temporary)
    console.print(
        f"wrote {output}: {len(frame):,} rows x {frame.shape[1]} features "
        f"({frame.dtypes.iloc[0]}) in {elapsed:.2f} s"
    )
    if report["checked"]:
        prefixes = ", ".join(f"{k:,}" for k in report["prefixes"])
        console.print(
            f"causality of {len(report['checked'])} user feature column(s) checked on the "
            f"first {prefixes} bars in {report['seconds']:.2f} s"
        )


@features_app.command("list")
def list_cmd(
    category: str | None = typer.Option(None, "--category", "-c", help="Only this category."),
) -> None:
    """Show the registered features: name, category, inputs, parameters, warm-up."""
    from rich.table import Table

    from trademl.config.features import CATEGORIES
    from trademl.features import list_features

    if category is not None and category not in CATEGORIES:
        raise fail(f"unknown category {category!r} (one of: {', '.join(CATEGORIES)})")
    rows = list_features(category)
    table = Table(title=f"{len(rows)} features", show_lines=False)
    table.add_column("name", no_wrap=True)
    for header in ("category", "inputs", "params", "warm-up", "columns"):
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(
            row["name"],
            row["category"],
            row["inputs"],
            row["params"],
            str(row["warmup"]),
            str(len(row["columns"])),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the `features` group to the root app."""
    app.add_typer(features_app, name="features")
