"""POST /v1/explain against a real uvicorn server: the contributions add up to the model's
output and equal ``explain_one`` in process, a seen bar is explained on the row its
prediction used, bad input and an unexplainable model kind are a 4xx naming the problem,
and the API key guards it like the prediction endpoints."""

from __future__ import annotations

import json
import math

import httpx
import numpy as np
import pandas as pd
import pytest

from trademl.explain import explain_one

from .conftest import API_KEY, MODEL, ThreadServer, bar_json

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def features(registry) -> pd.DataFrame:
    """The v1 model's feature rows on the whole history (the batch path)."""
    from trademl.package import load_model

    package = load_model(f"{MODEL}/1", tracking_uri=registry.uri)
    return package.features_frame(registry.candles, "BTCUSDT").dropna()


def _row_body(features: pd.DataFrame, i: int, **extra) -> dict:
    return {"columns": list(features.columns), "rows": [features.iloc[i].tolist()], **extra}


def _adds_up(answer: dict) -> None:
    total = answer["base_value"] + math.fsum(c["contribution"] for c in answer["contributions"])
    assert total + answer["rest"] == pytest.approx(answer["output_value"], abs=1e-6)


def test_explain_adds_up_and_equals_explain_one_in_process(serve_in_thread, features):
    server, service = serve_in_thread(model=f"{MODEL}/1", log_predictions=False)
    package = service.deployment.routing.champion.package
    with httpx.Client(base_url=server.url) as client:
        for i in (-1, -7, -30):
            body = _row_body(features, i)
            answer = client.post("/v1/explain", json=body)
            assert answer.status_code == 200, answer.text
            answer = answer.json()
            assert answer["model"] == {"name": MODEL, "version": "1"}
            assert answer["explainer"] == "lightgbm.pred_contrib"
            assert answer["output"] == "log_odds" and answer["rest"] == 0.0
            assert answer["n_features"] == len(answer["contributions"]) == features.shape[1]
            _adds_up(answer)
            expected = explain_one(package, features.iloc[i])
            got = {c["feature"]: c["contribution"] for c in answer["contributions"]}
            assert list(got) == list(expected["contributions"])  # same order: largest first
            np.testing.assert_allclose(
                list(got.values()), list(expected["contributions"].values()), rtol=0, atol=1e-12
            )
            assert answer["base_value"] == pytest.approx(expected["base_value"], abs=1e-12)
            magnitudes = [abs(v) for v in got.values()]
            assert magnitudes == sorted(magnitudes, reverse=True) and magnitudes[0] > 0
            # the explained prediction is the one /v1/predict gives for the same body
            predicted = client.post("/v1/predict", json=body).json()
            assert answer["prediction"] == predicted["predictions"][0]
            assert answer["signal"] == predicted["signal"][0]
            assert answer["proba"] == pytest.approx(predicted["proba"][0], abs=1e-12)
            assert 1 / (1 + math.exp(-answer["output_value"])) == pytest.approx(
                answer["proba"], abs=1e-9
            )
            assert 0 < answer["latency_ms"] < 1_000
        top = client.post("/v1/explain", json=_row_body(features, -1, top=3)).json()
        assert len(top["contributions"]) == 3 and top["rest"] != 0.0
        _adds_up(top)
        metrics = client.get("/metrics").text
    assert 'route="/v1/explain",status="200",version="1"' in metrics


