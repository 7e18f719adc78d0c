"""`trademl monitor` (check | drift | status | replay) and `trademl alerts` (list | ack | resolve).

The store is chosen by ``trademl.monitoring.resolve_db_url``: ``--db``, else
``$TRADEML_MONITOR_DB``, else ``monitoring.db_url`` of ``--spec``, else
``trademl_monitor.db`` in the working directory. Library imports happen inside the
commands so ``trademl --help`` stays instant.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import typer

from trademl.cli._console import console, err_console, fail

# exit code of `monitor check` (not healthy) and `monitor drift` (drift found); 1 and 2
# keep their meaning (a failure while working, bad input)
FINDINGS_EXIT = 3
NO_FAIL_OPTION = typer.Option(
    False, "--no-fail", help="Report findings but exit 0 (default: exit 3 when there are any)."
)

monitor_app = typer.Typer(
    help="Check live models: performance, drift, health.", no_args_is_help=True
)
alerts_app = typer.Typer(
    help="List, acknowledge and resolve monitoring alerts.", no_args_is_help=True
)

DB_OPTION = typer.Option(
    None,
    "--db",
    help="Store URL or SQLite path (else $TRADEML_MONITOR_DB, else the spec's "
    "monitoring.db_url, else ./trademl_monitor.db).",
)
SPEC_OPTION = typer.Option(None, "--spec", help="Experiment spec YAML (its monitoring: section).")
_STATUS_STYLE = {"healthy": "green", "degraded": "yellow", "failing": "bold red"}
_SEVERITY_STYLE = {"info": "cyan", "warning": "yellow", "critical": "bold red"}


def _experiment(spec_path: Path | None):
    from trademl.config import load_spec

    return load_spec(spec_path) if spec_path else None


def _spec(spec_path: Path | None):
    from trademl.config.monitoring import MonitoringSpec

    experiment = _experiment(spec_path)
    return experiment.monitoring if experiment is not None else MonitoringSpec()


def _store(db: str | None, spec):
    from trademl.monitoring.store import open_store, resolve_db_url

    return open_store(resolve_db_url(db, spec=spec))


def _read_feature_table(path: Path):
    """A table of feature columns: the time column is not a feature."""
    from trademl.data.io import read_table

    frame = read_table(path)
    return frame.drop(columns=[c for c in ("timestamp", "date", "time") if c in frame.columns])


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return "-"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if number != number:
        return "-"
    return f"{number:.{digits}g}"


def drift_table(report, *, limit: int | None = None):
    from rich.table import Table

    table = Table(title="Per-feature drift (KS / PSI / Wasserstein; chi-square for categories)")
    for column in (
        "feature",
        "kind",
        "n_cur",
        "ks",
        "psi",
        "wasserstein/std",
        "p",
        "q (BH)",
        "drift",
    ):
        table.add_column(
            column,
            justify="left" if column in ("feature", "kind") else "right",
            no_wrap=column == "feature",
        )
    rows = report.table.sort_values(["drifted", "psi"], ascending=False)
    for name, row in list(rows.iterrows())[:limit]:
        table.add_row(
            str(name),
            str(row["kind"]),
            _fmt(row["n_cur"], 8),
            _fmt(row["ks"], 3),
            _fmt(row["psi"], 3),
            _fmt(row["wasserstein_std"], 3),
            _fmt(row["pvalue"], 3),
            _fmt(row["qvalue"], 3),
            "[bold red]yes[/]" if row["drifted"] else "no",
        )
    return table


def _drift_summary(report) -> str:
    verdict = "[bold red]DRIFT[/]" if report.drift_detected else "[green]no drift beyond chance[/]"
    return (
        f"{verdict}: {report.n_drifted}/{report.n_features} features drifted after "
        f"Benjamini-Hochberg (alpha={report.alpha:g}); {report.n_raw_significant} raw "
        f"p<alpha vs {report.alpha * report.n_features:.1f} expected by chance "
        f"(binomial p={report.share_pvalue:.2g})"
    )


def check(
    model: str = typer.Option(..., "--model", "-m", help="Model name as logged in the store."),
    since: str = typer.Option("24h", "--since", help="Window to check, e.g. 30m, 24h, 7d."),
    version: str = typer.Option(None, "--version", help="Model version (default: latest)."),
    rules: Path = typer.Option(None, "--rules", help="Alert rules YAML (default: shipped rules)."),
    db: str = DB_OPTION,
    spec_path: Path = SPEC_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    no_fail: bool = NO_FAIL_OPTION,
) -> None:
    """Run performance, drift, concept-drift and anomaly checks and raise alerts per the rules.

    Exit code 0 when the model is healthy, 3 when it is degraded or failing (so cron or CI
    can gate on it; --no-fail reports without failing), 2 for bad input, 1 for errors.
    """
    from trademl.monitoring.check import build_engine, run_check

    experiment = _experiment(spec_path)
    spec = _spec(None) if experiment is None else experiment.monitoring
    store = _store(db, spec)
    engine = build_engine(store, spec, rules_path=str(rules) if rules else None)
    result = run_check(
        store, model, since=since, version=version, spec=spec, engine=engine,
        backtest=None if experiment is None else experiment.backtest,
    )  # fmt: skip
    if as_json:
        typer.echo(json.dumps(result.to_dict(), default=str, indent=2))
    else:
        _print_check(result)
    if result.status != "healthy" and not no_fail:
        raise typer.Exit(FINDINGS_EXIT)


def _print_check(result) -> None:
    from rich.panel import Panel
    from rich.table import Table

    style = _STATUS_STYLE[result.status]
    lines = [
        f"[{style}]{result.status.upper()}[/]  model {result.model} v{result.version}",
        f"window {result.window_start:%Y-%m-%d %H:%M} -> {result.checked_at:%Y-%m-%d %H:%M} UTC: "
        f"{result.n_predictions} predictions, {result.n_outcomes} with outcomes",
        *[f"- {reason}" for reason in result.reasons],
    ]
    console.print(Panel("\n".join(lines), title="trademl monitor check"))
    if result.metrics:
        table = Table(title="Performance (window) vs validation baseline")
        for column in ("metric", "live", "baseline", "drop"):
            table.add_column(column, justify="left" if column == "metric" else "right")
        for name, value in result.metrics.items():
            if name in ("n", "periods_per_year"):
                continue
            drop = result.facts.get(f"performance.{name}.drop_vs_baseline")
            table.add_row(name, _fmt(value), _fmt(result.baseline.get(name)), _fmt(drop, 3))
        console.print(table)
    for title, report in (
        ("features", result.drift),
        ("predictions", result.prediction_drift),
        ("labels", result.label_drift),
    ):
        if report is not None:
            console.print(f"[bold]{title}[/]: {_drift_summary(report)}")
    if result.drift is not None and result.drift.n_drifted:
        console.print(drift_table(result.drift, limit=15))
    for point in result.change_points:
        console.print(
            f"concept drift ({point.detector}): error rate {point.mean_before:.3f} -> "
            f"{point.mean_after:.3f}, change began ~{point.estimated_start:%Y-%m-%d %H:%M}, "
            f"detected {point.detected_at:%Y-%m-%d %H:%M}"
        )
    if result.anomaly:
        a = result.anomaly
        console.print(
            f"prediction anomalies: {a['n_anomalous']}/{a['n']} ({a['share']:.1%}; reference "
            f"{a['expected_share']:.1%}, p={a['share_pvalue']:.2g})"
        )
    for action in result.alerts:
        sev = _SEVERITY_STYLE.get(action["severity"], "white")
        sent = ", ".join(f"{k}: {v}" for k, v in action["delivered"].items())
        console.print(
            f"alert #{action['alert_id']} [{sev}]{action['severity']}[/] {action['rule']}: "
            f"{action['action']}" + (f" ({sent})" if sent else ""),
            highlight=False,
        )


def _check_drift_inputs(ref, cur, categorical: list[str], reference: Path, current: Path):
    """Refuse what would otherwise read as "no drift": columns on one side only, a column
    with no values, a --categorical column that does not exist."""
    from trademl.errors import DataError

    missing = [c for c in ref.columns if c not in cur.columns]
    if missing:
        raise DataError(f"{current}: missing column(s) {missing} of the reference {reference}")
    extra = [c for c in cur.columns if c not in ref.columns]
    if extra:
        raise DataError(f"{current}: column(s) {extra} not in the reference {reference}")
    unknown = [c for c in categorical if c not in ref.columns]
    if unknown:
        raise DataError(f"--categorical {', '.join(unknown)}: no such column in {reference}")
    for path, frame in ((reference, ref), (current, cur)):
        empty = [c for c in frame.columns if frame[c].isna().all()]
        if empty:
            raise DataError(f"{path}: column(s) {empty} hold no values (all NaN)")


def drift(
    reference: Path = typer.Argument(..., help="Reference data (.csv, .csv.gz, .parquet)."),
    current: Path = typer.Argument(..., help="Current data with the same columns."),
    alpha: float = typer.Option(0.01, "--alpha", help="Significance level (after BH)."),
    bins: int = typer.Option(10, "--bins", help="PSI bins (reference quantiles)."),
    categorical: list[str] = typer.Option(
        None, "--categorical", help="Treat column as categorical."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    no_fail: bool = NO_FAIL_OPTION,
) -> None:
    """Compare two data files feature by feature (KS, PSI, Wasserstein, chi-square).

    Exit code 0 when no drift beyond chance is found, 3 when it is (--no-fail: 0).
    """
    from trademl.monitoring.drift import detect_drift

    ref, cur = _read_feature_table(reference), _read_feature_table(current)
    _check_drift_inputs(ref, cur, categorical or [], reference, current)
    report = detect_drift(ref, cur, alpha=alpha, psi_bins=bins, categorical=categorical or None)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), default=str, indent=2))
    else:
        console.print(drift_table(report))
        console.print(_drift_summary(report))
    if report.drift_detected and not no_fail:
        raise typer.Exit(FINDINGS_EXIT)


def status(db: str = DB_OPTION, spec_path: Path = SPEC_OPTION) -> None:
    """Health of every monitored model (from the latest check) and its open alerts."""
    from rich.table import Table

    spec = _spec(spec_path)
    store = _store(db, spec)
    health = store.health()
    active = _active_alerts(store)
    table = Table(title=f"Monitored models ({store.url})")
    for column in (
        "model",
        "version",
        "status",
        "checked",
        "last prediction",
        "active alerts",
        "reasons",
    ):
        table.add_column(column, no_wrap=column == "active alerts")
    known = {m for m, _ in store.models()}
    rows = {r["model"]: r for r in health.to_dict(orient="records")}
    for model in sorted(known | set(rows)):
        row = rows.get(model)
        last = store.last_prediction_time(model)
        mine = active[active["model"] == model] if len(active) else active
        acked = int((mine["state"] == "acknowledged").sum()) if len(mine) else 0
        count = f"{len(mine)}" + (f" ({acked} acked)" if acked else "")
        state = row["status"] if row else "unchecked"
        table.add_row(
            model,
            row["version"] if row else "-",
            f"[{_STATUS_STYLE.get(state, 'white')}]{state}[/]",
            f"{row['checked_at']:%Y-%m-%d %H:%M}" if row else "-",
            f"{last:%Y-%m-%d %H:%M}" if last is not None else "-",
            count,
            "; ".join(row["reasons"][:2]) + (" ..." if row and len(row["reasons"]) > 2 else "")
            if row
            else "",
        )
    console.print(table)
    if not known and not rows:
        console.print("no monitored models yet: log predictions with MonitorStore.log_predictions")


def replay(
    run_id: str = typer.Option(..., "--run-id", help="MLflow run id of a `trademl run`."),
    db: str = DB_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Write a run's holdout into the store, re-score it, compare with the baseline.

    Every baseline metric must be reproduced to 1e-9 (relative to max(1, |baseline|));
    otherwise the command names the metric and exits with code 1.
    """
    from rich.table import Table

    from trademl.monitoring.replay import replay_run

    store = _store(db, None)
    try:
        result = replay_run(run_id, store)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(result.to_dict(), default=str, indent=2))
    else:
        console.print(
            f"replayed run {result.run_id}: {result.rows} predictions of "
            f"{result.model} v{result.version} (version from the {result.source}) into "
            f"{store.url}; {result.periods_per_year:g} periods per year",
            highlight=False,
        )
        for note in result.notes:
            console.print(f"[yellow]note[/]: {note}", highlight=False)
        table = Table(title=f"baseline ({result.baseline_source}) vs replay")
        for column in ("metric", "baseline", "replayed", "difference", ""):
            table.add_column(column, justify="left" if column == "metric" else "right")
        for row in result.comparisons:
            table.add_row(
                row.name,
                f"{row.baseline:.10g}",
                "-" if row.replayed is None else f"{row.replayed:.10g}",
                "-" if row.difference is None else f"{row.difference:.3g}",
                "[green]ok[/]" if row.ok else "[bold red]MISMATCH[/]",
            )
        console.print(table)
        style = _STATUS_STYLE.get(result.status, "white")
        console.print(f"health: [{style}]{result.status}[/]", highlight=False)
        for reason in result.reasons:
            console.print(f"- {reason}", highlight=False)
    if not result.comparisons:
        err_console.print("[bold red]no baseline metric to compare[/]")
        raise typer.Exit(1)
    if result.mismatched:
        err_console.print(
            f"[bold red]inconsistent[/]: {', '.join(result.mismatched)} differ(s) from the "
            f"baseline by more than {result.tolerance:g}",
            highlight=False,
        )
        raise typer.Exit(1)


