"""Training cost through trademl vs the bare library, tuning with vs without pruning, and
what one tuning trial costs and where the time goes.

    .venv/bin/python benchmarks/training.py            # 100K and 1M rows, 50 trials
    .venv/bin/python benchmarks/training.py --quick    # 100K rows only, 20 trials
    .venv/bin/python benchmarks/training.py --part trial   # one trial: fits vs scoring
    .venv/bin/python benchmarks/training.py --part causality  # the run-path leak check

1. LightGBM and XGBoost (hist), 200 trees, on 100K x 50 and 1M x 50 float32 features:
   ``trademl.models.build_model(...).fit`` vs ``lightgbm.LGBMClassifier`` /
   ``xgboost.XGBClassifier`` with identical settings, interleaved, best of N (the machine
   is shared, so the minimum is the least disturbed measurement). Both use the same
   thread count. The features are synthetic (no real 1M-row 50-feature table ships with
   the project); the fit cost depends on shape, not on meaning.
2. A 50-trial TPE search on real BTC/USDT 1h features (bundled sample, purged 4-fold
   CV, every fold scored through the backtest engine: next-bar fill, 10 bp fees), with
   the median pruner and without: wall time, trials pruned and best CV Sharpe.
3. One trial of that objective, repeated: CPU and wall time of the whole trial and of
   its scoring alone (engine runs + metric registry per fold, pooled figures), i.e. the
   part that is not model fitting. The data is built here from ``load_sample`` +
   ``generate_features`` + ``make_labels`` (not from pipeline internals). Beside it, the
   scoring the objective used before the engine (signal x next-bar return minus a linear
   fee), so the per-trial cost before/after is the same fits plus either scoring.
4. The causality check ``trademl run`` makes of an unproven (user) feature: its cost as a
   share of generating the demo feature set on the bundled sample.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import alternate


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
        # rounds in a rotating order (bare, ours; ours, bare; ...), no further warm-up round
        runs = alternate({"bare": bare, "ours": ours}, repeats, warmup=0)
        wall_a, cpu_a = runs["ours"].best_wall, runs["ours"].best_cpu
        wall_b, cpu_b = runs["bare"].best_wall, runs["bare"].best_cpu
        print(
            f"{kind:9s} {n_rows:>9,d} x 50  CPU: trademl {cpu_a:7.2f} s  bare {cpu_b:7.2f} s  "
            f"ratio {cpu_a / cpu_b:5.3f} | wall: trademl {wall_a:7.2f} s  bare {wall_b:7.2f} s  "
            f"ratio {wall_a / wall_b:5.3f}  (best of {repeats}, {threads} thread(s))",
            flush=True,
        )


TUNING_SPEC = {
    "data": {"sample": "BTCUSDT-1h"},
    "features": {"categories": ["momentum", "volatility"], "float32": True},
    "labels": {"kind": "direction", "horizon": 12},
    "validation": {"n_splits": 4, "embargo": 12, "holdout_fraction": 0.2},
    "model": {"kind": "lightgbm", "params": {"n_estimators": 80}, "early_stopping_rounds": 10},
}


def tuning_data(spec):
    """CVData on the development rows (first 80 %) of the bundled BTC/USDT 1h sample."""
    import pandas as pd

    from trademl import load_sample
    from trademl.analytics.periods import periods_per_year_for
    from trademl.features import generate_features
    from trademl.labels import make_labels
    from trademl.tuning import CVData
    from trademl.validation import make_splitter

    bars = load_sample(spec.data.sample)
    features = generate_features(bars, spec.features)
    labels = make_labels(bars, spec.labels)
    h = spec.labels.horizon
    forward = bars["close"].shift(-h) / bars["close"] - 1
    ok = features.notna().all(axis=1) & labels.values.notna() & forward.notna()
    X = features[ok]
    n_dev = int(len(X) * (1 - spec.validation.holdout_fraction))
    X = X.iloc[:n_dev]
    label_end = pd.Series(labels.end[ok].iloc[:n_dev].to_numpy(), index=X.index)
    splitter = make_splitter(spec.validation, label_end=label_end)
    folds = [(np.asarray(a), np.asarray(b)) for a, b in splitter.split(X)]
    data = CVData(
        X=X,
        y=labels.values[ok].iloc[:n_dev].to_numpy().astype(int),
        folds=folds,
        close=bars["close"][ok].iloc[:n_dev].to_numpy(),
        forward_return=forward[ok].iloc[:n_dev].to_numpy(),
        symbol=np.full(n_dev, "BTCUSDT"),
        backtest=spec.backtest,
        periods_per_year=periods_per_year_for("1h", spec.backtest.calendar),
    )
    return data


def tuning_costs(n_trials: int) -> None:
    from trademl.config import load_spec
    from trademl.tuning import CrossValidatedObjective, tune

    spec = load_spec(TUNING_SPEC | {"tuning": {"n_trials": n_trials, "n_startup_trials": 5}})
    data = tuning_data(spec)
    space = spec.model.resolved_search_space()
    print(
        f"tuning: {len(data.X):,d} development rows x {data.X.shape[1]} features, "
        f"{len(data.folds)} folds"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for pruner in ("median", "none"):
            objective = CrossValidatedObjective(
                spec.model, data, task="classification", metrics=["sharpe"], space=space,
                purge=12, seed=0,
            )  # fmt: skip
            tuning = spec.tuning.model_copy(
                update={"pruner": pruner, "storage": f"sqlite:///{Path(tmp) / f'{pruner}.db'}"}
            )
            cpu = time.process_time()
            result = tune(
                objective, tuning, space=space, study_name=pruner, seed=0, n_folds=len(data.folds)
            )
            cpu = time.process_time() - cpu
            folds_fitted = sum(len(t.intermediate_values) for t in result.study.trials)
            print(
                f"pruner={pruner:6s}  {n_trials} trials  CPU {cpu:7.1f} s  "
                f"wall {result.elapsed:7.1f} s  pruned {result.n_pruned:3d}  "
                f"folds fitted {folds_fitted:3d}  best CV Sharpe {result.best_values[0]:+.3f}",
                flush=True,
            )


def trial_costs(repeats: int) -> bool:
    """One objective call (a trial of fixed parameters), and its scoring part alone."""
    import optuna

    from trademl.config import load_spec
    from trademl.tuning import CrossValidatedObjective, evaluate_predictions, fit_predict

    spec = load_spec(TUNING_SPEC)
    data = tuning_data(spec)
    space = spec.model.resolved_search_space()
    params = {"num_leaves": 31, "learning_rate": 0.05}
    params = {k: v for k, v in params.items() if k in space}
    objective = CrossValidatedObjective(
        spec.model, data, task="classification", metrics=["sharpe"], space=space,
        purge=12, seed=0,
    )  # fmt: skip
    predictions = [
        fit_predict(spec.model, "classification", params, data, tr, te, purge=12, seed=0)[0]
        for tr, te in data.folds
    ]

    def scoring():
        runs = [
            evaluate_predictions(p, data, te)[1]
            for p, (_, te) in zip(predictions, data.folds, strict=True)
        ]
        objective._pooled(runs)

    next_return = np.append(data.close[1:] / data.close[:-1] - 1.0, np.nan)
    fee = (spec.backtest.fee_bp + spec.backtest.slippage_bp) / 1e4

    def linear_scoring():
        """What a trial's scoring was before the engine: lag 0, a linear fee, no sizing."""
        pooled = []
        for p, (_, te) in zip(predictions, data.folds, strict=True):
            signal = p.signal.astype(float)
            changes = np.abs(np.diff(signal, prepend=0.0))
            pooled.append(np.nan_to_num(signal * next_return[te]) - changes * fee)
        returns = np.concatenate(pooled)
        return returns.mean() / returns.std(ddof=1)

    fixed = {k: params.get(k, r.choices[0] if hasattr(r, "choices") else r.low)
             for k, r in space.items()}  # fmt: skip
    whole = lambda: objective(optuna.trial.FixedTrial(fixed))  # noqa: E731
    whole()  # warm-up: imports, the cached buy-and-hold runs
    times = {"trial": [], "scoring": [], "linear": []}
    for _ in range(repeats):  # alternate, so all see the same machine
        times["trial"].append(timed(whole))
        times["scoring"].append(timed(scoring))
        times["linear"].append(timed(linear_scoring))
    print(
        f"trial: {len(data.X):,d} rows x {data.X.shape[1]} features, {len(data.folds)} folds, "
        f"lightgbm {spec.model.params['n_estimators']} trees, 1 thread, best of {repeats}"
    )
    best = {}
    for name, values in times.items():
        wall, cpu = min(v[0] for v in values), min(v[1] for v in values)
        best[name] = (wall, cpu)
        print(f"  {name:8s} CPU {cpu * 1e3:9.1f} ms  wall {wall * 1e3:9.1f} ms", flush=True)
    # the fits are the same before and after; only the scoring part changed
    before = [best["trial"][i] - best["scoring"][i] + best["linear"][i] for i in (0, 1)]
    print(
        f"  per trial, engine scoring / old linear scoring: CPU "
        f"{best['trial'][1] / before[1]:.3f}x, wall {best['trial'][0] / before[0]:.3f}x "
        "(target <= 1.2x)"
    )
    return best["trial"][1] / before[1] <= 1.2


