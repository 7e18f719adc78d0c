"""Benchmark: serving latency.

    .venv/bin/python benchmarks/serving.py [--part inprocess] [--bars 2000] [--tail 1000]

Part ``inprocess``: one new closed bar -> online features -> prediction, in one process,
for the demo model (LightGBM with the demo spec's settings, examples/btc_1h_lightgbm.yaml)
on the DEFAULT feature set (every servable column of ``generate_features``; the GARCH
column is not servable and left out), fitted on the bundled BTC/USDT 1h sample.

- A: ``Predictor.on_bar`` as the service runs it (online state carried bar by bar, equal to
  the batch path), computing the feature columns the model reads (``columns_read``);
- C: the same computing every column (``Predictor(all_features=True)``);
- B, the named alternative: recompute the batch path on the last ``--tail`` bars at every
  bar (``ModelPackage.predict_frame`` of the tail, keep the newest row) -- what a service
  without online state does. Its features differ from the full history's for every
  infinite-memory indicator (EMA, RSI, ATR...), printed as the largest |proba| gap.

Every bar runs A B C B or C B A B (swapped every bar) on the same bars, all after the same
warm-up: each online side runs right after a batch recompute, as a bar finds a service that
did other work since the last one; wall time (perf_counter) and the thread's CPU time
(thread_time) are taken around the same call. Figures: p50 / p99 / mean in ms.

Part ``http``: the service over real HTTP against a bare FastAPI dot-product endpoint,
throughput of 16 clients with and without prediction logging, batch rows/s against the
bare model (see benchmarks/_serving_http.py).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SYMBOL = "BTCUSDT"
DEMO_MODEL = {"kind": "lightgbm", "params": {"n_estimators": 150, "max_bin": 63}}
HORIZON = 12


def demo_features() -> dict[str, Any]:
    """The ``features:`` section of the demo spec (examples/btc_1h_lightgbm.yaml)."""
    from trademl.config import load_spec

    spec = load_spec(Path(__file__).resolve().parents[1] / "examples" / "btc_1h_lightgbm.yaml")
    return spec.features.model_dump(mode="json", exclude_none=True)


def demo_package(candles: pd.DataFrame, train_bars: int, features: dict | None = None):
    """The demo model's settings on a feature set (default: every feature), fitted on the
    first bars."""
    from trademl.features import generate_features
    from trademl.models.factory import build_model
    from trademl.package.model import POOLED, ModelPackage
    from trademl.package.recipe import FeatureRecipe
    from trademl.serving.online import unservable_features

    train = candles.iloc[:train_bars]
    base = dict(features or {})
    base.pop("float32", None)  # the default set's dtype on both sides
    columns = list(generate_features(train.iloc[:600], base | {"on_short": "nan"}).columns)
    every = FeatureRecipe(feature_spec=base, columns=columns, symbols=[SYMBOL])
    unservable = unservable_features(every)
    # the spec leaves them out too, so neither side spends time computing them
    spec = base | {"exclude": [*base.get("exclude", []), *(f"{c}*" for c in unservable)]}
    recipe = FeatureRecipe(
        feature_spec=spec, columns=[c for c in columns if c not in unservable], symbols=[SYMBOL]
    )
    X = recipe.transform(train, SYMBOL)
    future = train["close"].shift(-HORIZON)
    rows = X.notna().all(axis=1) & future.notna()
    model = build_model(DEMO_MODEL, "classification").fit(
        X[rows], (future > train["close"]).astype(int)[rows]
    )
    package = ModelPackage(
        recipe=recipe,
        estimators={POOLED: model},
        task="classification",
        label={"kind": "direction", "horizon": HORIZON},
        timeframe="1h",
        backtest={"execution_lag": 1, "threshold": 0.0},
        name="demo-default-features",
    )
    return package, sorted(unservable)


def _timed(call: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.thread_time()
    result = call()
    return result, time.perf_counter() - wall, time.thread_time() - cpu


def _figures(wall: list[float], cpu: list[float]) -> dict[str, float]:
    wall_ms, cpu_ms = np.array(wall) * 1e3, np.array(cpu) * 1e3
    return {
        "p50_ms": float(np.percentile(wall_ms, 50)),
        "p99_ms": float(np.percentile(wall_ms, 99)),
        "mean_ms": float(wall_ms.mean()),
        "cpu_p50_ms": float(np.percentile(cpu_ms, 50)),
        "cpu_p99_ms": float(np.percentile(cpu_ms, 99)),
        "cpu_mean_ms": float(cpu_ms.mean()),
    }


def inprocess(
    bars: int = 2000, tail: int = 1000, train_bars: int = 12_000, features: str = "default"
) -> dict[str, Any]:
    """New bar -> online features -> prediction (A) against a batch recompute on a tail (B)."""
    from trademl.datasets import load_sample
    from trademl.serving import Predictor
    from trademl.serving.predictor import settle_heap

    candles = load_sample("BTCUSDT-1h")
    if train_bars + bars > len(candles):
        raise SystemExit(f"--bars: at most {len(candles) - train_bars} with this sample")
    chosen = demo_features() if features == "demo" else None
    package, unservable = demo_package(candles, train_bars, chosen)
    predictors = {"A": Predictor(package), "C": Predictor(package, all_features=True)}
    for predictor in predictors.values():
        predictor.warm_up(SYMBOL, candles.iloc[:train_bars])
    settle_heap()  # as the service does once its models are warm (both sides share it)
    stream = candles.iloc[train_bars : train_bars + bars]
    records = stream.to_dict("records")
    timings: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in "ACB"}
    gap = 0.0
    for i, (stamp, bar) in enumerate(zip(stream.index, records, strict=True)):
        end = train_bars + i + 1

        def online(bar=bar, stamp=stamp, predictor=predictors["A"]):
            return predictor.on_bar(SYMBOL, bar, stamp)["proba"]

        def every_column(bar=bar, stamp=stamp, predictor=predictors["C"]):
            return predictor.on_bar(SYMBOL, bar, stamp)["proba"]

        def batch_tail(end=end):
            return float(package.predict_frame(candles.iloc[end - tail : end])["proba"].iloc[-1])

        first, second = (("A", online), ("C", every_column))[:: 1 if i % 2 == 0 else -1]
        sides = (first, ("B", batch_tail), second, ("B", batch_tail))
        answers = {}
        for name, call in sides:
            answers[name], wall, cpu = _timed(call)
            timings[name][0].append(wall)
            timings[name][1].append(cpu)
        if answers["A"] != answers["C"]:
            raise SystemExit(
                f"bar {stamp}: the columns read give {answers['A']}, all {answers['C']}"
            )
        gap = max(gap, abs(answers["A"] - answers["B"]))
    online_figures = _figures(*timings["A"])
    every_figures = _figures(*timings["C"])
    tail_figures = _figures(*timings["B"])
    return {
        "part": "inprocess",
        "settings": {
            "bars_streamed": bars,
            "warm_up_bars": train_bars,
            "tail_bars": tail,
            "feature_set": features,
            "features": len(package.feature_names),
            "columns_read": len(package.columns_read(SYMBOL) or package.feature_names),
            "left_out_unservable": unservable,
            "model": DEMO_MODEL,
            "order": "A B C B / C B A B, swapped every bar",
            "heap": "settled (gc.freeze) after the warm-up, as in `trademl serve`",
        },
        "online_on_bar": online_figures,
        "online_all_columns": every_figures,
        "batch_on_tail": tail_figures,
        "ratio_p50_tail_over_online": tail_figures["p50_ms"] / online_figures["p50_ms"],
        "ratio_cpu_mean_tail_over_online": tail_figures["cpu_mean_ms"]
        / online_figures["cpu_mean_ms"],
        "max_abs_proba_gap_tail_vs_online": gap,
    }


def _print(result: dict[str, Any]) -> None:
    print(json.dumps(result["settings"], indent=None))
    for name in ("online_on_bar", "online_all_columns", "batch_on_tail"):
        f = result[name]
        print(
            f"{name:>18}: p50 {f['p50_ms']:.3f} ms  p99 {f['p99_ms']:.3f} ms  "
            f"mean {f['mean_ms']:.3f} ms  | CPU p50 {f['cpu_p50_ms']:.3f} ms  "
            f"p99 {f['cpu_p99_ms']:.3f} ms  mean {f['cpu_mean_ms']:.3f} ms"
        )
    print(
        f"tail recompute / online: {result['ratio_p50_tail_over_online']:.1f}x (p50 wall), "
        f"{result['ratio_cpu_mean_tail_over_online']:.1f}x (mean CPU); the tail's proba "
        f"differs from the exact one by up to {result['max_abs_proba_gap_tail_vs_online']:.2e}"
    )


def _http(**kwargs: Any) -> dict[str, Any]:
    from _serving_http import http  # the HTTP parts (service, floor, throughput, batch)

    return http(**kwargs)


PARTS: dict[str, Callable[..., dict[str, Any]]] = {"inprocess": inprocess, "http": _http}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=sorted(PARTS), action="append")
    parser.add_argument("--bars", type=int, default=2000, help="bars streamed (inprocess)")
    parser.add_argument(
        "--features",
        choices=("default", "demo", "both"),
        default="both",
        help="inprocess: every servable feature, the demo spec's set, or both",
    )
    parser.add_argument("--tail", type=int, default=1000, help="bars the batch side recomputes")
    parser.add_argument("--requests", type=int, default=1500, help="bars sent one by one (http)")
    parser.add_argument("--seconds", type=float, default=3.0, help="throughput round (http)")
    args = parser.parse_args()
    for part in args.part or sorted(PARTS):
        if part == "inprocess":
            sets = ("default", "demo") if args.features == "both" else (args.features,)
            for chosen in sets:
                _print(inprocess(bars=args.bars, tail=args.tail, features=chosen))
        if part == "http":
            from _serving_http import print_http

            print_http(_http(requests=args.requests, seconds=args.seconds))


if __name__ == "__main__":
    main()
