"""Explanation costs on the demo LightGBM: TreeSHAP native vs shap, LIME, the surrogate tree,
and the latency of explaining one prediction, in process and over HTTP.

    .venv/bin/python benchmarks/explain.py                       # 100K rows x 50 features
    .venv/bin/python benchmarks/explain.py --quick               # 20K rows, fewer repeats
    .venv/bin/python benchmarks/explain.py --parts latency,http  # one prediction only

Data: real BTC/USDT 5m bars (../shared/data/binance_intraday), the demo's feature
categories (trend, momentum, volatility, volume; float32), the first 50 columns, the
last 100K complete rows; direction of the next 12 bars. Model: trademl's LightGBMModel
with the demo spec's settings (150 trees, max_bin 63, 16 leaves, one thread), fitted on
the first 80 % of the rows. Early stopping is off: on 5-minute direction the validation
loss is lowest after one or two trees, and a one-tree model explains nothing.

1. TreeSHAP of all rows: ``trademl.explain.tree_shap`` (LightGBM's native pred_contrib)
   vs ``shap.TreeExplainer`` -- both its default path (which hands LightGBM to the same
   pred_contrib, so it is the wrapper overhead only) and shap's own C++ TreeSHAP on the
   trees it parsed (``model_type="internal"``, the independent implementation). Sides
   alternate A B C A B C ...; each is one thread; values compared element-wise.
2. LIME for one row (2,000 and 5,000 perturbation samples), seeded, over 10 rows.
3. The surrogate: a depth-3 tree fitted on the model's predictions of the training rows,
   its fidelity on the held-out 20 %.
4. ``explain_one(package, row)`` against ``package.score_rows`` of the same one-row frame
   (the prediction alone, what serving does without an explanation), alternated, 2,000
   calls each after a warm-up: p50/p99 wall and mean CPU per call.
5. The same over HTTP: ``POST /v1/explain`` against ``POST /v1/predict`` with the same
   one-row body, on ``trademl serve``'s app (uvicorn in its own process, one worker,
   access log off, the package of part 4 warmed up on the last 3,000 bars), one
   keep-alive client, blocks of 20 requests alternating A B A B: p50/p99 wall per request
   on the client, server CPU per request from /proc/PID/stat per block.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import pickle
import socket
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "binance_intraday"
DEMO_CATEGORIES = ["trend", "momentum", "volatility", "volume"]


def timed(call) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = call()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def build(n_rows: int):
    from trademl.data.io import load_ohlcv
    from trademl.features import generate_features
    from trademl.models.lightgbm import LightGBMModel

    candles = load_ohlcv(DATA / "BTCUSDT_5m_2024-2026.csv.gz")
    features = generate_features(candles, {"categories": DEMO_CATEGORIES}, float32=True)
    features = features.replace([np.inf, -np.inf], np.nan)
    features = features.loc[:, features.notna().mean() > 0.99].iloc[:, :50]
    forward = candles["close"].shift(-12) / candles["close"] - 1
    keep = features.notna().all(axis=1) & forward.notna()
    X = features.loc[keep].iloc[-n_rows:]
    y = np.where(forward.loc[X.index] > 0, 1, -1)
    cut = int(len(X) * 0.8)
    model = LightGBMModel(n_estimators=150, max_bin=63, num_leaves=16, early_stopping_rounds=None)
    wall, cpu, _ = timed(lambda: model.fit(X.iloc[:cut], y[:cut]))
    print(f"data: {len(X):,} rows x {X.shape[1]} features (BTC/USDT 5m, {X.index[0]:%Y-%m-%d} "
          f"to {X.index[-1]:%Y-%m-%d}); model fit {wall:.1f} s wall, {cpu:.1f} s CPU, "
          f"{model.estimator_.booster_.num_trees()} trees")  # fmt: skip
    return X, y, cut, model, candles


def tree_shap_part(X, model, repeats: int) -> None:
    import shap

    from trademl.explain import resolve_target, tree_shap

    target = resolve_target(model, "classification")

    def wrapper():
        return shap.TreeExplainer(model.estimator_).shap_values(X)

    def own():
        explainer = shap.TreeExplainer(model.estimator_)
        explainer.model.model_type = "internal"
        return explainer.shap_values(X.to_numpy(), check_additivity=False)

    sides = {"native pred_contrib (trademl.explain.tree_shap)": lambda: tree_shap(target, X),
             "shap.TreeExplainer (default -> pred_contrib)": wrapper,
             "shap.TreeExplainer (own C++ TreeSHAP)": own}  # fmt: skip
    times = {name: [] for name in sides}
    outputs = {}
    for _ in range(repeats):
        for name, call in sides.items():
            wall, cpu, out = timed(call)
            times[name].append((wall, cpu))
            outputs[name] = out
    native = outputs[next(iter(sides))].values.to_numpy()
    print(f"\n1. TreeSHAP of {len(X):,} rows x {X.shape[1]} features, {repeats} alternated "
          "rounds, one thread each (best wall, its CPU)")  # fmt: skip
    base = min(t[0] for t in times[next(iter(sides))])
    for name, runs in times.items():
        wall, cpu = min(runs)
        values = outputs[name]
        values = values.values.to_numpy() if hasattr(values, "values") and not isinstance(
            values, np.ndarray) else np.asarray(values)  # fmt: skip
        diff = float(np.abs(values - native).max())
        print(f"   {name:50s} {wall:7.2f} s wall {cpu:7.2f} s CPU  x{wall / base:5.1f}  "
              f"max |diff| vs native {diff:.1e}")  # fmt: skip


def lime_part(X, model, cut: int) -> None:
    from trademl.explain import lime_explanation, resolve_target

    target = resolve_target(model, "classification")
    background = X.iloc[: cut : max(1, cut // 2000)]
    rows = [X.iloc[[i]] for i in np.linspace(cut, len(X) - 1, 10).astype(int)]
    print(f"\n2. LIME, one row at a time (10 rows, background {len(background):,} rows)")
    for samples in (2000, 5000):
        walls, cpus = [], []
        for i, row in enumerate(rows):
            wall, cpu, _ = timed(lambda row=row, i=i, samples=samples: lime_explanation(
                target, row, background, num_samples=samples, seed=i))  # fmt: skip
            walls.append(wall)
            cpus.append(cpu)
        again = lime_explanation(target, rows[0], background, num_samples=samples, seed=0)
        first = lime_explanation(target, rows[0], background, num_samples=samples, seed=0)
        same = again.weights.equals(first.weights)
        print(
            f"   {samples:5d} samples: median {np.median(walls) * 1000:7.1f} ms wall, "
            f"{np.median(cpus) * 1000:7.1f} ms CPU per row; same seed -> same weights: {same}"
        )


def surrogate_part(X, model, cut: int) -> None:
    from trademl.explain import fit_surrogate, resolve_target

    target = resolve_target(model, "classification")
    # as trademl explain does: fitted on training rows and the first half of the holdout,
    # scored on the second half
    half = cut + (len(X) - cut) // 2
    fit_rows = pd.concat([X.iloc[:cut], X.iloc[cut:half]])
    wall, cpu, surrogate = timed(
        lambda: fit_surrogate(target, fit_rows, X.iloc[half:], max_depth=3)
    )
    print(f"\n3. Surrogate tree (depth 3) on {len(fit_rows):,} rows, fidelity on "
          f"{len(X) - half:,} later rows: "
          f"{wall:.2f} s wall, {cpu:.2f} s CPU (model predictions included); agreement "
          f"{surrogate.fidelity:.1%} vs {surrogate.majority_agreement:.1%} for always the "
          "majority class")  # fmt: skip


def bench_package(X, model):
    from trademl.package import FeatureRecipe, ModelPackage

    return ModelPackage(
        recipe=FeatureRecipe(feature_spec={"categories": DEMO_CATEGORIES},
                             columns=list(X.columns), dtype="float32", symbols=["BTCUSDT"]),
        estimators={"pooled": model}, task="classification",
        label={"kind": "direction", "horizon": 12}, timeframe="5m", backtest={}, name="bench",
    )  # fmt: skip


def latency_part(X, model, calls: int) -> None:
    from trademl.explain import explain_one

    package = bench_package(X, model)
    rows = [X.iloc[i].to_dict() for i in range(len(X) - 200, len(X))]
    frames = [X.iloc[[i]] for i in range(len(X) - 200, len(X))]
    sides = {
        "explain_one (prediction + TreeSHAP)": lambda i: explain_one(package, rows[i % 200]),
        "score_rows (prediction only)": lambda i: package.score_rows(frames[i % 200]),
    }
    for call in sides.values():  # warm-up
        for i in range(50):
            call(i)
    walls = {n: [] for n in sides}
    cpus = {n: 0.0 for n in sides}
    for i in range(calls):
        for name, call in sides.items():
            wall, cpu = time.perf_counter(), time.process_time()
            call(i)
            walls[name].append((time.perf_counter() - wall) * 1000)
            cpus[name] += time.process_time() - cpu
    print(f"\n4. One prediction in process, {calls:,} alternated calls each (target p99 <= 10 ms); "
          f"load {os.getloadavg()[0]:.1f} after")  # fmt: skip
    for name in sides:
        p50, p99 = np.percentile(walls[name], [50, 99])
        print(
            f"   {name:38s} p50 {p50:6.3f} ms  p99 {p99:6.3f} ms  CPU {cpus[name] / calls * 1000:6.3f} ms/call"
        )


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _serve(port: int, package_path: str, warm_up_path: str) -> None:
    """``trademl serve``'s app around the in-memory package (its own process)."""
    import uvicorn

    from trademl.data.timeframe import timeframe_to_seconds
    from trademl.serving.app import create_app
    from trademl.serving.deployment import Deployment, ModelSlot
    from trademl.serving.history import SymbolHistory
    from trademl.serving.predictor import Predictor

    package = pickle.loads(Path(package_path).read_bytes())
    candles = pd.read_parquet(warm_up_path)
    # the benchmark posts feature rows only: features that cannot be carried bar by bar
    # are recomputed on the history if a bar ever came, which none does
    slot = ModelSlot("bench/1", "bench", "1", package, Predictor(package, allow_unservable=True))

    def no_reload(reference: str):
        raise RuntimeError("the benchmark serves one in-memory package")

    deployment = Deployment(
        histories={"BTCUSDT": SymbolHistory("BTCUSDT", candles, max_bars=20_000)},
        step_ns=timeframe_to_seconds(package.timeframe) * 10**9, loader=no_reload,
    )  # fmt: skip
    deployment.start(slot)
    uvicorn.run(create_app(deployment), host="127.0.0.1", port=port, log_level="warning",
                access_log=False)  # fmt: skip


