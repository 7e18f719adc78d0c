"""`trademl examples list|copy`: the example specs installed with the package."""

from __future__ import annotations

from pathlib import Path

import typer

from trademl.cli._console import console, fail

examples_app = typer.Typer(
    help="Example experiment specs shipped with trademl: list them, copy one to edit.",
    no_args_is_help=True,
)


@examples_app.command("list")
def list_command() -> None:
    """Name and purpose of every shipped example spec."""
    from rich.table import Table

    from trademl.examples import example_names, example_summary

    table = Table(title="trademl examples (trademl examples copy NAME DEST)")
    table.add_column("name", no_wrap=True)
    table.add_column("what it runs", overflow="fold")
    for name in example_names():
        table.add_row(name, example_summary(name))
    console.print(table)


@examples_app.command("copy")
def copy_command(
    name: str = typer.Argument(..., help="Example name (see `trademl examples list`)."),
    dest: Path = typer.Argument(
        Path("."), help="Folder to copy into, or the new file's path (default: here)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Copy an example spec to DEST, ready to edit and `trademl run`."""
    from trademl.examples import example_path

    try:
        source = example_path(name)
    except ValueError as exc:
        raise fail(str(exc)) from None
    target = dest / source.name if dest.is_dir() else dest
    if target.suffix not in (".yaml", ".yml"):
        raise fail(f"{target}: the copy must end in .yaml or .yml (or name a folder)")
    if target.exists() and not force:
        raise fail(f"{target} exists; pass --force to overwrite it")
    if not target.parent.is_dir():
        raise fail(f"{target.parent}: folder not found")
    text = source.read_text(encoding="utf-8")
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(target)  # a half-written spec never stands under the real name
    console.print(f"copied example {source.stem} to {target}; run it with: trademl run {target}")


def register(app: typer.Typer) -> None:
    """Add the `examples` group to the root app."""
    app.add_typer(examples_app, name="examples")
