"""Experiment tools: list, search, compare, best run, retention cleanup."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Literal

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException

from trademl.tracking import _store
from trademl.tracking.errors import TrackingError

__all__ = ["best_run", "cleanup_runs", "compare_runs", "list_experiments", "search_runs"]

log = logging.getLogger(__name__)

_PARENT = "tags.mlflow.parentRunId"
_DAY_MS = 86_400_000


def _experiment(name_or_id: str):
    client = _store.client()
    experiment = client.get_experiment_by_name(str(name_or_id))
    if experiment is None and str(name_or_id).isdigit():
        try:
            experiment = client.get_experiment(str(name_or_id))
        except MlflowException:
            experiment = None
    if experiment is None or experiment.lifecycle_stage == "deleted":
        names = [e.name for e in client.search_experiments()]
        raise TrackingError(
            f"experiment {name_or_id!r} not found in {_store.tracking_uri()} "
            f"(experiments: {', '.join(names) or 'none'})"
        )
    return experiment


def list_experiments() -> pd.DataFrame:
    """Active experiments with their run counts, newest first."""
    client = _store.client()
    rows = []
    for experiment in client.search_experiments():
        runs = mlflow.search_runs([experiment.experiment_id], output_format="list")
        rows.append(
            {
                "experiment_id": experiment.experiment_id,
                "name": experiment.name,
                "runs": len(runs),
                "created": pd.to_datetime(experiment.creation_time, unit="ms", utc=True),
                "artifact_location": experiment.artifact_location,
            }
        )
    columns = ["experiment_id", "name", "runs", "created", "artifact_location"]
    return pd.DataFrame(rows, columns=columns).sort_values("created", ascending=False)


def search_runs(
    experiment: str,
    filter_string: str = "",
    *,
    order_by: list[str] | None = None,
    max_results: int = 1000,
    include_children: bool = True,
) -> pd.DataFrame:
    """Runs of ``experiment`` matching an MLflow filter string, one row per run.

    Example filters: ``"metrics.sharpe > 1"``, ``"params.model.kind = 'lightgbm'"``,
    ``"tags.trademl.kind = 'experiment'"``.
    """
    experiment_id = _experiment(experiment).experiment_id
    try:
        frame = mlflow.search_runs(
            [experiment_id],
            filter_string=filter_string,
            order_by=order_by,
            max_results=max_results,
        )
    except MlflowException as exc:
        raise TrackingError(f"invalid run filter {filter_string!r}: {exc.message}") from None
    if not include_children and _PARENT in frame.columns:
        frame = frame[frame[_PARENT].isna()]
        # metrics and params only the children recorded are empty columns now
        empty = [
            c
            for c in frame.columns
            if c.startswith(("metrics.", "params.")) and frame[c].isna().all()
        ]
        frame = frame.drop(columns=empty)
    return frame.reset_index(drop=True)


def compare_runs(
    experiment: str | Sequence[str],
    filter_string: str = "",
    *,
    metrics: list[str] | None = None,
    params: list[str] | None = None,
    include_children: bool = False,
    max_results: int = 100,
) -> pd.DataFrame:
    """Runs side by side: index ``run_id``; run name, status, start, then params and metrics.

    ``experiment``: a name or id, or several (then an ``experiment`` column follows the
    run name, and ``max_results`` applies to each). ``metrics``/``params`` pick columns
    (default: all); the parent runs only unless ``include_children``.
    """
    names = [experiment] if isinstance(experiment, str) else list(experiment)
    if not names:
        raise ValueError("compare_runs needs at least one experiment")
    frames = []
    for name in names:
        found = search_runs(
            name, filter_string, max_results=max_results, include_children=include_children
        )
        found.insert(0, "experiment", _experiment(name).name)
        frames.append(found)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    label = names[0] if len(names) == 1 else ", ".join(map(str, names))
    param_cols = sorted(c for c in frame.columns if c.startswith("params."))
    metric_cols = sorted(c for c in frame.columns if c.startswith("metrics."))
    for wanted, available, prefix in (
        (params, param_cols, "params."),
        (metrics, metric_cols, "metrics."),
    ):
        if wanted is None:
            continue
        missing = [w for w in wanted if prefix + w not in available]
        if missing:
            known = ", ".join(c.removeprefix(prefix) for c in available) or "none"
            kind = prefix.rstrip(".s")
            raise TrackingError(f"no {kind} named {missing} in {label!r} (known: {known})")
    if params is not None:
        param_cols = [f"params.{p}" for p in params]
    if metrics is not None:
        metric_cols = [f"metrics.{m}" for m in metrics]
    name_col = "tags.mlflow.runName"
    columns = {"run_name": frame[name_col] if name_col in frame.columns else None}
    if len(names) > 1:
        columns["experiment"] = frame["experiment"]
    columns |= {"status": frame.get("status"), "start_time": frame.get("start_time")}
    out = pd.DataFrame(columns)
    out = pd.concat([out, frame[param_cols + metric_cols]], axis=1)
    out.index = pd.Index(frame["run_id"], name="run_id")
    return out


def best_run(
    experiment: str,
    metric: str,
    *,
    mode: Literal["max", "min"] = "max",
    filter_string: str = "",
    include_children: bool = False,
) -> pd.Series:
    """The run with the highest (``mode="max"``) or lowest value of ``metric``."""
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be 'max' or 'min', got {mode=!r}")
    frame = compare_runs(
        experiment, filter_string, include_children=include_children, max_results=50_000
    )
    column = f"metrics.{metric}"
    if column not in frame.columns or frame[column].isna().all():
        known = ", ".join(
            c.removeprefix("metrics.") for c in frame.columns if c.startswith("metrics.")
        )
        raise TrackingError(
            f"no run in {experiment!r} recorded metric {metric!r} (metrics: {known or 'none'})"
        )
    values = frame[column].astype(float)
    run_id = values.idxmax() if mode == "max" else values.idxmin()
    return frame.loc[run_id]


def _protected_runs(runs: pd.DataFrame) -> dict[str, str]:
    """run_id -> why it must stay: it (or a child of it) backs a registered model version."""
    client = _store.client()
    protected: dict[str, str] = {}
    for mv in client.search_model_versions(max_results=10_000):
        if mv.run_id:
            protected.setdefault(mv.run_id, f"backs model {mv.name} v{mv.version}")
    parents = runs.set_index("run_id")[_PARENT].dropna() if _PARENT in runs.columns else {}
    for run_id in list(protected):
        child = run_id
        # keep the parents too, so the spec and data lineage of the version stay readable
        while child in parents:
            child = parents[child]
            protected.setdefault(child, protected[run_id] + " (child run)")
    return protected


def cleanup_runs(
    experiment: str,
    *,
    older_than_days: float | None = None,
    keep_last: int | None = None,
    dry_run: bool = True,
    now_ms: int | None = None,
) -> pd.DataFrame:
    """Delete (MLflow soft delete) old top-level runs and their children; dry run by default.

    A run is a candidate when it started more than ``older_than_days`` ago and/or is
    beyond the newest ``keep_last`` top-level runs (both given: it must be both). A run
    that backs a registered model version, or whose child does, is never deleted.
    Returns one row per candidate with the action taken (or that would be taken).
    """
    if older_than_days is None and keep_last is None:
        raise ValueError("cleanup needs older_than_days and/or keep_last")
    if older_than_days is not None and older_than_days < 0:
        raise ValueError(f"older_than_days must be >= 0, got {older_than_days=}")
    if keep_last is not None and keep_last < 0:
        raise ValueError(f"keep_last must be >= 0, got {keep_last=}")
    runs = search_runs(experiment, max_results=50_000)
    columns = ["run_id", "run_name", "start_time", "children", "action"]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    if _PARENT not in runs.columns:
        runs[_PARENT] = None
    top = runs[runs[_PARENT].isna()].sort_values("start_time", ascending=False)
    now = pd.Timestamp(now_ms if now_ms is not None else time.time() * 1000, unit="ms", tz="UTC")
    selected = pd.Series(True, index=top.index)
    if keep_last is not None:
        selected &= pd.Series(range(len(top)), index=top.index) >= keep_last
    if older_than_days is not None:
        selected &= top["start_time"] < now - pd.Timedelta(days=older_than_days)
    protected = _protected_runs(runs)
    children_of = runs.groupby(_PARENT)["run_id"].apply(list).to_dict()
    client = _store.client()
    rows = []
    for _, run in top[selected].iterrows():
        family = [run["run_id"], *_descendants(run["run_id"], children_of)]
        blocker = next((protected[r] for r in family if r in protected), None)
        if blocker:
            action = f"kept: {blocker}"
        elif dry_run:
            action = "would delete"
        else:
            for run_id in family:
                client.delete_run(run_id)
            action = "deleted"
        rows.append(
            {
                "run_id": run["run_id"],
                "run_name": run.get("tags.mlflow.runName"),
                "start_time": run["start_time"],
                "children": len(family) - 1,
                "action": action,
            }
        )
    log.info("cleanup of %s: %d candidates (dry_run=%s)", experiment, len(rows), dry_run)
    return pd.DataFrame(rows, columns=columns)


def _descendants(run_id: str, children_of: dict[str, list[str]]) -> list[str]:
    found, stack = [], list(children_of.get(run_id, []))
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(children_of.get(child, []))
    return found
