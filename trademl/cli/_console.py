"""Consoles shared by every command group, and the one way a command reports failure."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one red line to stderr and return the ``typer.Exit`` to raise.

    Exit code 2 is bad input or usage, 1 is a failure while doing the work.
    Use as ``raise fail("...")``.
    """
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=code)


FORCE_HELP = "Replace an existing output (it is kept until the new one is complete)."
OHLCV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".parquet", ".pq", ".json", ".json.gz")
TABLE_SUFFIXES = (".parquet", ".csv", ".csv.gz")
