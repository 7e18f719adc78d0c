"""The HTTP contract against a real uvicorn server: /v1/bars equals `trademl predict` on the
same history, /v1/predict equals the package on the same rows, bad input is a 4xx naming the
field and leaves the stream intact, health, metrics and the OpenAPI schema."""

from __future__ import annotations

import json
import math

import httpx
import numpy as np
import pandas as pd
import pytest

from .conftest import API_KEY, LIVE_BARS, MODEL, bar_json

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def batch_predictions(registry):
    """What `trademl predict` gives on the full history (features are causal)."""
    from trademl.package import load_model

    return load_model(f"{MODEL}/1", tracking_uri=registry.uri).predict_frame(registry.candles)


def _post_bar(client, stamp, row, **extra):
    return client.post("/v1/bars", json={"symbol": "BTCUSDT", "bars": [bar_json(stamp, row)],
                                         **extra})  # fmt: skip


def test_bars_equal_batch_predictions_and_bad_input_is_refused(
    serve_in_thread, registry, batch_predictions
):
    server, service = serve_in_thread()
    live = registry.live
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/ready").json()["model"] == {"name": MODEL, "version": "1"}
        served = []
        for i, (stamp, row) in enumerate(live.iterrows()):
            if i == LIVE_BARS // 2:
                _refuse_bad_bars(client, stamp, row, previous=live.index[i - 1])
            response = _post_bar(client, stamp, row)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["model"] == {"name": MODEL, "version": "1"}
            assert pd.Timestamp(body["timestamp"]) == stamp
            served.append((stamp, body["proba"], body["prediction"], body["signal"]))
        metrics = client.get("/metrics").text
    got = pd.DataFrame(served, columns=["timestamp", "proba", "y_pred", "signal"])
    expected = batch_predictions.loc[got["timestamp"]]
    np.testing.assert_allclose(got["proba"], expected["proba"], rtol=1e-9, atol=0)
    assert (got["y_pred"].to_numpy() == expected["y_pred"].to_numpy()).all()
    assert (got["signal"].to_numpy() == expected["signal"].to_numpy()).all()
    assert got["proba"].std() > 0, "a constant answer is a bug until proven otherwise"
    assert (
        f'trademl_requests_total{{model="{MODEL}",route="/v1/bars",status="200",version="1"}} {float(LIVE_BARS)}'
        in metrics
    )
    assert 'trademl_rejected_bars_total{field="bars[].timestamp"}' in metrics
    assert "trademl_request_latency_seconds_bucket" in metrics
    assert "trademl_prediction_proba_bucket" in metrics


