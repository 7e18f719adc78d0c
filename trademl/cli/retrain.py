"""`trademl retrain` (now | history | status, or --daemon) and `trademl challenge`.

Which spec a job trains with: ``--spec``, else the spec stored with the champion's run
(the same experiment on whatever data its ``data`` section names now). The store of
decisions and jobs is the monitoring store (``--db``, else ``$TRADEML_MONITOR_DB``, else
the spec's ``monitoring.db_url``).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from trademl.cli._console import console, fail

retrain_app = typer.Typer(
    help="Retrain models on triggers (schedule, degradation, drift, new bars) or by hand.",
    invoke_without_command=True,
)

DB_OPTION = typer.Option(None, "--db", help="Monitoring store URL or SQLite path.")


def _load(spec_path: Path | None, model: str | None, tracking_uri: str | None):
    """(spec, base_dir) of a job: the file given, else the champion run's stored spec."""
    from trademl.config import load_spec

    if spec_path is not None:
        spec = load_spec(spec_path)
        if model is not None and (spec.retraining.model or spec.tracking.model_name) not in (
            None,
            model,
        ):
            raise fail(f"--model {model!r} differs from the model {spec_path} retrains")
        if model is not None and spec.retraining.model is None:
            spec.retraining.model = model
        return spec, spec_path.resolve().parent
    if model is None:
        raise fail("say which model: --model NAME (or --spec SPEC)")
    from trademl import tracking
    from trademl.config.tracking import TrackingSpec
    from trademl.lifecycle.challenge import stored_spec
    from trademl.tracking import registry

    tracking.configure(TrackingSpec(uri=tracking_uri) if tracking_uri else TrackingSpec())
    champion = registry.champion_version(model)
    if champion is None:
        raise fail(f"model {model!r} has no champion; give --spec SPEC for its first training")
    spec = stored_spec(registry._get_version(model, champion).run_id)
    if tracking_uri:
        spec.tracking.uri = tracking_uri
    spec.retraining.model = model
    return spec, Path.cwd()


def _store(db: str | None, spec):
    from trademl.monitoring.store import open_store, resolve_db_url

    return open_store(resolve_db_url(db, spec=spec.monitoring if spec is not None else None))


@retrain_app.callback()
def retrain_root(
    ctx: typer.Context,
    daemon: bool = typer.Option(False, "--daemon", help="Run the scheduler until stopped."),
    spec_path: Path | None = typer.Option(None, "--spec", help="Experiment spec with retraining:."),
    once: bool = typer.Option(False, "--once", help="With --daemon: one tick, then exit."),
    db: str | None = DB_OPTION,
) -> None:
    """Retraining: `retrain now`, `retrain history`, `retrain status`, `retrain --daemon`."""
    if ctx.invoked_subcommand is not None:
        if daemon:
            raise fail("--daemon runs the scheduler; it takes no subcommand")
        return
    if not daemon:
        console.print(ctx.get_help())
        raise typer.Exit(0)
    if spec_path is None:
        raise fail("--daemon needs --spec SPEC (its retraining: section)")
    from trademl.lifecycle.scheduler import run_daemon

    spec, base = _load(spec_path, None, None)
    store = _store(db, spec)

    def show(result) -> None:
        for decision in result.decisions:
            mark = "[green]fired[/]" if decision.fired else "[dim]no[/]"
            console.print(
                f"{result.model} {decision.trigger}: {mark} - {decision.reason}", soft_wrap=True
            )
        if result.skipped:
            console.print(f"{result.model}: skipped - {result.skipped}")
        for job_id in result.failed_stale:
            console.print(f"job {job_id}: marked failed (its process stopped)")
        if result.job is not None:
            console.print(
                f"job {result.job.job_id}: {result.job.state} - {result.job.message}",
                soft_wrap=True,
            )

    try:
        run_daemon(spec, store, once=once, base_dir=base, on_tick=show)
    finally:
        store.close()


