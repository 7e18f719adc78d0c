"""`trademl models list|show|register|promote|rollback|lineage|verify|history` (MLflow registry)
and `trademl models cards` (the model zoo's cards)."""

from __future__ import annotations

from pathlib import Path

import typer

from trademl.cli._console import console, fail
from trademl.cli.experiments import URI_OPTION, configure_store, print_table
from trademl.cli.run import models_cards

models_app = typer.Typer(
    help="Registered models: versions, promotion, rollback, lineage, integrity.",
    no_args_is_help=True,
)
models_app.command("cards")(models_cards)


@models_app.command("list")
def list_command(tracking_uri: str | None = URI_OPTION) -> None:
    """Registered models with their champion, challenger and latest version."""
    import pandas as pd

    from trademl.tracking import list_models

    uri = configure_store(tracking_uri)
    rows = list_models()
    if not rows:
        console.print(f"no registered models in {uri}")
        return
    print_table(pd.DataFrame(rows).set_index("name"), title=f"registered models in {uri}")


@models_app.command("show")
def show_command(
    name: str = typer.Argument(..., help="Registered model name."),
    tracking_uri: str | None = URI_OPTION,
) -> None:
    """Every version of a model (stage, aliases, run, changelog) and its champion history."""
    import pandas as pd

    from trademl.tracking import champion_history, model_versions

    configure_store(tracking_uri)
    versions = pd.DataFrame(model_versions(name)).set_index("version")
    versions["aliases"] = versions["aliases"].map(", ".join)
    versions["run_id"] = versions["run_id"].str[:12]
    versions["created"] = versions["created"].str[:16].str.replace("T", " ")
    versions = versions.rename(columns={"parent_version": "parent"})
    if not versions["description"].str.len().any():
        versions = versions.drop(columns=["description"])
    print_table(versions, title=f"{name}: versions")
    _print_history(name, champion_history(name))


def _print_history(name: str, history: list[dict]) -> None:
    if not history:
        console.print(f"{name} has had no champion yet")
        return
    import pandas as pd

    frame = pd.DataFrame(history)
    if "forced" in frame.columns:
        forced = frame["forced"].fillna(False).astype(bool)
        frame.loc[forced, "reason"] = "FORCED: " + frame.loc[forced, "reason"].astype(str)
    frame = frame[["at", "event", "version", "previous", "reason"]]
    frame["previous"] = [
        f"v{int(p)}" if p == p and p is not None else "" for p in frame["previous"]
    ]
    print_table(frame.set_index("at"), title=f"{name}: champion history", max_width=60)


@models_app.command("history")
def history_command(
    name: str = typer.Argument(..., help="Registered model name."),
    tracking_uri: str | None = URI_OPTION,
) -> None:
    """The champion history of a model: promotions and rollbacks with their reasons."""
    from trademl.tracking import champion_history

    configure_store(tracking_uri)
    _print_history(name, champion_history(name))


@models_app.command("register")
def register_command(
    run_id: str = typer.Argument(..., help="Run that logged the model."),
    name: str = typer.Argument(..., help="Registered model name."),
    description: str = typer.Option("", "--description", "-d", help="What this version is."),
    changelog: str = typer.Option("", "--changelog", "-c", help="What changed since its parent."),
    artifact: str = typer.Option("model", "--artifact", help="Name the model was logged under."),
    tracking_uri: str | None = URI_OPTION,
) -> None:
    """Register the model logged on a run as a new version (stage: development)."""
    from trademl.tracking import register_model

    configure_store(tracking_uri)
    version = register_model(
        run_id, name, description=description, changelog=changelog, artifact_name=artifact
    )
    console.print(f"registered {name} v{version} from run {run_id} (stage: development)")


