"""`trademl backtest` / `trademl report` on a predictions file and on a real MLflow run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from trademl.backtest import backtest_predictions, load_predictions


def predictions_frame(candles: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The pipeline's oos.parquet layout, from a simple causal momentum rule."""
    parts = []
    for symbol, frame in candles.items():
        close = frame["close"].iloc[-2000:]
        momentum = close.pct_change(24)
        proba = 1 / (1 + np.exp(-momentum.fillna(0) * 50))
        parts.append(
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "close": close,
                    "y_true": np.sign(close.shift(-1) - close).fillna(0),
                    "y_pred": np.sign(momentum).fillna(0),
                    "proba": proba,
                    "signal": np.sign(momentum).fillna(0).astype("int64"),
                },
                index=close.index.rename("timestamp"),
            )
        )
    return pd.concat(parts).sort_index(kind="stable")


@pytest.fixture(scope="module")
def predictions_file(btc, eth, tmp_path_factory):
    path = tmp_path_factory.mktemp("predictions") / "oos.parquet"
    predictions_frame({"BTCUSDT": btc, "ETHUSDT": eth}).to_parquet(path)
    return path


def test_backtest_predictions_file(cli, predictions_file, tmp_path):
    code, out, err = cli("backtest", "--predictions", predictions_file, "--fee-bp", "5",
                         "--out", tmp_path / "bt")  # fmt: skip
    assert code == 0, err
    assert "BTCUSDT" in out and "ETHUSDT" in out and "sharpe" in out
    written = sorted(p.name for p in (tmp_path / "bt").iterdir())
    assert written == ["positions.csv", "returns.csv", "summary.json", "trades.csv"]
    summary = json.loads((tmp_path / "bt" / "summary.json").read_text())
    expected = backtest_predictions(load_predictions(predictions_file), fee_bp=5.0).summary()
    assert summary["sharpe"] == pytest.approx(expected["sharpe"], rel=1e-12)
    trades = pd.read_csv(tmp_path / "bt" / "trades.csv")
    assert set(trades["symbol"]) == {"BTCUSDT", "ETHUSDT"}


def test_backtest_json_and_kelly(cli, predictions_file):
    code, out, err = cli("backtest", "--predictions", predictions_file, "--sizing", "kelly",
                         "--long-only", "--json")  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["periods_per_year"] == 8760 and summary["trades"] > 0


def test_backtest_bad_input(cli, tmp_path, predictions_file):
    code, _, err = cli("backtest", "--predictions", tmp_path / "missing.parquet")
    assert code == 2 and "not found" in err and "Traceback" not in err
    code, _, err = cli("backtest")
    assert code == 2 and "--run-id or --predictions" in err
    broken = tmp_path / "broken.csv"
    pd.DataFrame({"timestamp": ["2024-01-01"], "close": [1.0]}).to_csv(broken, index=False)
    code, _, err = cli("backtest", "--predictions", broken)
    assert code == 2 and "missing ['symbol', 'signal']" in err
    code, _, err = cli("backtest", "--predictions", predictions_file, "--fee-bp", "-3")
    assert code == 2 and "backtest.fee_bp" in err


@pytest.fixture
def tracked_run(tmp_path, monkeypatch, predictions_file):
    """A real MLflow run in a throwaway SQLite store with the predictions artifact."""
    import mlflow

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlruns.db'}")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlruns.db'}")
    experiment = mlflow.create_experiment("bt", artifact_location=(tmp_path / "art").as_uri())
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.log_artifact(str(predictions_file), artifact_path="predictions")
        # the run's own spec: its backtest settings are the default for this run
        mlflow.log_text("name: demo\nbacktest:\n  fee_bp: 25\n", "spec/experiment.yaml")
    with mlflow.start_run(experiment_id=experiment) as empty:
        mlflow.log_param("nothing", 1)
    return run.info.run_id, empty.info.run_id


@pytest.mark.server
def test_backtest_and_report_from_a_tracked_run(cli, tracked_run, predictions_file, tmp_path):
    run_id, empty_id = tracked_run
    code, out, err = cli("backtest", "--run-id", run_id, "--json")
    assert code == 0, err
    from_run = json.loads(out)
    code, out, _ = cli("backtest", "--predictions", predictions_file, "--json")
    assert from_run != json.loads(out)  # 10 bp default here, the run's spec says 25
    code, out, _ = cli("backtest", "--predictions", predictions_file, "--fee-bp", "25", "--json")
    assert from_run == json.loads(out)
    code, out, err = cli("report", "--run-id", run_id, "-o", tmp_path / "run.xlsx",
                         "--mc-paths", "200")  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "run.xlsx").stat().st_size > 5000
    code, _, err = cli("backtest", "--run-id", empty_id)
    assert code == 2 and "no predictions/oos.parquet" in err
    code, _, err = cli("backtest", "--run-id", "0123456789abcdef0123456789abcdef")
    assert code == 2 and "not found" in err
