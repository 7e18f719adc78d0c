"""A deep sequence model through the whole flow: tuned with purged CV, registered as a model
package carrying its ONNX graph, and `trademl predict` on raw candles reproduces the
run's holdout."""

from __future__ import annotations

import math

import mlflow
import pandas as pd
import pytest
import torch

from trademl.config import load_spec
from trademl.pipeline import load_frames, run

from .test_pipeline import small_spec

COMPARED = ["symbol", "close", "y_pred", "proba", "signal"]


@pytest.fixture(scope="module")
def deep_run(tmp_path_factory):
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("deep")
    spec = small_spec(
        folder,
        name="deep-test",
        model={
            "kind": "tcn",
            "params": {"window": 16, "epochs": 3, "filters": 8, "batch_size": 128},
            "early_stopping_rounds": 2,
            "search_space": {"kernel_size": {"type": "int", "low": 2, "high": 3}},
        },
        tuning={"n_trials": 2},
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        result = run(spec, progress=False)
    candles = load_frames(load_spec(spec))["BTCUSDT"]
    path = folder / "candles.parquet"
    candles.to_parquet(path)
    return folder, spec, result, path


def test_deep_run_is_scored_and_predict_reproduces_its_holdout(
    deep_run, cli, monkeypatch, tmp_path
):
    folder, spec, result, candles_path = deep_run
    for key in ("oos_accuracy", "oos_ic", "oos_sharpe", "deflated_sharpe"):
        assert math.isfinite(result.metrics[key])
    estimator = result.package.estimators["pooled"]
    assert type(estimator).__name__ == "TCNModel" and estimator.onnx_model_
    monkeypatch.chdir(folder)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", spec["tracking"]["uri"])
    out = tmp_path / "pred.parquet"
    code, _, err = cli(
        "predict", "--model", f"{result.model_name}/{result.model_version}", candles_path, "-o", out
    )
    assert code == 0, err
    client = mlflow.MlflowClient(tracking_uri=spec["tracking"]["uri"])
    oos = pd.read_parquet(
        client.download_artifacts(result.run_id, "predictions/oos.parquet", str(tmp_path))
    )
    got = pd.read_parquet(out).loc[oos.index, COMPARED]
    pd.testing.assert_frame_equal(got, oos[COMPARED], check_dtype=False, check_exact=True)


def test_served_bar_by_bar_a_sequence_model_equals_predict(deep_run):
    """The service scores a bar on the window of rows ending at it, like the batch path."""
    import numpy as np

    from trademl.serving.predictor import Predictor

    _, _, result, candles_path = deep_run
    package = result.package
    candles = pd.read_parquet(candles_path)
    expected = package.predict_frame(candles)
    predictor = Predictor(package)
    assert predictor.window_ == 16
    live = candles.iloc[-40:]
    predictor.warm_up("BTCUSDT", candles.iloc[:-40])
    served = [
        predictor.on_bar("BTCUSDT", bar._asdict(), stamp)
        for stamp, bar in zip(live.index, live[["open", "high", "low", "close", "volume"]]
                              .itertuples(index=False), strict=True)
    ]  # fmt: skip
    got = pd.Series([s["proba"] for s in served], index=live.index)
    np.testing.assert_allclose(got, expected.loc[live.index, "proba"], rtol=0, atol=1e-6)
    # one row padded to a window would give other numbers: the window matters here
    lone = package.score_rows(package.features_frame(candles, "BTCUSDT").loc[live.index[-1:]])
    assert abs(lone["proba"].iloc[0] - got.iloc[-1]) > 1e-6