@retrain_app.command("now")
def retrain_now_command(
    model: str | None = typer.Option(None, "--model", "-m", help="Registered model name."),
    reason: str = typer.Option("manual", "--reason", help="Why (kept with the job)."),
    spec_path: Path | None = typer.Option(
        None, "--spec", help="Spec to train (default: the champion's)."
    ),
    db: str | None = DB_OPTION,
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow store URI."),
) -> None:
    """Retrain a model now: challenger, offline test, promotion through the gates."""
    from trademl.lifecycle.scheduler import retrain_now

    spec, base = _load(spec_path, model, tracking_uri)
    store = _store(db, spec)
    try:
        result = retrain_now(spec, store, reason=reason, base_dir=base)
    finally:
        store.close()
    console.print(f"job {result.job_id}: {result.state} - {result.message}", soft_wrap=True)


@retrain_app.command("history")
def retrain_history_command(
    model: str | None = typer.Option(None, "--model", "-m", help="Only this model."),
    limit: int = typer.Option(50, "--limit", min=1, help="Newest decisions shown."),
    spec_path: Path | None = typer.Option(None, "--spec", help="Spec (its monitoring store)."),
    db: str | None = DB_OPTION,
) -> None:
    """Every trigger decision, fired or not, with its reason."""
    from rich.table import Table

    from trademl.config import load_spec
    from trademl.lifecycle.journal import Journal

    store = _store(db, load_spec(spec_path) if spec_path else None)
    try:
        frame = Journal(store).decisions(model, limit=limit)
    finally:
        store.close()
    if frame.empty:
        console.print(f"no retraining decisions recorded{f' for {model!r}' if model else ''}")
        return
    # with --model the model column says nothing; the reason takes what width is left
    title = f"Retraining decisions of {model} (newest first)" if model else None
    table = Table(title=title or "Retraining decisions (newest first)")
    fixed = (
        ("at", "trigger", "fired", "job") if model else ("at", "model", "trigger", "fired", "job")
    )
    for column in fixed:
        table.add_column(column, no_wrap=True)
    table.add_column("reason", overflow="fold")
    for row in frame.itertuples():
        job = "" if row.job_id is None or row.job_id != row.job_id else str(int(row.job_id))
        cells = [row.at.strftime("%Y-%m-%d %H:%M"), row.trigger, "yes" if row.fired else "no", job]
        if not model:
            cells.insert(1, row.model)
        table.add_row(*cells, row.reason)
    console.print(table)


@retrain_app.command("status")
def retrain_status_command(
    model: str | None = typer.Option(None, "--model", "-m", help="Only this model."),
    spec_path: Path | None = typer.Option(None, "--spec", help="Spec (its monitoring store)."),
    db: str | None = DB_OPTION,
    limit: int = typer.Option(20, "--limit", min=1, help="Newest jobs shown."),
) -> None:
    """Retraining jobs and their states (running ones first)."""
    from rich.table import Table

    from trademl.config import load_spec
    from trademl.lifecycle.journal import Journal

    store = _store(db, load_spec(spec_path) if spec_path else None)
    try:
        frame = Journal(store).jobs(model, limit=limit)
    finally:
        store.close()
    if frame.empty:
        console.print("no retraining jobs yet")
        return
    table = Table(title="Retraining jobs (newest first)")
    for column in ("job", "model", "state", "versions", "updated"):
        table.add_column(column, no_wrap=True)
    table.add_column("what", overflow="fold")
    for row in frame.itertuples():
        what = row.detail.get("message") or row.detail.get("error") or row.reason
        versions = f"v{row.champion_version or '-'} -> v{row.challenger_version or '?'}"
        table.add_row(str(row.id), row.model, row.state, versions,
                      row.updated_at.strftime("%m-%d %H:%M"), f"{row.trigger}: {what}")  # fmt: skip
    console.print(table)


