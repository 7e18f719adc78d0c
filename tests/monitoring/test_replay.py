"""`trademl monitor replay`: a tracked run's holdout through the store reproduces its baseline.

The "run" is built here from real parts: a real MLflow SQLite store in tmp_path with a
run that logs ``spec/experiment.yaml`` and ``predictions/oos.parquet`` (a LightGBM fitted
with ``fit_predict`` on real BTC sample rows) and ``oos_*`` metrics from
``score_predictions``; a registry version made from it; the reference registered with
``register_reference`` in a real SQLite monitoring store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import trademl
from trademl.config import load_spec
from trademl.evaluation import score_predictions
from trademl.monitoring.check import frames_from_oos, register_reference
from trademl.monitoring.store import open_store
from trademl.tuning import CVData, fit_predict

HORIZON = 4
MODEL = "btc-replay"
SPEC = {
    "name": "replay-test",
    "data": {"sample": "BTCUSDT-1h", "timeframe": "1h"},
    "labels": {"kind": "direction", "horizon": HORIZON},
    "model": {"kind": "lightgbm", "params": {"n_estimators": 30}, "early_stopping_rounds": None},
    "backtest": {"fee_bp": 7.0, "slippage_bp": 1.0, "execution_lag": 1, "threshold": 0.01},
    "tracking": {"model_name": MODEL},
}
TRADEML = Path(sys.executable).with_name("trademl")


def _holdout(spec) -> pd.DataFrame:
    """predictions/oos.parquet of a LightGBM fitted on the first rows of the BTC sample."""
    bars = trademl.load_sample("BTCUSDT-1h").iloc[:3000]
    close = bars["close"]
    ret = np.log(close).diff()
    X = pd.DataFrame(
        {f"ret_{k}": ret.rolling(k).sum() for k in (1, 4, 12, 24)}
        | {f"vol_{k}": ret.rolling(k).std() for k in (12, 48)},
        index=bars.index,
    )
    forward = close.shift(-HORIZON) / close - 1
    ok = X.notna().all(axis=1) & forward.notna()
    X, close, forward = X[ok], close[ok], forward[ok]
    data = CVData(
        X=X, y=np.where(forward > 0, 1, -1), folds=[], close=close.to_numpy(),
        forward_return=forward.to_numpy(), symbol=np.full(len(X), "BTCUSDT"),
        backtest=spec.backtest, periods_per_year=8760.0,
    )  # fmt: skip
    dev, holdout = np.arange(0, 2200), np.arange(2200 + HORIZON, len(X))
    pred, _ = fit_predict(spec.model, "classification", {}, data, dev, holdout,
                          purge=HORIZON, seed=0)  # fmt: skip
    frame = pd.DataFrame(
        {"symbol": pd.array(["BTCUSDT"] * len(holdout), dtype="string"),
         "close": data.close[holdout], "y_true": data.y[holdout].astype(float),
         "y_pred": pred.y_pred.astype(float), "proba": pred.p_up,
         "signal": pred.signal.astype(np.int8), "forward_return": data.forward_return[holdout]},
        index=X.index[holdout],
    )  # fmt: skip
    frame.index.name = "timestamp"
    return frame


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """(run id, run id without a registry version, oos, scores, tracking uri, monitor db)."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from trademl.tracking.artifacts import OOS_PREDICTIONS, log_frame
    from trademl.tracking.artifacts import SPEC as SPEC_ARTIFACT

    root = tmp_path_factory.mktemp("replay")
    uri = f"sqlite:///{root / 'mlruns.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)  # what trademl.tracking reads
        spec = load_spec(SPEC)
        oos = _holdout(spec)
        scores = score_predictions(
            oos, task="classification", backtest=spec.backtest, periods_per_year=8760.0
        )
        mlflow.set_tracking_uri(uri)
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        experiment = client.create_experiment("replay", (root / "artifacts").as_uri())
        run_ids = []
        for _ in range(2):
            with mlflow.start_run(experiment_id=experiment) as run:
                mlflow.log_text(yaml.safe_dump(SPEC), SPEC_ARTIFACT)
                log_frame(oos, OOS_PREDICTIONS)
                mlflow.log_metrics({f"oos_{k}": v for k, v in scores.metrics.items()})
                run_ids.append(run.info.run_id)
        client.create_registered_model(MODEL)
        client.create_model_version(
            MODEL, source=f"runs:/{run_ids[0]}/predictions", run_id=run_ids[0]
        )
        db = f"sqlite:///{root / 'monitor.db'}"
        store = open_store(db)
        predictions, outcomes = frames_from_oos(oos)
        register_reference(
            store, model=MODEL, version="1", predictions=predictions, labels=outcomes,
            baseline=scores.metrics, backtest=spec.backtest, periods_per_year=8760.0,
            task="classification",
        )  # fmt: skip
        store.close()
    return run_ids[0], run_ids[1], oos, scores, uri, db


def test_replay_reproduces_the_baseline_and_is_idempotent(tracked, cli, monkeypatch):
    run_id, _, oos, scores, uri, db = tracked
    env = os.environ | {"MLFLOW_TRACKING_URI": uri}
    env.pop("TRADEML_MONITOR_DB", None)
    done = subprocess.run(
        [str(TRADEML), "monitor", "replay", "--run-id", run_id, "--db", db, "--json"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["model"], result["version"], result["source"]) == (MODEL, "1", "registry")
    assert result["baseline_source"] == "store" and result["rows"] == len(oos)
    assert {m["name"] for m in result["metrics"]} == set(scores.metrics)
    assert all(abs(m["difference"]) <= 1e-9 for m in result["metrics"]), result["metrics"]
    assert result["consistent"] and result["status"] == "healthy"
    # a second replay (in process, plain output) replaces its rows instead of adding to them
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    code, out, err = cli("monitor", "replay", "--run-id", run_id, "--db", db)
    assert code == 0, err
    assert "healthy" in out and "sharpe" in out and "MISMATCH" not in out
    store = open_store(db)
    assert store.count("predictions", model=MODEL) == len(oos)
    assert store.count("outcomes", model=MODEL) == len(oos)
    store.close()


def test_a_metric_computed_another_way_is_named_and_fails(tracked, cli, monkeypatch, tmp_path):
    run_id, _, _, scores, uri, _ = tracked
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    db = f"sqlite:///{tmp_path / 'other.db'}"
    store = open_store(db)
    # e.g. a baseline Sharpe annualised with 365.25 days, as the old monitor did
    tampered = scores.metrics | {"sharpe": scores.metrics["sharpe"] * np.sqrt(365.25 / 365)}
    store.save_baseline(model=MODEL, version="1", metrics=tampered)
    store.close()
    code, out, err = cli("monitor", "replay", "--run-id", run_id, "--db", db)
    assert code == 1
    assert "MISMATCH" in out and "sharpe differ(s) from the baseline" in err


def test_a_run_without_a_registry_version_uses_the_spec_name(tracked, cli, monkeypatch, tmp_path):
    _, unregistered, oos, _, uri, _ = tracked
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    db = f"sqlite:///{tmp_path / 'fresh.db'}"
    code, out, err = cli("monitor", "replay", "--run-id", unregistered, "--db", db, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["source"] == "spec" and result["model"] == MODEL
    assert result["version"] == unregistered  # nothing in the store to take a version from
    assert result["baseline_source"] == "run" and result["consistent"]
    assert any("no registry version" in note for note in result["notes"])
    code, _, err = cli("monitor", "replay", "--run-id", "0" * 32, "--db", db)
    assert code == 2 and "not found" in err
