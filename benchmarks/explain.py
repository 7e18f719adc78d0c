"""Explanation costs on the demo LightGBM: TreeSHAP native vs shap, LIME, the surrogate tree,
and the in-process latency of explaining one prediction.

    .venv/bin/python benchmarks/explain.py            # 100K rows x 50 features
    .venv/bin/python benchmarks/explain.py --quick    # 20K rows, fewer repeats

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
"""

from __future__ import annotations

import argparse
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
    return X, y, cut, model


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


def latency_part(X, model, calls: int) -> None:
    from trademl.explain import explain_one
    from trademl.package import FeatureRecipe, ModelPackage

    package = ModelPackage(
        recipe=FeatureRecipe(feature_spec={"categories": DEMO_CATEGORIES},
                             columns=list(X.columns), dtype="float32", symbols=["BTCUSDT"]),
        estimators={"pooled": model}, task="classification",
        label={"kind": "direction", "horizon": 12}, timeframe="5m", backtest={}, name="bench",
    )  # fmt: skip
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
    print(f"\n4. One prediction in process, {calls:,} alternated calls each (target p99 <= 10 ms)")
    for name in sides:
        p50, p99 = np.percentile(walls[name], [50, 99])
        print(
            f"   {name:38s} p50 {p50:6.3f} ms  p99 {p99:6.3f} ms  CPU {cpus[name] / calls * 1000:6.3f} ms/call"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_rows, repeats, calls = (20_000, 2, 500) if args.quick else (100_000, 2, 2000)
    import os

    print(f"settings: {n_rows:,} rows, {repeats} TreeSHAP rounds, {calls} latency calls; "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    X, y, cut, model = build(n_rows)
    tree_shap_part(X, model, repeats)
    lime_part(X, model, cut)
    surrogate_part(X, model, cut)
    latency_part(X, model, calls)


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore", message="LightGBM binary classifier")
    main()
