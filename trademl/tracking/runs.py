"""Runs: one parent per experiment, cheap children per fold or trial, batched logging."""

from __future__ import annotations

import json
import logging
import math
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import yaml
from mlflow.entities import Metric, Param, RunTag
from mlflow.utils.validation import MAX_METRICS_PER_BATCH, MAX_PARAMS_TAGS_PER_BATCH

from trademl import __version__
from trademl.config.secrets import redact_spec
from trademl.tracking import _store
from trademl.tracking.artifacts import SPEC as SPEC_ARTIFACT
from trademl.tracking.errors import TrackingError
from trademl.tracking.provenance import flatten_params, frame_sha256, git_commit, package_versions
from trademl.tracking.stale import mark_stale_runs, owner_tags

if TYPE_CHECKING:
    import pandas as pd

    from trademl.config import ExperimentSpec

__all__ = [
    "SPEC_ARTIFACT",
    "active_run_id",
    "log_dataset",
    "log_features",
    "log_figure",
    "log_metrics_batch",
    "log_params",
    "log_report",
    "start_run",
]

log = logging.getLogger(__name__)

PACKAGES_ARTIFACT = "environment/packages.json"
FEATURES_ARTIFACT = "features/features.json"


def active_run_id(run_id: str | None = None) -> str:
    """``run_id`` if given, else the innermost active run; a clear error when there is none."""
    if run_id:
        return run_id
    run = mlflow.active_run()
    if run is None:
        raise TrackingError("no active run: call inside `with trademl.tracking.start_run(spec):`")
    return run.info.run_id


def _provenance_tags(spec: ExperimentSpec) -> dict[str, str]:
    code = git_commit(str(Path.cwd()))
    # trademl itself may run from a checkout (editable install): its commit matters too
    library = git_commit(str(Path(__file__).resolve().parent))
    return {
        "trademl.source_commit": library["commit"],
        "trademl.version": __version__,
        "trademl.git_commit": code["commit"],
        "trademl.git_dirty": code["dirty"],
        "trademl.seed": str(spec.seed),
        "trademl.spec_name": spec.name,
        "mlflow.source.git.commit": code["commit"],
    }


@contextmanager
def start_run(
    spec: ExperimentSpec,
    *,
    run_name: str | None = None,
    nested: bool = False,
    tags: Mapping[str, str] | None = None,
) -> Iterator[mlflow.ActiveRun]:
    """Start an MLflow run for ``spec`` and yield it (ended, FAILED on error, on exit).

    A top-level run logs the spec as YAML (``spec/experiment.yaml``), every spec field
    as a flattened param, the git commit, package versions and the seed. A nested run
    (a fold, a trial) is a child of the active run and logs only what differs, so a
    thousand children stay cheap: log its params and metrics with ``log_params`` and
    ``log_metrics_batch``.
    """
    if not _store.is_configured() or spec.tracking.uri is not None:
        _store.configure(spec.tracking)
    extra_tags = {str(k): str(v) for k, v in (tags or {}).items()}
    if nested:
        parent = mlflow.active_run()
        if parent is None:
            raise TrackingError("start_run(nested=True) needs an active parent run")
        child_tags = {
            "trademl.seed": str(spec.seed), "trademl.kind": "child", **owner_tags(), **extra_tags,
        }  # fmt: skip
        with mlflow.start_run(
            experiment_id=parent.info.experiment_id,
            run_name=run_name,
            nested=True,
            tags=child_tags,
        ) as run:
            yield run
        return

    experiment_id = _store.experiment_id(spec.tracking.experiment or spec.name)
    # runs of this experiment whose process was killed would stay RUNNING forever
    mark_stale_runs([experiment_id])
    run_tags = {
        **_provenance_tags(spec), "trademl.kind": "experiment", **owner_tags(), **extra_tags,
    }  # fmt: skip
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=run_tags) as run:
        # secrets stay ${VAR} references; a literal one is stored as *** (never its value)
        spec_dict = redact_spec(spec.model_dump(mode="json"))
        log_params(flatten_params(spec_dict), run_id=run.info.run_id)
        mlflow.log_text(yaml.safe_dump(spec_dict, sort_keys=False), SPEC_ARTIFACT)
        mlflow.log_dict(package_versions(), PACKAGES_ARTIFACT)
        yield run


def log_params(params: Mapping[str, Any], *, run_id: str | None = None) -> None:
    """Log params (nested mappings flattened, long values cut) in batches MLflow accepts."""
    run_id = active_run_id(run_id)
    flat = flatten_params(dict(params))
    items = [Param(key, value) for key, value in flat.items()]
    client = _store.client()
    for start in range(0, len(items), MAX_PARAMS_TAGS_PER_BATCH):
        client.log_batch(run_id, params=items[start : start + MAX_PARAMS_TAGS_PER_BATCH])


