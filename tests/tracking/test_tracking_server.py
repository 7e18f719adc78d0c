"""The whole workflow against a real `mlflow server` on 127.0.0.1, started by `trademl ui`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import httpx
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from trademl.config import ExperimentSpec
from trademl.config.tracking import TrackingSpec
from trademl.tracking import (
    IntegrityError,
    PromotionRefused,
    champion_version,
    configure,
    lineage,
    load_model,
    log_dataset,
    log_metrics_batch,
    log_model,
    promote,
    register_model,
    rollback,
    start_run,
)
from trademl.tracking._store import client
from trademl.tracking.provenance import frame_sha256

pytestmark = pytest.mark.server
TRADEML = Path(sys.executable).with_name("trademl")


def _workflow(address: str, btc_xy, btc_recent, btc_1h_path) -> None:
    assert configure(TrackingSpec(uri=address)) == address
    features, target = btc_xy
    spec = ExperimentSpec(
        name="over-http", tracking={"uri": address, "gates": {"hit_rate": {"min": 0.5}}}
    )
    for c, hit_rate in ((1.0, 0.53), (0.05, 0.55)):
        with start_run(spec, run_name=f"C={c}") as run:
            log_dataset(btc_recent, source=str(btc_1h_path), symbols=["BTCUSDT"], timeframe="1h")
            for fold in range(2):
                with start_run(spec, nested=True, run_name=f"fold-{fold}"):
                    log_metrics_batch({"hit_rate": hit_rate - 0.01 * fold}, step=fold)
            model = LogisticRegression(C=c, max_iter=500).fit(features, target)
            log_model(model, input_example=features.head(5), card={"purpose": "http test"})
            log_metrics_batch({"hit_rate": hit_rate})
        version = register_model(run.info.run_id, "http-model", changelog=f"C={c}")
        promote("http-model", version, spec.tracking.gates)
    assert champion_version("http-model") == 2
    np.testing.assert_array_equal(
        load_model("http-model").predict(features), model.predict(features)
    )
    with pytest.raises(PromotionRefused, match=r"hit_rate = 0\.53 < min 0\.6, short by 0\.07"):
        promote("http-model", 1, {"hit_rate": {"min": 0.6}})
    assert rollback("http-model", "tested over http") == 1
    chain = lineage("http-model", 2)
    assert chain["dataset"]["sha256"] == frame_sha256(btc_recent)
    assert chain["parents"] == [1]
    # a byte changed in the store is caught by the client loading over http
    stored = Path(urlparse(client().get_model_version_download_uri("http-model", "1")).path)
    pickled = stored / "model.pkl"
    data = bytearray(pickled.read_bytes())
    data[-3] ^= 0xFF
    pickled.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"model http-model v1 .*model\.pkl: sha256"):
        load_model("http-model")
    load_model("http-model", version=2)  # the untouched version still loads


def test_ui_server_runs_the_workflow_over_http(store, free_port, btc_xy, btc_recent, btc_1h_path):
    with start_run(ExperimentSpec(name="made-before-ui")):
        log_metrics_batch({"sharpe": 1.0})
    address = f"http://127.0.0.1:{free_port}"
    process = subprocess.Popen(
        [str(TRADEML), "ui", "--port", str(free_port), "-t", store["uri"]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        line = process.stdout.readline()  # printed once /health answers
        assert f"MLflow UI at {address}" in line, process.stderr.read()
        answer = httpx.get(
            f"{address}/api/2.0/mlflow/experiments/get-by-name",
            params={"experiment_name": "made-before-ui"},
            timeout=30,
        )
        assert answer.status_code == 200
        assert answer.json()["experiment"]["name"] == "made-before-ui"
        _workflow(address, btc_xy, btc_recent, btc_1h_path)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
    # trademl ui took its mlflow server down with it
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{address}/health", timeout=2)
