"""Benchmark parts ``http`` of benchmarks/serving.py: the service over real HTTP.

    .venv/bin/python benchmarks/serving.py --part http [--requests 1500] [--seconds 3]

Servers: the trademl service (``create_app`` around the demo package of the ``inprocess``
part, warmed up on the bundled BTC/USDT 1h sample) and, as the named alternative, a bare
FastAPI app whose one endpoint takes a JSON list of floats and returns its dot product
with fixed weights -- the floor of FastAPI + uvicorn + JSON on this machine. Each server is
its own process (uvicorn, one worker, access log off, same settings), on 127.0.0.1. Every
server's app is wrapped in the same ASGI timer (wall and thread CPU of each request from
the app's call to its return, i.e. without uvicorn's HTTP parsing); the service's
predictor also times each ``Predictor.on_bar``. Both are read after a phase, at
``/bench/timings``.

1. latency, one keep-alive client, requests alternating A B A B: ``/v1/bars`` (one new
   real bar), ``/v1/predict`` (one row) and the floor with a body of one row's floats.
   Wall time per request on the client; server CPU per request from /proc/PID/stat over
   the whole phase (each server is idle while the other answers) and per route from the
   timer. ``/v1/bars`` minus ``on_bar``: each request's client wall time minus the
   ``on_bar`` it caused -- everything the service adds around the online features.
2. throughput, 16 concurrent asyncio clients (one connection each) for ``--seconds`` per
   round, rounds alternating: the service with prediction logging to a SQLite monitoring
   store against the same service without logging (``/v1/predict``, one row with a
   timestamp per request).
3. batch ``/v1/predict`` rows/s (``--batch`` rows a request), as JSON and as an Arrow IPC
   stream (answered in Arrow, ``Accept``), against the bare model's ``predict_proba`` on
   the same rows in this process, alternating; every answer is decoded to numbers and
   checked equal to the bare side's.

Request bodies are encoded before the clock starts (the client's JSON encoder is not the
service's cost); each server decodes and validates them as it would any client's.
"""

from __future__ import annotations

import importlib.util
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
ARROW = "application/vnd.apache.arrow.stream"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


class _Timed:
    """The same ASGI wrapper around every server's app: per request its path, wall and
    thread CPU (ms) from the app's call to its return (uvicorn's parsing is outside);
    ``GET /bench/timings`` answers and clears them, with ``inner()``'s own timings."""

    def __init__(self, app, inner=None):
        self.app, self.inner = app, inner
        self.records: list[tuple[str, float, float]] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"] == "/bench/timings":
            body = json.dumps(
                {"requests": self.records, "inner": self.inner() if self.inner else []}
            ).encode()
            self.records = []
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})  # fmt: skip
            await send({"type": "http.response.body", "body": body})
            return None
        wall, cpu = time.perf_counter(), time.thread_time()
        await self.app(scope, receive, send)
        self.records.append(
            (scope["path"], (time.perf_counter() - wall) * 1e3, (time.thread_time() - cpu) * 1e3)
        )
        return None