@retrain_app.command("replay")
def retrain_replay_command(
    spec_path: Path = typer.Argument(..., help="Spec with a retraining.replay section."),
    out: Path = typer.Option(Path("lifecycle_replay"), "--out", "-o", help="Report folder."),
    force: bool = typer.Option(False, "--force", help="Replace an existing report."),
) -> None:
    """Replay history through prediction, monitoring and retraining on a fast clock."""
    from trademl.config import load_spec
    from trademl.lifecycle.replay import replay_lifecycle, write_report

    spec = load_spec(spec_path)
    if spec.retraining.replay is None:
        raise fail(f"{spec_path}: retraining.replay (start, end) is missing")
    existing = [n for n in ("events.csv", "lifecycle_report.html") if (out / n).exists()]
    if existing and not force:
        raise fail(f"{out}: {', '.join(existing)} exist; pass --force to replace them")
    seen = {"events": 0}

    def progress(clock, steps, events) -> None:
        for event in events[seen["events"] :]:
            version = f" v{event['version']}" if event["version"] is not None else ""
            console.print(
                f"{event['at']:%Y-%m-%d} {event['kind']}{version}: {event['detail']}",
                soft_wrap=True, highlight=False,
            )  # fmt: skip
        seen["events"] = len(events)

    result = replay_lifecycle(spec, base_dir=spec_path.resolve().parent, progress=progress)
    report = write_report(result, out, force=force)
    s = result.summary
    console.print(
        f"{result.steps} steps in {result.elapsed:.0f} s: {s['jobs']} jobs, {s['promoted']} promoted, "
        f"{s['rejected']} rejected, {s['failed']} failed, {s['rollbacks']} rollbacks",
        soft_wrap=True,
    )
    for column, label in (("retrained", "retrained champion"), ("never_retrained", "never retrained"),
                          ("buy_and_hold", "buy and hold")):  # fmt: skip
        f = s[column]
        console.print(
            f"  {label:<20} total {f['total_return']:+.1%}  Sharpe {f['sharpe']:+.2f}  "
            f"max drawdown {f['max_drawdown']:.1%}",
            highlight=False,
        )
    console.print(f"report: {report}")


def challenge_command(
    name: str = typer.Argument(..., help="Registered model name."),
    challenger: list[int] | None = typer.Option(
        None, "--challenger", "-c", help="Challenger version (repeat for several)."
    ),
    spec_path: Path | None = typer.Option(
        None, "--spec", help="Spec whose data is judged (default: the challenger run's)."
    ),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level."),
    as_json: bool = typer.Option(False, "--json", help="Print the verdict as JSON."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow store URI."),
) -> None:
    """Champion vs challenger(s) on the same out-of-sample bars: paired tests, a verdict."""
    from trademl import tracking
    from trademl.config import load_spec
    from trademl.config.tracking import TrackingSpec
    from trademl.lifecycle.challenge import challenge

    spec = load_spec(spec_path) if spec_path else None
    if spec is not None and tracking_uri is None:
        tracking.configure(spec.tracking)
    else:
        tracking.configure(TrackingSpec(uri=tracking_uri) if tracking_uri else TrackingSpec())
    base = spec_path.resolve().parent if spec_path else None
    result = challenge(name, challenger or None, spec=spec, base_dir=base, alpha=alpha)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    console.print(
        f"{name}: champion {result.champion} vs {', '.join(c.challenger for c in result.comparisons)}"
        f" on {result.n_bars:,} common bars {result.window_start[:10]} .. {result.window_end[:10]}"
    )
    for c in result.comparisons:
        console.print(
            f"  {c.challenger}: mean net return difference {c.mean_return_difference:+.3g}/bar "
            f"[{c.bootstrap['low']:+.3g}, {c.bootstrap['high']:+.3g}] "
            f"(95% block bootstrap), DM p={c.returns_test['p_value']:.3g}, "
            f"Holm p={c.p_value_adjusted:.3g}, effect size {c.effect_size:+.3f}; "
            f"loss DM p={c.loss_test['p_value']:.3g} -> {c.verdict}: {c.reason}"
        )
    verdict = result.verdict
    console.print(f"verdict: {'keep the champion' if verdict == 'champion' else verdict + ' wins'}")


def register(app: typer.Typer) -> None:
    app.add_typer(retrain_app, name="retrain")
    app.command("challenge")(challenge_command)
