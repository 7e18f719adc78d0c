"""Feature generation benchmark: trademl's full default set on 100K and 1M bars of real BTC
5m candles (tiled for 1M), and the indicators it shares with pandas-ta and `ta`, against
pandas-ta (TA-Lib mode), `ta`, and a bare loop of the same TA-Lib calls (the floor).

pandas-ta needs Python >= 3.12, so it (and `ta`) run in their own virtual environment:

    ~/.pyenv/versions/3.12.1/bin/python -m venv benchmarks/.venv-pandas-ta
    benchmarks/.venv-pandas-ta/bin/pip install pandas-ta TA-Lib pandas numpy ta

Run: .venv/bin/python benchmarks/features.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "binance_intraday" / "BTCUSDT_5m_2024-2026.csv.gz"
OTHER_VENV = ROOT / "benchmarks" / ".venv-pandas-ta" / "bin" / "python"

# the indicators all three libraries have: 40 output columns
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

OTHERS = r"""
import json, sys, time, warnings
import numpy as np, pandas as pd
warnings.simplefilter("ignore")
raw = np.load(sys.argv[1])
df = pd.DataFrame({k: raw[k] for k in ("open", "high", "low", "close", "volume")})
o, h, l, c, v = (df[k] for k in ("open", "high", "low", "close", "volume"))

def best(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); out = fn(); times.append(time.perf_counter() - t)
    return min(times), out

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
    return out

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
    return out

result = {}
t, out = best(lambda: pandas_ta(True), 3); result["pandas_ta"] = (t, ncols(out))
t, out = best(lambda: pandas_ta(False), 1); result["pandas_ta_no_talib"] = (t, ncols(out))
t, out = best(ta_package, 2); result["ta"] = (t, ncols(out))
print(json.dumps(result))
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


def best_of(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return min(times), out


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the 1M-bar run")
    args = parser.parse_args()

    from trademl.features import generate_features, registry

    started = time.perf_counter()
    features = registry()
    print(f"registry: {len(features)} features (first load incl. TA-Lib import "
          f"{time.perf_counter() - started:.2f} s)")  # fmt: skip
    talib_names = sorted(n for n, f in features.items() if f.talib is not None)

    frame = load(100_000)
    generate_features(frame.iloc[:5000])  # warm caches and lazy imports (arch)

    print("\n== full default set ==")
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    for n in sizes:
        data = frame if n == 100_000 else load(n)
        seconds, out = best_of(lambda d=data: generate_features(d), 3 if n == 100_000 else 1)
        no_garch, out2 = best_of(
            lambda d=data: generate_features(d, {"exclude": ["garch_*"]}), 3 if n == 100_000 else 1
        )
        mem = peak_memory(lambda d=data: generate_features(d))
        print(f"{n:>9,} bars: {out.shape[1]} features in {seconds:.3f} s "
              f"({out.shape[1] / seconds:,.0f} features/s, {out.size / seconds / 1e6:,.1f} M values/s), "
              f"peak traced memory {mem:,.0f} MiB (output {out.memory_usage().sum() / 2**20:,.0f} MiB); "
              f"without GARCH: {out2.shape[1]} features in {no_garch:.3f} s")  # fmt: skip

    print("\n== TA-Lib part of the default set (every TA-Lib wrapper, default grids) ==")
    talib_spec = {"indicators": talib_names}
    ours, out = best_of(lambda: generate_features(frame, talib_spec), 5)
    calls = bare_talib_calls(frame, talib_spec)
    floor, _ = best_of(lambda: [fn(*a, **k) for fn, a, k in calls], 5)
    print(f"trademl: {out.shape[1]} columns in {ours * 1e3:.0f} ms; bare loop of the same "
          f"{len(calls)} TA-Lib calls: {floor * 1e3:.0f} ms -> ratio {ours / floor:.2f}x (target <= 1.5x)")  # fmt: skip

    print("\n== the 40 indicator outputs shared with pandas-ta and ta, 100,000 bars ==")
    ours, out = best_of(lambda: generate_features(frame, SHARED_SPEC), 5)
    calls = bare_talib_calls(frame, SHARED_SPEC)
    floor, _ = best_of(lambda: [fn(*a, **k) for fn, a, k in calls], 5)
    print(f"trademl        {ours * 1e3:8.1f} ms  {out.shape[1]} columns")
    print(f"bare TA-Lib    {floor * 1e3:8.1f} ms  (floor; trademl = {ours / floor:.2f}x the floor)")
    if not OTHER_VENV.exists():
        print(f"pandas-ta / ta: skipped, no {OTHER_VENV} (see the module docstring)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bars.npz"
        np.savez(path, **{k: frame[k].to_numpy() for k in frame.columns})
        done = subprocess.run([str(OTHER_VENV), "-c", OTHERS, str(path)], capture_output=True,
                              text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        print("pandas-ta / ta run failed:\n" + done.stderr[-2000:])
        return
    others = json.loads(done.stdout.strip().splitlines()[-1])
    for label, key in (("pandas-ta", "pandas_ta"), ("pandas-ta, no TA-Lib", "pandas_ta_no_talib"),
                       ("ta", "ta")):  # fmt: skip
        seconds, columns = others[key]
        per_col_ours = ours / out.shape[1]
        print(f"{label:<21}{seconds * 1e3:8.1f} ms  {columns} columns -> trademl is "
              f"{seconds / ours:.1f}x faster ({(seconds / columns) / per_col_ours:.1f}x per column)")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