def _refuse_bad_bars(client, stamp, row, previous):
    """Each is a 4xx naming the field; the stream then continues as if they never came."""
    good = bar_json(stamp, row)
    cases = [
        ({"symbol": "BTCUSDT", "bars": [{**good, "close": "x"}]}, 422, "bars[0].close"),
        ({"symbol": "BTCUSDT", "bars": [{k: v for k, v in good.items() if k != "volume"}]},
         422, "bars[0].volume"),
        ({"symbol": "BTCUSDT", "bars": [{**good, "high": -1.0}]}, 422, "bars[0].high"),
        ({"symbol": "BTCUSDT", "bars": [{**good, "low": good["high"] * 2}]}, 422, "bars[0].low"),
        ({"symbol": "BTCUSDT", "bars": [{**good, "timestamp": "2026-06-20T09:00:00"}]},
         422, "bars[0].timestamp"),
        ({"symbol": "BTCUSDT", "bars": [{**good, "extra": 1}]}, 422, "bars[0].extra"),
        ({"symbol": "BTCUSDT", "bars": []}, 422, "bars"),
        ({"symbol": "BTCUSDT", "bars": [good] * 1001}, 422, "bars"),
        ({"symbol": "DOGEUSDT", "bars": [good]}, 404, "symbol"),
        ({"bars": [good]}, 422, "symbol"),
        ({"symbol": "BTCUSDT", "bars": [bar_json(previous, row)]}, 409, "bars[0].timestamp"),
        ({"symbol": "BTCUSDT", "bars": [bar_json(previous - pd.Timedelta("5h"), row)]},
         409, "bars[0].timestamp"),
        ({"symbol": "BTCUSDT", "bars": [bar_json(stamp + pd.Timedelta("2h"), row)]},
         409, "gap"),
        ({"symbol": "BTCUSDT", "bars": [bar_json(stamp + pd.Timedelta("30min"), row)]},
         422, "grid"),
        ({"symbol": "BTCUSDT", "bars": [good, bar_json(stamp, row)]}, 409, "bars[1].timestamp"),
        ({"symbol": "BTCUSDT",
          "bars": [bar_json(pd.Timestamp.now(tz="UTC").floor("h") + pd.Timedelta("1h"), row)]},
         422, "not closed"),
    ]  # fmt: skip
    for body, status, named in cases:
        response = client.post("/v1/bars", json=body)
        assert response.status_code == status, (body, response.text)
        assert named in response.json()["error"], response.text
    response = client.post(
        "/v1/bars", content=b'{"symbol": "BTCUSDT", "bars": [{"close": NaN}]}',
        headers={"content-type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 422
    assert client.post("/v1/bars", content=b"{not json").status_code == 422


def test_predict_rows_equal_the_package_and_check_the_signature(
    serve_in_thread, registry, batch_predictions
):
    from trademl.package import load_model

    package = load_model(f"{MODEL}/1", tracking_uri=registry.uri)
    X = package.features_frame(registry.candles, "BTCUSDT").dropna().iloc[-500:]
    expected = package.score_rows(X, "BTCUSDT")
    server, _ = serve_in_thread()
    columns = list(X.columns)
    shuffled = columns[::-1]  # names, not positions, decide
    body = {"columns": shuffled, "rows": X[shuffled].to_numpy().tolist()}
    with httpx.Client(base_url=server.url) as client:
        response = client.post("/v1/predict", json=body)
        assert response.status_code == 200, response.text
        got = response.json()
        assert got["model"] == {"name": MODEL, "version": "1"}
        np.testing.assert_allclose(got["proba"], expected["proba"], rtol=1e-12)
        assert got["signal"] == expected["signal"].tolist()
        # the same rows as an Arrow IPC stream (the batch path without per-value parsing)
        import pyarrow as pa

        sink = pa.BufferOutputStream()
        table = pa.Table.from_pandas(X[shuffled], preserve_index=False)
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        arrow = client.post(
            "/v1/predict", content=sink.getvalue().to_pybytes(),
            headers={"content-type": "application/vnd.apache.arrow.stream"},
        )  # fmt: skip
        assert arrow.status_code == 200, arrow.text
        np.testing.assert_allclose(arrow.json()["proba"], expected["proba"], rtol=1e-12)
        garbage = client.post("/v1/predict", content=b"\x00garbage",
                              headers={"content-type": "application/vnd.apache.arrow.stream"})  # fmt: skip
        assert garbage.status_code == 422 and "Arrow" in garbage.json()["error"]
        row = X.iloc[0].tolist()
        bad = [
            ({"columns": columns[:-1], "rows": [row[:-1]]}, "columns: missing"),
            ({"columns": [*columns, "extra"], "rows": [[*row, 1.0]]}, "extra"),
            ({"columns": [columns[0], *columns], "rows": [[row[0], *row]]}, "twice"),
            ({"columns": columns, "rows": [row[:-1]]}, "rows[0]"),
            ({"columns": columns, "rows": [[None, *row[1:]]]}, "rows[0][0]"),
            ({"columns": columns, "rows": [["a", *row[1:]]]}, "rows[0][0]"),
            ({"columns": columns, "rows": []}, "rows"),
            ({"columns": columns, "rows": [row] * 10_001}, "rows"),
            ({"columns": columns, "rows": [row], "symbol": "ETHUSDT"}, "symbol"),
            ({"columns": columns, "rows": [row], "timestamps": []}, "timestamps"),
        ]
        for request, named in bad:
            response = client.post("/v1/predict", json=request)
            assert 400 <= response.status_code < 500, (named, response.text)
            assert named in response.json()["error"], response.text
        # NaN and infinity are not numbers a model can use
        text = json.dumps({"columns": [columns[0]], "rows": [[0.0]]}).replace("0.0", "NaN")
        response = client.post(
            "/v1/predict", content=text, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422 and "rows[0][0]" in response.json()["error"]


def test_openapi_schema_and_admin_key(serve_in_thread):
    server, _ = serve_in_thread()
    with httpx.Client(base_url=server.url) as client:
        schema = client.get("/openapi.json").json()
        for path in ("/v1/bars", "/v1/predict", "/v1/admin/reload", "/v1/admin/traffic",
                     "/v1/admin/rollback", "/health", "/ready", "/metrics", "/v1/status"):  # fmt: skip
            assert path in schema["paths"], path
        components = schema["components"]["schemas"]
        for name in ("BarsRequest", "BarsResponse", "PredictRequest", "PredictResponse",
                     "ErrorResponse", "TrafficRequest", "StatusResponse"):  # fmt: skip
            assert name in components, name
        assert "APIKeyHeader" in schema["components"]["securitySchemes"]
        assert "security" not in schema["paths"]["/v1/bars"]["post"]  # open by default
        assert client.post("/v1/admin/reload").status_code == 401
        assert client.post("/v1/admin/reload", headers={"X-API-Key": "wrong"}).status_code == 401
        ok = client.post("/v1/admin/reload", headers={"X-API-Key": API_KEY})
        assert ok.status_code == 200 and ok.json()["changed"] is False
        bad = client.post("/v1/admin/traffic", headers={"X-API-Key": API_KEY},
                          json={"mode": "canary", "percent": 150})  # fmt: skip
        assert bad.status_code == 422 and "percent" in bad.json()["error"]
        none = client.post("/v1/admin/traffic", headers={"X-API-Key": API_KEY},
                           json={"mode": "canary", "percent": 10})  # fmt: skip
        assert none.status_code == 409 and "challenger" in none.json()["error"]
        status = client.get("/v1/status").json()
        assert status["champion"]["version"] == "1" and status["ready"] is True
        assert not math.isnan(len(status["symbols"]))


def test_warm_up_defaults_to_the_registered_runs_data(serve_in_thread, registry):
    server, service = serve_in_thread(model=f"{MODEL}/1", warmup=[], log_predictions=False)
    history = service.deployment.histories["BTCUSDT"]
    assert len(history) == len(registry.candles)
    assert history.last_timestamp == registry.candles.index[-1]
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/ready").status_code == 200


def test_protected_predictions_need_the_key(serve_in_thread, registry):
    server, _ = serve_in_thread(model=f"{MODEL}/1", protect_predictions=True, log_predictions=False)
    stamp, row = registry.live.index[0], registry.live.iloc[0]
    body = {"symbol": "BTCUSDT", "bars": [bar_json(stamp, row)]}
    with httpx.Client(base_url=server.url) as client:
        refused = client.post("/v1/bars", json=body)
        assert refused.status_code == 401 and "X-API-Key" in refused.json()["error"]
        assert client.get("/health").status_code == 200  # liveness stays open
        ok = client.post("/v1/bars", json=body, headers={"X-API-Key": API_KEY})
        assert ok.status_code == 200, ok.text
        wrong = client.post("/v1/predict", json={"columns": ["x"], "rows": [[1.0]]},
                            headers={"X-API-Key": "wrong"})  # fmt: skip
        assert wrong.status_code == 401 and "X-API-Key" in wrong.json()["error"]
        paths = client.get("/openapi.json").json()["paths"]
        for path in ("/v1/bars", "/v1/predict"):  # the schema says the key is needed
            assert paths[path]["post"]["security"] == [{"APIKeyHeader": []}], path


def _arrow_stream(*batches) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batches[0].schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def test_arrow_lane_reads_any_numeric_columns_and_answers_in_arrow(serve_in_thread, registry):
    import pyarrow as pa

    from trademl.package import load_model

    package = load_model(f"{MODEL}/1", tracking_uri=registry.uri)
    X = package.features_frame(registry.candles, "BTCUSDT").dropna().iloc[-300:]
    expected = package.score_rows(X, "BTCUSDT")
    server, _ = serve_in_thread(log_predictions=False)
    columns = list(X.columns)[::-1]  # the request's order, not the model's
    batch = pa.RecordBatch.from_pandas(X[columns], preserve_index=False)
    arrow = {"content-type": "application/vnd.apache.arrow.stream"}
    answer_arrow = {**arrow, "accept": "application/vnd.apache.arrow.stream"}
    with httpx.Client(base_url=server.url) as client:
        # two record batches of one stream: one matrix, the same answers; an Arrow answer
        two = _arrow_stream(batch.slice(0, 100), batch.slice(100))
        response = client.post("/v1/predict", content=two, headers=answer_arrow)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/vnd.apache.arrow.stream"
        got = pa.ipc.open_stream(response.content).read_all()
        assert got.column_names == ["predictions", "proba", "signal"]
        assert got.schema.metadata == {b"model": MODEL.encode(), b"version": b"1"}
        np.testing.assert_allclose(got.column("proba").to_numpy(), expected["proba"], rtol=1e-12)
        assert got.column("signal").to_pylist() == expected["signal"].tolist()
        np.testing.assert_array_equal(got.column("predictions").to_numpy(), expected["y_pred"])
        # an integer column is read as the float it holds (the JSON lane does the same)
        first = columns[0]
        whole = X[columns].copy()
        whole[first] = np.round(whole[first] * 1000)
        mixed = pa.RecordBatch.from_pandas(whole.astype({first: "int64"}), preserve_index=False)
        assert mixed.schema.field(first).type == pa.int64()
        wanted = package.score_rows(whole[list(X.columns)], "BTCUSDT")
        response = client.post("/v1/predict", content=_arrow_stream(mixed), headers=arrow)
        assert response.status_code == 200, response.text
        np.testing.assert_allclose(response.json()["proba"], wanted["proba"], rtol=1e-12)
        # refusals name the column and the row, as the JSON lane's do
        with_null = batch.set_column(
            3, columns[3], pa.array([None, *X[columns[3]].iloc[1:]], type=pa.float64())
        )
        text = batch.set_column(5, columns[5], pa.array(["a"] * len(X)))
        infinite = batch.set_column(
            7, columns[7], pa.array([*X[columns[7]].iloc[:-1], np.inf], type=pa.float64())
        )
        for bad, named in [
            (with_null, f"rows[0][3]: {columns[3]!r} is nan"),
            (text, f"columns: {columns[5]!r} is string, not numeric"),
            (infinite, f"rows[{len(X) - 1}][7]: {columns[7]!r} is inf"),
            (batch.drop_columns([columns[2]]), "columns: missing 1 feature"),
        ]:
            response = client.post("/v1/predict", content=_arrow_stream(bad), headers=arrow)
            assert response.status_code == 422, (named, response.text)
            assert named in response.json()["error"], response.text


def test_the_service_reuses_freed_large_buffers():
    """What the service sets at start-up: a freed 10 MB buffer (an Arrow body) is reused
    by the next request's, not mapped afresh (~2,500 page faults each time otherwise)."""
    import platform
    import resource

    from trademl.serving.app import keep_freed_memory

    if platform.libc_ver()[0] != "glibc":
        assert keep_freed_memory() is False
        return
    assert keep_freed_memory() is True
    chunks = [bytes([i]) * (256 << 10) for i in range(40)]
    b"".join(chunks)  # the first one maps its pages
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        body = b"".join(chunks)
        assert len(body) == 10 << 20
        del body
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 500, f"{faults} page faults for five 10 MB bodies"


def test_all_features_computes_every_column_and_answers_the_same(
    serve_in_thread, registry, batch_predictions
):
    """`trademl serve --all-features`: every column computed bar by bar; the same answers as
    the default, which computes only the columns the model reads."""
    answers = {}
    for every in (False, True):
        server, service = serve_in_thread(all_features=every)
        state = service.deployment.routing.champion.predictor.state("BTCUSDT")
        assert state.computes_all is every
        with httpx.Client(base_url=server.url) as client:
            answers[every] = [
                _post_bar(client, stamp, row).json()
                for stamp, row in registry.live.iloc[:20].iterrows()
            ]
        assert state.computes_all or len(state.computed_columns) < len(state.recipe.columns)
    assert [a["proba"] for a in answers[False]] == [a["proba"] for a in answers[True]]
    expected = batch_predictions.loc[registry.live.index[:20]]
    np.testing.assert_allclose([a["proba"] for a in answers[True]], expected["proba"], atol=1e-9)