def http_part(X, model, candles, calls: int, block: int = 20) -> None:
    import httpx

    from trademl.explain import explain_one

    package = bench_package(X, model)
    folder = Path(tempfile.mkdtemp(prefix="trademl-bench-explain-"))
    package_path, warm_up_path = folder / "package.pkl", folder / "warmup.parquet"
    package_path.write_bytes(pickle.dumps(package))
    candles.iloc[-3000:].to_parquet(warm_up_path)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = mp.get_context("spawn").Process(
        target=_serve, args=(port, str(package_path), str(warm_up_path)), daemon=True
    )
    process.start()
    url = f"http://127.0.0.1:{port}"
    columns = list(X.columns)
    bodies = [{"columns": columns, "rows": [X.iloc[i].tolist()]}
              for i in range(len(X) - 200, len(X))]  # fmt: skip
    routes = {"POST /v1/explain (prediction + TreeSHAP)": "/v1/explain",
              "POST /v1/predict (prediction only)": "/v1/predict"}  # fmt: skip
    walls = {name: [] for name in routes}
    server_cpu = {name: 0.0 for name in routes}
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            deadline = time.monotonic() + 300
            while True:
                try:
                    if client.get("/ready").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or not process.is_alive():
                    raise SystemExit("the benchmark server did not start")
                time.sleep(0.2)
            for route in routes.values():  # warm-up: connection, first-call allocations
                for i in range(50):
                    assert client.post(route, json=bodies[i % 200]).status_code == 200
            # the answer over HTTP is the in-process one
            answer = client.post("/v1/explain", json=bodies[-1]).json()
            local = explain_one(package, dict(zip(columns, bodies[-1]["rows"][0], strict=True)))
            diff = max(abs(c["contribution"] - local["contributions"][c["feature"]])
                       for c in answer["contributions"])  # fmt: skip
            for start in range(0, calls, block):
                for name, route in routes.items():
                    cpu = _cpu_seconds(process.pid)
                    for i in range(start, min(start + block, calls)):
                        body = bodies[i % 200]
                        began = time.perf_counter()
                        response = client.post(route, json=body)
                        walls[name].append((time.perf_counter() - began) * 1000)
                        if response.status_code != 200:
                            raise SystemExit(f"{route}: {response.status_code} {response.text}")
                    server_cpu[name] += _cpu_seconds(process.pid) - cpu
    finally:
        process.terminate()
        process.join(30)
    print(f"\n5. One prediction over HTTP (uvicorn in its own process, one keep-alive client), "
          f"{calls:,} requests each in alternated blocks of {block} (target p99 <= 10 ms); "
          f"load {os.getloadavg()[0]:.1f} after")  # fmt: skip
    for name in routes:
        p50, p99 = np.percentile(walls[name], [50, 99])
        print(f"   {name:42s} p50 {p50:6.3f} ms  p99 {p99:6.3f} ms  server CPU "
              f"{server_cpu[name] / calls * 1000:6.3f} ms/request")  # fmt: skip
    explain, predict = (np.percentile(walls[n], 99) for n in routes)
    print(f"   explain / predict p99 x{explain / predict:.2f}; explanation over HTTP equals "
          f"explain_one in process to {diff:.1e}; p99 {'meets' if explain <= 10 else 'MISSES'} "
          "the 10 ms target")  # fmt: skip


PARTS = ("treeshap", "lime", "surrogate", "latency", "http")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}"
    )
    args = parser.parse_args()
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        parser.error(f"--parts: unknown part(s) {unknown}; known: {', '.join(PARTS)}")
    n_rows, repeats, calls = (20_000, 2, 500) if args.quick else (100_000, 2, 2000)
    print(f"settings: {n_rows:,} rows, {repeats} TreeSHAP rounds, {calls} latency calls; "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; parts {', '.join(parts)}")  # fmt: skip
    X, y, cut, model, candles = build(n_rows)
    if "treeshap" in parts:
        tree_shap_part(X, model, repeats)
    if "lime" in parts:
        lime_part(X, model, cut)
    if "surrogate" in parts:
        surrogate_part(X, model, cut)
    if "latency" in parts:
        latency_part(X, model, calls)
    if "http" in parts:
        http_part(X, model, candles, calls)


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore", message="LightGBM binary classifier")
    main()
