"""Benchmark: the statistical features' running states against the tail recompute they
replaced, per feature, per bar.

    .venv/bin/python benchmarks/online_stats.py [--bars 2000] [--warm 3000]

Every statistical column of the default feature set served online (log returns, return
skew / kurtosis, z-scores, autocorrelations, Hurst exponents, sign entropy):

- A: the running state serving carries now (``trademl.features._running_stats``):
  ``state.update(window, bar)``, O(1) in Python floats;
- B, the named alternative: serving's previous server for the same feature, its
  last-value formula on its trailing window (numpy, ``Online.last``), the windows built
  once per bar as serving's steady loop builds them (``_shared_windows``: its cost is
  printed on its own line, shared by every B server).

Both sides take the same bars of the bundled BTC/USDT 1h sample after the same warm-up,
alternating feature by feature (A B, B A: the order swapped every bar); wall time
(perf_counter_ns) and the thread's CPU time (thread_time_ns) are taken around each call.
Each value of A is checked against B's (within the feature's declared tolerance) so the
two sides compute the same thing. Figures: median and mean microseconds per bar.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

NAMES = ("logret", "retskew", "retkurt", "zscore", "autocorr", "hurst", "entropy")


def _cases():
    from trademl.features import registry

    for name in NAMES:
        feature = registry()[name]
        for params in feature.param_sets():
            yield feature.stem(params), feature, params


def main() -> None:
    from trademl.datasets import load_sample
    from trademl.features._bars import bars_from_frame
    from trademl.serving.online import _History, _shared_windows

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bars", type=int, default=2000, help="bars streamed")
    parser.add_argument("--warm", type=int, default=3000, help="bars of history before")
    args = parser.parse_args()

    candles = load_sample("BTCUSDT-1h").iloc[: args.warm + args.bars]
    bars = bars_from_frame(candles)
    fields = ("open", "high", "low", "close", "volume")
    history = _History(fields)
    history.extend(bars.index.asi8[: args.warm], {f: bars.columns[f][: args.warm] for f in fields})
    opened = history.window()

    cases = list(_cases())
    states = [feature.online.state(**params) for _, feature, params in cases]
    for state in states:
        state.open(opened)
    lasts = [
        (feature.online.last, feature.online.tail_bars(params)) for _, feature, params in cases
    ]
    needs = sorted({need for _, need in lasts})

    n = args.bars
    wall = {side: np.zeros((n, len(cases))) for side in "AB"}
    cpu = {side: np.zeros((n, len(cases))) for side in "AB"}
    shared_wall, shared_cpu = np.zeros(n), np.zeros(n)
    empty = np.zeros(n)  # the two clocks read around nothing: what every figure includes
    worst = np.zeros(len(cases))
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for k in range(n):
        i = args.warm + k
        row = {f: float(bars.columns[f][i]) for f in fields}
        history.append(int(bars.index.asi8[i]), row)
        bar = {f: np.float64(v) for f, v in row.items()}
        t0, c0 = clock(), cpu_clock()
        windows = _shared_windows(history, needs)
        shared_wall[k], shared_cpu[k] = clock() - t0, cpu_clock() - c0
        t0, c0 = clock(), cpu_clock()
        empty[k] = clock() - t0
        for j, ((_, _, params), state, (last, need)) in enumerate(
            zip(cases, states, lasts, strict=True)
        ):
            order = "AB" if (k + j) % 2 == 0 else "BA"
            values = {}
            for side in order:
                t0, c0 = clock(), cpu_clock()
                if side == "A":
                    values[side] = state.update(windows[need], bar)
                else:
                    values[side] = last(windows[need], **params)
                wall[side][k, j], cpu[side][k, j] = clock() - t0, cpu_clock() - c0
            a, b = values["A"][0], values["B"][0]
            if np.isfinite(b):
                worst[j] = max(worst[j], abs(a - b) / max(abs(b), 1e-3))

    print(f"statistical features, {n} bars after {args.warm} (BTC/USDT 1h), microseconds per bar")
    print(f"{'feature':<18} {'A state p50':>11} {'mean':>6} {'cpu':>6} "
          f"{'B tail p50':>11} {'mean':>6} {'cpu':>6} {'B/A':>6} {'|A-B|':>8}")  # fmt: skip
    for j, (stem, _, _) in enumerate(cases):
        a_wall, b_wall = wall["A"][:, j] / 1e3, wall["B"][:, j] / 1e3
        print(
            f"{stem:<18} {np.median(a_wall):11.1f} {a_wall.mean():6.1f} "
            f"{cpu['A'][:, j].mean() / 1e3:6.1f} {np.median(b_wall):11.1f} {b_wall.mean():6.1f} "
            f"{cpu['B'][:, j].mean() / 1e3:6.1f} {np.median(b_wall) / np.median(a_wall):6.1f} "
            f"{worst[j]:8.0e}"
        )
    total_a = wall["A"].sum(axis=1) / 1e3
    total_b = (wall["B"].sum(axis=1) + shared_wall) / 1e3
    print(f"{'B shared windows':<18} {'':>11} {'':>6} {'':>6} {np.median(shared_wall) / 1e3:11.1f} "
          f"{shared_wall.mean() / 1e3:6.1f} {shared_cpu.mean() / 1e3:6.1f}")  # fmt: skip
    print(f"{'clocks alone':<18} {np.median(empty) / 1e3:11.1f} {empty.mean() / 1e3:6.1f}")
    print(
        f"{'all ' + str(len(cases)) + ' columns':<18} {np.median(total_a):11.1f} "
        f"{total_a.mean():6.1f} {cpu['A'].sum(axis=1).mean() / 1e3:6.1f} "
        f"{np.median(total_b):11.1f} {total_b.mean():6.1f} "
        f"{(cpu['B'].sum(axis=1) + shared_cpu).mean() / 1e3:6.1f} "
        f"{np.median(total_b) / np.median(total_a):6.1f}"
    )


if __name__ == "__main__":
    main()
