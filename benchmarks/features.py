"""Feature generation benchmark: trademl's full default set on 100K and 1M bars of real BTC
5m candles (tiled for 1M), and the indicators it shares with pandas-ta and `ta`, against
pandas-ta (TA-Lib mode), `ta`, and a bare loop of the same TA-Lib calls (the floor).

pandas-ta needs Python >= 3.12, so it (and `ta`) run in benchmarks/.venv-pandas-ta (built
by ``make bench-envs``, same TA-Lib version as ours) as a worker process: every round runs
trademl, the bare TA-Lib loop, pandas-ta and ta once each, in a rotating order, and each
side's CPU time is measured in its own process. The bare loop makes exactly the TA-Lib
calls trademl's wrappers make, on the same arrays.

Run: .venv/bin/python benchmarks/features.py [--quick] [--rounds 9]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
from _common import SideProcess, alternate, print_settings, ratio_line, side_python

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "binance_intraday" / "BTCUSDT_5m_2024-2026.csv.gz"

# the indicators all three libraries have: 41 output columns (pandas-ta gives 42, ta 34)
SHARED_SPEC = {
    "indicators": [
        {"name": "sma", "params": {"timeperiod": [10, 20, 50, 200]}},
        {"name": "ema", "params": {"timeperiod": [10, 20, 50, 200]}},
        {"name": "wma", "params": {"timeperiod": 20}},
        {"name": "dema", "params": {"timeperiod": 20}},
        {"name": "tema", "params": {"timeperiod": 20}},
        {"name": "rsi", "params": {"timeperiod": 14}},
        "macd",
        "bbands",
        "atr",
        "natr",
        "adx",
        "plus_di",
        "minus_di",
        "stoch",
        {"name": "stochrsi", "params": {"fastk": 5}},
        "mfi",
        "obv",
        "ad",
        "adosc",
        "aroon",
        {"name": "cci", "params": {"timeperiod": 20}},
        "willr",
        {"name": "roc", "params": {"timeperiod": 10}},
        "mom",
        "cmo",
        "apo",
        "ppo",
        "ultosc",
    ],
    "exclude": ["*_dist", "bbands_*_pctb", "bbands_*_width"],
}

# the pandas-ta / ta side: a worker in benchmarks/.venv-pandas-ta (see _common.SideProcess)
OTHERS = r"""
import sys, warnings
import numpy as np, pandas as pd
warnings.simplefilter("ignore")
raw = np.load(sys.argv[1])
df = pd.DataFrame({k: raw[k] for k in ("open", "high", "low", "close", "volume")})
o, h, l, c, v = (df[k] for k in ("open", "high", "low", "close", "volume"))

def ncols(items):
    return sum(1 if isinstance(x, pd.Series) else x.shape[1] for x in items)

import pandas_ta as pta
def pandas_ta(talib):
    k = {"talib": talib}
    out = [pta.sma(c, n, **k) for n in (10, 20, 50, 200)] + [pta.ema(c, n, **k) for n in (10, 20, 50, 200)]
    out += [pta.wma(c, 20, **k), pta.dema(c, 20, **k), pta.tema(c, 20, **k), pta.rsi(c, 14, **k),
            pta.macd(c, 12, 26, 9, **k), pta.bbands(c, 20, 2, 2, **k).iloc[:, :3],
            pta.atr(h, l, c, 14, **k), pta.natr(h, l, c, 14, **k), pta.adx(h, l, c, 14, **k).iloc[:, :3],
            pta.stoch(h, l, c, 14, 3, 3, **k), pta.stochrsi(c, 14, 14, 5, 3, **k), pta.mfi(h, l, c, v, 14, **k),
            pta.obv(c, v, **k), pta.ad(h, l, c, v, **k), pta.adosc(h, l, c, v, fast=3, slow=10, **k),
            pta.aroon(h, l, 14, **k).iloc[:, :2], pta.cci(h, l, c, 20, **k), pta.willr(h, l, c, 14, **k),
            pta.roc(c, 10, **k), pta.mom(c, 10, **k), pta.cmo(c, 14, **k), pta.apo(c, 12, 26, **k),
            pta.ppo(c, 12, 26, **k).iloc[:, :1], pta.uo(h, l, c, 7, 14, 28, **k)]
    return ncols(out)

