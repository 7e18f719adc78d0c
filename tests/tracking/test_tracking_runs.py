"""Runs on a real MLflow SQLite store: spec, params, metrics per step, lineage, children."""

from __future__ import annotations

import json

import mlflow
import pytest
import yaml

from trademl.config import ExperimentSpec
from trademl.tracking import (
    TrackingError,
    configure,
    log_dataset,
    log_features,
    log_metrics_batch,
    log_params,
    start_run,
)
from trademl.tracking._store import client
from trademl.tracking.provenance import PARAM_VALUE_LIMIT, flatten_params, frame_sha256


def _spec(name="runs-test", **extra) -> ExperimentSpec:
    return ExperimentSpec(name=name, seed=7, **extra)


def test_parent_run_records_spec_params_code_and_seed(store):
    spec = _spec(model={"kind": "lightgbm", "params": {"num_leaves": 15, "learning_rate": 0.05}})
    with start_run(spec, run_name="parent") as run:
        run_id = run.info.run_id
    recorded = client().get_run(run_id)
    assert recorded.info.status == "FINISHED"
    params = recorded.data.params
    assert params["model.params.num_leaves"] == "15"
    assert params["seed"] == "7"
    # every leaf of the spec is a param (more than MLflow's 100 per batch)
    assert len(params) == len(flatten_params(spec.model_dump(mode="json"))) > 100
    tags = recorded.data.tags
    assert tags["trademl.seed"] == "7"
    assert len(tags["trademl.git_commit"]) in (40, len("unknown"))
    assert tags["trademl.source_commit"] != ""
    spec_text = mlflow.artifacts.load_text(f"runs:/{run_id}/spec/experiment.yaml")
    assert ExperimentSpec.model_validate(yaml.safe_load(spec_text)) == spec
    packages = mlflow.artifacts.load_dict(f"runs:/{run_id}/environment/packages.json")
    assert packages["mlflow"] == mlflow.__version__
    assert "numpy" in packages and "pandas" in packages


def test_long_param_values_are_cut_to_the_portable_limit(store):
    with start_run(_spec()) as run:
        log_params({"trial": {"note": "x" * 2000, "layers": [64, 32]}})
    params = client().get_run(run.info.run_id).data.params
    assert len(params["trial.note"]) == PARAM_VALUE_LIMIT
    assert params["trial.note"].endswith("...[truncated]")
    assert json.loads(params["trial.layers"]) == [64, 32]


def test_children_per_fold_log_metrics_per_step(store):
    spec = _spec()
    with start_run(spec, run_name="cv") as parent:
        for fold in range(3):
            with start_run(spec, nested=True, run_name=f"fold-{fold}") as child:
                log_params({"fold": fold})
                for epoch in range(4):
                    log_metrics_batch(
                        {"loss": 1.0 / (epoch + 1), "acc": 0.5 + epoch / 100}, step=epoch
                    )
        log_metrics_batch({f"fold_{i}_sharpe": 0.1 * i for i in range(1500)})
    mlflow_client = client()
    children = mlflow_client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    assert sorted(r.info.run_name for r in children) == ["fold-0", "fold-1", "fold-2"]
    history = mlflow_client.get_metric_history(child.info.run_id, "loss")
    assert [m.step for m in history] == [0, 1, 2, 3]
    assert history[-1].value == pytest.approx(0.25)
    # more than MLflow's 1,000 metrics per batch went through
    assert len(mlflow_client.get_run(parent.info.run_id).data.metrics) == 1500


def test_bad_metrics_and_missing_run_are_named(store):
    with pytest.raises(TrackingError, match="no active run"):
        log_metrics_batch({"acc": 0.5})
    with start_run(_spec()):
        with pytest.raises(ValueError, match="metric 'acc' must be a number, got 'high'"):
            log_metrics_batch({"acc": "high"})
        with pytest.raises(ValueError, match="step must be a non-negative int"):
            log_metrics_batch({"acc": 0.5}, step=-1)
    with (
        pytest.raises(TrackingError, match="needs an active parent run"),
        start_run(_spec(), nested=True),
    ):
        pass


def test_dataset_lineage_hashes_the_full_content(store, btc_recent, btc_1h_path):
    with start_run(_spec()) as run:
        record = log_dataset(
            btc_recent, source=str(btc_1h_path), symbols=["BTCUSDT"], timeframe="1h"
        )
        log_features(["ret_1", "ret_6"])
    assert record["rows"] == "2000"
    assert record["start"] == btc_recent.index[0].isoformat()
    assert record["end"] == btc_recent.index[-1].isoformat()
    recorded = client().get_run(run.info.run_id)
    assert recorded.data.tags["trademl.data.sha256"] == frame_sha256(btc_recent)
    assert recorded.data.tags["trademl.n_features"] == "2"
    (dataset_input,) = recorded.inputs.dataset_inputs
    assert dataset_input.dataset.name == "BTCUSDT-1h"
    assert dataset_input.dataset.digest == record["sha256"][:32]
    assert str(btc_1h_path) in dataset_input.dataset.source
    # one changed price (the last close, by a cent) changes the hash
    changed = btc_recent.copy()
    changed.iloc[-1, changed.columns.get_loc("close")] += 0.01
    assert frame_sha256(changed) != record["sha256"]
    assert frame_sha256(btc_recent.copy()) == record["sha256"]


def test_configure_defaults_to_sqlite_in_the_cwd(tmp_path, monkeypatch, store, mlflow_template_db):
    import shutil
    import sqlite3

    for name in ("mlruns.db", "other.db", "spec.db"):  # migrated copies: skip the slow schema
        shutil.copyfile(mlflow_template_db, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    try:
        assert configure() == f"sqlite:///{tmp_path / 'mlruns.db'}"
        monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///other.db")
        assert configure() == f"sqlite:///{tmp_path / 'other.db'}"
        from trademl.config.tracking import TrackingSpec

        # the spec wins over the environment
        assert (
            configure(TrackingSpec(uri="sqlite:///spec.db")) == f"sqlite:///{tmp_path / 'spec.db'}"
        )
        # trademl switches its SQLite stores to write-ahead logging (faster commits)
        with sqlite3.connect(tmp_path / "spec.db") as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        configure(None)  # leave nothing pointing at tmp_path; the fixture reconfigures


def test_plots_and_reports_become_artifacts(store, tmp_path, btc_recent):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from trademl.tracking import log_figure, log_report

    report = tmp_path / "summary.csv"
    btc_recent["close"].describe().to_csv(report)
    figure, axes = plt.subplots()
    axes.plot(btc_recent.index, btc_recent["close"])
    with start_run(_spec()) as run:
        assert log_report(report) == "reports/summary.csv"
        assert log_figure(figure, "close.png") == "plots/close.png"
        with pytest.raises(ValueError, match="figure name must end in"):
            log_figure(figure, "close")
        with pytest.raises(FileNotFoundError, match="report file not found"):
            log_report(tmp_path / "missing.html")
    plt.close(figure)
    listed = {a.path for a in client().list_artifacts(run.info.run_id, "plots")}
    assert listed == {"plots/close.png"}
    text = mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/reports/summary.csv")
    assert "mean" in text
