"""Monitoring benchmarks: store inserts, drift check, alert evaluation.

    .venv/bin/python benchmarks/monitoring.py [--rows 1000000] [--features 200] [--n 100000]

1. Insert throughput into SQLite (WAL, synchronous=FULL), 10K-row batches:
   ``MonitorStore.log_predictions`` (from a DataFrame, schema with its index) versus
   SQLAlchemy Core ``executemany`` and the standard library's ``sqlite3`` on the same
   table and rows (idempotency keys included, precomputed for the bare writers), in
   alternating rounds; rows/s by wall time (the fsyncs count) and by CPU time.
2. Drift check, ``--features`` x ``--n`` reference vs ``--n`` current, alternating rounds:
   trademl's whole job from the two frames (``build_profile`` + ``compare_to_profile``:
   KS + PSI + Wasserstein) versus a scipy loop (``ks_2samp`` + ``wasserstein_distance``)
   and a numpy PSI from the same frames; beside it the comparison alone against a kept
   profile (what a live check pays); the largest KS and W1 differences.
3. One alert-evaluation pass over 100 rules (first pass opens alerts; steady state
   deduplicates), state in SQLite.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from _common import alternate, print_settings, ratio_line

from trademl.monitoring import schema
from trademl.monitoring.alerts import AlertEngine, AlertRule, LogChannel
from trademl.monitoring.drift import build_profile, compare_to_profile
from trademl.monitoring.store import open_store, prediction_keys

BATCH = 10_000
# the columns MonitorStore writes for this frame (absent optional columns stay NULL); the
# bare writers get the same idempotency keys, precomputed, so every table and its unique
# index grow by the same bytes
COLUMNS = ["model", "version", "ts", "symbol", "prediction", "created_ns", "proba", "signal",
           "idempotency_key"]  # fmt: skip


def _frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    proba = rng.uniform(size=rows)
    index = pd.date_range("2024-01-01", periods=rows, freq="1min", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {"symbol": "BTCUSDT", "prediction": (proba > 0.5).astype(float), "proba": proba,
         "signal": np.where(proba > 0.5, 1.0, -1.0)},
        index=index,
    )  # fmt: skip


def _tuples(frame: pd.DataFrame) -> list[tuple]:
    ts = frame.index.as_unit("ns").asi8.tolist()
    n = len(frame)
    symbols = frame["symbol"].tolist()
    keys = prediction_keys("bench", "1", symbols, ts)
    return list(
        zip(["bench"] * n, ["1"] * n, ts, symbols, frame["prediction"].tolist(),
            [0] * n, frame["proba"].tolist(), frame["signal"].tolist(), keys, strict=True)
    )  # fmt: skip


def bench_inserts(rows: int, workdir: Path, rounds: int) -> dict[str, float]:
    """rows/s by best CPU time and best wall time of each writer, in alternating rounds.

    The rows are cut into one slice per round (and one for the warm-up); in each round
    every writer appends the same slice to its own store, so in every round all three
    tables hold the same number of rows when the slice goes in.
    """
    frame = _frame(rows)
    slices = [(i * rows // (rounds + 1), (i + 1) * rows // (rounds + 1)) for i in range(rounds + 1)]
    tuples = _tuples(frame)
    records = [dict(zip(COLUMNS, row, strict=True)) for row in tuples]

    store = open_store(workdir / "store.db")
    # the same schema (tables + index) created by the same migrations
    core = open_store(workdir / "core.db").engine
    open_store(workdir / "raw.db").close()
    raw = sqlite3.connect(workdir / "raw.db")
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=FULL")
    sql = f"INSERT INTO predictions ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    done = dict.fromkeys(["ours", "core", "raw"], 0)

    def next_slice(side: str) -> tuple[int, int]:
        first, last = slices[done[side]]
        done[side] += 1
        return first, last

    def ours() -> None:
        first, last = next_slice("ours")
        for i in range(first, last, BATCH):
            store.log_predictions(frame.iloc[i : min(i + BATCH, last)], model="bench", version="1")

    def sqlalchemy_core() -> None:
        first, last = next_slice("core")
        for i in range(first, last, BATCH):
            with core.begin() as connection:
                connection.execute(schema.predictions.insert(), records[i : min(i + BATCH, last)])

    def sqlite3_raw() -> None:
        first, last = next_slice("raw")
        for i in range(first, last, BATCH):
            raw.executemany(sql, tuples[i : min(i + BATCH, last)])
            raw.commit()

    names = {
        "trademl MonitorStore.log_predictions": ours,
        "SQLAlchemy Core executemany (dicts prepared)": sqlalchemy_core,
        "sqlite3 executemany (tuples prepared)": sqlite3_raw,
    }
    runs = alternate(names, rounds)
    assert store.count("predictions") == rows
    store.close()
    core.dispose()
    raw.close()
    per_round = rows // (rounds + 1)
    for timing in runs.values():
        print("  " + timing.line("s", width=46))
    return {
        name: (per_round / timing.best_cpu, per_round / timing.best_wall)
        for name, timing in runs.items()
    }


def bench_drift(n_features: int, n: int, rounds: int) -> dict[str, float]:
    from scipy import stats

    rng = np.random.default_rng(1)
    names = [f"f{i}" for i in range(n_features)]
    ref = pd.DataFrame(rng.standard_normal((n, n_features)), columns=names)
    shift = np.where(np.arange(n_features) < n_features // 10, 0.05, 0.0)
    cur = pd.DataFrame(rng.standard_normal((n, n_features)) + shift, columns=names)
    ref_values, cur_values = ref.to_numpy(), cur.to_numpy()
    found: dict[str, object] = {}

    def ours():
        # the whole job from the same two frames: building the reference profile included
        found["report"] = compare_to_profile(build_profile(ref), cur)

    def reference():
        found["ks"] = np.array([stats.ks_2samp(ref_values[:, j], cur_values[:, j]).statistic
                                for j in range(n_features)])  # fmt: skip
        found["w1"] = np.array([stats.wasserstein_distance(ref_values[:, j], cur_values[:, j])
                                for j in range(n_features)])  # fmt: skip
        for j in range(n_features):
            edges = np.quantile(ref_values[:, j], np.linspace(0, 1, 11)[1:-1])
            r = np.bincount(np.searchsorted(edges, ref_values[:, j]), minlength=10) / n
            c = np.bincount(np.searchsorted(edges, cur_values[:, j]), minlength=10) / n
            r, c = np.clip(r, 1e-4, None), np.clip(c, 1e-4, None)
            np.sum((c - r) * np.log(c / r))

    profile = build_profile(ref)
    runs = alternate({
        "trademl build_profile + compare": ours,
        "scipy KS + W1 loops, numpy PSI": reference,
        "trademl compare only (profile kept)": lambda: compare_to_profile(profile, cur),
    }, rounds)  # fmt: skip
    for timing in runs.values():
        print("  " + timing.line("s", width=36))
    whole, theirs = runs["trademl build_profile + compare"], runs["scipy KS + W1 loops, numpy PSI"]
    print("  " + ratio_line(theirs, whole, "(same scope: both start from the two frames)"))
    print("  " + ratio_line(theirs, runs["trademl compare only (profile kept)"],
                            "(a check against a profile stored at registration)"))  # fmt: skip
    report, ks, w1 = found["report"], found["ks"], found["w1"]
    out: dict[str, object] = {"trademl whole check s (best CPU)": whole.best_cpu}
    out["max |KS - exact KS|"] = float(np.abs(report.table["ks"].to_numpy() - ks).max())
    out["max |W1 - exact W1| / W1"] = float(
        np.max(np.abs(report.table["wasserstein"].to_numpy() - w1) / w1)
    )
    within = np.abs(report.table["wasserstein"].to_numpy() - w1) <= report.table[
        "wasserstein_bound"
    ].to_numpy(dtype=float)
    out["W1 error within the reported bound"] = f"{int(within.sum())}/{n_features} features"
    out["features flagged (true shifted)"] = f"{report.n_drifted} ({n_features // 10})"
    return out


def bench_alerts(workdir: Path, n_rules: int = 100) -> dict[str, float]:
    logging.getLogger("trademl.alerts").setLevel(logging.CRITICAL + 1)
    store = open_store(workdir / "alerts.db")
    rules = [
        AlertRule.model_validate(
            {
                "name": f"rule{i}",
                "when": f"metric{i % 20} > {i / 100}",
                "severity": "warning",
                "channels": ["log"],
            }
        )  # fmt: skip
        for i in range(n_rules)
    ]
    engine = AlertEngine(store, rules=rules, channels={"log": LogChannel()})
    facts = {f"metric{k}": k / 20 for k in range(20)}
    now = datetime(2026, 1, 1, tzinfo=UTC)
    started = time.perf_counter()
    first = engine.evaluate("bench", facts, now=now)
    opened = sum(a["action"] == "opened" for a in first)
    out = {
        f"first pass, {n_rules} rules ({opened} alerts opened + sent) s": time.perf_counter()
        - started
    }
    timings = []
    for k in range(1, 6):
        started = time.perf_counter()
        engine.evaluate("bench", facts, now=now + timedelta(minutes=k))
        timings.append(time.perf_counter() - started)
    out[f"steady pass, {n_rules} rules (deduplicated), median s"] = float(np.median(timings))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=200)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating drift rounds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trademl-bench-") as tmp:
        workdir = Path(tmp)
        print_settings(f"inserts: {args.rows:,} predictions, SQLite WAL, synchronous=FULL", {
            "batches": f"{BATCH:,} rows, one transaction each",
            "rounds": f"{args.rounds}, alternating, one warm-up round; each round every writer "
                      f"appends the same {args.rows // (args.rounds + 1):,} rows to its own store",
            "target": "trademl >= 150,000 rows/s by best wall time (the fsyncs count)"})  # fmt: skip
        inserts = bench_inserts(args.rows, workdir, args.rounds)
        ours_cpu, ours_wall = inserts["trademl MonitorStore.log_predictions"]
        for name, (cpu_rate, wall_rate) in inserts.items():
            print(f"  {name:46s} {wall_rate:10,.0f} rows/s wall, {cpu_rate:10,.0f} rows/s CPU "
                  f"(trademl / this by wall: {wall_rate / ours_wall:.2f}x)")  # fmt: skip
        inserts_ok = ours_wall >= 150_000
        print(f"  target >= 150,000 rows/s: {'met' if inserts_ok else 'NOT met'}")
        print_settings(f"drift: {args.features} features x {args.n:,} reference vs {args.n:,} current", {
            "trademl": "build_profile(reference) + compare_to_profile(profile, current): KS, PSI, W1",
            "reference": "scipy ks_2samp + wasserstein_distance per feature, numpy PSI (10 bins)",
            "rounds": f"{args.rounds}, alternating, one warm-up round"})  # fmt: skip
        drift = bench_drift(args.features, args.n, args.rounds)
        for name, value in drift.items():
            print(f"  {name:48s} {value if isinstance(value, str) else f'{value:.4g}'}")
        ours = drift["trademl whole check s (best CPU)"]
        drift_ok = ours <= 1
        print(f"  target: whole check <= 1 s CPU: {'met' if drift_ok else 'NOT met'}")
        print("== alert evaluation")
        for name, value in bench_alerts(workdir).items():
            print(f"  {name:48s} {value:.4f}")
    return 0 if inserts_ok and drift_ok else 1


if __name__ == "__main__":
    sys.exit(main())