import ta
def ta_package():
    out = [ta.trend.SMAIndicator(c, n).sma_indicator() for n in (10, 20, 50, 200)]
    out += [ta.trend.EMAIndicator(c, n).ema_indicator() for n in (10, 20, 50, 200)]
    out.append(ta.trend.WMAIndicator(c, 20).wma())
    out.append(ta.momentum.RSIIndicator(c, 14).rsi())
    m = ta.trend.MACD(c, 26, 12, 9); out += [m.macd(), m.macd_signal(), m.macd_diff()]
    b = ta.volatility.BollingerBands(c, 20, 2); out += [b.bollinger_hband(), b.bollinger_mavg(), b.bollinger_lband()]
    out.append(ta.volatility.AverageTrueRange(h, l, c, 14).average_true_range())
    a = ta.trend.ADXIndicator(h, l, c, 14); out += [a.adx(), a.adx_pos(), a.adx_neg()]
    s = ta.momentum.StochasticOscillator(h, l, c, 14, 3); out += [s.stoch(), s.stoch_signal()]
    s = ta.momentum.StochRSIIndicator(c, 14, 5, 3); out += [s.stochrsi_k(), s.stochrsi_d()]
    out.append(ta.volume.MFIIndicator(h, l, c, v, 14).money_flow_index())
    out.append(ta.volume.OnBalanceVolumeIndicator(c, v).on_balance_volume())
    out.append(ta.volume.AccDistIndexIndicator(h, l, c, v).acc_dist_index())
    ar = ta.trend.AroonIndicator(h, l, 14); out += [ar.aroon_down(), ar.aroon_up()]
    out.append(ta.trend.CCIIndicator(h, l, c, 20).cci())
    out.append(ta.momentum.WilliamsRIndicator(h, l, c, 14).williams_r())
    out.append(ta.momentum.ROCIndicator(c, 10).roc())
    out.append(ta.momentum.PercentagePriceOscillator(c, 26, 12, 9).ppo())
    out.append(ta.momentum.UltimateOscillator(h, l, c, 7, 14, 28).ultimate_oscillator())
    return ncols(out)

import importlib.metadata as md
VERSIONS = {p: md.version(p) for p in ("pandas-ta", "TA-Lib", "ta", "pandas", "numpy")}
serve({"pandas-ta": lambda: pandas_ta(True), "pandas-ta, no TA-Lib": lambda: pandas_ta(False),
       "ta": ta_package, "versions": lambda: VERSIONS})