def causality_costs(repeats: int) -> bool:
    """The automatic causality check of one user feature as a share of feature time."""
    import textwrap

    from trademl import load_sample
    from trademl.config.features import FeatureSpec
    from trademl.features import check_run_causality, generate_features, load_feature_modules

    bars = load_sample("BTCUSDT-1h")
    with tempfile.TemporaryDirectory() as tmp:
        module = Path(tmp) / "bench_user_feature.py"
        module.write_text(
            textwrap.dedent(
                """
                import numpy as np
                from trademl.features import feature

                @feature("bench_close_vs_mean", category="statistical", inputs=("close",), warmup=47)
                def bench_close_vs_mean(bars, window: int = 48):
                    close = np.asarray(bars.close, dtype=float)
                    mean = np.convolve(close, np.ones(window) / window)[: len(close)]
                    mean[: window - 1] = np.nan
                    return close / mean - 1.0
                """
            )
        )
        load_feature_modules([str(module)], base_dir=None)
        demo = {"categories": ["trend", "momentum", "volatility", "volume"]}
        spec = FeatureSpec.model_validate(demo | {"indicators": None, "modules": [str(module)]})
        with_user = FeatureSpec.model_validate(
            {"indicators": ["bench_close_vs_mean"], "modules": [str(module)]}
        )
        full = generate_features(bars, spec, check_causality=False)
        user_full = generate_features(bars, with_user, check_causality=False)
        times = {"features": [], "check": []}
        for _ in range(repeats):  # alternate
            times["features"].append(
                timed(lambda: generate_features(bars, spec, check_causality=False))
            )
            times["check"].append(
                timed(lambda: check_run_causality(bars, with_user, full=user_full.copy()))
            )
    print(
        f"causality: {len(bars):,d} bars, demo feature set ({full.shape[1]} columns) vs the "
        f"check of one user feature (prefix recomputation), median of {repeats}"
    )
    med = {k: (np.median([v[0] for v in vals]), np.median([v[1] for v in vals]))
           for k, vals in times.items()}  # fmt: skip
    for name, (wall, cpu) in med.items():
        print(f"  {name:8s} CPU {cpu * 1e3:9.1f} ms  wall {wall * 1e3:9.1f} ms")
    print(
        f"  check / feature time: CPU {med['check'][1] / med['features'][1]:.1%}, "
        f"wall {med['check'][0] / med['features'][0]:.1%} (target <= 20%)"
    )
    return med["check"][1] / med["features"][1] <= 0.2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100K rows only, 20 trials")
    parser.add_argument("--threads", type=int, default=1, help="threads per fit, both sides")
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument(
        "--part", choices=("all", "fit", "tuning", "trial", "causality"), default="all"
    )
    parser.add_argument("--repeats", type=int, default=7, help="trial repeats (--part trial)")
    args = parser.parse_args()
    missed = []  # targets judged by CPU time; make bench reads the exit code
    if args.part in ("all", "fit"):
        print("== fit cost: trademl wrapper vs bare library (same settings, same data) ==")
        fit_costs(100_000, repeats=3, threads=args.threads)
        if not args.quick:
            fit_costs(1_000_000, repeats=1, threads=args.threads)
    if args.part in ("all", "trial"):
        print("== one tuning trial: whole objective vs its scoring part ==")
        if not trial_costs(args.repeats):
            missed.append("trial scoring <= 1.2x")
    if args.part in ("all", "causality"):
        print("== automatic causality check of a user feature vs feature generation ==")
        if not causality_costs(args.repeats):
            missed.append("causality check <= 20%")
    if args.part in ("all", "tuning"):
        n_trials = args.trials or (20 if args.quick else 50)
        print(f"== {n_trials}-trial tuning: median pruner vs none ==")
        tuning_costs(n_trials)
    print(f"targets: {'NOT met: ' + ', '.join(missed) if missed else 'met'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
