"""Hot swap under load (0 failed requests), registry rollback, canary and shadow traffic."""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx
import numpy as np
import pandas as pd
import pytest

from .conftest import API_KEY, MODEL, bar_json

pytestmark = pytest.mark.server

ADMIN = {"X-API-Key": API_KEY}
CLIENTS = 16


@pytest.fixture(scope="module")
def packages(registry):
    from trademl.package import load_model

    return {v: load_model(f"{MODEL}/{v}", tracking_uri=registry.uri) for v in (1, 2)}


@pytest.fixture(scope="module")
def rows(registry, packages):
    X = packages[1].features_frame(registry.candles, "BTCUSDT").dropna().iloc[-40:]
    return X


def _predict_body(X: pd.DataFrame, **extra) -> dict:
    return {"columns": list(X.columns), "rows": X.to_numpy().tolist(), **extra}


def test_hot_swap_under_load_fails_no_request(serve_in_thread, registry, rows, packages):
    from trademl import tracking

    server, service = serve_in_thread(poll_seconds=0.2)  # follows serve-test@champion
    stop = threading.Event()
    seen: list[list[str]] = [[] for _ in range(CLIENTS)]
    failures: list[str] = []

    def predict_client(i: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            while not stop.is_set():
                try:
                    response = client.post("/v1/predict", json=_predict_body(rows.iloc[i : i + 5]))
                except httpx.HTTPError as exc:
                    failures.append(f"client {i}: {exc!r}")
                    continue
                if response.status_code != 200:
                    failures.append(f"client {i}: {response.status_code} {response.text[:200]}")
                    continue
                body = response.json()
                version = body["model"]["version"]
                expected = packages[int(version)].score_rows(rows.iloc[i : i + 5], "BTCUSDT")
                if not np.allclose(body["proba"], expected["proba"], rtol=1e-12):
                    failures.append(f"client {i}: v{version} answered another model's proba")
                seen[i].append(version)

    def bars_client() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for stamp, row in registry.live.iterrows():
                if stop.is_set():
                    return
                body = {"symbol": "BTCUSDT", "bars": [bar_json(stamp, row)]}
                response = client.post("/v1/bars", json=body)
                if response.status_code != 200:
                    failures.append(f"bars: {response.status_code} {response.text[:200]}")
                else:
                    seen[-1].append(response.json()["model"]["version"])
                time.sleep(0.05)

    threads = [threading.Thread(target=predict_client, args=(i,)) for i in range(CLIENTS - 1)]
    threads.append(threading.Thread(target=bars_client))
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)
        tracking.promote(MODEL, 2, reason="serving test: swap under load")
        deadline = time.monotonic() + 60
        while service.deployment.routing.champion.version != "2":
            assert time.monotonic() < deadline, "the poller did not swap to v2"
            time.sleep(0.05)
        time.sleep(1.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert not failures, failures[:5]
    answered = sum(len(s) for s in seen)
    assert answered > 30
    for i, versions in enumerate(seen):
        # each client moves from v1 to v2 once and never back: the switch is atomic
        changes = [b for a, b in zip(versions, versions[1:], strict=False) if a != b]
        assert changes in ([], ["2"]), (i, Counter(versions))
    assert Counter(v for s in seen for v in s).keys() == {"1", "2"}
    assert service.deployment.swaps == 1

    # the new champion's online state continued from the same history: the bars it
    # answered equal the batch path of v2 on all bars so far
    from trademl.monitoring import open_store

    service.prediction_log.stop()
    logged = open_store(service.store.url).predictions(MODEL, version="2")
    assert len(logged) > 0
    history = service.deployment.histories["BTCUSDT"].frame()
    expected = packages[2].predict_frame(history).loc[logged.index]
    np.testing.assert_allclose(logged["proba"], expected["proba"], rtol=1e-9)
    service.prediction_log.start()

    with httpx.Client(base_url=server.url) as client:
        refused = client.post("/v1/admin/rollback", json={"reason": "test"})
        assert refused.status_code == 401
        rolled = client.post("/v1/admin/rollback", headers=ADMIN, json={"reason": "test rollback"})
        assert rolled.status_code == 200, rolled.text
        assert rolled.json()["champion"]["version"] == "1"
        answer = client.post("/v1/predict", json=_predict_body(rows.iloc[:3])).json()
        assert answer["model"]["version"] == "1"
    from trademl.tracking.registry import champion_version

    assert champion_version(MODEL) == 1  # the registry says so too: the poller keeps v1


def test_tampered_new_champion_is_refused_and_the_old_keeps_serving(
    serve_in_thread, registry, rows, monkeypatch
):
    from trademl.tracking import _store
    from trademl.tracking.integrity import MANIFEST_TAG

    server, service = serve_in_thread()
    client_ml = _store.client()
    mv = client_ml.get_model_version(MODEL, "2")
    original = mv.tags[MANIFEST_TAG]
    client_ml.set_model_version_tag(MODEL, "2", MANIFEST_TAG, '{"python_model.pkl": "00"}')
    client_ml.set_registered_model_alias(MODEL, "champion", "2")
    try:
        with httpx.Client(base_url=server.url) as client:
            response = client.post("/v1/admin/reload", headers=ADMIN)
            assert response.status_code == 409, response.text
            # a rewritten manifest no longer matches its signature: refused before unpickling
            assert "manifest signature does not match" in response.json()["error"]
            answer = client.post("/v1/predict", json=_predict_body(rows.iloc[:3]))
            assert answer.status_code == 200 and answer.json()["model"]["version"] == "1"
    finally:
        client_ml.set_model_version_tag(MODEL, "2", MANIFEST_TAG, original)
        client_ml.set_registered_model_alias(MODEL, "champion", "1")


def test_canary_is_sticky_and_shadow_logs_both(serve_in_thread, registry, rows, packages):
    from trademl.monitoring import open_store

    server, service = serve_in_thread(model=f"{MODEL}/1", challenger=f"{MODEL}/2")
    with httpx.Client(base_url=server.url) as client:
        split = client.post(
            "/v1/admin/traffic", headers=ADMIN, json={"mode": "canary", "percent": 50}
        )
        assert split.status_code == 200, split.text
        answers = {}
        for key in (f"client-{i}" for i in range(40)):
            body = _predict_body(rows.iloc[:4], request_key=key)
            first = client.post("/v1/predict", json=body).json()
            again = client.post("/v1/predict", json=body).json()
            assert first["model"] == again["model"], "a key keeps its model"
            version = first["model"]["version"]
            expected = packages[int(version)].score_rows(rows.iloc[:4], "BTCUSDT")
            np.testing.assert_allclose(first["proba"], expected["proba"], rtol=1e-12)
            answers[key] = version
        shares = Counter(answers.values())
        assert shares["1"] >= 8 and shares["2"] >= 8, shares

        shadow = client.post("/v1/admin/traffic", headers=ADMIN, json={"mode": "shadow"})
        assert shadow.status_code == 200
        live = registry.live.iloc[:10]
        for stamp, row in live.iterrows():
            body = {"symbol": "BTCUSDT", "bars": [bar_json(stamp, row)]}
            answer = client.post("/v1/bars", json=body).json()
            assert answer["model"] == {"name": MODEL, "version": "1"}
        status = client.get("/v1/status").json()
        assert status["challenger"] == {"name": MODEL, "version": "2"}
        assert status["traffic"]["mode"] == "shadow"
    service.prediction_log.stop()
    store = open_store(service.store.url)
    history = pd.concat([pd.read_parquet(registry.warmup_path), live])
    for version in ("1", "2"):
        mine = store.predictions(MODEL, version=version)
        assert len(mine) == len(live), (version, len(mine))
        assert (mine.index == live.index).all()
        expected = packages[int(version)].predict_frame(history).loc[live.index]
        np.testing.assert_allclose(
            mine["proba"].to_numpy(), expected["proba"].to_numpy(), rtol=1e-9
        )