def test_explain_a_seen_bar_uses_the_row_its_prediction_used(serve_in_thread, registry, features):
    server, service = serve_in_thread(model=f"{MODEL}/1", log_predictions=False)
    package = service.deployment.routing.champion.package
    live = registry.live.iloc[:5]
    with httpx.Client(base_url=server.url) as client:
        served = []
        for stamp, row in live.iterrows():
            bars = {"symbol": "BTCUSDT", "bars": [bar_json(stamp, row)]}
            served.append(client.post("/v1/bars", json=bars).json())
        newest = client.post("/v1/explain", json={"symbol": "BTCUSDT", "top": 5}).json()
        assert pd.Timestamp(newest["timestamp"]) == live.index[-1]
        assert newest["proba"] == pytest.approx(served[-1]["proba"], abs=1e-12)
        assert newest["signal"] == served[-1]["signal"]
        _adds_up(newest)
        # every contribution of the newest bar: the batch row's, though the service computes
        # only the columns the model reads (the rest: no value, a contribution of exactly 0)
        whole = client.post("/v1/explain", json={"symbol": "BTCUSDT"}).json()
        read = set(package.columns_read("BTCUSDT") or package.feature_names)
        assert len(read) < len(package.feature_names)
        expected = explain_one(package, features.loc[live.index[-1]])["contributions"]
        got = {c["feature"]: c for c in whole["contributions"]}
        for name, contribution in expected.items():
            assert got[name]["contribution"] == pytest.approx(contribution, abs=1e-12), name
            if name in read:
                assert got[name]["value"] == pytest.approx(features.loc[live.index[-1], name])
            else:
                assert got[name]["value"] is None and got[name]["contribution"] == 0.0, name
        # an earlier bar: recomputed by the batch path on the kept bars, the same row
        earlier = live.index[1]
        answer = client.post(
            "/v1/explain", json={"symbol": "BTCUSDT", "timestamp": earlier.isoformat()}
        ).json()
        assert pd.Timestamp(answer["timestamp"]) == earlier
        assert answer["proba"] == pytest.approx(served[1]["proba"], abs=1e-12)
        expected = explain_one(package, features.loc[earlier])
        got = {c["feature"]: c["contribution"] for c in answer["contributions"]}
        np.testing.assert_allclose(
            [got[k] for k in expected["contributions"]],
            list(expected["contributions"].values()), rtol=0, atol=1e-12,
        )  # fmt: skip
        values = {c["feature"]: c["value"] for c in answer["contributions"]}
        np.testing.assert_allclose(
            [values[k] for k in features.columns], features.loc[earlier], rtol=1e-6
        )


def test_bad_explain_requests_are_4xx_naming_the_problem(serve_in_thread, features):
    server, _ = serve_in_thread(model=f"{MODEL}/1", log_predictions=False)
    good = _row_body(features, -1)
    columns, row = good["columns"], good["rows"][0]
    cases = [
        ({"columns": columns[1:], "rows": [row[1:]]}, 422, f"missing 1 feature(s) the model "
         f"needs, first ['{columns[0]}']"),
        ({"columns": [*columns, "nope"], "rows": [[*row, 1.0]]}, 422, "['nope']"),
        ({"columns": [*columns, columns[0]], "rows": [[*row, 1.0]]}, 422, "given twice"),
        ({"columns": columns, "rows": [row[:-1]]}, 422, "rows[0]:"),
        ({"columns": columns, "rows": [row, row]}, 422, "rows"),
        ({"columns": columns, "rows": [[*row[:-1], "high"]]}, 422, f"rows[0][{len(row) - 1}]"),
        # an overflowing number is infinity to the parser (httpx would refuse to send inf)
        (json.dumps({"columns": columns, "rows": [[*row[:-1], 12345.5]]}).replace(
            "12345.5", "1e999"), 422, f"rows[0][{len(row) - 1}]"),
        ({"columns": columns}, 422, "columns given without rows"),
        ({}, 422, "give a feature row (columns + rows) or the symbol"),
        ({**good, "timestamp": "2026-06-20T09:00:00+00:00"}, 422, "leave it out"),
        ({**good, "top": 0}, 422, "top"),
        ({**good, "extra": 1}, 422, "extra"),
        ({**good, "symbol": "ETHUSDT"}, 404, "'ETHUSDT' is unknown to the model"),
        ({"symbol": "BTCUSDT", "timestamp": "2019-05-01T00:00:00+00:00"}, 404,
         "no bar of BTCUSDT opens at 2019-05-01T00:00:00+00:00"),
        ({"symbol": "BTCUSDT", "timestamp": "0001-01-01T00:00:00+00:00"}, 404, "timestamp"),
        ({"symbol": "BTCUSDT", "timestamp": "2026-06-20T09:00:00"}, 422, "timestamp"),
    ]  # fmt: skip
    with httpx.Client(base_url=server.url) as client:
        for body, status, message in cases:
            if isinstance(body, str):
                response = client.post(
                    "/v1/explain", content=body, headers={"content-type": "application/json"}
                )
            else:
                response = client.post("/v1/explain", json=body)
            assert response.status_code == status, (body, response.text)
            assert message in response.json()["error"], response.text
        # the first bars of the kept history have no prediction: their features warm up
        first = client.post(
            "/v1/explain", json={"symbol": "BTCUSDT", "timestamp": "2026-01-15T00:00:00+00:00"}
        )
        assert first.status_code == 409 and "still warming up" in first.json()["error"], first.text


