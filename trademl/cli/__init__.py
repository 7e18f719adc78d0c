"""The ``trademl`` command line: a typer app whose commands are thin calls into the library.

Each group lives in its own module with a ``register(app)`` function; the modules
import only typer at the top, so ``trademl --help`` does not load pandas or torch.
"""

from __future__ import annotations

import logging
import os
import sys

import typer

from trademl import __version__
from trademl.cli import (
    backtest,
    data,
    demo,
    experiments,
    explain,
    features,
    models,
    monitor,
    predict,
    regimes,
    run,
)
from trademl.cli import validate as validate_cmds
from trademl.cli._console import err_console
from trademl.errors import TradeMLError

app = typer.Typer(
    name="trademl",
    help="From raw market candles to a monitored model in production, honestly.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"trademl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks and debug logs."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show info logs."),
) -> None:
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # MLflow sets its own log level when imported (later, lazily); keep its INFO chatter
    # (schema creation, registration) out of a normal run
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", logging.getLevelName(level))


for _module in (
    data,
    demo,
    features,
    validate_cmds,
    experiments,
    models,
    run,
    predict,
    backtest,
    regimes,
    monitor,
    explain,
):
    _module.register(app)


def run_cli(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code (tests call this directly)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    command = typer.main.get_command(app)
    try:
        # standalone mode: click shows usage errors itself (exit 2) and exits via SystemExit
        command.main(args=args, prog_name="trademl", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except (TradeMLError, ValueError, FileNotFoundError, IsADirectoryError) as exc:
        if debug:
            raise
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return 2
    except Exception as exc:  # noqa: BLE001 - the last line of defence for users
        if debug:
            raise
        err_console.print(
            f"[bold red]error:[/] {type(exc).__name__}: {exc} (run with --debug for details)",
            highlight=False,
            soft_wrap=True,
        )
        return 1
    return 0


def main() -> None:
    sys.exit(run_cli())
