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
    examples,
    experiments,
    explain,
    features,
    models,
    monitor,
    predict,
    regimes,
    retrain,
    run,
    serve,
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
    # an unsigned model loaded on request is already said in one log line; the Python
    # warning of the same text (with a source line) would say it twice
    import warnings

    from trademl.package.signing import UnsignedModelWarning

    warnings.filterwarnings("ignore", category=UnsignedModelWarning)
    # MLflow sets its own log level when imported (later, lazily); keep its INFO chatter
    # (schema creation, registration) out of a normal run
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", logging.getLevelName(level))


for _module in (
    data,
    demo,
    examples,
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
    retrain,
    serve,
):
    _module.register(app)


def _describe_os_error(exc: OSError) -> str | None:
    """One line naming the path for what the user can fix (a missing, unwritable or
    misplaced file); None for other OS errors."""
    from pathlib import Path

    path = exc.filename
    if isinstance(exc, FileExistsError | NotADirectoryError) and path is not None:
        blocking = next((p for p in (Path(path), *Path(path).parents) if p.is_file()), Path(path))
        return f"{blocking}: is a file where a folder is needed"
    if isinstance(exc, PermissionError):
        return f"{path}: permission denied (choose a writable location)"
    if isinstance(exc, FileNotFoundError | IsADirectoryError):
        return f"{path}: {exc.strerror.lower() if exc.strerror else exc}"
    if exc.errno in (30,):  # read-only file system
        return f"{path}: read-only file system (choose a writable location)"
    return None


def _usage_error(exc) -> int:
    """A usage error as the one red line every other error is (not typer's box)."""
    # typer vendors click privately; its errors share the public TyperException base
    if type(exc).__name__ == "NoArgsIsHelpError":
        typer.echo(exc.ctx.get_help())  # `trademl models` alone: show what it offers
        return exc.exit_code
    hint = ""
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        hint = f" (see '{ctx.command_path} --help')"
    err_console.print(
        f"[bold red]error:[/] {exc.format_message()}{hint}", highlight=False, soft_wrap=True
    )
    return exc.exit_code


def run_cli(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code (tests call this directly)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    command = typer.main.get_command(app)
    try:
        # not standalone: usage errors come back here and are shown as one line
        code = command.main(args=args, prog_name="trademl", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except typer.TyperException as exc:
        return _usage_error(exc)
    except typer.Abort:
        err_console.print("[bold red]error:[/] aborted", highlight=False)
        return 1
    except (TradeMLError, ValueError, OSError) as exc:
        if debug:
            raise
        message = _describe_os_error(exc) if isinstance(exc, OSError) else str(exc)
        if message is None:  # an OSError that is no fault of the input (disk full, network)
            err_console.print(
                f"[bold red]error:[/] {type(exc).__name__}: {exc} (run with --debug for details)",
                highlight=False,
                soft_wrap=True,
            )
            return 1
        # one line: pydantic and SQLAlchemy append notes after a newline
        message = " ".join(message.split()) if message.count("\n") > 5 else message
        err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
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
    return code if isinstance(code, int) else 0


def main() -> None:
    sys.exit(run_cli())
