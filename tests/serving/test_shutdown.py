"""A SIGTERM to the real `trademl serve` process loses no answered prediction; a retried
batch is stored once; a tampered or missing model stops the command with one line."""

from __future__ import annotations

import pickle
import signal
import threading
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from .conftest import MODEL, bar_json, start_cli_server

pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_sigterm_loses_no_answered_prediction(registry, tmp_path):
    from trademl.monitoring import open_store
    from trademl.package import load_model

    db = tmp_path / "monitor.db"
    process, url = start_cli_server(
        registry, tmp_path, "--model", f"{MODEL}/1", "--warmup", str(registry.warmup_path),
        "--db", str(db),
    )  # fmt: skip
    package = load_model(f"{MODEL}/1", tracking_uri=registry.uri)
    X = package.features_frame(registry.candles, "BTCUSDT").dropna().iloc[-20:]
    answered: dict[str, set] = {"bars": set(), "rows": set()}
    lock = threading.Lock()
    go = threading.Event()

    def stream_bars() -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            go.wait()
            for stamp, row in registry.live.iterrows():
                try:
                    r = client.post("/v1/bars", json={"symbol": "BTCUSDT",
                                                      "bars": [bar_json(stamp, row)]})  # fmt: skip
                except httpx.HTTPError:
                    return  # the server went away: not answered
                if r.status_code == 200:
                    with lock:
                        answered["bars"].add(stamp)

    def predict(i: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            go.wait()
            for k in range(10_000):
                stamps = pd.date_range(f"{2000 + i}-01-01", periods=5, freq="h", tz="UTC")
                stamps = stamps + pd.Timedelta(hours=5 * k)
                body = {"columns": list(X.columns), "rows": X.iloc[:5].to_numpy().tolist(),
                        "symbol": "BTCUSDT", "timestamps": [s.isoformat() for s in stamps]}  # fmt: skip
                try:
                    r = client.post("/v1/predict", json=body)
                except httpx.HTTPError:
                    return
                if r.status_code == 200:
                    with lock:
                        answered["rows"].update(stamps)

    threads = [threading.Thread(target=stream_bars)]
    threads += [threading.Thread(target=predict, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    go.set()
    try:
        time.sleep(2.0)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        for thread in threads:
            thread.join(60)
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught: exit by signal 15
    assert process.returncode in (0, -signal.SIGTERM), err
    assert answered["bars"] and answered["rows"], answered
    stored = open_store(db).predictions(MODEL, version="1")
    stamps = set(stored.index)
    assert answered["bars"] <= stamps, "an answered bar is missing from the store"
    assert answered["rows"] <= stamps, "an answered row is missing from the store"
    assert not stored.index.duplicated().any()


def test_a_retried_batch_is_stored_once(tmp_path):
    from trademl.monitoring import open_store
    from trademl.serving.prediction_log import PredictionLogger

    store = open_store(tmp_path / "m.db")
    log = PredictionLogger(store, batch_size=10_000, interval=60)
    stamps = pd.date_range("2026-01-01", periods=50, freq="h", tz="UTC")
    rows = [(s.value, "BTCUSDT", 1.0, 0.6, 1.0, 100.0, 0.5) for s in stamps]
    log.submit("m", "1", rows)
    log.submit("m", "1", rows[:20])  # the same predictions sent again (a client retry)
    assert log.stop() == 0
    log = PredictionLogger(store)
    log.submit("m", "1", rows[10:30])  # after a restart, a replay of part of it
    log.stop()
    stored = store.predictions("m")
    assert len(stored) == 50 and not stored.index.duplicated().any()


def test_tampered_or_missing_model_refuses_to_start(registry, tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("serve", "--model", "no-such-model@champion", "--tracking-uri",
                       registry.uri, "--no-log")  # fmt: skip
    assert code == 2 and "no-such-model" in err and len(err.strip().splitlines()) == 1
    # v1's pickle replaced by one that would run code when unpickled (restored afterwards)
    marker = tmp_path / "payload-ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    pickles = sorted((registry.folder / "mlartifacts").rglob("python_model.pkl"))
    assert pickles
    originals = {path: path.read_bytes() for path in pickles}
    try:
        for path in pickles:
            path.write_bytes(pickle.dumps(Payload()))
        code, _, err = cli("serve", "--model", f"{MODEL}/1", "--tracking-uri", registry.uri,
                           "--no-log")  # fmt: skip
    finally:
        for path, data in originals.items():
            path.write_bytes(data)
    assert code == 2 and "integrity" in err and len(err.strip().splitlines()) == 1, err
    assert not marker.exists()


def test_serve_cli_rejects_bad_options(cli):
    code, _, err = cli("serve")
    assert code == 2 and "--model" in err
    code, _, err = cli("serve", "--model", "x@champion", "--port", "0")
    assert code == 2 and "--port" in err
    code, _, err = cli("serve", "--replay", "/no/such/file.csv", "--url", "http://127.0.0.1:9")
    assert code == 2 and "file not found" in err
