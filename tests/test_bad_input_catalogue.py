"""The bad-input catalogue: every command, fed what a hostile tester would feed it.

Each case runs the real command line (``trademl.cli.run_cli``, what the ``trademl`` script
calls) and must exit 2 (bad input) or 1 (a failure while working) with one line naming
the problem, no traceback, and every input file byte-for-byte unchanged.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trademl.datasets import sample_path


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    code: int
    says: str  # the one error line contains this (case-insensitive)


def _candles(rows: int = 400) -> pd.DataFrame:
    frame = pd.read_csv(sample_path("BTCUSDT-1h"), parse_dates=["timestamp"])
    return frame.tail(rows).reset_index(drop=True)


def _write_inputs(root: Path) -> None:
    """Every bad (and the few good) input files the cases below refer to as ``{IN}/name``."""
    good = _candles()
    good.to_csv(root / "good.csv", index=False)
    good.to_parquet(root / "good.parquet", index=False)
    flat = good.copy()
    flat[["open", "high", "low", "close"]] = 100.0
    flat.to_csv(root / "flat.csv", index=False)
    good.iloc[::-1].to_csv(root / "unsorted.csv", index=False)
    pd.concat([good, good.iloc[[10]]]).sort_values("timestamp").to_csv(
        root / "duplicated.csv", index=False
    )
    good.drop(columns=["close"]).to_csv(root / "no_close.csv", index=False)
    negative = good.copy()
    negative.loc[5, ["open", "high", "low", "close"]] = -1.0
    negative.to_csv(root / "negative.csv", index=False)
    inverted = good.copy()
    inverted.loc[7, "high"] = inverted.loc[7, "low"] - 1
    inverted.to_csv(root / "high_below_low.csv", index=False)
    text = good.copy().astype({"close": object})
    text.loc[3, "close"] = "n/a?"
    text.to_csv(root / "text_close.csv", index=False)
    good.head(0).to_csv(root / "header_only.csv", index=False)
    good.head(3).to_csv(root / "three_rows.csv", index=False)
    (root / "empty.csv").write_bytes(b"")
    (root / "garbage.parquet").write_bytes(os.urandom(512))
    (root / "garbage.csv.gz").write_bytes(b"not gzip at all")
    (root / "latin1.csv").write_bytes(b"timestamp,open,high,low,close,volume\n" + b"\xe9t\xe9\n")
    (root / "notes.txt").write_text("hello\n")
    (root / "bad.json").write_text("{not json")
    no_ts = good.drop(columns=["timestamp"])
    no_ts.to_csv(root / "no_timestamp.csv", index=False)
    bad_ts = good.copy().astype({"timestamp": object})
    bad_ts.loc[4, "timestamp"] = "yesterday-ish"
    bad_ts.to_csv(root / "bad_timestamp.csv", index=False)
    (root / "folder").mkdir()
    (root / "a_file").write_text("a file where a folder is needed\n")
    with gzip.open(root / "good.csv.gz", "wt") as handle:
        good.to_csv(handle, index=False)

    # returns
    index = pd.date_range("2024-01-01", periods=300, freq="1D", tz="UTC")
    rng = np.random.default_rng(0)
    returns = pd.DataFrame({"timestamp": index, "returns": rng.normal(0, 0.01, 300)})
    returns.to_csv(root / "returns.csv", index=False)
    crash = returns.copy()
    crash.loc[100, "returns"] = -1.5
    crash.to_csv(root / "returns_minus150.csv", index=False)
    inf = returns.copy()
    inf.loc[50, "returns"] = np.inf
    inf.to_csv(root / "returns_inf.csv", index=False)
    words = returns.copy().astype({"returns": object})
    words.loc[9, "returns"] = "lots"
    words.to_csv(root / "returns_text.csv", index=False)
    returns.head(1).to_csv(root / "returns_one.csv", index=False)
    nan = returns.copy()
    nan["returns"] = np.nan
    nan.to_csv(root / "returns_nan.csv", index=False)

    # drift windows
    features = pd.DataFrame(
        {"timestamp": index, "f1": rng.normal(size=300), "f2": rng.normal(size=300)}
    )
    features.to_csv(root / "ref.csv", index=False)
    features.to_csv(root / "cur.csv", index=False)
    features.drop(columns=["f2"]).to_csv(root / "cur_missing.csv", index=False)
    features.assign(f3=1.0).to_csv(root / "cur_extra.csv", index=False)
    features.assign(f2=np.nan).to_csv(root / "cur_nan.csv", index=False)

    # specs
    specs = {
        "empty.yaml": "",
        "comment.yaml": "# nothing here\n",
        "list.yaml": "- a\n- b\n",
        "dup.yaml": "name: a\nseed: 1\nseed: 2\n",
        "syntax.yaml": "name: [unclosed\n",
        "unknown_key.yaml": "name: x\nmodle: {kind: lightgbm}\n",
        "n_estimators.yaml": "name: x\nmodel: {kind: lightgbm, params: {n_estimators: -5}}\n",
        "bad_kind.yaml": "name: x\nmodel: {kind: deep_magic}\n",
        "bad_type.yaml": "name: x\nseed: many\n",
        "n_trials.yaml": "name: x\ntuning: {n_trials: 1e20}\n",
        "n_trials_huge.yaml": "name: x\ntuning: {n_trials: 100000000000}\n",
        "horizon.yaml": "name: x\nlabels: {horizon: -3}\n",
        "ok.yaml": "name: x\ntracking: {enabled: false}\n",
        "flat.yaml": "name: x\ntracking: {enabled: false}\ndata: {path: flat.csv}\n",
        "tracking_scheme.yaml": "name: x\ntracking: {uri: 'notascheme://x'}\n",
        "unreachable.yaml": "name: x\ntracking: {uri: 'http://127.0.0.1:9'}\n",
        "missing_data.yaml": "name: x\ndata: {path: does/not/exist.csv}\n",
        "sample.yaml": "name: x\ndata: {sample: NOPE-1h}\n",
        "model_name.yaml": "name: x\ntracking: {model_name: 'a/b'}\n",
        "env_missing.yaml": (
            "name: x\nmonitoring:\n  channels:\n    hook: {kind: webhook, url: '${TRADEML_NO_SUCH_VAR}'}\n"
        ),
        "env_uri.yaml": "name: x\ntracking: {uri: '${TRADEML_NO_SUCH_VAR}'}\n",
        "bad_duration.yaml": "name: x\nmonitoring: {stale_after: soon}\n",
        "fee.yaml": "name: x\nbacktest: {fee_bp: -4}\n",
        "holdout.yaml": "name: x\nvalidation: {holdout_start: '1990-01-01'}\n",
        "features.yaml": "features: {include: [no_such_feature_xyz]}\n",
        "features_bad.yaml": "features: {window: lots}\n",
    }
    for name, text in specs.items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    (root / "binary.yaml").write_bytes(b"\x00\x01\x02\xff\xfe")

    # regime models
    (root / "regime_corrupt.json").write_text('{"kind": "gaussian_hmm"}')
    (root / "regime_truncated.json").write_text('{"kind": "gaussian_hmm", "params": {')
    (root / "regime_list.json").write_text("[1, 2, 3]")

    # predictions
    preds = pd.DataFrame({"timestamp": index, "signal": 1, "close": 100.0})
    preds.drop(columns=["close"]).to_csv(root / "preds_no_close.csv", index=False)
    preds.assign(signal=7).to_csv(root / "preds_bad_signal.csv", index=False)


IN = "{IN}"
OUT = "{OUT}"

CASES: list[Case] = [
    # ---- data info / validate --------------------------------------------------------------
    Case("info-missing-file", ("data", "info", f"{IN}/nope.csv"), 2, "nope.csv: no such file"),
    Case("info-empty-file", ("data", "info", f"{IN}/empty.csv"), 2, "empty.csv"),
    Case("info-header-only", ("data", "info", f"{IN}/header_only.csv"), 2, "header_only.csv"),
    Case("info-garbage-parquet", ("data", "info", f"{IN}/garbage.parquet"), 2, "garbage.parquet"),
    Case("info-garbage-gzip", ("data", "info", f"{IN}/garbage.csv.gz"), 2, "garbage.csv.gz"),
    Case("info-latin1", ("data", "info", f"{IN}/latin1.csv"), 2, "latin1.csv"),
    Case("info-unknown-suffix", ("data", "info", f"{IN}/notes.txt"), 2, "notes.txt"),
    Case("info-bad-json", ("data", "info", f"{IN}/bad.json"), 2, "bad.json"),
    Case("info-folder", ("data", "info", f"{IN}/folder"), 2, "folder"),
    Case("info-no-close", ("data", "info", f"{IN}/no_close.csv"), 2, "close"),
    Case("info-no-timestamp", ("data", "info", f"{IN}/no_timestamp.csv"), 2, "timestamp"),
    Case("info-bad-timestamp", ("data", "info", f"{IN}/bad_timestamp.csv"), 2, "timestamp"),
    Case("info-text-close", ("data", "info", f"{IN}/text_close.csv"), 2, "close"),
    Case("info-bad-timeframe", ("data", "info", f"{IN}/good.csv", "-t", "7q"), 2, "7q"),
    Case("info-max-jump", ("data", "info", f"{IN}/good.csv", "--max-jump", "-1"), 2, "max_jump"),
    Case("validate-unsorted", ("data", "validate", f"{IN}/unsorted.csv"), 2, "sorted"),
    Case("validate-duplicated", ("data", "validate", f"{IN}/duplicated.csv"), 2, "duplicate"),
    Case("validate-negative", ("data", "validate", f"{IN}/negative.csv"), 2, "negative.csv"),
    Case("validate-high-low", ("data", "validate", f"{IN}/high_below_low.csv"), 2, "high"),
    Case("validate-missing", ("data", "validate", f"{IN}/nope.parquet"), 2, "no such file"),
    Case("validate-empty", ("data", "validate", f"{IN}/empty.csv"), 2, "empty.csv"),
    Case(
        "validate-repair-folder",
        ("data", "validate", f"{IN}/unsorted.csv", "--repair", f"{IN}/folder"),
        2,
        "folder",
    ),  # fmt: skip
    Case(
        "validate-repair-under-file",
        ("data", "validate", f"{IN}/unsorted.csv", "--repair", f"{IN}/a_file/x.csv"),
        2,
        "a_file",
    ),  # fmt: skip
    # ---- data resample -----------------------------------------------------------------------
    Case(
        "resample-bad-to",
        ("data", "resample", f"{IN}/good.csv", "--to", "fortnight", "-o", f"{OUT}/r.csv"),
        2,
        "fortnight",
    ),  # fmt: skip
    Case(
        "resample-down",
        ("data", "resample", f"{IN}/good.csv", "--to", "1m", "-o", f"{OUT}/r.csv"),
        2,
        "1m",
    ),  # fmt: skip
    Case(
        "resample-missing",
        ("data", "resample", f"{IN}/nope.csv", "--to", "4h", "-o", f"{OUT}/r.csv"),
        2,
        "no such file",
    ),  # fmt: skip
    Case(
        "resample-incomplete",
        (
            "data",
            "resample",
            f"{IN}/good.csv",
            "--to",
            "4h",
            "--incomplete",
            "sometimes",
            "-o",
            f"{OUT}/r.csv",
        ),
        2,
        "sometimes",
    ),  # fmt: skip
    Case(
        "resample-bad-suffix",
        ("data", "resample", f"{IN}/good.csv", "--to", "4h", "-o", f"{OUT}/r.docx"),
        2,
        "r.docx",
    ),  # fmt: skip
    Case(
        "resample-under-file",
        ("data", "resample", f"{IN}/good.csv", "--to", "4h", "-o", f"{IN}/a_file/r.csv"),
        2,
        "a_file",
    ),  # fmt: skip
    Case(
        "resample-unwritable",
        ("data", "resample", f"{IN}/good.csv", "--to", "4h", "-o", "/proc/trademl-r.csv"),
        2,
        "/proc",
    ),  # fmt: skip
    Case(
        "resample-empty",
        ("data", "resample", f"{IN}/empty.csv", "--to", "4h", "-o", f"{OUT}/r.csv"),
        2,
        "empty.csv",
    ),  # fmt: skip
    # ---- data synth ----------------------------------------------------------------------------
    Case(
        "synth-huge",
        ("data", "synth", "-o", f"{OUT}/s.csv", "--bars", "100000000000", "--seed", "1"),
        2,
        "bars",
    ),  # fmt: skip
    Case(
        "synth-not-int",
        ("data", "synth", "-o", f"{OUT}/s.csv", "--bars", "1e11", "--seed", "1"),
        2,
        "bars",
    ),  # fmt: skip
    Case(
        "synth-one-bar",
        ("data", "synth", "-o", f"{OUT}/s.csv", "--bars", "1", "--seed", "1"),
        2,
        "bars",
    ),  # fmt: skip
    Case(
        "synth-regimes",
        ("data", "synth", "-o", f"{OUT}/s.csv", "--bars", "100", "--seed", "1", "--regimes", "1"),
        2,
        "regimes",
    ),  # fmt: skip
    Case(
        "synth-bad-suffix",
        ("data", "synth", "-o", f"{OUT}/s.exe", "--bars", "100", "--seed", "1"),
        2,
        "s.exe",
    ),  # fmt: skip
    Case(
        "synth-under-file",
        ("data", "synth", "-o", f"{IN}/a_file/s.csv", "--bars", "100", "--seed", "1"),
        2,
        "a_file",
    ),  # fmt: skip
    Case(
        "synth-unwritable",
        ("data", "synth", "-o", "/sys/trademl-s.csv", "--bars", "100", "--seed", "1"),
        2,
        "/sys",
    ),  # fmt: skip
    Case("synth-no-seed", ("data", "synth", "-o", f"{OUT}/s.csv", "--bars", "100"), 2, "seed"),
    # ---- features -----------------------------------------------------------------------------
    Case(
        "features-missing",
        ("features", "generate", f"{IN}/nope.csv", "-o", f"{OUT}/f.parquet"),
        2,
        "not found",
    ),  # fmt: skip
    Case(
        "run-flat-prices",
        ("run", f"{IN}/flat.yaml"),
        2,
        "close is constant",
    ),  # fmt: skip
    Case(
        # -o f.csv writes CSV now; a name that is no table format is refused
        "features-json-name",
        ("features", "generate", f"{IN}/good.csv", "-o", f"{OUT}/f.json"),
        2,
        "f.json",
    ),  # fmt: skip
    Case(
        "features-unknown",
        (
            "features",
            "generate",
            f"{IN}/good.csv",
            "-o",
            f"{OUT}/f.parquet",
            "-s",
            f"{IN}/features.yaml",
        ),
        2,
        "features.include",
    ),  # fmt: skip
    Case(
        "features-bad-spec",
        (
            "features",
            "generate",
            f"{IN}/good.csv",
            "-o",
            f"{OUT}/f.parquet",
            "-s",
            f"{IN}/features_bad.yaml",
        ),
        2,
        "features",
    ),  # fmt: skip
    Case(
        "features-spec-latin1",
        (
            "features",
            "generate",
            f"{IN}/good.csv",
            "-o",
            f"{OUT}/f.parquet",
            "-s",
            f"{IN}/latin1.yaml",
        ),
        2,
        "UTF-8",
    ),  # fmt: skip
    Case(
        "features-spec-dup",
        (
            "features",
            "generate",
            f"{IN}/good.csv",
            "-o",
            f"{OUT}/f.parquet",
            "-s",
            f"{IN}/dup.yaml",
        ),
        2,
        "duplicate key",
    ),  # fmt: skip
    Case(
        "features-module-missing",
        ("features", "generate", f"{IN}/good.csv", "-o", f"{OUT}/f.parquet", "-m", f"{IN}/nope.py"),
        2,
        "nope.py",
    ),  # fmt: skip
    Case(
        "features-module-not-python",
        (
            "features",
            "generate",
            f"{IN}/good.csv",
            "-o",
            f"{OUT}/f.parquet",
            "-m",
            f"{IN}/bad.json",
        ),
        2,
        "bad.json",
    ),  # fmt: skip
    Case(
        "features-three-rows",
        ("features", "generate", f"{IN}/three_rows.csv", "-o", f"{OUT}/f.parquet"),
        2,
        "too few bars",
    ),  # fmt: skip
    Case(
        "features-under-file",
        ("features", "generate", f"{IN}/good.csv", "-o", f"{IN}/a_file/f.parquet"),
        2,
        "a_file",
    ),  # fmt: skip
    # ---- validate splits ----------------------------------------------------------------------
    Case("splits-unsorted", ("validate", "splits", f"{IN}/unsorted.csv"), 2, "sorted"),
    Case("splits-duplicated", ("validate", "splits", f"{IN}/duplicated.csv"), 2, "duplicate"),
    Case("splits-missing", ("validate", "splits", f"{IN}/nope.csv"), 2, "no such file"),
    Case(
        "splits-too-many-folds",
        ("validate", "splits", f"{IN}/three_rows.csv", "--folds", "5"),
        2,
        "n_splits",
    ),  # fmt: skip
    Case(
        "splits-scheme", ("validate", "splits", f"{IN}/good.csv", "--scheme", "random"), 2, "random"
    ),  # fmt: skip
    Case(
        "splits-horizon", ("validate", "splits", f"{IN}/good.csv", "--horizon", "-1"), 2, "horizon"
    ),  # fmt: skip
    Case(
        "splits-huge-horizon",
        ("validate", "splits", f"{IN}/good.csv", "--horizon", "100000"),
        2,
        "horizon",
    ),  # fmt: skip
    # ---- analytics ----------------------------------------------------------------------------
    Case("metrics-minus150", ("analytics", "metrics", f"{IN}/returns_minus150.csv"), 2, "-1.5"),
    Case("metrics-inf", ("analytics", "metrics", f"{IN}/returns_inf.csv"), 2, "infinite"),
    Case(
        "metrics-text", ("analytics", "metrics", f"{IN}/returns_text.csv"), 2, "'lots'"
    ),  # fmt: skip
    Case("metrics-one-row", ("analytics", "metrics", f"{IN}/returns_one.csv"), 2, "1 timestamp"),
    Case("metrics-all-nan", ("analytics", "metrics", f"{IN}/returns_nan.csv"), 2, "empty"),
    Case("metrics-missing", ("analytics", "metrics", f"{IN}/nope.csv"), 2, "not found"),
    Case(
        "metrics-column", ("analytics", "metrics", f"{IN}/returns.csv", "--column", "pnl"), 2, "pnl"
    ),  # fmt: skip
    Case(
        "metrics-ppy",
        ("analytics", "metrics", f"{IN}/returns.csv", "--periods-per-year", "-5"),
        2,
        "periods",
    ),  # fmt: skip
    Case(
        "metrics-benchmark",
        ("analytics", "metrics", f"{IN}/returns.csv", "--benchmark", f"{IN}/nope.csv"),
        2,
        "nope.csv",
    ),  # fmt: skip
    Case("metrics-empty", ("analytics", "metrics", f"{IN}/empty.csv"), 2, "empty.csv"),
    Case(
        "mc-paths", ("analytics", "montecarlo", f"{IN}/returns.csv", "--paths", "0"), 2, "paths"
    ),  # fmt: skip
    Case("mc-minus150", ("analytics", "montecarlo", f"{IN}/returns_minus150.csv"), 2, "-1.5"),
    Case(
        "mc-ruin", ("analytics", "montecarlo", f"{IN}/returns.csv", "--ruin-level", "3"), 2, "ruin"
    ),  # fmt: skip
    Case(
        "mc-block",
        ("analytics", "montecarlo", f"{IN}/returns.csv", "--block-length", "-2"),
        2,
        "block",
    ),  # fmt: skip
    # ---- regimes --------------------------------------------------------------------------------
    Case(
        "regimes-flat", ("regimes", "fit", f"{IN}/flat.csv", "-o", f"{OUT}/m.json"), 2, "flat.csv"
    ),  # fmt: skip
    Case(
        "regimes-k",
        ("regimes", "fit", f"{IN}/good.csv", "-o", f"{OUT}/m.json", "-k", "one"),
        2,
        "one",
    ),  # fmt: skip
    Case(
        "regimes-k-zero",
        ("regimes", "fit", f"{IN}/good.csv", "-o", f"{OUT}/m.json", "-k", "0"),
        2,
        "regimes",
    ),  # fmt: skip
    Case(
        "regimes-covariance",
        ("regimes", "fit", f"{IN}/good.csv", "-o", f"{OUT}/m.json", "--covariance", "round"),
        2,
        "round",
    ),  # fmt: skip
    Case(
        "regimes-feature",
        ("regimes", "fit", f"{IN}/good.csv", "-o", f"{OUT}/m.json", "--features", "astrology"),
        2,
        "astrology",
    ),  # fmt: skip
    Case(
        "regimes-window",
        ("regimes", "fit", f"{IN}/good.csv", "-o", f"{OUT}/m.json", "--window", "0"),
        2,
        "window",
    ),  # fmt: skip
    Case(
        "regimes-criterion",
        (
            "regimes",
            "fit",
            f"{IN}/good.csv",
            "-o",
            f"{OUT}/m.json",
            "-k",
            "auto",
            "--criterion",
            "vibes",
        ),
        2,
        "vibes",
    ),  # fmt: skip
    Case(
        "regimes-corrupt",
        ("regimes", "predict", f"{IN}/regime_corrupt.json", f"{IN}/good.csv", "-o", f"{OUT}/p.csv"),
        2,
        "regime_corrupt.json",
    ),  # fmt: skip
    Case(
        "regimes-truncated",
        (
            "regimes",
            "predict",
            f"{IN}/regime_truncated.json",
            f"{IN}/good.csv",
            "-o",
            f"{OUT}/p.csv",
        ),
        2,
        "regime_truncated.json",
    ),  # fmt: skip
    Case(
        "regimes-list",
        ("regimes", "report", f"{IN}/regime_list.json", f"{IN}/good.csv"),
        2,
        "regime_list.json",
    ),  # fmt: skip
    Case(
        "regimes-model-missing",
        ("regimes", "plot", f"{IN}/nope.json", f"{IN}/good.csv", "-o", f"{OUT}/p.png"),
        2,
        "nope.json",
    ),  # fmt: skip
    Case(
        "regimes-predict-data-missing",
        ("regimes", "predict", f"{IN}/regime_corrupt.json", f"{IN}/nope.csv", "-o", f"{OUT}/p.csv"),
        2,
        "regime_corrupt.json",
    ),  # fmt: skip
    # ---- monitor drift ---------------------------------------------------------------------------
    Case(
        "drift-missing-column",
        ("monitor", "drift", f"{IN}/ref.csv", f"{IN}/cur_missing.csv"),
        2,
        "f2",
    ),  # fmt: skip
    Case(
        "drift-extra-column", ("monitor", "drift", f"{IN}/ref.csv", f"{IN}/cur_extra.csv"), 2, "f3"
    ),  # fmt: skip
    Case("drift-all-nan", ("monitor", "drift", f"{IN}/ref.csv", f"{IN}/cur_nan.csv"), 2, "f2"),
    Case(
        "drift-categorical",
        ("monitor", "drift", f"{IN}/ref.csv", f"{IN}/cur.csv", "--categorical", "colour"),
        2,
        "colour",
    ),  # fmt: skip
    Case(
        "drift-alpha",
        ("monitor", "drift", f"{IN}/ref.csv", f"{IN}/cur.csv", "--alpha", "2"),
        2,
        "alpha",
    ),  # fmt: skip
    Case(
        "drift-bins",
        ("monitor", "drift", f"{IN}/ref.csv", f"{IN}/cur.csv", "--bins", "1"),
        2,
        "bins",
    ),  # fmt: skip
    Case(
        "drift-missing-file", ("monitor", "drift", f"{IN}/ref.csv", f"{IN}/nope.csv"), 2, "nope.csv"
    ),  # fmt: skip
    Case(
        "drift-empty", ("monitor", "drift", f"{IN}/ref.csv", f"{IN}/empty.csv"), 2, "empty.csv"
    ),  # fmt: skip
    Case(
        "monitor-check-spec-latin1",
        ("monitor", "check", "-m", "x", "--spec", f"{IN}/latin1.yaml", "--db", f"{OUT}/m.db"),
        2,
        "UTF-8",
    ),  # fmt: skip
    Case(
        "monitor-check-since",
        ("monitor", "check", "-m", "x", "--since", "a while", "--db", f"{OUT}/m.db"),
        2,
        "a while",
    ),  # fmt: skip
    Case(
        "monitor-check-env",
        ("monitor", "check", "-m", "x", "--spec", f"{IN}/env_missing.yaml", "--db", f"{OUT}/m.db"),
        2,
        "TRADEML_NO_SUCH_VAR",
    ),  # fmt: skip
    Case("monitor-db-scheme", ("monitor", "status", "--db", "notascheme://x"), 2, "notascheme"),
    Case("monitor-db-folder", ("monitor", "status", "--db", f"{IN}/folder"), 2, "folder"),
    Case(
        "monitor-rules-missing",
        ("monitor", "check", "-m", "x", "--rules", f"{IN}/nope.yaml", "--db", f"{OUT}/m.db"),
        2,
        "nope.yaml",
    ),  # fmt: skip
    # ---- run: the spec -----------------------------------------------------------------------------
    Case("run-missing", ("run", f"{IN}/nope.yaml"), 2, "not found"),
    Case("run-empty", ("run", f"{IN}/empty.yaml"), 2, "empty"),
    Case("run-comment-only", ("run", f"{IN}/comment.yaml"), 2, "empty"),
    Case("run-list", ("run", f"{IN}/list.yaml"), 2, "mapping"),
    Case("run-dup", ("run", f"{IN}/dup.yaml"), 2, "duplicate key 'seed'"),
    Case("run-syntax", ("run", f"{IN}/syntax.yaml"), 2, "not valid YAML"),
    Case("run-latin1", ("run", f"{IN}/latin1.yaml"), 2, "latin1.yaml: spec file is not UTF-8"),
    Case("run-binary", ("run", f"{IN}/binary.yaml"), 2, "binary.yaml"),
    Case("run-folder", ("run", f"{IN}/folder"), 2, "folder"),
    Case("run-unknown-key", ("run", f"{IN}/unknown_key.yaml"), 2, "modle"),
    Case("run-n-estimators", ("run", f"{IN}/n_estimators.yaml"), 2, "n_estimators"),
    Case("run-bad-kind", ("run", f"{IN}/bad_kind.yaml"), 2, "deep_magic"),
    Case("run-bad-type", ("run", f"{IN}/bad_type.yaml"), 2, "seed"),
    Case("run-n-trials", ("run", f"{IN}/n_trials.yaml"), 2, "n_trials"),
    Case("run-n-trials-huge", ("run", f"{IN}/n_trials_huge.yaml"), 2, "n_trials"),
    Case("run-trials-override", ("run", f"{IN}/ok.yaml", "--trials", "-3"), 2, "n_trials"),
    Case("run-horizon", ("run", f"{IN}/horizon.yaml"), 2, "horizon"),
    Case("run-tracking-scheme", ("run", f"{IN}/tracking_scheme.yaml"), 2, "notascheme"),
    Case("run-unreachable", ("run", f"{IN}/unreachable.yaml"), 2, "127.0.0.1:9"),
    Case("run-missing-data", ("run", f"{IN}/missing_data.yaml"), 2, "does/not/exist.csv"),
    Case("run-unknown-sample", ("run", f"{IN}/sample.yaml"), 2, "NOPE-1h"),
    Case("run-model-name", ("run", f"{IN}/model_name.yaml"), 2, "model_name"),
    Case("run-bad-duration", ("run", f"{IN}/bad_duration.yaml"), 2, "stale_after"),
    Case("run-fee", ("run", f"{IN}/fee.yaml"), 2, "fee_bp"),
    Case("run-env-missing", ("run", f"{IN}/env_uri.yaml"), 2, "TRADEML_NO_SUCH_VAR"),
    # ---- backtest / report / predict --------------------------------------------------------------
    Case("backtest-nothing", ("backtest",), 2, "--run-id"),
    Case("backtest-missing", ("backtest", "--predictions", f"{IN}/nope.csv"), 2, "nope.csv"),
    Case(
        "backtest-no-close", ("backtest", "--predictions", f"{IN}/preds_no_close.csv"), 2, "close"
    ),  # fmt: skip
    Case(
        "backtest-bad-signal",
        ("backtest", "--predictions", f"{IN}/preds_bad_signal.csv"),
        2,
        "signal",
    ),  # fmt: skip
    Case(
        "backtest-fee", ("backtest", "--predictions", f"{IN}/good.csv", "--fee-bp", "-5"), 2, "fee"
    ),  # fmt: skip
    Case("backtest-lag", ("backtest", "--predictions", f"{IN}/good.csv", "--lag", "-1"), 2, "lag"),
    Case(
        "backtest-spec-dup",
        ("backtest", "--predictions", f"{IN}/good.csv", "--spec", f"{IN}/dup.yaml"),
        2,
        "duplicate key",
    ),  # fmt: skip
    Case(
        "report-bad-format",
        ("report", "-o", f"{OUT}/r.docx", "--returns", f"{IN}/returns.csv"),
        2,
        "r.docx",
    ),  # fmt: skip
    Case("report-no-source", ("report", "-o", f"{OUT}/r.html"), 2, "--returns"),
    Case(
        "report-minus150",
        ("report", "-o", f"{OUT}/r.html", "--returns", f"{IN}/returns_minus150.csv"),
        2,
        "-1.5",
    ),  # fmt: skip
    Case(
        "predict-missing-candles",
        ("predict", f"{IN}/nope.csv", "-m", "x@champion", "-o", f"{OUT}/p.parquet"),
        2,
        "nope.csv",
    ),  # fmt: skip
    Case(
        "predict-bad-uri",
        ("predict", f"{IN}/good.csv", "-m", "a@b@c", "-o", f"{OUT}/p.parquet"),
        2,
        "a@b@c",
    ),  # fmt: skip
    Case(
        "predict-out-is-in",
        ("predict", f"{IN}/good.csv", "-m", "x@champion", "-o", f"{IN}/good.csv"),
        2,
        "input",
    ),  # fmt: skip
    # ---- experiments / models (on an empty MLflow store) -------------------------------------------
    Case("experiments-scheme", ("experiments", "list", "-t", "notascheme://x"), 2, "notascheme"),
    Case(
        "experiments-unknown",
        ("experiments", "compare", "nope-exp", "-t", "{MLFLOW}"),
        2,
        "nope-exp",
    ),  # fmt: skip
    Case(
        "experiments-bad-filter",
        ("experiments", "compare", "Default", "-f", "metrics.x >>> 1", "-t", "{MLFLOW}"),
        2,
        "filter",
    ),  # fmt: skip
    Case(
        "experiments-best-unknown",
        ("experiments", "best", "nope-exp", "-m", "x", "-t", "{MLFLOW}"),
        2,
        "nope-exp",
    ),  # fmt: skip
    Case("models-show-unknown", ("models", "show", "nobody", "-t", "{MLFLOW}"), 2, "nobody"),
    Case("models-show-quote", ("models", "show", "o'brien", "-t", "{MLFLOW}"), 2, "o'brien"),
    Case(
        "models-show-both-quotes",
        ("models", "show", "a'b\"c", "-t", "{MLFLOW}"),
        2,
        "no registered",
    ),  # fmt: skip
    Case(
        "models-verify-unknown", ("models", "verify", "nobody", "1", "-t", "{MLFLOW}"), 2, "nobody"
    ),  # fmt: skip
    Case(
        "models-lineage-unknown",
        ("models", "lineage", "nobody", "1", "-t", "{MLFLOW}"),
        2,
        "nobody",
    ),  # fmt: skip
    Case(
        "models-rollback-no-reason",
        ("models", "rollback", "nobody", "--reason", " ", "-t", "{MLFLOW}"),
        2,
        "reason",
    ),  # fmt: skip
    Case(
        "models-register-bad-run",
        ("models", "register", "deadbeef", "x", "-t", "{MLFLOW}"),
        2,
        "deadbeef",
    ),  # fmt: skip
    Case(
        "models-promote-unknown",
        ("models", "promote", "nobody", "1", "-t", "{MLFLOW}"),
        2,
        "nobody",
    ),  # fmt: skip
    Case(
        "models-history-unknown", ("models", "history", "nobody", "-t", "{MLFLOW}"), 2, "nobody"
    ),  # fmt: skip
]


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bad-inputs")
    _write_inputs(root)
    return root


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory) -> str:
    """An empty, migrated MLflow store (the migrations run once per machine and version)."""
    import mlflow
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    template = Path(tempfile.gettempdir()) / f"trademl-test-mlflow-{mlflow.__version__}.db"
    if not template.is_file():
        folder = Path(tempfile.mkdtemp(prefix="trademl-mlflow-template-"))
        draft = folder / "template.db"
        SqlAlchemyStore(f"sqlite:///{draft}", str(folder / "artifacts")).engine.dispose()
        os.replace(draft, template)
        shutil.rmtree(folder, ignore_errors=True)
    db = tmp_path_factory.mktemp("catalogue-store") / "mlruns.db"
    shutil.copyfile(template, db)
    return f"sqlite:///{db}"


def test_the_catalogue_has_at_least_a_hundred_cases_across_every_command():
    assert len(CASES) >= 100
    assert len({c.id for c in CASES}) == len(CASES)
    groups = {c.args[0] for c in CASES}
    assert groups >= {"data", "features", "validate", "analytics", "regimes", "monitor", "run",
                      "backtest", "report", "predict", "experiments", "models"}  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_clear_line_and_harms_nothing(
    case, inputs, mlflow_uri, tmp_path, monkeypatch, capsys
):
    from trademl.cli import run_cli

    monkeypatch.chdir(tmp_path)  # nothing a command defaults to (./mlruns.db) lands elsewhere
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("TRADEML_MONITOR_DB", raising=False)
    out = tmp_path / "out"
    out.mkdir()
    args = [
        a.replace(IN, str(inputs)).replace(OUT, str(out)).replace("{MLFLOW}", mlflow_uri)
        for a in case.args
    ]
    before = _digests(inputs)
    code = run_cli(args)
    stdout, stderr = capsys.readouterr()
    shown = stderr.strip()
    assert "Traceback" not in stdout + stderr
    assert code == case.code, f"exit {code}, expected {case.code}: {shown or stdout[-500:]}"
    lines = [line for line in shown.splitlines() if line.strip()]
    if shown.startswith("Usage:"):  # click's own usage error: the problem is one boxed line
        lines = [line for line in lines if case.says.lower() in line.lower()][:1] or lines
    else:
        assert len(lines) == 1, f"expected one error line, got:\n{shown}"
    assert case.says.lower() in lines[0].lower(), shown
    assert _digests(inputs) == before, "an input file was changed"
    # a monitoring store the command opened (--db) may exist; no output file may
    left = [p.name for p in out.iterdir() if not p.name.startswith("m.db")]
    assert not left, f"a failed command left {left}"


def _dump() -> None:  # pragma: no cover - `python tests/test_bad_input_catalogue.py`: a survey
    import contextlib
    import io

    from trademl.cli import run_cli

    root = Path(tempfile.mkdtemp(prefix="bad-inputs-"))
    _write_inputs(root)
    out = Path(tempfile.mkdtemp(prefix="bad-out-"))
    os.chdir(out)
    for case in CASES:
        args = [a.replace(IN, str(root)).replace(OUT, str(out)) for a in case.args]
        args = [a.replace("{MLFLOW}", f"sqlite:///{out}/m.db") for a in args]
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = run_cli(args)
            except BaseException as exc:  # noqa: BLE001
                code = f"raised {type(exc).__name__}: {exc}"
        text = err.getvalue().strip().replace("\n", " ⏎ ")[:220]
        usage = text.startswith("Usage:")
        ok = code == case.code and case.says.lower() in text.lower() and (usage or "⏎" not in text)
        print(f"{'ok ' if ok else 'BAD'} {case.id:32} {code} {text}", flush=True)
        for leftover in out.iterdir():
            if leftover.name != "m.db" and leftover.is_file():
                leftover.unlink()


if __name__ == "__main__":  # pragma: no cover
    _dump()
