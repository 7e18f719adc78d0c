"""Benchmark: the cost of atomic writes (temporary name, fsync, rename) on the demo's files.

The files are the ones a user writes around the demo, from the bundled BTC/USDT 1h
sample: the 4h resample (Parquet), the feature file of the demo spec (Parquet), the
regime labels (CSV), a backtest folder (returns/positions/trades CSV + summary JSON)
and the HTML tearsheet. Every frame is computed once; only the writing is timed.

The two sides write the same frames to the same paths with the same writer
(``to_parquet``/``to_csv``/``write_text``): plain writes straight to the target,
atomic goes through ``trademl._io.atomic_path`` (which adds the fsync of the file and
of its folder, and the rename). They alternate, plain then atomic then plain ..., for
ROUNDS rounds of all files, so both meet the same background load; wall and CPU time
are reported per round (median and best), and the extra cost as the median of the
paired (atomic - plain) differences of the rounds.

The share of a demo run: the extra time per round divided by the wall time of
``trademl run examples/btc_1h_lightgbm.yaml``, run once here (tracked in a temporary
folder) unless ``--demo-seconds`` gives a figure measured before. Target: <= 2 %.

    .venv/bin/python benchmarks/safety.py [--rounds 15] [--dir FOLDER] [--demo-seconds S]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO_SPEC = ROOT / "examples" / "btc_1h_lightgbm.yaml"
TARGET_SHARE = 0.02


def demo_writers() -> dict[str, Callable[[Path], None]]:
    """``{file name: write(path)}`` for the demo's outputs, every frame computed up front."""
    import numpy as np

    from trademl.analytics.report import build_report
    from trademl.analytics.report.html import render_html
    from trademl.config import load_spec
    from trademl.data.resample import resample_ohlcv
    from trademl.datasets import load_sample
    from trademl.features import generate_features
    from trademl.regimes.hmm import HMMRegimeDetector

    candles = load_sample("BTCUSDT-1h")
    four_hours = resample_ohlcv(candles, "4h")
    features = generate_features(candles, load_spec(DEMO_SPEC).features, check_causality=False)
    detector = HMMRegimeDetector(3, n_init=1, random_state=0).fit(candles)
    regimes = detector.predict_proba(candles).add_prefix("regime_p_")
    close = candles["close"]
    signal = np.sign(close.pct_change(12)).fillna(0.0)
    returns = (signal.shift(1) * close.pct_change()).fillna(0.0).rename("returns").to_frame()
    returns["equity"] = (1 + returns["returns"]).cumprod()
    positions = signal.rename("position").to_frame()
    changes = signal.ne(signal.shift())
    trades = positions[changes].reset_index().rename(columns={"timestamp": "entry"})
    summary = json.dumps({"sharpe": 0.5, "max_drawdown": -0.3, "n_trades": len(trades)})
    html = render_html(build_report(returns["returns"], mc_paths=200, seed=0))
    return {
        "btc_4h.parquet": four_hours.to_parquet,
        "features.parquet": features.to_parquet,
        "regimes.csv": regimes.to_csv,
        "backtest/returns.csv": lambda p: returns.to_csv(p, index_label="timestamp"),
        "backtest/positions.csv": lambda p: positions.to_csv(p, index_label="timestamp"),
        "backtest/trades.csv": lambda p: trades.to_csv(p, index=False),
        "backtest/summary.json": lambda p: Path(p).write_text(summary),
        "tearsheet.html": lambda p: Path(p).write_text(html, encoding="utf-8"),
    }


def _plain(writers: dict, folder: Path) -> None:
    for name, write in writers.items():
        write(folder / name)


def _atomic(writers: dict, folder: Path) -> None:
    from trademl._io import atomic_path

    for name, write in writers.items():
        with atomic_path(folder / name) as temporary:
            write(temporary)


def _timed(function, *args) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    function(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def demo_seconds() -> tuple[float, float]:
    """Wall and CPU (children included) seconds of one tracked demo run in a scratch folder."""
    with tempfile.TemporaryDirectory(prefix="trademl-bench-demo-") as scratch:
        env = os.environ | {"MLFLOW_TRACKING_URI": f"sqlite:///{scratch}/mlruns.db"}
        before = os.times()
        wall = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", "from trademl.cli import main; main()", "run",
             str(DEMO_SPEC), "--no-progress"],
            cwd=scratch, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"the demo run failed: {done.stderr[-2000:]}")
        wall = time.perf_counter() - wall
        after = os.times()
    return wall, (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--dir", type=Path, default=None, help="Where to write (default: ./)")
    parser.add_argument("--demo-seconds", type=float, default=None)
    args = parser.parse_args(argv)

    writers = demo_writers()
    base = args.dir or Path.cwd()
    with tempfile.TemporaryDirectory(prefix=".trademl-bench-safety-", dir=base) as scratch:
        folder = Path(scratch)
        (folder / "backtest").mkdir()
        _plain(writers, folder)  # warm up: files exist, caches are hot, as on a re-run
        sizes = sum((folder / n).stat().st_size for n in writers)
        plain: list[tuple[float, float]] = []
        atomic: list[tuple[float, float]] = []
        for _ in range(args.rounds):
            plain.append(_timed(_plain, writers, folder))
            atomic.append(_timed(_atomic, writers, folder))
        filesystem = subprocess.run(
            ["stat", "-f", "-c", "%T", str(folder)], capture_output=True, text=True
        ).stdout.strip()

    print(f"settings: {len(writers)} files, {sizes / 1e6:.1f} MB per round, {args.rounds} "
          f"rounds alternating plain/atomic, folder {base} ({filesystem})")  # fmt: skip
    print(f"{'side':<8}{'wall median':>14}{'wall best':>12}{'cpu median':>13}{'cpu best':>11}")
    for side, times in (("plain", plain), ("atomic", atomic)):
        walls, cpus = [t[0] for t in times], [t[1] for t in times]
        print(
            f"{side:<8}{statistics.median(walls) * 1e3:>12.1f}ms{min(walls) * 1e3:>10.1f}ms"
            f"{statistics.median(cpus) * 1e3:>11.1f}ms{min(cpus) * 1e3:>9.1f}ms"
        )
    # paired by round (each atomic round right after its plain one): drift in the background
    # load cancels out, which a difference of two medians does not do
    extra = statistics.median(a[0] - p[0] for a, p in zip(atomic, plain, strict=True))
    best = min(a[0] for a in atomic) - min(p[0] for p in plain)
    ratio = min(a[0] for a in atomic) / min(p[0] for p in plain)
    print(f"atomic / plain (wall, best): {ratio:.3f}x; extra per round: {extra * 1e3:.1f} ms "
          f"(median of paired rounds), {best * 1e3:.1f} ms (best vs best)")  # fmt: skip
    if args.demo_seconds is not None:
        demo_wall, demo_cpu, source = args.demo_seconds, float("nan"), "given"
    else:
        demo_wall, demo_cpu = demo_seconds()
        source = "measured"
    share = extra / demo_wall
    print(f"demo run ({source}): {demo_wall:.1f} s wall, {demo_cpu:.1f} s CPU; atomic writes add "
          f"{share:.3%} of its wall time (target <= {TARGET_SHARE:.0%})")  # fmt: skip
    if demo_cpu == demo_cpu and demo_cpu > 0:  # on a busy machine wall >> CPU: the CPU view too
        print(f"  ... and {extra / demo_cpu:.3%} of its CPU time")
    return 0 if share <= TARGET_SHARE else 1


if __name__ == "__main__":
    sys.exit(main())
