"""Benchmark: deep sequence models on this CPU.

    .venv/bin/python benchmarks/deep.py [--windows 100000] [--window 100] [--features 50]
                                        [--models lstm,gru,tcn,transformer,cnn_lstm_attention]
                                        [--sections loader,epoch,ddp,onnx] [--repeats 2]

Data: REAL BTC/USDT 5m bars (../shared/data/binance_intraday), turned into ``--features``
causal columns (log returns summed over 1..k bars, rolling volatilities); the label is the
sign of the next 12-bar return. Timing does not depend on what the numbers are, but they
are real bars, not noise.

1. loader: the lazy window index (``SlidingWindows.gather``, one N×F copy) against a
   materialised N×W×F tensor: bytes held and windows/s over one pass in batches of 256,
   alternating the two sides.
2. epoch: seconds (wall and CPU) of one training epoch over all windows per model, torch
   on 1 thread vs 2 threads, alternated A B A B.
3. ddp: one epoch on 1 process vs 2 torchrun processes (gloo, 1 thread each); the epoch
   time is rank 0's, the total adds torchrun's start-up.
4. onnx: single-window inference latency, onnxruntime vs torch (p50/p99 over 300 calls
   each, alternated), and their largest difference.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BARS = ROOT.parent / "shared" / "data" / "binance_intraday" / "BTCUSDT_5m_2024-2026.csv.gz"
SIZES = {"hidden_size": 32, "layers": 1}
EXTRA = {"tcn": {"filters": 32, "layers": 3}, "transformer": {"heads": 4},
         "cnn_lstm_attention": {"filters": 32}}  # fmt: skip


def real_matrix(n_rows: int, n_features: int) -> tuple[pd.DataFrame, np.ndarray]:
    bars = pd.read_csv(BARS, nrows=n_rows + 400)
    bars.index = pd.to_datetime(bars.pop("timestamp"), utc=True)
    ret = np.log(bars["close"]).diff()
    columns = {}
    for k in range(1, n_features + 1):
        columns[f"ret_{k}"] = ret.rolling(k).sum() if k % 2 else ret.rolling(k + 2).std()
    X = pd.DataFrame(columns, index=bars.index).astype("float32")
    forward = np.log(bars["close"]).shift(-12) - np.log(bars["close"])
    ok = X.notna().all(axis=1) & forward.notna()
    X, forward = X[ok].iloc[:n_rows], forward[ok].iloc[:n_rows]
    return X, np.where(forward > 0, 1, -1)


def model(kind: str, window: int, n_jobs: int = 1, **params):
    from trademl.models import build_model

    size = {k: v for k, v in SIZES.items() if not (kind == "tcn" and k == "hidden_size")}
    return build_model(
        {"kind": kind, "params": {"window": window, "epochs": 1, "batch_size": 256,
                                  "onnx": False, **size, **EXTRA.get(kind, {}), **params},
         "early_stopping_rounds": None, "n_jobs": n_jobs},  # the epoch covers every window
        purge=12,
    )  # fmt: skip


def loader(X, window: int, repeats: int) -> None:
    import tracemalloc

    from trademl.models.deep._windows import SlidingWindows

    values = X.to_numpy(np.float32)
    print(f"\n[loader] {len(X):,} windows of {window} x {X.shape[1]} (float32), batches of 256")
    tracemalloc.start()
    lazy = SlidingWindows.build(X, values, window=window, interval=None)
    lazy_bytes = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    tracemalloc.start()
    index = np.arange(len(X))[:, None] + np.arange(1 - window, 1)[None, :]
    dense = values[np.maximum(index, 0)]  # what a materialised dataset holds
    dense_bytes = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del index
    rows = np.random.default_rng(0).permutation(len(X))
    times = {"lazy": [], "materialised": []}
    for _ in range(repeats):
        for side in ("lazy", "materialised"):
            wall, cpu = time.perf_counter(), time.process_time()
            for start in range(0, len(rows), 256):
                batch = rows[start : start + 256]
                out = lazy.gather(batch) if side == "lazy" else dense[batch]
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            times[side].append((wall, cpu))
            assert out.shape[1:] == (window, X.shape[1])
    for side, held in (("lazy", lazy_bytes), ("materialised", dense_bytes)):
        wall = min(t[0] for t in times[side])
        cpu = min(t[1] for t in times[side])
        print(f"  {side:<13} holds {held / 2**20:8.1f} MiB   {len(X) / wall:12,.0f} windows/s  "
              f"(best of {repeats}: wall {wall:.2f}s cpu {cpu:.2f}s)")  # fmt: skip
    print(f"  memory ratio materialised/lazy {dense_bytes / lazy_bytes:.0f}x; speed ratio "
          f"lazy/materialised wall {min(t[0] for t in times['lazy']) / min(t[0] for t in times['materialised']):.2f}x")  # fmt: skip
    del dense


def epochs(X, y, kinds, window: int, repeats: int) -> None:
    import torch

    print(f"\n[epoch] one epoch over {len(X):,} windows (W={window}, F={X.shape[1]}), "
          f"batch 256, {SIZES}; torch threads 1 vs 2 alternated, best of {repeats}")  # fmt: skip
    for kind in kinds:
        best = {}
        for _ in range(repeats):
            for threads in (1, 2):
                torch.set_num_threads(threads)
                fitted = model(kind, window, n_jobs=threads).fit(X, y)
                record = fitted.history_[0]
                pair = (record["epoch_seconds"], record["epoch_cpu_seconds"])
                best[threads] = min(best.get(threads, pair), pair)
        one, two = best[1], best[2]
        print(f"  {kind:<19} 1 thread {one[0]:7.1f}s (cpu {one[1]:7.1f}s)   2 threads "
              f"{two[0]:7.1f}s (cpu {two[1]:7.1f}s)   speed-up {one[0] / two[0]:.2f}x")  # fmt: skip


def ddp(X, y, kinds, window: int) -> None:
    import torch

    torch.set_num_threads(1)
    print("\n[ddp] one epoch, 1 process vs 2 torchrun processes (gloo, 1 thread each)")
    for kind in kinds:
        out = {}
        for nproc in (1, 2):
            wall = time.perf_counter()
            fitted = model(kind, window, n_jobs=1, nproc=nproc).fit(X, y)
            total = time.perf_counter() - wall
            out[nproc] = (fitted.history_[0]["epoch_seconds"], total)
        print(f"  {kind:<19} 1 proc epoch {out[1][0]:7.1f}s   2 procs epoch {out[2][0]:7.1f}s "
              f"(total with start-up {out[2][1]:6.1f}s)   speed-up {out[1][0] / out[2][0]:.2f}x")  # fmt: skip


def onnx_latency(X, y, kinds, window: int, calls: int = 300) -> None:
    import torch

    from trademl.models.deep._onnx import OnnxRunner

    torch.set_num_threads(1)
    print(f"\n[onnx] single-window latency (1 x {window} x {X.shape[1]}), 1 thread, "
          f"{calls} calls each, alternated")  # fmt: skip
    part, labels = X.iloc[:5000], y[:5000]
    for kind in kinds:
        fitted = model(kind, window, onnx=True).fit(part, labels)
        windows = fitted._windows(part, part.to_numpy(np.float32))
        runner = OnnxRunner(fitted.onnx_model_)
        sample = windows.gather(np.array([len(part) - 1]))
        tensor = torch.from_numpy(sample)
        lat = {"onnxruntime": [], "torch": []}
        with torch.no_grad():
            for _ in range(calls):
                t = time.perf_counter()
                runner.run(sample)
                lat["onnxruntime"].append(time.perf_counter() - t)
                t = time.perf_counter()
                fitted.network_(tensor)
                lat["torch"].append(time.perf_counter() - t)
            diff = np.abs(runner.run(sample)[0] - fitted.network_(tensor)[0].numpy()).max()
        cells = "   ".join(
            f"{side} p50 {np.percentile(v, 50) * 1e3:6.3f} ms p99 {np.percentile(v, 99) * 1e3:6.3f} ms"
            for side, v in lat.items()
        )
        ratio = np.percentile(lat["torch"], 50) / np.percentile(lat["onnxruntime"], 50)
        print(f"  {kind:<19} {cells}   torch/onnx p50 {ratio:.2f}x   max|diff| {diff:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--models", default="lstm,gru,tcn,transformer,cnn_lstm_attention")
    parser.add_argument("--sections", default="loader,epoch,ddp,onnx")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    kinds = args.models.split(",")
    sections = args.sections.split(",")
    X, y = real_matrix(args.windows, args.features)
    print(f"settings: {vars(args)}; data {BARS.name}: {len(X):,} rows x {X.shape[1]} features")
    if "loader" in sections:
        loader(X, args.window, args.repeats)
    if "epoch" in sections:
        epochs(X, y, kinds, args.window, args.repeats)
    if "ddp" in sections:
        ddp(X, y, kinds, args.window)
    if "onnx" in sections:
        onnx_latency(X, y, kinds, args.window)


if __name__ == "__main__":
    main()
