"""Training cost through trademl vs the bare library, and tuning with vs without pruning.

    .venv/bin/python benchmarks/training.py            # 100K and 1M rows, 50 trials
    .venv/bin/python benchmarks/training.py --quick    # 100K rows only, 20 trials

1. LightGBM and XGBoost (hist), 200 trees, on 100K x 50 and 1M x 50 float32 features:
   ``trademl.models.build_model(...).fit`` vs ``lightgbm.LGBMClassifier`` /
   ``xgboost.XGBClassifier`` with identical settings, interleaved, best of N (the machine
   is shared, so the minimum is the least disturbed measurement). Both use the same
   thread count. The features are synthetic (no real 1M-row 50-feature table ships with
   the project); the fit cost depends on shape, not on meaning.
2. A 50-trial TPE search on real BTC/USDT 1h features (bundled sample, purged 4-fold
   CV, Sharpe net of 10 bp), with the median pruner and without: wall time, trials
   pruned and best CV Sharpe.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def synthetic(n_rows: int, n_features: int = 50, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_features), dtype=np.float32)
    signal = X[:, :5] @ np.array([0.3, -0.2, 0.15, 0.1, -0.05], dtype=np.float32)
    y = (signal + rng.standard_normal(n_rows, dtype=np.float32) > 0).astype(np.int64)
    return X, y


def timed(fit) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call.

    With one thread per fit the CPU time is the fit's own work, so it stays comparable
    when other jobs share the machine; the wall time does not.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    fit()
    return time.perf_counter() - wall, time.process_time() - cpu


def fit_costs(n_rows: int, repeats: int, threads: int) -> None:
    import lightgbm as lgb
    import xgboost as xgb

    from trademl.models import build_model

    X, y = synthetic(n_rows)
    common = {"n_estimators": 200, "learning_rate": 0.05}
    cases = {
        "lightgbm": (
            lambda: build_model(
                {
                    "kind": "lightgbm",
                    "params": common,
                    "early_stopping_rounds": None,
                    "n_jobs": threads,
                }
            ).fit(X, y),
            lambda: lgb.LGBMClassifier(
                **common,
                num_leaves=31,
                min_child_samples=50,
                deterministic=True,
                random_state=0,
                n_jobs=threads,
                verbose=-1,
            ).fit(X, y),  # fmt: skip
        ),
        "xgboost": (
            lambda: build_model(
                {
                    "kind": "xgboost",
                    "params": common,
                    "early_stopping_rounds": None,
                    "n_jobs": threads,
                }
            ).fit(X, y),
            lambda: xgb.XGBClassifier(
                **common, max_depth=6, tree_method="hist", random_state=0, n_jobs=threads
            ).fit(X, y),
        ),
    }
    for kind, (ours, bare) in cases.items():
        # warm-up on a small slice: library import, OpenMP pool, first-call costs
        small = X[:5000], y[:5000]
        build_model(
            {"kind": kind, "params": {"n_estimators": 5}, "early_stopping_rounds": None}
        ).fit(*small)
        t_ours, t_bare = [], []
        for _ in range(repeats):
            t_bare.append(timed(bare))
            t_ours.append(timed(ours))
        (wall_a, cpu_a), (wall_b, cpu_b) = min(t_ours), min(t_bare)
        cpu_a, cpu_b = min(t[1] for t in t_ours), min(t[1] for t in t_bare)
        print(
            f"{kind:9s} {n_rows:>9,d} x 50  CPU: trademl {cpu_a:7.2f} s  bare {cpu_b:7.2f} s  "
            f"ratio {cpu_a / cpu_b:5.3f} | wall: trademl {wall_a:7.2f} s  bare {wall_b:7.2f} s  "
            f"ratio {wall_a / wall_b:5.3f}  (best of {repeats}, {threads} thread(s))",
            flush=True,
        )


def tuning_costs(n_trials: int) -> None:
    from trademl.config import load_spec
    from trademl.pipeline import _assemble, _cv_data, _folds, _holdout, _load
    from trademl.tuning import CrossValidatedObjective, tune

    spec = load_spec(
        {
            "data": {"sample": "BTCUSDT-1h"},
            "features": {"categories": ["momentum", "volatility"], "float32": True},
            "labels": {"kind": "direction", "horizon": 12},
            "validation": {"n_splits": 4, "embargo": 12, "holdout_fraction": 0.2},
            "model": {
                "kind": "lightgbm",
                "params": {"n_estimators": 80},
                "early_stopping_rounds": 10,
            },
            "tuning": {"n_trials": n_trials, "n_startup_trials": 5},
        }
    )
    rows = _assemble(spec, _load(spec, None))
    dev, _, _ = _holdout(spec, rows)
    folds = _folds(spec, rows, dev)
    data = _cv_data(spec, rows, [(dev[a], dev[b]) for a, b in folds])
    space = spec.model.resolved_search_space()
    print(
        f"tuning: {len(dev):,d} development rows x {rows.X.shape[1]} features, {len(folds)} folds"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for pruner in ("median", "none"):
            objective = CrossValidatedObjective(
                spec.model, data, task="classification", metrics=["sharpe"], space=space,
                purge=12, seed=0, timestamps=rows.X.index,
            )  # fmt: skip
            tuning = spec.tuning.model_copy(
                update={"pruner": pruner, "storage": f"sqlite:///{Path(tmp) / f'{pruner}.db'}"}
            )
            cpu = time.process_time()
            result = tune(
                objective, tuning, space=space, study_name=pruner, seed=0, n_folds=len(folds)
            )
            cpu = time.process_time() - cpu
            folds_fitted = sum(len(t.intermediate_values) for t in result.study.trials)
            print(
                f"pruner={pruner:6s}  {n_trials} trials  CPU {cpu:7.1f} s  "
                f"wall {result.elapsed:7.1f} s  pruned {result.n_pruned:3d}  "
                f"folds fitted {folds_fitted:3d}  best CV Sharpe {result.best_values[0]:+.3f}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100K rows only, 20 trials")
    parser.add_argument("--threads", type=int, default=1, help="threads per fit, both sides")
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--part", choices=("all", "fit", "tuning"), default="all")
    args = parser.parse_args()
    if args.part in ("all", "fit"):
        print("== fit cost: trademl wrapper vs bare library (same settings, same data) ==")
        fit_costs(100_000, repeats=3, threads=args.threads)
        if not args.quick:
            fit_costs(1_000_000, repeats=1, threads=args.threads)
    if args.part in ("all", "tuning"):
        n_trials = args.trials or (20 if args.quick else 50)
        print(f"== {n_trials}-trial tuning: median pruner vs none ==")
        tuning_costs(n_trials)


if __name__ == "__main__":
    main()
