"""``trademl explain --model NAME@champion``: why a registered model predicts what it does.

The package is loaded (verified before unpickling), the candles of the run that made it
(or ``--run-id``) rebuilt into its features, and the holdout explained: top features by
mean |SHAP|, a surrogate tree with its fidelity, one prediction (``--at``) by SHAP and
LIME, feature impact per month. Tables and plots go under ``-o DIR`` (never over an
existing file without ``--force``), to the model's MLflow run (``explain/``) and the
impact rows to the monitoring store, where ``trademl monitor check`` alerts on them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from trademl.cli._console import console, fail

__all__ = ["explain_command", "register"]

MethodOption = Literal["auto", "tree", "permutation"]
FormatOption = Literal["csv", "parquet"]


def _model_run(model: str) -> tuple[str | None, str | None, str]:
    """(registered name, version, run id) of a model URI."""
    from trademl.package import parse_model_uri
    from trademl.tracking import _store
    from trademl.tracking.integrity import resolve_version

    ref = parse_model_uri(model)
    if ref.run_id:
        return None, None, ref.run_id
    number = resolve_version(ref.name, alias=ref.alias, version=ref.version)
    version = _store.client().get_model_version(ref.name, str(number))
    return ref.name, str(number), version.run_id


def explain_command(
    model: str = typer.Option(
        ..., "--model", "-m", help="NAME@ALIAS, NAME/VERSION or runs:/RUN_ID."
    ),
    run_id: str | None = typer.Option(
        None, "--run-id", help="Run whose spec gives the data (default: the model's run)."
    ),
    at: str | None = typer.Option(
        None, "--at", help="Bar to explain locally (default: the last one of the data)."
    ),
    symbol: str | None = typer.Option(None, "--symbol", help="Symbol of the --at bar."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Folder for tables and plots."),
    fmt: FormatOption = typer.Option("csv", "--format", help="Table format: csv or parquet."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing files under -o."),
    method: MethodOption = typer.Option("auto", "--method", help="auto, tree or permutation."),
    background: int = typer.Option(500, "--background", help="Training rows as background."),
    rows: int | None = typer.Option(None, "--rows", help="Holdout rows explained (default all)."),
    threshold: float = typer.Option(
        0.10, "--threshold", help="Share change of a feature's impact that flags drift."
    ),
    depth: int = typer.Option(3, "--surrogate-depth", help="Depth of the surrogate tree."),
    top: int = typer.Option(10, "--top", help="Features printed."),
    seed: int = typer.Option(0, "--seed", help="Seed of LIME and the permutation explainer."),
    db: str | None = typer.Option(None, "--db", help="Monitoring store URL or SQLite file."),
    store: bool = typer.Option(True, "--store/--no-store", help="Write impact to the store."),
    served: bool = typer.Option(
        False, "--served", help="Also explain the version's served predictions in the store."
    ),
    log: bool = typer.Option(True, "--log/--no-log", help="Log the files to the model's run."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow store URI."),
) -> None:
    """Explain a registered model: SHAP, a surrogate tree, LIME, impact over time."""
    from trademl.explain import explain_package
    from trademl.explain.output import file_names, log_explanation, write_explanation
    from trademl.package import load_model
    from trademl.pipeline import load_frames
    from trademl.tracking.artifacts import read_spec

    if background < 1 or (rows is not None and rows < 1) or top < 1:
        raise fail("--background, --rows and --top must be positive")
    if out is not None and not force:
        existing = [n for n in file_names(fmt) if (out / n).exists()]
        if existing:
            raise fail(f"-o {out}: {existing[0]} exists; pass --force to overwrite")
    package = load_model(model, tracking_uri=tracking_uri)
    name, version, model_run = _model_run(model)
    name = name or package.name
    version = version or model_run
    spec = read_spec(run_id or model_run)
    frames = load_frames(spec)
    explanation = explain_package(
        package, frames, model_id=f"{name}/{version}", at=at, symbol=symbol, method=method,
        background=background, max_rows=rows, surrogate_depth=depth, threshold=threshold,
        seed=seed,
    )  # fmt: skip
    _print(explanation, name, version, top)
    if out is not None:
        written = write_explanation(explanation, out, fmt=fmt, force=force)
        console.print(f"wrote {len(written)} files to {out}")
    if store:
        from trademl.monitoring.store import open_store, resolve_db_url

        monitor = open_store(resolve_db_url(db, spec=spec))
        n = monitor.save_feature_impact(
            explanation.impact, model=name, version=version, source="holdout"
        )
        message = f"{n} holdout impact rows"
        if served:
            from trademl.explain.package import served_impact

            stored = monitor.predictions(name, version=version)
            impact = served_impact(
                package, stored, reference=explanation.reference, symbol=symbol,
                threshold=threshold,
            )  # fmt: skip
            k = monitor.save_feature_impact(impact, model=name, version=version, source="served")
            flagged = int(impact["drifted"].sum())
            message += f", {k} served ({flagged} flagged)"
        console.print(f"{message} written to the monitoring store {monitor.url}")
        monitor.close()
    if log:
        uri = log_explanation(explanation, model_run)
        console.print(f"logged to {uri}")


def _print(explanation, name: str, version: str, top: int) -> None:
    from rich.table import Table

    unit = {"log_odds": "log-odds of up", "raw": "prediction", "probability": "P(up)",
            "prediction": "prediction"}[explanation.output]  # fmt: skip
    cache = " (from cache)" if explanation.cached else ""
    console.print(
        f"[bold]{name} v{version}[/]: {len(explanation.shap.values):,} holdout rows explained "
        f"by {explanation.method} ({unit}){cache}"
    )
    table = Table(title=f"top {top} features by mean |SHAP|", title_justify="left")
    for column in ("feature", "mean |SHAP|", "share", "share on training rows"):
        table.add_column(column, justify="left" if column == "feature" else "right")
    for row in explanation.importance.head(top).itertuples():
        table.add_row(
            row.feature,
            f"{row.mean_abs_shap:.4g}",
            f"{row.share:.1%}",
            f"{row.reference_share:.1%}",
        )
    console.print(table)
    s = explanation.surrogate
    versus = (
        f" (always the model's majority class: {s.majority_agreement:.1%})"
        if s.majority_agreement is not None
        else ""
    )
    console.print(
        f"surrogate tree (depth {s.max_depth}): {s.fidelity_metric} {s.fidelity:.1%} with the "
        f"model on {s.n_holdout:,} held-out rows{versus}"
    )
    local = explanation.local.head(3)
    parts = ", ".join(f"{r.feature} {r.shap:+.3g}" for r in local.itertuples())
    console.print(
        f"{explanation.symbol} at {explanation.at:%Y-%m-%d %H:%M}: output "
        f"{explanation.local_output:.4g} = base {explanation.local_base:.4g} + contributions "
        f"(top: {parts}); LIME local R² {explanation.lime.score:.2f}"
    )
    impact = explanation.impact
    flagged = impact.loc[impact["drifted"]]
    console.print(
        f"impact over time: {impact['period'].nunique()} month(s), "
        f"{flagged['feature'].nunique()} feature(s) flagged"
        + (f" ({', '.join(flagged['feature'].unique()[:5])})" if len(flagged) else "")
    )
    for note in explanation.notes:
        console.print(f"[yellow]note:[/] {note}")


def register(app: typer.Typer) -> None:
    app.command("explain")(explain_command)