def test_explain_is_guarded_like_the_predictions(serve_in_thread, features):
    server, _ = serve_in_thread(model=f"{MODEL}/1", protect_predictions=True, log_predictions=False)
    with httpx.Client(base_url=server.url) as client:
        refused = client.post("/v1/explain", json=_row_body(features, -1))
        assert refused.status_code == 401 and "X-API-Key" in refused.json()["error"]
        answered = client.post(
            "/v1/explain", json=_row_body(features, -1), headers={"X-API-Key": API_KEY}
        )
        assert answered.status_code == 200, answered.text
        schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/v1/explain"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ExplainRequest"
    )
    assert {"ExplainRequest", "ExplainResponse", "Contribution"} <= set(
        schema["components"]["schemas"]
    )


def _served_with(registry, features, estimator, name: str):
    """The v1 package with another estimator fitted on its features, served by a real
    uvicorn server (create_app around a Deployment, as ``trademl serve`` builds it)."""
    from trademl.package import load_model
    from trademl.serving.app import create_app
    from trademl.serving.deployment import Deployment, ModelSlot
    from trademl.serving.history import SymbolHistory
    from trademl.serving.predictor import Predictor

    package = load_model(f"{MODEL}/1", tracking_uri=registry.uri)
    close = registry.candles["close"]
    up = np.where(close.shift(-4).loc[features.index] > close.loc[features.index], 1, -1)
    package.estimators = {"pooled": estimator.fit(features, up)}
    slot = ModelSlot(f"{name}/1", name, "1", package, Predictor(package))
    history = SymbolHistory("BTCUSDT", registry.candles, max_bars=20_000)
    deployment = Deployment(
        histories={"BTCUSDT": history}, step_ns=3_600 * 10**9, loader=lambda ref: slot
    )
    deployment.start(slot)
    return package, ThreadServer(create_app(deployment))


def test_a_random_forest_is_explained_through_shap(registry, features):
    from trademl.models.random_forest import RandomForestModel

    forest = RandomForestModel(n_estimators=20, max_depth=4, random_state=0)
    package, server = _served_with(registry, features, forest, "forest")
    with server, httpx.Client(base_url=server.url) as client:
        answer = client.post("/v1/explain", json=_row_body(features, -1))
        assert answer.status_code == 200, answer.text
        answer = answer.json()
    assert answer["explainer"] == "shap.TreeExplainer" and answer["output"] == "probability"
    _adds_up(answer)
    assert answer["output_value"] == pytest.approx(answer["proba"], abs=1e-6)
    expected = explain_one(package, features.iloc[-1])
    got = {c["feature"]: c["contribution"] for c in answer["contributions"]}
    np.testing.assert_allclose(
        [got[k] for k in expected["contributions"]],
        list(expected["contributions"].values()), rtol=0, atol=1e-12,
    )  # fmt: skip


def test_a_model_kind_without_tree_shap_is_refused_by_name(registry, features):
    """A logistic model served like any other: /v1/predict answers, /v1/explain says why not."""
    from trademl.models.logistic import LogisticModel

    _, server = _served_with(registry, features, LogisticModel(), "linear")
    with server, httpx.Client(base_url=server.url) as c:
        assert c.post("/v1/predict", json=_row_body(features, -1)).status_code == 200
        for body in (_row_body(features, -1), {"symbol": "BTCUSDT"}):
            refused = c.post("/v1/explain", json=body)
            assert refused.status_code == 422, refused.text
            why = refused.json()["error"]
            assert "model kind 'logistic' (linear/1): no TreeSHAP explainer" in why
