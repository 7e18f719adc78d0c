"""Benchmark: the running online states of the microstructure and window features, per bar.

    .venv/bin/python benchmarks/online_states.py [--bars 500] [--rounds 5] [--only roll,vprofile]

For each feature (its default parameters), on the bundled BTC/USDT 1h sample after a
3,000-bar warm-up, the same ``--bars`` new bars are served two ways:

- A, ``state``: the feature's carried state (``feature.online.state``), ``update`` per bar;
- B, the named alternative ``tail``: the batch function recomputed on the trailing bars the
  value depends on (``feature.run`` on the last ``tail`` bars, keeping the last row), what
  serving did for kyle_lambda and roll before their states.

The sides alternate in rounds (``_common.alternate``, the order rotated each round); a
state is opened before its round, untimed. Figures: microseconds per bar, best and
median over the rounds, thread CPU time beside wall time; the ratio is tail / state.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from _common import alternate, print_settings

WARM = 3000
# feature -> the bars the batch function needs for its last value
CASES: dict[str, Any] = {
    "kyle_lambda": lambda window: window + 1,
    "roll": lambda window: window + 2,
    "volpct": lambda window, lookback: window + lookback,
    "vprofile": lambda window, bins: window,
    "ichimoku": lambda tenkan, kijun, senkou: senkou + kijun,
    "swing": None,  # the levels can come from arbitrarily far back: no tail recompute
    "corwin_schultz": lambda window: window + 1,
    "yang_zhang": lambda window: window + 1,
}


def _sides(name: str, bars: Any, n: int, rounds: int) -> dict[str, Any]:
    from trademl.features import registry
    from trademl.features._bars import Bars

    feature = registry()[name]
    params = feature.resolve()
    columns = bars.columns
    rows = [{k: np.float64(v[i]) for k, v in columns.items()} for i in range(WARM, WARM + n)]

    def head(stop: int, start: int = 0) -> Bars:
        return Bars(bars.index[start:stop], {k: v[start:stop] for k, v in columns.items()})

    opened = []
    for _ in range(rounds + 1):  # one fresh state per round, the warm-up round included
        state = feature.online.state(**params)
        state.open(head(WARM))
        opened.append(state)

    def state_side() -> None:
        update = opened.pop().update
        for row in rows:
            update(None, row)

    sides = {"state": state_side}
    if CASES[name] is not None:
        tail = CASES[name](**params)

        def tail_side() -> None:
            for i in range(WARM, WARM + n):
                window = head(i + 1, i + 1 - tail)
                [column[-1] for column in feature.run(window, params)]

        sides["tail"] = tail_side
    return sides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bars", type=int, default=500, help="bars streamed per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated feature names")
    args = parser.parse_args()
    from trademl.datasets import load_sample
    from trademl.features._bars import bars_from_frame

    bars = bars_from_frame(load_sample("BTCUSDT-1h").iloc[: WARM + args.bars])
    names = [n for n in args.only.split(",") if n] or list(CASES)
    unknown = sorted(set(names) - set(CASES))
    if unknown:
        raise SystemExit(f"--only: unknown feature {unknown[0]!r} (one of {', '.join(CASES)})")
    print_settings(
        "online states: us per bar",
        {"warm_up_bars": WARM, "bars": args.bars, "rounds": args.rounds, "parameters": "defaults"},
    )
    print(f"{'feature':16s} {'state CPU best/median':>22s} {'tail CPU best/median':>22s}  ratio")
    for name in names:
        timings = alternate(_sides(name, bars, args.bars, args.rounds), args.rounds)
        per_bar = {
            side: (t.best_cpu / args.bars * 1e6, t.median_cpu / args.bars * 1e6,
                   t.best_wall / args.bars * 1e6)
            for side, t in timings.items()
        }  # fmt: skip
        state = per_bar["state"]
        line = f"{name:16s} {state[0]:10.2f} /{state[1]:8.2f} us"
        if "tail" in per_bar:
            tail = per_bar["tail"]
            line += f" {tail[0]:10.2f} /{tail[1]:8.2f} us  {tail[0] / state[0]:6.1f}x"
        else:
            line += f" {'(no tail recompute)':>22s}"
        print(f"{line}   (wall best: state {state[2]:.2f} us)")


if __name__ == "__main__":
    main()