def log_metrics_batch(
    metrics: Mapping[str, float],
    step: int | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    run_id: str | None = None,
) -> None:
    """Log many metrics of one step in one round trip (``MlflowClient.log_batch``).

    ``step`` is the fold, epoch or trial number (0 when omitted). ``params`` (at most
    100, e.g. a trial's hyperparameters) ride along in the same call, which keeps a
    child run at one write besides its start and end.
    """
    run_id = active_run_id(run_id)
    if step is not None and (not isinstance(step, int) or isinstance(step, bool) or step < 0):
        raise ValueError(f"step must be a non-negative int, got {step=!r}")
    timestamp = int(time.time() * 1000)
    entries = []
    for key, value in metrics.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"metric {key!r} must be a number, got {value!r}") from None
        if math.isinf(number):
            raise ValueError(f"metric {key!r} is infinite ({value!r}); MLflow cannot store it")
        entries.append(Metric(str(key), number, timestamp, step or 0))
    client = _store.client()
    flat = [Param(k, v) for k, v in flatten_params(dict(params or {})).items()]
    if len(flat) > MAX_PARAMS_TAGS_PER_BATCH:
        log_params(dict(params or {}), run_id=run_id)
        flat = []
    if not entries and not flat:
        return
    for start in range(0, max(len(entries), 1), MAX_METRICS_PER_BATCH):
        chunk = entries[start : start + MAX_METRICS_PER_BATCH]
        client.log_batch(run_id, metrics=chunk, params=flat if start == 0 else [])


def log_features(names: Sequence[str], *, run_id: str | None = None) -> None:
    """Record the feature list (artifact ``features/features.json`` and a count tag)."""
    run_id = active_run_id(run_id)
    names = [str(n) for n in names]
    client = _store.client()
    client.log_dict(run_id, {"features": names}, FEATURES_ARTIFACT)
    client.set_tag(run_id, "trademl.n_features", str(len(names)))


def log_report(
    path: str | Path, *, artifact_dir: str = "reports", run_id: str | None = None
) -> str:
    """Attach a report or plot file (HTML, PNG, CSV, ...) to a run; return its artifact path."""
    run_id = active_run_id(run_id)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"report file not found: {path}")
    _store.client().log_artifact(run_id, str(path), artifact_dir)
    return f"{artifact_dir}/{path.name}"


def log_figure(figure: Any, name: str, *, run_id: str | None = None) -> str:
    """Attach a matplotlib figure as ``plots/<name>`` (``name`` ends in .png, .svg or .html)."""
    run_id = active_run_id(run_id)
    if not name or Path(name).suffix.lower() not in {".png", ".svg", ".pdf", ".html", ".jpg"}:
        raise ValueError(f"figure name must end in .png, .svg, .pdf, .jpg or .html, got {name!r}")
    artifact = f"plots/{name}"
    _store.client().log_figure(run_id, figure, artifact)
    return artifact


def _date_range(frame: pd.DataFrame) -> tuple[str, str]:
    import pandas as pd

    index = frame.index
    if not isinstance(index, pd.DatetimeIndex) and "timestamp" in frame.columns:
        index = pd.DatetimeIndex(frame["timestamp"])
    if isinstance(index, pd.MultiIndex):
        index = next(
            (
                index.get_level_values(i)
                for i in range(index.nlevels)
                if isinstance(index.get_level_values(i), pd.DatetimeIndex)
            ),
            None,
        )
    if not isinstance(index, pd.DatetimeIndex) or len(index) == 0:
        return "unknown", "unknown"
    return index.min().isoformat(), index.max().isoformat()


def log_dataset(
    frame: pd.DataFrame,
    *,
    source: str,
    symbols: Sequence[str] | str,
    timeframe: str,
    name: str | None = None,
    context: str = "training",
) -> dict[str, str]:
    """Attach the data a run used as an ``mlflow.data`` dataset and return its lineage record.

    Records source path, symbols, timeframe, date range, rows and a SHA-256 of the full
    content (on the dataset input and as ``trademl.data.*`` run tags).
    """
    import mlflow.data

    run_id = active_run_id()
    if isinstance(symbols, str):
        symbols = [symbols]
    if not symbols:
        raise ValueError("log_dataset: symbols must name at least one symbol, got []")
    sha = frame_sha256(frame)
    start, end = _date_range(frame)
    record = {
        "source": str(source),
        "symbols": ",".join(str(s) for s in symbols),
        "timeframe": str(timeframe),
        "start": start,
        "end": end,
        "rows": str(len(frame)),
        "sha256": sha,
    }
    dataset_name = name or f"{record['symbols']}-{timeframe}"
    # MLflow keeps the dataset source as JSON; the index carries the timestamps, keep it
    dataset = mlflow.data.from_pandas(
        frame.reset_index(), source=_dataset_source(str(source)), name=dataset_name, digest=sha[:32]
    )
    mlflow.log_input(dataset, context=context, tags={f"trademl.{k}": v for k, v in record.items()})
    _store.client().log_batch(
        run_id, tags=[RunTag(f"trademl.data.{k}", v) for k, v in record.items()]
    )
    log.debug("dataset %s logged on run %s: %s", dataset_name, run_id, json.dumps(record))
    return record


def _dataset_source(source: str):
    """An ``mlflow.data`` source for a path or URI; a plain label for anything else."""
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.dataset_source_registry import resolve_dataset_source

    try:
        with warnings.catch_warnings():
            # a local path matches two equivalent MLflow source types; it picks one, fine
            warnings.simplefilter("ignore", UserWarning)
            return resolve_dataset_source(source)
    except Exception:  # noqa: BLE001 - e.g. "sample:BTCUSDT-1h" is not a path MLflow resolves
        return CodeDatasetSource(tags={"source": source})