def _run_uvicorn(app, port: int, inner=None) -> None:
    import uvicorn

    uvicorn.run(
        _Timed(app, inner), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


def _parsers() -> dict[str, str]:
    """What uvicorn's ``auto`` settings pick on this machine (the same for every server)."""
    found = importlib.util.find_spec
    return {"http": "httptools" if found("httptools") else "h11",
            "loop": "uvloop" if found("uvloop") else "asyncio"}  # fmt: skip


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

    class TimedPredictor(Predictor):
        """``on_bar`` timed (wall, thread CPU in ms), in call order; read with the timer."""

        timings: list[tuple[float, float]] = []

        def on_bar(self, *args, **kwargs):
            wall, cpu = time.perf_counter(), time.thread_time()
            out = super().on_bar(*args, **kwargs)
            self.timings.append(
                ((time.perf_counter() - wall) * 1e3, (time.thread_time() - cpu) * 1e3)
            )
            return out

    def on_bar_timings() -> list:
        taken, TimedPredictor.timings = TimedPredictor.timings, []
        return taken

    slot = ModelSlot("bench/1", "bench", "1", package, TimedPredictor(package))
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
    _run_uvicorn(app, port, on_bar_timings)


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
    from trademl.serving.app import keep_freed_memory

    # the service tunes its allocator at start-up (large buffers reused, not re-mapped per
    # request): the bare side, in this process, gets the same setting
    allocator = "glibc heap kept, both sides" if keep_freed_memory() else "default"
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
        batch_figures = _batch(urls["service"], pids["service"], package, X.iloc[-batch:], rounds)
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
            "uvicorn": _parsers(),
            "allocator": allocator,
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
        for name in ("service", "floor"):  # the timers start from here
            client.get(f"{urls[name]}/bench/timings")
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
        timers = {name: client.get(f"{urls[name]}/bench/timings").json()
                  for name in ("service", "floor")}  # fmt: skip
    cpu = {k: _cpu_seconds(p) - cpu_before[k] for k, p in pids.items()}
    out = {name: _summary(ms) for name, ms in times.items()}
    # the service's side of each request: its app's wall and CPU, and for /v1/bars the
    # on_bar inside it (one bar a request, so the n-th on_bar is the n-th request's)
    handler: dict[str, dict[str, list[float]]] = {}
    for name, timer in timers.items():
        for path, wall, cpu_ms in timer["requests"]:
            route = "floor" if name == "floor" else path
            entry = handler.setdefault(route, {"wall": [], "cpu": []})
            entry["wall"].append(wall)
            entry["cpu"].append(cpu_ms)
    on_bar = np.asarray(timers["service"]["inner"])
    if len(on_bar) != len(times["/v1/bars"]):
        raise SystemExit(f"{len(on_bar)} on_bar calls for {len(times['/v1/bars'])} bars")
    out["server_handler"] = {
        route: {"wall_p50_ms": float(np.median(f["wall"])), "cpu_mean_ms": float(np.mean(f["cpu"]))}
        for route, f in handler.items()
    }  # fmt: skip
    out["on_bar"] = {**_summary(on_bar[:, 0]), "cpu_mean_ms": float(on_bar[:, 1].mean())}
    out["bars_minus_on_bar"] = _summary(np.asarray(times["/v1/bars"]) - on_bar[:, 0])
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


def _batch(url: str, pid: int, package, X, rounds: int) -> dict[str, Any]:
    import httpx
    import orjson
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
    arrow_headers = {"content-type": ARROW, "accept": ARROW}
    sides = ("json", "arrow", "bare")
    wall, cpu, server_cpu = (dict.fromkeys(sides, 0.0) for _ in range(3))
    expected = estimator.predict_proba(values)[:, 1]
    with httpx.Client(timeout=300) as client:

        def call(side: str) -> np.ndarray:
            """The side's P(up) for the rows, as numbers in this process."""
            if side == "bare":
                return estimator.predict_proba(values)[:, 1]
            if side == "json":
                response = client.post(f"{url}/v1/predict", content=body, headers=JSON_HEADERS)
            else:
                response = client.post(f"{url}/v1/predict", content=arrow, headers=arrow_headers)
            if response.status_code != 200:
                raise SystemExit(f"batch {side}: {response.status_code} {response.text[:300]}")
            if side == "json":
                return np.asarray(orjson.loads(response.content)["proba"], dtype=np.float64)
            answer = pa.ipc.open_stream(response.content).read_all()
            return answer.column("proba").to_numpy()

        for side in ("json", "arrow"):
            call(side)
        client.get(f"{url}/bench/timings")  # the server's timer starts from here
        order = []
        for i in range(rounds * 2):
            for side in sides if i % 2 == 0 else sides[::-1]:
                server0 = _cpu_seconds(pid)
                t0, c0 = time.perf_counter(), time.thread_time()
                proba = call(side)
                wall[side] += time.perf_counter() - t0
                cpu[side] += time.thread_time() - c0
                server_cpu[side] += _cpu_seconds(pid) - server0
                order += [side] if side != "bare" else []
                # a fast answer that is not the model's is a bug, not a result
                np.testing.assert_allclose(proba, expected, rtol=1e-12, err_msg=side)
        timed = client.get(f"{url}/bench/timings").json()["requests"]
    handler = {side: [w for (_, w, _), s in zip(timed, order, strict=True) if s == side]
               for side in ("json", "arrow")}  # fmt: skip
    calls = rounds * 2
    n = len(X) * calls
    return {
        "rows": len(X),
        "request_mb": {"json": len(body) / 1e6, "arrow": len(arrow) / 1e6},
        "lightgbm_threads": estimator.n_jobs or 1,
        "json_rows_per_s": n / wall["json"],
        "arrow_rows_per_s": n / wall["arrow"],
        "bare_predict_proba_rows_per_s": n / wall["bare"],
        "ratio_json_over_bare": wall["bare"] / wall["json"],
        "ratio_arrow_over_bare": wall["bare"] / wall["arrow"],
        "wall_ms_per_call": {k: v * 1e3 / calls for k, v in wall.items()},
        "client_cpu_ms_per_call": {k: v * 1e3 / calls for k, v in cpu.items()},
        "server_cpu_ms_per_call": {k: server_cpu[k] * 1e3 / calls for k in ("json", "arrow")},
        "server_handler_ms_per_call": {k: float(np.mean(v)) for k, v in handler.items()},
    }


def print_http(result: dict[str, Any]) -> None:
    print(json.dumps(result["settings"]))
    for name in ("/v1/bars", "/v1/predict", "floor"):
        f = result["latency"][name]
        print(f"{name:>12}: p50 {f['p50_ms']:.2f} ms  p99 {f['p99_ms']:.2f} ms  "
              f"mean {f['mean_ms']:.2f} ms  (n {f['n']})")  # fmt: skip
    latency = result["latency"]
    cpu = latency["server_cpu_ms_per_request"]
    print(f"server CPU per request: service {cpu['service']:.2f} ms, floor {cpu['floor']:.2f} ms")
    handler = latency["server_handler"]
    print(
        "server app per request, from its headers to its answer (wall p50 / CPU mean): "
        + ", ".join(
            f"{route} {f['wall_p50_ms']:.2f} / {f['cpu_mean_ms']:.2f} ms"
            for route, f in handler.items()
        )
    )
    on_bar, around = latency["on_bar"], latency["bars_minus_on_bar"]
    floor = latency["floor"]
    print(
        f"  of /v1/bars, Predictor.on_bar: p50 {on_bar['p50_ms']:.2f} ms  p99 "
        f"{on_bar['p99_ms']:.2f} ms  mean {on_bar['mean_ms']:.2f} ms (CPU mean "
        f"{on_bar['cpu_mean_ms']:.2f} ms)"
    )
    print(
        f"/v1/bars minus its on_bar (client wall - on_bar wall, per request): p50 "
        f"{around['p50_ms']:.2f} ms  p99 {around['p99_ms']:.2f} ms  mean {around['mean_ms']:.2f}"
        f" ms = {around['p50_ms'] / floor['p50_ms']:.2f}x the floor's p50"
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
    mb, w, c, s, h = (b[k] for k in ("request_mb", "wall_ms_per_call", "client_cpu_ms_per_call",
                                     "server_cpu_ms_per_call", "server_handler_ms_per_call"))  # fmt: skip
    print(
        f"  per {b['rows']:,}-row call, wall (client CPU): bare {w['bare']:.1f} ms "
        f"({c['bare']:.1f}) = LightGBM predict_proba of the DataFrame, {b['lightgbm_threads']} "
        f"thread; Arrow {w['arrow']:.1f} ms ({c['arrow']:.1f}) = send {mb['arrow']:.1f} MB, "
        f"the server's {s['arrow']:.1f} ms CPU (uvicorn receiving the body; the app: decode, "
        f"the same LightGBM call and threads, an Arrow answer), decode the answer; JSON "
        f"{w['json']:.1f} ms ({c['json']:.1f}) = send {mb['json']:.1f} MB, the server's "
        f"{s['json']:.1f} ms CPU, decode the JSON answer. The app's wall from the request's "
        f"headers to its answer (receiving the body included): Arrow {h['arrow']:.1f} ms, "
        f"JSON {h['json']:.1f} ms"
    )