"""


def load(n_bars: int) -> pd.DataFrame:
    """Real BTC 5m bars; longer series are the real data tiled end to end (prices rescaled
    so each copy starts at the previous close, timestamps continued on the 5m grid)."""
    frame = pd.read_csv(DATA)
    frame.index = pd.DatetimeIndex(
        pd.to_datetime(frame.pop("timestamp"), utc=True), name="timestamp"
    )
    frame = frame.astype("float64")
    if n_bars <= len(frame):
        return frame.iloc[:n_bars]
    pieces, scale = [], 1.0
    values = frame[["open", "high", "low", "close"]].to_numpy()
    copies = -(-n_bars // len(frame))
    for _ in range(copies):
        pieces.append(np.column_stack([values * scale, frame["volume"].to_numpy()]))
        scale *= values[-1, 3] / values[0, 0]
    data = np.concatenate(pieces)[:n_bars]
    index = pd.date_range(frame.index[0], periods=n_bars, freq="5min", tz="UTC", name="timestamp")
    return pd.DataFrame(data, index=index, columns=["open", "high", "low", "close", "volume"])


def peak_memory(fn) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def bare_talib_calls(frame: pd.DataFrame, spec) -> list:
    """The exact TA-Lib calls our wrappers make for ``spec``, as (function, args, kwargs)."""
    import talib

    from trademl.features import load_feature_spec, plan_features

    planned, _ = plan_features(load_feature_spec(spec), set(frame.columns))
    arrays = {k: np.ascontiguousarray(frame[k].to_numpy(np.float64)) for k in frame.columns}
    calls = []
    for item in planned:
        function, to_kwargs, _ = item.feature.talib
        args = [arrays[i] for i in item.feature.inputs]
        calls.append((getattr(talib, function), args, to_kwargs(**item.params)))
    return calls


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the 1M-bar run")
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds per comparison")
    args = parser.parse_args()
    import talib

    from trademl.features import generate_features, registry

    started = time.perf_counter()
    features = registry()
    print(f"registry: {len(features)} features (first load incl. TA-Lib import "
          f"{time.perf_counter() - started:.2f} s); TA-Lib {talib.__version__}, "
          f"pandas {pd.__version__}, numpy {np.__version__}")  # fmt: skip
    talib_names = sorted(n for n, f in features.items() if f.talib is not None)

    frame = load(100_000)
    generate_features(frame.iloc[:5000])  # warm caches and lazy imports (arch)

    print_settings("full default set", {"bars": "real BTC/USDT 5m (tiled for 1M)",
                                        "spec": "None (every feature, default grids)",
                                        "runs": "3 at 100K bars, 1 at 1M (after one warm-up)"})  # fmt: skip
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    for n in sizes:
        data = frame if n == 100_000 else load(n)
        runs = alternate({
            "all": lambda d=data: generate_features(d),
            "no GARCH": lambda d=data: generate_features(d, {"exclude": ["garch_*"]}),
        }, 3 if n == 100_000 else 1, warmup=0 if n > 100_000 else 1)  # fmt: skip
        out = generate_features(data)
        mem = peak_memory(lambda d=data: generate_features(d))
        full, no_garch = runs["all"], runs["no GARCH"]
        print(f"{n:>9,} bars: {out.shape[1]} features in {full.best_wall:.3f} s wall / "
              f"{full.best_cpu:.3f} s CPU ({out.shape[1] / full.best_wall:,.0f} features/s), "
              f"peak traced memory {mem:,.0f} MiB (output {out.memory_usage().sum() / 2**20:,.0f} MiB); "
              f"without GARCH: {no_garch.best_wall:.3f} s wall / {no_garch.best_cpu:.3f} s CPU")  # fmt: skip
        del out

    talib_spec = {"indicators": talib_names}
    print_settings("TA-Lib part of the default set", {
        "spec": f"every TA-Lib wrapper ({len(talib_names)}), default grids", "bars": "100,000",
        "sides": "trademl generate_features vs a bare loop of the very same TA-Lib calls",
        "rounds": f"{args.rounds}, alternating, after one warm-up round"})  # fmt: skip
    calls = bare_talib_calls(frame, talib_spec)
    runs = alternate({
        "trademl": lambda: generate_features(frame, talib_spec),
        "bare TA-Lib": lambda: [fn(*a, **k) for fn, a, k in calls],
    }, args.rounds)  # fmt: skip
    for timing in runs.values():
        print("  " + timing.line())
    print("  " + ratio_line(runs["trademl"], runs["bare TA-Lib"]) + " (target <= 1.5x)")

    print_settings("the 41 indicator outputs shared with pandas-ta and ta", {
        "bars": "100,000 real BTC/USDT 5m", "indicators": "SHARED_SPEC in this file",
        "sides": "trademl, a bare loop of the same TA-Lib calls (the floor), pandas-ta "
                 "(TA-Lib mode and its own code), ta",
        "rounds": f"{args.rounds}, every side once per round, order rotated, one warm-up "
                  "round; pandas-ta without TA-Lib and ta: 2 rounds beside trademl",
        "targets": "trademl >= 5x faster than pandas-ta (TA-Lib mode) and <= 1.3x bare TA-Lib, "
                   "by best CPU time"})  # fmt: skip
    calls = bare_talib_calls(frame, SHARED_SPEC)
    columns = generate_features(frame, SHARED_SPEC).shape[1]
    sides = {
        "trademl": lambda: generate_features(frame, SHARED_SPEC),
        "bare TA-Lib": lambda: [fn(*a, **k) for fn, a, k in calls],
    }
    python = side_python("pandas-ta")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        if python is not None:
            path = Path(tmp) / "bars.npz"
            np.savez(path, **{k: frame[k].to_numpy() for k in frame.columns})
            worker = stack.enter_context(SideProcess(python, OTHERS, str(path)))
            print(f"   side venv: {worker.request('versions')['info']}")
            sides["pandas-ta"] = worker.job("pandas-ta")
        runs = alternate(sides, args.rounds)
        if python is not None:
            # seconds (ta: tens of seconds) per run: two alternating rounds against trademl
            slow = alternate({"trademl": sides["trademl"],
                              "pandas-ta, no TA-Lib": worker.job("pandas-ta, no TA-Lib"),
                              "ta": worker.job("ta")}, 2, warmup=0)  # fmt: skip
            runs |= {name: slow[name] for name in ("pandas-ta, no TA-Lib", "ta")}
    print(f"  {'trademl':<24}{columns} columns; bare TA-Lib: {len(calls)} calls")
    for timing in runs.values():
        extra = f"  {timing.info} columns" if isinstance(timing.info, int) else ""
        print("  " + timing.line() + extra)
    ours, floor = runs["trademl"], runs["bare TA-Lib"]
    print("  " + ratio_line(ours, floor))
    met = ours.best_cpu / floor.best_cpu <= 1.3
    for name in ("pandas-ta", "pandas-ta, no TA-Lib", "ta"):
        if name in runs:
            print("  " + ratio_line(runs[name], ours))
    if "pandas-ta" in runs:
        faster = runs["pandas-ta"].best_cpu / ours.best_cpu
        met &= faster >= 5
        print(f"  targets (best CPU): {ours.best_cpu / floor.best_cpu:.2f}x bare TA-Lib (<= 1.3), "
              f"{faster:.2f}x faster than pandas-ta (>= 5): {'met' if met else 'NOT met'}")  # fmt: skip
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
