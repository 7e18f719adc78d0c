"""`trademl experiments list|compare|best|cleanup` and `trademl ui` (MLflow imported inside)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import typer

from trademl.cli._console import FORCE_HELP, console, fail

experiments_app = typer.Typer(
    help="Find, compare and clean up tracked runs (MLflow).", no_args_is_help=True
)

URI_OPTION = typer.Option(
    None,
    "--tracking-uri",
    "-t",
    help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite:///mlruns.db here).",
)


def configure_store(tracking_uri: str | None, spec_path: Path | None = None) -> str:
    """Point trademl.tracking at the store a command should use; return its URI."""
    from trademl.config import load_spec
    from trademl.config.tracking import TrackingSpec
    from trademl.tracking import configure

    spec = load_spec(spec_path).tracking if spec_path is not None else TrackingSpec()
    if tracking_uri:
        spec = spec.model_copy(update={"uri": tracking_uri})
    return configure(spec)


def print_table(frame, title: str | None = None, max_width: int = 40) -> None:
    """A DataFrame as a rich table (long cells cut so a wide comparison stays readable)."""
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    columns = (
        [frame.index.name or "", *map(str, frame.columns)]
        if frame.index.name
        else list(map(str, frame.columns))
    )
    for column in columns:
        table.add_column(column, overflow="fold")
    for key, row in frame.iterrows():
        cells = [_cell(v, max_width) for v in row.tolist()]
        table.add_row(*([_cell(key, max_width)] if frame.index.name else []), *cells)
    console.print(table)


def _cell(value, max_width: int) -> str:
    if value is None or (not isinstance(value, str) and value != value):  # NaN
        text = ""
    elif isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = str(value)
    return text if len(text) <= max_width else text[: max_width - 1] + "…"


@experiments_app.command("list")
def list_command(tracking_uri: str | None = URI_OPTION) -> None:
    """List experiments with their number of runs."""
    from trademl.tracking import list_experiments

    uri = configure_store(tracking_uri)
    frame = list_experiments().set_index("experiment_id")
    frame["created"] = frame["created"].dt.strftime("%Y-%m-%d %H:%M")
    print_table(frame, title=f"experiments in {uri}", max_width=60)


# what `experiments compare` shows by default (those the runs recorded): the holdout
# figures next to what they should be read against, then the CV and deflated Sharpe
HEADLINE_METRICS = (
    "oos_sharpe", "oos_buy_hold_sharpe", "oos_excess_sharpe", "deflated_sharpe", "cv_sharpe",
    "oos_accuracy", "oos_roc_auc", "oos_rmse", "oos_ic", "oos_max_drawdown",
    "oos_time_in_market", "oos_n_trades", "sharpe", "max_drawdown",
)  # fmt: skip
# params that differ between any two runs without saying how they differ
NOISE_PARAMS = ("study_name", "data_fingerprint")


def comparison_fields(frame, *, all_metrics: bool, all_params: bool) -> list[str]:
    """Columns of a ``compare_runs`` frame worth showing: headline metrics (or all), then
    the params whose values differ between the runs (or all)."""
    metric_cols = [c for c in frame.columns if c.startswith("metrics.")]
    if not all_metrics:
        headline = [f"metrics.{m}" for m in HEADLINE_METRICS]
        picked = [c for c in headline if c in metric_cols and frame[c].notna().any()]
        metric_cols = picked or metric_cols
    param_cols = [c for c in frame.columns if c.startswith("params.")]
    if not all_params:
        param_cols = [
            c
            for c in param_cols
            if c.removeprefix("params.") not in NOISE_PARAMS and frame[c].nunique(dropna=False) > 1
        ]
    return metric_cols + param_cols


def print_comparison(frame, title: str, width: int, cell: int = 12) -> None:
    """One column per run, one row per field; runs split over tables that fit ``width``."""
    from rich.table import Table

    rows = [c for c in frame.columns if c not in ("status", "start_time")]
    names = [c.removeprefix("params.").removeprefix("metrics.") for c in rows]
    label = min(max((len(n) for n in names), default=10), 28)
    per_table = max(1, (width - label - 4) // (cell + 3))
    runs = list(frame.index)
    for first in range(0, len(runs), per_table):
        chunk = runs[first : first + per_table]
        part = f" (runs {first + 1}-{first + len(chunk)})" if len(runs) > per_table else ""
        table = Table(title=title + part, title_justify="left")
        table.add_column("run", max_width=label, overflow="fold")
        for run_id in chunk:
            table.add_column(str(run_id)[:8], justify="right", max_width=cell, overflow="fold")
        for column, name in zip(rows, names, strict=True):
            table.add_row(name, *(_cell(_number(frame.at[r, column]), cell) for r in chunk))
        console.print(table)


def _number(value):
    """A param logged as text ("0.897782704...") as the float it is, so it prints short."""
    if isinstance(value, str) and any(ch.isdigit() for ch in value):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() and "." not in value else number
    return value


@experiments_app.command("compare")
def compare_command(
    experiments: list[str] = typer.Argument(..., help="Experiment name(s) or id(s)."),
    filter_string: str = typer.Option("", "--filter", "-f", help="MLflow filter string."),
    metric: list[str] = typer.Option(None, "--metric", "-m", help="Metric row(s) to show."),
    param: list[str] = typer.Option(None, "--param", "-p", help="Param row(s) to show."),
    all_fields: bool = typer.Option(
        False,
        "--all",
        help="Every metric and param (default: headline metrics, params that differ).",
    ),
    children: bool = typer.Option(False, "--children", help="Include child runs (folds, trials)."),
    max_results: int = typer.Option(50, "--max", help="At most this many runs per experiment."),
    csv: Path | None = typer.Option(None, "--csv", help="Also write every column to this CSV."),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
    tracking_uri: str | None = URI_OPTION,
) -> None:
    """Runs of one or more experiments side by side: one column per run (its id's first 8
    characters), the headline metrics and the params that differ between the runs."""
    from trademl._io import atomic_path, check_output
    from trademl.tracking import compare_runs

    if csv is not None:
        check_output(csv, force=force, suffixes=(".csv",), option="--csv")
    configure_store(tracking_uri)
    frame = compare_runs(
        experiments,
        filter_string,
        metrics=metric or None,
        params=param or None,
        include_children=children,
        max_results=max_results,
    )
    label = ", ".join(experiments)
    if frame.empty:
        console.print(f"no runs in {label!r} match {filter_string!r}")
        return
    if csv is not None:
        with atomic_path(csv) as temporary:
            frame.to_csv(temporary)
    fields = comparison_fields(
        frame, all_metrics=all_fields or bool(metric), all_params=all_fields or bool(param)
    )
    lead = [c for c in ("run_name", "experiment") if c in frame.columns]
    shown = frame[lead + fields].copy()
    if "start_time" in frame.columns:
        shown.insert(len(lead), "started", frame["start_time"].dt.strftime("%m-%d %H:%M"))
    print_comparison(shown, f"{len(frame)} runs of {label}", console.width)


@experiments_app.command("best")
def best_command(
    experiment: str = typer.Argument(..., help="Experiment name or id."),
    metric: str = typer.Option(..., "--metric", "-m", help="Metric to rank runs by."),
    mode: str = typer.Option("max", "--mode", help="max or min."),
    filter_string: str = typer.Option("", "--filter", "-f", help="MLflow filter string."),
    children: bool = typer.Option(False, "--children", help="Include child runs (folds, trials)."),
    tracking_uri: str | None = URI_OPTION,
) -> None:
    """The best run of an experiment by one metric."""
    from trademl.tracking import best_run

    configure_store(tracking_uri)
    row = best_run(
        experiment, metric, mode=mode, filter_string=filter_string, include_children=children
    )
    console.print(
        f"best run by {metric} ({mode}): [bold]{row.name}[/] '{row['run_name']}' "
        f"{metric}={row[f'metrics.{metric}']:.6g}",
        highlight=False,
    )
    for key, value in row.items():
        if str(key).startswith("metrics.") and _cell(value, 80):
            console.print(f"  {key} = {_cell(value, 80)}", highlight=False)


@experiments_app.command("cleanup")
def cleanup_command(
    experiment: str = typer.Argument(..., help="Experiment name or id."),
    older_than_days: float | None = typer.Option(
        None, "--older-than-days", help="Delete runs that started more than N days ago."
    ),
    keep_last: int | None = typer.Option(
        None, "--keep-last", help="Keep the newest N top-level runs, delete the rest."
    ),
    apply: bool = typer.Option(
        False, "--apply", help="Really delete (default: dry run, print what would go)."
    ),
    stale: bool = typer.Option(
        False, "--stale", help="Only end as FAILED the RUNNING runs of dead processes."
    ),
    tracking_uri: str | None = URI_OPTION,
) -> None:
    """Retention: delete old runs (never one backing a registered model). Dry run by default.

    First, always: RUNNING runs whose process is gone (killed) are ended as FAILED.
    """
    from trademl.tracking import cleanup_runs
    from trademl.tracking.experiments import _experiment
    from trademl.tracking.stale import mark_stale_runs

    if older_than_days is None and keep_last is None and not stale:
        raise fail("give --older-than-days and/or --keep-last (or --stale)")
    configure_store(tracking_uri)
    marked = mark_stale_runs([_experiment(experiment).experiment_id])
    console.print(f"{len(marked)} RUNNING run(s) of dead processes marked FAILED")
    if stale and older_than_days is None and keep_last is None:
        return
    frame = cleanup_runs(
        experiment, older_than_days=older_than_days, keep_last=keep_last, dry_run=not apply
    )
    if frame.empty:
        console.print("nothing to delete")
        return
    frame["start_time"] = frame["start_time"].dt.strftime("%Y-%m-%d %H:%M")
    print_table(frame.set_index("run_id"), title=f"cleanup of {experiment}", max_width=60)
    deleted = frame["action"].isin(["deleted", "would delete"]).sum()
    kept = frame["action"].str.startswith("kept").sum()
    verb = "deleted" if apply else "would delete (dry run; add --apply)"
    console.print(f"{deleted} runs {verb}; {kept} kept because they back registered models")


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex((host, port)) != 0


def server_command(uri: str, artifact_root: str, host: str, port: int) -> list[str]:
    """The `mlflow server` command line serving ``uri`` with its artifacts on ``host:port``."""
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        uri,
        "--default-artifact-root",
        Path(artifact_root).as_uri(),
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def ui_command(
    port: int = typer.Option(5000, "--port", "-p", help="Port of the UI."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    timeout: float = typer.Option(120.0, "--timeout", help="Seconds to wait for it to start."),
    tracking_uri: str | None = URI_OPTION,
) -> None:
    """Start the MLflow UI (an `mlflow server`) against the configured store."""
    import httpx

    from trademl.tracking._store import _state, is_database_store

    uri = configure_store(tracking_uri)
    if uri.startswith(("http://", "https://")):
        console.print(f"the store is already a tracking server: open {uri}")
        return
    if not is_database_store(uri):
        raise fail(f"trademl ui serves a database store (sqlite://, postgresql://...), got {uri}")
    if not 0 < port < 65536:
        raise fail(f"--port must be between 1 and 65535, got {port}")
    if not _port_is_free(host, port):
        raise fail(f"port {port} on {host} is already in use; pick another with --port")
    process = subprocess.Popen(
        server_command(uri, str(_state["artifact_root"]), host, port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # its own process group: mlflow server starts uvicorn as a grandchild, stop both
        start_new_session=True,
    )
    if threading.current_thread() is threading.main_thread():
        # a supervisor stops us with SIGTERM: shut the server down as on Ctrl-C
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    address = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                tail = (process.stderr.read() or "").strip().splitlines()[-5:]
                raise fail(
                    f"mlflow server exited with code {process.returncode}: {' | '.join(tail)}", 1
                )
            try:
                if httpx.get(f"{address}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise fail(f"mlflow server did not answer on {address} within {timeout:g} s", 1)
            time.sleep(0.3)
        console.print(
            f"MLflow UI at [bold]{address}[/] (store: {uri}); Ctrl-C to stop",
            highlight=False,
            soft_wrap=True,
        )
        # stdout may be a pipe (a test, a supervisor): make the address visible now
        sys.stdout.flush()
        process.wait()
    except KeyboardInterrupt:
        console.print("stopping the MLflow UI")
    finally:
        stop_process_group(process)


def _raise_keyboard_interrupt(signum, frame) -> None:  # noqa: ARG001 - signal handler
    raise KeyboardInterrupt


def stop_process_group(process: subprocess.Popen, timeout: float = 5.0) -> None:
    """SIGTERM the process group of ``process``, SIGKILL it if still alive after ``timeout``.

    uvicorn's graceful shutdown waits for idle keep-alive connections of clients that are
    still running; the store is a database, so cutting them short loses nothing.
    """
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
    except ProcessLookupError:
        pass


def register(app: typer.Typer) -> None:
    """Add this module's commands and groups to the root app."""
    app.add_typer(experiments_app, name="experiments")
    app.command("ui")(ui_command)
