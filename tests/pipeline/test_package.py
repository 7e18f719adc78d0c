"""The registered model package reproduces the run's holdout from raw candles, and is refused
when tampered with, before anything is unpickled."""

from __future__ import annotations

import pickle
from pathlib import Path

import mlflow
import pandas as pd
import pytest

import trademl
from trademl.config import load_spec
from trademl.pipeline import load_frames, run
from trademl.tracking.errors import IntegrityError

from .test_pipeline import small_spec

COMPARED = ["symbol", "close", "y_pred", "proba", "signal"]


@pytest.fixture(scope="module")
def registered(tmp_path_factory):
    """One tracked run of the small spec; its folder holds the MLflow store."""
    folder = tmp_path_factory.mktemp("package")
    spec = small_spec(folder, name="package-test", tuning={"n_trials": 2})
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        result = run(spec, progress=False)
    candles = load_frames(load_spec(spec))["BTCUSDT"]
    path = folder / "candles.parquet"
    candles.to_parquet(path)
    return folder, spec, result, path


def _oos(result, spec, folder) -> pd.DataFrame:
    client = mlflow.MlflowClient(tracking_uri=spec["tracking"]["uri"])
    local = client.download_artifacts(result.run_id, "predictions/oos.parquet", str(folder))
    return pd.read_parquet(local)


def _same(predicted: pd.DataFrame, oos: pd.DataFrame) -> None:
    got = predicted.loc[oos.index, COMPARED]
    pd.testing.assert_frame_equal(got, oos[COMPARED], check_dtype=False, check_exact=True)


def test_load_model_reproduces_the_holdout(registered, monkeypatch, tmp_path):
    folder, spec, result, candles_path = registered
    monkeypatch.chdir(folder)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", spec["tracking"]["uri"])
    oos = _oos(result, spec, tmp_path)
    assert len(oos) == len(result.predictions) > 50
    candles = pd.read_parquet(candles_path)
    for uri in (f"{result.model_name}/{result.model_version}", f"runs:/{result.run_id}"):
        package = trademl.load_model(uri)
        assert package.horizon == spec["labels"]["horizon"]
        assert package.execution_lag == 1 and package.timeframe == "1h"
        _same(package.predict_frame(candles), oos)


def test_predict_cli_reproduces_the_holdout(registered, monkeypatch, cli, tmp_path):
    folder, spec, result, candles_path = registered
    monkeypatch.chdir(folder)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", spec["tracking"]["uri"])
    out = tmp_path / "pred.parquet"
    model = f"{result.model_name}/{result.model_version}"
    code, stdout, err = cli("predict", "--model", model, candles_path, "-o", out)
    assert code == 0, err
    assert "written to" in stdout
    _same(pd.read_parquet(out), _oos(result, spec, tmp_path))
    # an existing output is kept unless --force; the input is never the output
    before = out.read_bytes()
    code, _, err = cli("predict", "--model", model, candles_path, "-o", out)
    assert code == 2 and "--force" in err and out.read_bytes() == before
    code, _, err = cli("predict", "--model", model, candles_path, "-o", candles_path)
    assert code == 2 and "input" in err
    code, _, err = cli(
        "predict", "--model", "no-such-model@champion", candles_path, "-o", tmp_path / "x.csv"
    )
    assert code == 2 and "no-such-model" in err


def test_tampered_package_is_refused_before_unpickling(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = small_spec(tmp_path, name="tamper-test", tuning={"n_trials": 0})
    result = run(spec, progress=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", spec["tracking"]["uri"])
    pickles = sorted((tmp_path / "mlartifacts").rglob("python_model.pkl"))
    assert pickles, "the package is logged as a pyfunc model"
    marker = tmp_path / "payload-ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    for path in pickles:
        path.write_bytes(pickle.dumps(Payload()))
    for uri in (f"{result.model_name}/1", f"runs:/{result.run_id}"):
        with pytest.raises(IntegrityError, match="integrity"):
            trademl.load_model(uri)
    assert not marker.exists()


def test_changed_data_starts_a_new_study(tmp_path, monkeypatch, btc_1h_path, caplog):
    """Overwriting the data file and re-running in the same folder runs new trials."""
    monkeypatch.chdir(tmp_path)
    full = trademl.load_ohlcv(btc_1h_path)
    data_file = tmp_path / "candles.parquet"
    full.loc["2025-01-01":"2025-04-15"].to_parquet(data_file)
    spec = small_spec(
        tmp_path,
        name="stale-study",
        data={"sample": None, "path": str(data_file), "start": None},
        tracking={"enabled": False},
        tuning={"n_trials": 2},
    )
    first = run(spec, progress=False)
    with caplog.at_level("WARNING", logger="trademl.tuning"):
        again = run(spec, progress=False)  # same data: resumes, no new trial, and says so
    assert "no new trial runs" in caplog.text
    assert again.study_name == first.study_name
    assert again.tuning.n_trials == 2
    full.loc["2025-05-01":"2025-08-15"].to_parquet(data_file)
    changed = run(spec, progress=False)
    assert changed.study_name != first.study_name
    assert changed.tuning.n_complete + changed.tuning.n_pruned == 2
    assert changed.metrics != first.metrics


def test_multi_symbol_panels_are_purged_by_label_end(shared_data):
    """No training label of any symbol overlaps a test fold's span on a 3-coin panel."""
    from trademl.pipeline import build_dataset, make_folds

    files = {
        s: str(shared_data / "binance_1h" / f"{s}USDT_1h_2017-2022.csv.gz")
        for s in ("ETH", "LTC", "XRP")
    }
    spec = load_spec(
        small_spec(
            Path("."),
            data={"sample": None, "symbols": files, "start": "2022-03-01", "end": "2022-06-01"},
            labels={"kind": "direction", "horizon": 6},
            validation={"n_splits": 4, "embargo": 3, "holdout_fraction": 0.2},
            tracking={"enabled": False},
        )
    )
    dataset = build_dataset(spec)
    folds = make_folds(spec, dataset)
    times = dataset.X.index.asi8
    ends = pd.DatetimeIndex(dataset.label_end).asi8
    for train, test in folds:
        first, last = times[test].min(), ends[test].max()
        overlap = (ends[train] >= first) & (times[train] <= last)
        assert not overlap.any(), f"{overlap.sum()} training rows overlap the test labels"


def test_monitor_replay_of_a_pipeline_run_reproduces_its_baseline(tmp_path, monkeypatch, cli):
    """The run's own holdout, replayed into the monitoring store, gives back every baseline
    metric (to 1e-9) and a healthy model: monitoring measures what the run measured."""
    import json

    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path / 'monitor.db'}"
    spec = small_spec(
        tmp_path,
        name="replay-test",
        tuning={"n_trials": 2},
        monitoring={"db_url": db, "register_reference": True},
    )
    result = run(spec, progress=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", spec["tracking"]["uri"])
    code, out, err = cli("monitor", "replay", "--run-id", result.run_id, "--db", db, "--json")
    assert code == 0, err
    report = json.loads(out)
    compared = {row["name"]: row for row in report["metrics"]}
    assert report["consistent"] and report["baseline_source"] == "store"
    for name in ("sharpe", "accuracy", "ic", "buy_hold_sharpe", "time_in_market"):
        assert name in compared
    assert all(abs(row["difference"]) <= 1e-9 for row in compared.values())
    assert compared["sharpe"]["baseline"] == pytest.approx(result.metrics["oos_sharpe"], abs=1e-12)
    assert report["status"] == "healthy"
