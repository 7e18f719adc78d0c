"""Benchmark parts ``http`` of benchmarks/serving.py: the service over real HTTP.

    .venv/bin/python benchmarks/serving.py --part http [--requests 1500] [--seconds 3]

Servers: the trademl service (``create_app`` around the demo package of the ``inprocess``
part, warmed up on the bundled BTC/USDT 1h sample) and, as the named alternative, a bare
FastAPI app whose one endpoint takes a JSON list of floats and returns its dot product
with fixed weights -- the floor of FastAPI + uvicorn + JSON on this machine. Each server is
its own process (uvicorn, one worker, access log off, same settings), on 127.0.0.1.

1. latency, one keep-alive client, requests alternating A B A B: ``/v1/bars`` (one new
   real bar), ``/v1/predict`` (one row) and the floor with a body of one row's floats.
   Wall time per request on the client; server CPU per request from /proc/PID/stat over
   the whole phase (each server is idle while the other answers).
2. throughput, 16 concurrent asyncio clients (one connection each) for ``--seconds`` per round, rounds alternating: the
   service with prediction logging to a SQLite monitoring store against the same service
   without logging (``/v1/predict``, one row with a timestamp per request).
3. batch ``/v1/predict`` rows/s (``--batch`` rows a request), as JSON and as an Arrow IPC
   stream, against the bare model's ``predict_proba`` on the same rows in this process,
   alternating.

Request bodies are encoded before the clock starts (the client's JSON encoder is not the
service's cost); each server decodes and validates them as it would any client's.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import pickle
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

SYMBOL = "BTCUSDT"
TRAIN_BARS = 12_000
_TICKS = os.sysconf("SC_CLK_TCK")
JSON_HEADERS = {"content-type": "application/json"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def _run_uvicorn(app, port: int) -> None:
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


class DotBody(BaseModel):
    x: list[float]


def _floor_server(port: int, width: int) -> None:
    from fastapi import FastAPI

    weights = np.linspace(-1, 1, width)
    app = FastAPI()

    @app.post("/dot")
    async def dot(body: DotBody) -> dict:
        return {"y": float(np.dot(weights, body.x))}

    _run_uvicorn(app, port)


def _trademl_server(port: int, package_path: str, warm_up_path: str, db: str | None) -> None:
    import pandas as pd

    from trademl.data.timeframe import timeframe_to_seconds
    from trademl.serving.app import create_app
    from trademl.serving.deployment import Deployment, ModelSlot
    from trademl.serving.history import SymbolHistory
    from trademl.serving.metrics import ServingMetrics
    from trademl.serving.predictor import Predictor

    package = pickle.loads(Path(package_path).read_bytes())
    candles = pd.read_parquet(warm_up_path)

    def no_reload(reference: str):
        raise RuntimeError("the benchmark serves one in-memory package")

    slot = ModelSlot("bench/1", "bench", "1", package, Predictor(package))
    deployment = Deployment(
        histories={SYMBOL: SymbolHistory(SYMBOL, candles, max_bars=20_000)},
        step_ns=timeframe_to_seconds(package.timeframe) * 10**9,
        loader=no_reload,
    )
    deployment.start(slot)
    metrics = ServingMetrics()
    log = store = None
    if db:
        from trademl.monitoring import open_store
        from trademl.serving.prediction_log import PredictionLogger

        store = open_store(db)
        log = PredictionLogger(store, metrics=metrics)
    app = create_app(deployment, metrics=metrics, prediction_log=log, store=store)
    _run_uvicorn(app, port)


def _start(target, *args) -> tuple[mp.Process, str]:
    import httpx

    port = _free_port()
    process = mp.get_context("spawn").Process(target=target, args=(port, *args), daemon=True)
    process.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/openapi.json", timeout=1)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"server {target.__name__} did not start")


def _summary(ms: list[float]) -> dict[str, float]:
    values = np.asarray(ms)
    return {"p50_ms": float(np.percentile(values, 50)), "p99_ms": float(np.percentile(values, 99)),
            "mean_ms": float(values.mean()), "n": int(values.size)}  # fmt: skip


def http(requests: int = 1500, seconds: float = 3.0, rounds: int = 4, batch: int = 5000) -> dict:

    from serving import demo_package  # benchmarks/serving.py, the in-process part's model

    from trademl.datasets import load_sample

    candles = load_sample("BTCUSDT-1h")
    package, _ = demo_package(candles, TRAIN_BARS)
    X = package.features_frame(candles, SYMBOL).dropna()
    width = X.shape[1]
    folder = Path(tempfile.mkdtemp(prefix="trademl-bench-http-"))
    package_path, warm_up_path = folder / "package.pkl", folder / "warmup.parquet"
    package_path.write_bytes(pickle.dumps(package))
    candles.iloc[:TRAIN_BARS].to_parquet(warm_up_path)
    live = candles.iloc[TRAIN_BARS : TRAIN_BARS + requests]

    servers = {
        "floor": _start(_floor_server, width),
        "service": _start(_trademl_server, str(package_path), str(warm_up_path), None),
        "service+log": _start(
            _trademl_server, str(package_path), str(warm_up_path), str(folder / "monitor.db")
        ),
    }
    urls = {k: v[1] for k, v in servers.items()}
    pids = {k: v[0].pid for k, v in servers.items()}
    try:
        latency = _latency(urls, pids, live, X, width)
        throughput = _throughput(urls, pids, X, seconds, rounds)
        batch_figures = _batch(urls["service"], package, X.iloc[-batch:], rounds)
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.join(30)
    floor = latency["floor"]
    return {
        "part": "http",
        "settings": {
            "requests": len(live),
            "features": width,
            "clients": 16,
            "round_seconds": seconds,
            "rounds": rounds,
            "batch_rows": batch,
            "cpu": os.cpu_count(),
            "order": "A B alternating per request / round",
        },  # fmt: skip
        "latency": latency,
        "ratio_bars_p50_over_floor": latency["/v1/bars"]["p50_ms"] / floor["p50_ms"],
        "ratio_bars_p99_over_floor": latency["/v1/bars"]["p99_ms"] / floor["p99_ms"],
        "ratio_predict_p50_over_floor": latency["/v1/predict"]["p50_ms"] / floor["p50_ms"],
        "ratio_predict_p99_over_floor": latency["/v1/predict"]["p99_ms"] / floor["p99_ms"],
        "throughput": throughput,
        "batch": batch_figures,
    }


def _latency(urls, pids, live, X, width) -> dict[str, dict]:
    import httpx

    row = X.iloc[-1]
    predict_body = {"columns": list(X.columns), "rows": [row.tolist()]}
    floor_body = {"x": row.tolist()[:width]}
    times: dict[str, list[float]] = {"/v1/bars": [], "/v1/predict": [], "floor": []}
    cpu_before = {k: _cpu_seconds(p) for k, p in pids.items()}
    with httpx.Client(timeout=30) as client:
        for _ in range(50):  # warm both paths (connections, first-call allocations)
            client.post(f"{urls['floor']}/dot", json=floor_body)
            client.post(f"{urls['service']}/v1/predict", json=predict_body)
        records = [
            {"timestamp": t.isoformat(), **{k: float(r[k]) for k in
             ("open", "high", "low", "close", "volume")}}
            for t, r in live.iterrows()
        ]  # fmt: skip
        for i, bar in enumerate(records):
            calls = [
                ("/v1/bars", f"{urls['service']}/v1/bars", {"symbol": SYMBOL, "bars": [bar]}),
                ("floor", f"{urls['floor']}/dot", floor_body),
                ("/v1/predict", f"{urls['service']}/v1/predict", predict_body),
                ("floor", f"{urls['floor']}/dot", floor_body),
            ]
            if i % 2:
                calls.reverse()
            # bodies encoded before the clock starts: the figures are the servers', not
            # the client's JSON encoder
            calls = [(name, url, json.dumps(body).encode()) for name, url, body in calls]
            for name, url, body in calls:
                started = time.perf_counter()
                response = client.post(url, content=body, headers=JSON_HEADERS)
                times[name].append((time.perf_counter() - started) * 1e3)
                if response.status_code != 200:
                    raise SystemExit(f"{name}: {response.status_code} {response.text[:300]}")
    cpu = {k: _cpu_seconds(p) - cpu_before[k] for k, p in pids.items()}
    out = {name: _summary(ms) for name, ms in times.items()}
    # server CPU per request over the phase (service answered bars and predict rows)
    out["server_cpu_ms_per_request"] = {
        "service": cpu["service"] * 1e3 / (len(times["/v1/bars"]) + len(times["/v1/predict"]) + 50),
        "floor": cpu["floor"] * 1e3 / (len(times["floor"]) + 50),
    }
    return out


def _throughput(urls, pids, X, seconds: float, rounds: int) -> dict[str, Any]:
    import httpx
    import pandas as pd

    row = X.iloc[-1].tolist()
    columns = list(X.columns)
    totals = {"service": [0, 0.0, 0.0], "service+log": [0, 0.0, 0.0]}  # requests, s, cpu s
    counter = iter(range(10**9))

    def one_round(name: str) -> None:
        # 16 concurrent clients as asyncio tasks on one loop, each its own connection:
        # 16 client threads in one Python process spend their time fighting for the GIL
        import asyncio

        async def run_round() -> tuple[int, list[str]]:
            stop = time.monotonic() + seconds
            done, errors = [0], []
            limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
            async with httpx.AsyncClient(timeout=30, limits=limits) as client:

                async def client_loop() -> None:
                    while time.monotonic() < stop:
                        k = next(counter)
                        stamp = pd.Timestamp("2000-01-01", tz="UTC") + pd.Timedelta(hours=k)
                        body = {"columns": columns, "rows": [row], "symbol": SYMBOL,
                                "timestamps": [stamp.isoformat()]}  # fmt: skip
                        r = await client.post(f"{urls[name]}/v1/predict", json=body)
                        if r.status_code != 200:
                            errors.append(r.text[:200])
                        done[0] += 1

                await asyncio.gather(*(client_loop() for _ in range(16)))
            return done[0], errors

        cpu0, t0 = _cpu_seconds(pids[name]), time.perf_counter()
        count, errors = asyncio.run(run_round())
        if errors:
            raise SystemExit(f"{name}: {len(errors)} failed requests, first {errors[0]}")
        totals[name][0] += count
        totals[name][1] += time.perf_counter() - t0
        totals[name][2] += _cpu_seconds(pids[name]) - cpu0

    for i in range(rounds):
        order = ["service", "service+log"] if i % 2 == 0 else ["service+log", "service"]
        for name in order:
            one_round(name)
    time.sleep(1.0)  # let the logger write its last batch before the counts are read
    out = {
        name: {"requests_per_s": n / s, "server_cpu_ms_per_request": cpu * 1e3 / n}
        for name, (n, s, cpu) in totals.items()
    }
    out["logging_cost"] = (
        1 - out["service+log"]["requests_per_s"] / out["service"]["requests_per_s"]
    )
    return out


def _batch(url: str, package, X, rounds: int) -> dict[str, float]:
    import httpx
    import pyarrow as pa

    estimator = package.estimators["pooled"]
    values = X[package.feature_names]
    # encoded once, like the Arrow body: the client's JSON encoder (~0.3 s for 5,000 rows
    # of 257 floats) is not the service's cost
    body = json.dumps({"columns": list(X.columns), "rows": X.to_numpy().tolist()}).encode()
    sink = pa.BufferOutputStream()
    table = pa.Table.from_pandas(X, preserve_index=False)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    arrow = sink.getvalue().to_pybytes()
    arrow_headers = {"content-type": "application/vnd.apache.arrow.stream"}
    wall = {"json": 0.0, "arrow": 0.0, "bare": 0.0}
    cpu = dict.fromkeys(wall, 0.0)
    with httpx.Client(timeout=300) as client:

        def call(side: str) -> None:
            if side == "json":
                response = client.post(f"{url}/v1/predict", content=body, headers=JSON_HEADERS)
            elif side == "arrow":
                response = client.post(f"{url}/v1/predict", content=arrow, headers=arrow_headers)
            else:
                estimator.predict_proba(values)
                return
            assert response.status_code == 200, response.text[:300]

        call("json"), call("arrow")
        for i in range(rounds * 2):
            sides = ["json", "arrow", "bare"] if i % 2 == 0 else ["bare", "arrow", "json"]
            for side in sides:
                t0, c0 = time.perf_counter(), time.thread_time()
                call(side)
                wall[side] += time.perf_counter() - t0
                cpu[side] += time.thread_time() - c0
    n = len(X) * rounds * 2
    return {
        "json_rows_per_s": n / wall["json"],
        "arrow_rows_per_s": n / wall["arrow"],
        "bare_predict_proba_rows_per_s": n / wall["bare"],
        "ratio_json_over_bare": wall["bare"] / wall["json"],
        "ratio_arrow_over_bare": wall["bare"] / wall["arrow"],
        "client_cpu_s": cpu,
    }


def print_http(result: dict[str, Any]) -> None:
    print(json.dumps(result["settings"]))
    for name in ("/v1/bars", "/v1/predict", "floor"):
        f = result["latency"][name]
        print(f"{name:>12}: p50 {f['p50_ms']:.2f} ms  p99 {f['p99_ms']:.2f} ms  "
              f"mean {f['mean_ms']:.2f} ms  (n {f['n']})")  # fmt: skip
    cpu = result["latency"]["server_cpu_ms_per_request"]
    print(f"server CPU per request: service {cpu['service']:.2f} ms, floor {cpu['floor']:.2f} ms")
    print(
        f"/v1/bars over the floor: p50 {result['ratio_bars_p50_over_floor']:.2f}x, "
        f"p99 {result['ratio_bars_p99_over_floor']:.2f}x; /v1/predict: "
        f"p50 {result['ratio_predict_p50_over_floor']:.2f}x, "
        f"p99 {result['ratio_predict_p99_over_floor']:.2f}x (target <= 1.5x)"
    )
    t = result["throughput"]
    print(
        f"16 clients /v1/predict: {t['service']['requests_per_s']:.0f} req/s without logging, "
        f"{t['service+log']['requests_per_s']:.0f} req/s with logging "
        f"(cost {t['logging_cost']:.1%}); server CPU per request "
        f"{t['service']['server_cpu_ms_per_request']:.2f} / "
        f"{t['service+log']['server_cpu_ms_per_request']:.2f} ms"
    )
    b = result["batch"]
    print(
        f"batch /v1/predict: JSON {b['json_rows_per_s']:,.0f} rows/s "
        f"({b['ratio_json_over_bare']:.2f}x), Arrow {b['arrow_rows_per_s']:,.0f} rows/s "
        f"({b['ratio_arrow_over_bare']:.2f}x) against bare predict_proba "
        f"{b['bare_predict_proba_rows_per_s']:,.0f} rows/s (target >= 0.5x)"
    )
