"""Benchmark: trademl.load_ohlcv vs a bare pandas read of the same 1M-bar file.

The file is the real BTC/USDT 1h candles (../shared/data) tiled 13 times, each copy
shifted past the previous one so that timestamps stay unique and sorted (the real gaps
repeat). Written once as CSV (ISO 8601 timestamps, like the source), CSV with epoch
milliseconds, and Parquet. The two readers alternate (A B, B A, ...; benchmarks/_common),
ROUNDS times after a warm-up round, so that both meet the same background load; best and
median CPU time (pyarrow reads Parquet on several threads: CPU counts them all) stand
beside wall time.

The target: load_ohlcv costs at most 1.3x the bare read by best CPU time. The bare read returns less:
timestamps stay strings/integers in a RangeIndex frame; load_ohlcv returns the
standard frame (UTC DatetimeIndex, float64 columns, checked shape).

    .venv/bin/python benchmarks/data_io.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from _common import alternate, print_settings

from trademl.data.io import load_ohlcv, save_ohlcv

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "BTCUSDT_1h_2017-2026.csv.gz"
N_BARS = 1_000_000
ROUNDS = 7
TARGET = 1.3


def tiled_frame() -> pd.DataFrame:
    real = load_ohlcv(SOURCE)
    span = real.index[-1] - real.index[0] + pd.Timedelta(hours=1)
    copies = -(-N_BARS // len(real))
    index = np.concatenate([(real.index + k * span).asi8 for k in range(copies)])[:N_BARS]
    values = np.tile(real.to_numpy(), (copies, 1))[:N_BARS]
    frame = pd.DataFrame(values, columns=real.columns, index=pd.DatetimeIndex(index, tz="UTC"))
    frame.index.name = "timestamp"
    return frame


def main() -> int:
    frame = tiled_frame()
    with tempfile.TemporaryDirectory() as tmp:
        csv_iso = Path(tmp) / "btc_1m_bars.csv"
        csv_ms = Path(tmp) / "btc_1m_bars_ms.csv"
        parquet = Path(tmp) / "btc_1m_bars.parquet"
        save_ohlcv(frame, csv_iso)
        frame.reset_index().assign(timestamp=frame.index.asi8 // 1_000_000).to_csv(
            csv_ms, index=False
        )
        save_ohlcv(frame, parquet)
        # correctness first: every variant loads to the same frame
        for path in (csv_iso, csv_ms, parquet):
            pd.testing.assert_frame_equal(load_ohlcv(path), frame, check_freq=False)

        cases = [
            (
                "CSV, ISO timestamps",
                csv_iso,
                lambda: pd.read_csv(csv_iso),
                lambda: load_ohlcv(csv_iso),
            ),
            ("CSV, epoch ms", csv_ms, lambda: pd.read_csv(csv_ms), lambda: load_ohlcv(csv_ms)),
            ("Parquet", parquet, lambda: pd.read_parquet(parquet), lambda: load_ohlcv(parquet)),
        ]
        print_settings("load_ohlcv vs the bare pandas read of the same file", {
            "bars": f"{N_BARS:,} real BTC/USDT 1h (tiled)", "pandas": pd.__version__,
            "rounds": f"{ROUNDS}, alternating, one warm-up round",
            "target": f"load_ohlcv <= {TARGET}x the bare read, best CPU time"})  # fmt: skip
        print(f"{'file':<22}{'size MB':>8}{'bare CPU s':>12}{'ours CPU s':>12}{'ratio':>7}"
              f"{'median':>8}{'bare wall s':>13}{'ours wall s':>13}{'ratio':>7}")  # fmt: skip
        ok = True
        for name, path, bare, ours in cases:
            runs = alternate({"bare": bare, "ours": ours}, ROUNDS)
            b, o = runs["bare"], runs["ours"]
            ratio = o.best_cpu / b.best_cpu
            ok &= ratio <= TARGET
            size = path.stat().st_size / 1e6
            print(f"{name:<22}{size:>8.1f}{b.best_cpu:>12.3f}{o.best_cpu:>12.3f}{ratio:>6.2f}x"
                  f"{o.median_cpu / b.median_cpu:>7.2f}x{b.best_wall:>13.3f}{o.best_wall:>13.3f}"
                  f"{o.best_wall / b.best_wall:>6.2f}x")  # fmt: skip
        # what a user would write by hand to get the same frame from the ISO CSV
        runs = alternate({
            "by hand": lambda: pd.read_csv(csv_iso, parse_dates=["timestamp"], index_col="timestamp"),
            "ours": lambda: load_ohlcv(csv_iso),
        }, 3)  # fmt: skip
        by_hand, ours_iso = runs["by hand"].best_cpu, runs["ours"].best_cpu
        print(
            f"reference, pandas read_csv(parse_dates=..., index_col=...) of the ISO CSV: "
            f"{by_hand:.3f} s CPU vs load_ohlcv {ours_iso:.3f} s ({ours_iso / by_hand:.2f}x)"
        )
    print(f"target <= {TARGET}x the bare read: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