@models_app.command("promote")
def promote_command(
    name: str = typer.Argument(..., help="Registered model name."),
    version: int = typer.Argument(..., help="Version to promote."),
    to: str = typer.Option("production", "--to", help="production (champion) or staging."),
    spec: Path | None = typer.Option(
        None,
        "--spec",
        help="Check this spec's tracking.gates instead of those the version's run logged.",
    ),
    force: bool = typer.Option(
        False, "--force", help="Skip every gate and check; needs --reason (kept in the registry)."
    ),
    reason: str = typer.Option("", "--reason", help="Why (kept in the champion history)."),
    tracking_uri: str | None = URI_OPTION,
) -> None:
    """Promote a version if it passes its run's quality gates (or --spec's); refuse naming
    the failed gate. A degenerate model is refused too; --force --reason TEXT skips it all."""
    from trademl.config import load_spec
    from trademl.tracking import promote

    if force and not reason.strip():
        raise fail("--force needs --reason TEXT: why the gates are skipped is kept in the registry")
    configure_store(tracking_uri, spec)
    gates = load_spec(spec).tracking.gates if spec is not None else None
    outcome = promote(name, version, gates, stage=to, reason=reason, force=force)
    source = f"from {spec}" if spec is not None else "logged by the version's run"
    console.print(
        f"  quality gates {source}:" if outcome["gates"] else f"  no quality gates {source}",
        highlight=False,
        soft_wrap=True,
    )
    for gate in outcome["gates"]:
        threshold = gate["threshold"]
        shown = f"{threshold:.6g}" if isinstance(threshold, float) else threshold
        note = f" ({gate['note']})" if gate["note"] else ""
        value = "n/a" if gate["value"] is None else f"{gate['value']:.6g}"
        verdict = "[green]passed[/]" if gate["passed"] else "[bold red]failed[/]"
        console.print(
            f"  gate {gate['gate']} {gate['bound']} {shown}{note}: value {value} {verdict}",
            highlight=False,
        )
    if outcome["forced"]:
        skipped = outcome["skipped"] or "nothing failed"
        console.print(f"  [bold yellow]forced[/] ({reason}); skipped: {skipped}", highlight=False)
    alias = "champion" if to == "production" else "challenger"
    previous = outcome.get("previous")
    note = f" (was v{previous})" if previous not in (None, version) else ""
    console.print(f"{name} v{version} is now {to} ({alias}){note}")


@models_app.command("rollback")
def rollback_command(
    name: str = typer.Argument(..., help="Registered model name."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the champion history)."),
    tracking_uri: str | None = URI_OPTION,
) -> None:
    """Put the previous champion back and archive the current one."""
    from trademl.tracking import champion_version, rollback

    configure_store(tracking_uri)
    current = champion_version(name)
    restored = rollback(name, reason)
    console.print(f"{name}: champion v{current} rolled back to v{restored} ({reason})")


@models_app.command("lineage")
def lineage_command(
    name: str = typer.Argument(..., help="Registered model name."),
    version: int = typer.Argument(..., help="Model version."),
    tracking_uri: str | None = URI_OPTION,
) -> None:
    """Print the chain: version -> run -> spec -> dataset -> code -> parent versions."""
    from trademl.tracking.lineage import format_lineage, lineage

    configure_store(tracking_uri)
    for line in format_lineage(lineage(name, version)):
        console.print(line, highlight=False, soft_wrap=True)


@models_app.command("verify")
def verify_command(
    name: str = typer.Argument(..., help="Registered model name."),
    version: int = typer.Argument(..., help="Model version."),
    tracking_uri: str | None = URI_OPTION,
    allow_unsigned: bool = typer.Option(
        False, "--allow-unsigned", help="Accept a version whose manifest has no signature."
    ),
) -> None:
    """Check a version's manifest signature and every file against its recorded SHA-256."""
    from trademl.tracking import verify

    configure_store(tracking_uri)
    report = verify(name, version, allow_unsigned=allow_unsigned)
    signature = "manifest signature valid" if report["signed"] else "manifest UNSIGNED"
    console.print(
        f"{name} v{version}: {signature}, {report['files']} files match their recorded SHA-256"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands and groups to the root app."""
    app.add_typer(models_app, name="models")
