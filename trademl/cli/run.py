"""``trademl run SPEC.yaml`` (the end-to-end experiment) and ``trademl models cards``.

Only typer is imported at the top; the pipeline and the model zoo load when a command runs.
"""

from __future__ import annotations

from pathlib import Path

import typer

from trademl.cli._console import console

__all__ = ["models_cards", "register", "run_command"]


def run_command(
    spec: Path = typer.Argument(..., help="Experiment spec (YAML)."),
    trials: int | None = typer.Option(None, "--trials", "-n", help="Override tuning.n_trials."),
    n_jobs: int | None = typer.Option(None, "--jobs", "-j", help="Override tuning.n_jobs."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No live progress display."),
    nproc: int | None = typer.Option(
        None, "--nproc", help="Data-parallel processes per network fit (deep models; torchrun)."
    ),
) -> None:
    """Run an experiment: data → features → labels → tuning → holdout → MLflow → registry."""
    from trademl.cli._progress import RunDisplay
    from trademl.config import load_spec
    from trademl.pipeline import run, summary_notes, summary_table

    loaded = load_spec(spec)
    if trials is not None or n_jobs is not None:
        # through load_spec again, so an override is checked and reported like the file
        raw = loaded.model_dump(mode="json", exclude_defaults=True)
        changes = {"n_trials": trials, "n_jobs": n_jobs}
        raw["tuning"] = raw.get("tuning", {}) | {k: v for k, v in changes.items() if v is not None}
        loaded = load_spec(raw)
    if nproc is not None:
        # model.params.nproc, checked against the model's card like the file's own params
        raw = loaded.model_dump(mode="json", exclude_defaults=True)
        raw.setdefault("model", {"kind": loaded.model.kind})
        raw["model"]["params"] = raw["model"].get("params", {}) | {"nproc": nproc}
        loaded = load_spec(raw)
    display = RunDisplay(console=console, live=not no_progress)
    with display.show():
        result = run(loaded, progress=display, base_dir=spec.resolve().parent)
    console.print(summary_table(result))
    for item, text in summary_notes(result):
        style = "bold red" if item == "DEGENERATE MODEL" else "bold"
        console.print(f"[{style}]{item}[/]: {text}", highlight=False, soft_wrap=False)


def models_cards(
    regime: str | None = typer.Option(None, "--regime", help="Only models suited to a regime."),
    kind: str | None = typer.Option(None, "--kind", help="Show one model's full card."),
) -> None:
    """List the model cards: purpose, tasks, regimes, default search space."""
    import json

    from rich.table import Table

    from trademl.models import card, cards, for_regime

    if kind is not None:
        console.print_json(json.dumps(card(kind).to_dict()))
        return
    selected = for_regime(regime) if regime else cards()
    table = Table(title="trademl model cards" + (f" (regime: {regime})" if regime else ""))
    for column in ("kind", "tasks", "regimes", "early stop", "purpose", "search space"):
        table.add_column(column, overflow="fold")
    for c in selected:
        table.add_row(
            c.kind,
            ", ".join(c.tasks),
            ", ".join(c.regimes),
            "yes" if c.early_stopping else "no",
            c.purpose,
            ", ".join(c.search_space),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``run`` to the root app (``models cards`` is attached by trademl.cli.models)."""
    app.command("run")(run_command)
