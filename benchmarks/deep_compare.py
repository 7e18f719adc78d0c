"""Honest comparison: LightGBM, LSTM, TCN, Transformer and the hybrid on BTC/USDT 1h.

    .venv/bin/python benchmarks/deep_compare.py [--kinds lightgbm,lstm,tcn,transformer,hybrid]

Every model runs the same spec (examples/btc_1h_hybrid.yaml: the LightGBM demo's labels,
purged 4-fold CV, embargo and 20 % holdout) with only ``model:`` swapped, through the
whole pipeline (one tuning trial = the purged CV, final fit on the development rows,
holdout through the backtest engine net of 10 bp fees). Prints OOS accuracy, AUC, IC,
Sharpe, deflated Sharpe and wall/CPU training time side by side, whatever they are.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "examples" / "btc_1h_hybrid.yaml"
NETWORK = {"window": 24, "epochs": 6, "batch_size": 256, "dropout": 0.1, "learning_rate": 0.002}
MODELS = {
    "lightgbm": {"kind": "lightgbm", "params": {"n_estimators": 150, "max_bin": 63},
                 "early_stopping_rounds": 20},
    "lstm": {"kind": "lstm", "params": {**NETWORK, "hidden_size": 16}, "early_stopping_rounds": 2},
    "tcn": {"kind": "tcn", "params": {**NETWORK, "filters": 16, "layers": 3},
            "early_stopping_rounds": 2},
    "transformer": {"kind": "transformer", "params": {**NETWORK, "hidden_size": 16, "heads": 2},
                    "early_stopping_rounds": 2},
    "hybrid": None,  # the spec's own model section
}  # fmt: skip
FIGURES = ["oos_accuracy", "oos_roc_auc", "oos_ic", "oos_sharpe", "deflated_sharpe", "cv_sharpe"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default=",".join(MODELS))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    from trademl.pipeline import run

    torch.set_num_threads(args.threads)
    base = yaml.safe_load(SPEC.read_text())
    rows = []
    with tempfile.TemporaryDirectory(prefix="trademl-deep-compare-") as tmp:
        for kind in args.kinds.split(","):
            spec = {**base, "name": f"compare-{kind}"}
            spec.pop("search_space", None)
            model = MODELS[kind] or base["model"]
            spec["model"] = {k: v for k, v in model.items() if k != "search_space"}
            spec["tracking"] = {"uri": f"sqlite:///{tmp}/mlruns.db", "artifact_root": f"{tmp}/art"}
            spec["tuning"] = {**base["tuning"], "storage": f"sqlite:///{tmp}/optuna.db"}
            wall, cpu = time.perf_counter(), time.process_time()
            result = run(spec, progress=False)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            found = {k: v for k, v in result.metrics.items() if k in FIGURES}
            rows.append((kind, found, wall, cpu))
            print(
                f"{kind}: {found} (all: {sorted(result.metrics)[:40]})  wall {wall:.0f}s cpu {cpu:.0f}s",
                flush=True,
            )
    print(f"\nBTC/USDT 1h, {SPEC.name} folds and holdout, torch threads={args.threads}")
    print(f"{'model':<12}" + "".join(f"{f:>17}" for f in FIGURES) + f"{'wall s':>9}{'cpu s':>9}")
    for kind, found, wall, cpu in rows:
        cells = "".join(f"{found.get(f, float('nan')):>17.4f}" for f in FIGURES)
        print(f"{kind:<12}{cells}{wall:>9.0f}{cpu:>9.0f}")


if __name__ == "__main__":
    main()