# `alerts list --state`: "active" is every alert not yet resolved (open or acknowledged)
ALERT_LIST_STATES = ("active", "open", "acknowledged", "resolved", "all")
ACTIVE_STATES = ("open", "acknowledged")


def _active_alerts(store, model: str | None = None):
    frame = store.alerts(model=model)
    return frame[frame["state"].isin(ACTIVE_STATES)]


def list_alerts(
    state: str = typer.Option(
        "active",
        "--state",
        help="active (open or acknowledged, the default), open, acknowledged, resolved or all.",
    ),
    model: str = typer.Option(None, "--model", "-m", help="Only this model."),
    db: str = DB_OPTION,
    spec_path: Path = SPEC_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List alerts; by default the active ones: open, and acknowledged (until resolved)."""
    from rich.table import Table

    from trademl.monitoring._time import from_ns

    if state not in ALERT_LIST_STATES:
        raise fail(f"--state {state!r} is not a state; choose from {', '.join(ALERT_LIST_STATES)}")
    store = _store(db, _spec(spec_path))
    if state == "active":
        frame = _active_alerts(store, model)
    else:
        frame = store.alerts(state=None if state == "all" else state, model=model)
    if as_json:
        typer.echo(frame.to_json(orient="records"))
        return
    table = Table(title=f"Alerts ({state})")
    for column in ("id", "severity", "state", "model", "rule", "count", "first seen", "by"):
        table.add_column(column, no_wrap=column != "first seen")
    table.add_column("message", overflow="fold", ratio=1)
    for row in frame.to_dict(orient="records"):
        who = row["resolved_by"] or row["acked_by"] or ""
        table.add_row(
            str(row["id"]),
            f"[{_SEVERITY_STYLE.get(row['severity'], 'white')}]{row['severity']}[/]",
            row["state"],
            row["model"],
            row["rule"],
            str(row["count"]),
            f"{from_ns(int(row['first_ns'])):%Y-%m-%d %H:%M}",
            str(who if who == who else ""),
            row["message"].split(" [", 1)[0][:120],
        )
    console.print(table)


def _set_state(alert_id: int, state: str, by: str | None, note: str | None, db, spec_path):
    store = _store(db, _spec(spec_path))
    alert = store.set_alert_state(alert_id, state, actor=by or getpass.getuser(), detail=note)
    who = alert["acked_by"] if state == "acknowledged" else alert["resolved_by"]
    console.print(f"alert #{alert_id} ({alert['rule']}, {alert['model']}) {state} by {who}")


def ack(
    alert_id: int = typer.Argument(..., help="Alert id (see `trademl alerts list`)."),
    by: str = typer.Option(None, "--by", help="Who acknowledges (default: current user)."),
    note: str = typer.Option(None, "--note", help="A note kept in the alert history."),
    db: str = DB_OPTION,
    spec_path: Path = SPEC_OPTION,
) -> None:
    """Acknowledge an alert: it is no longer escalated, but stays active until resolved
    (listed by `alerts list` with state acknowledged, counted by `monitor status`)."""
    _set_state(alert_id, "acknowledged", by, note, db, spec_path)


def resolve(
    alert_id: int = typer.Argument(..., help="Alert id (see `trademl alerts list`)."),
    by: str = typer.Option(None, "--by", help="Who resolves (default: current user)."),
    note: str = typer.Option(None, "--note", help="A note kept in the alert history."),
    db: str = DB_OPTION,
    spec_path: Path = SPEC_OPTION,
) -> None:
    """Resolve an alert (the rule's cooldown starts now)."""
    _set_state(alert_id, "resolved", by, note, db, spec_path)


monitor_app.command("check")(check)
monitor_app.command("drift")(drift)
monitor_app.command("status")(status)
monitor_app.command("replay")(replay)
alerts_app.command("list")(list_alerts)
alerts_app.command("ack")(ack)
alerts_app.command("resolve")(resolve)


def register(app: typer.Typer) -> None:
    """Add the `monitor` and `alerts` groups to the root app."""
    app.add_typer(monitor_app, name="monitor")
    app.add_typer(alerts_app, name="alerts")
