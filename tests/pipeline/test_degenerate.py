"""Degenerate models are named where users look, the holdout cannot silently vanish, and
the bars lost to feature warm-up are reported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trademl.config import load_spec
from trademl.errors import SpecError
from trademl.pipeline import find_degeneracy, run, summary_notes
from trademl.pipeline.dataset import DEFAULT_HOLDOUT, describe_warmup, warmup_lost
from trademl.pipeline.summary import summary_rows


def _oos(signal, proba, n=400, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-01", periods=n, freq="h", tz="UTC")
    y = rng.integers(0, 2, n)
    return pd.DataFrame(
        {"signal": signal, "proba": proba, "y_pred": (np.asarray(proba) > 0.5) * 1.0,
         "y_true": y.astype(float)},
        index=index,
    )  # fmt: skip


def test_find_degeneracy_names_each_symptom():
    rng = np.random.default_rng(1)
    n = 400
    healthy_proba = 0.5 + rng.normal(0, 0.04, n)
    healthy = _oos(np.where(healthy_proba > 0.5, 1, -1), healthy_proba)
    assert find_degeneracy(healthy, task="classification", rounds={"pooled": 80}) == []

    always_long = _oos(np.ones(n), healthy_proba)
    (reason,) = find_degeneracy(always_long, task="classification")
    assert reason.startswith("long on 100.0% of the 400 holdout bars")

    mostly_short = np.where(np.arange(n) < 390, -1, 1)  # 97.5 % short
    assert "short on 97.5%" in find_degeneracy(_oos(mostly_short, healthy_proba),
                                               task="classification")[0]  # fmt: skip
    balanced = np.where(np.arange(n) % 2 == 0, 1, -1)
    flat_score = _oos(balanced, 0.52 + rng.normal(0, 0.001, n))
    (reason,) = find_degeneracy(flat_score, task="classification")
    assert reason.startswith("near-constant P(up): std 0.001")

    stopped = find_degeneracy(healthy, task="classification", rounds={"BTCUSDT": 2, "ETH": 40})
    assert stopped == [
        "early stopping kept 2 boosting round(s) (BTCUSDT) (<= 10): the model is close to its prior"
    ]


def test_find_degeneracy_of_a_regressor():
    rng = np.random.default_rng(2)
    n = 300
    target = rng.normal(0, 0.01, n)
    frame = pd.DataFrame(
        {"signal": np.where(np.arange(n) % 2, 1, -1), "proba": np.nan,
         "y_pred": 1e-6 * rng.normal(size=n), "y_true": target},
        index=pd.date_range("2026-01-01", periods=n, freq="h", tz="UTC"),
    )  # fmt: skip
    (reason,) = find_degeneracy(frame, task="regression")
    assert reason.startswith("near-constant predictions")


def test_a_degenerate_run_is_named_in_its_summary(tmp_path):
    spec = {
        "name": "degenerate-run",
        "seed": 3,
        "data": {"sample": "BTCUSDT-1h", "start": "2025-11-01"},
        "features": {"categories": ["momentum"]},
        "labels": {"kind": "direction", "horizon": 4},
        "validation": {"n_splits": 3},
        # two boosting rounds at most: the model cannot move far from its prior
        "model": {"kind": "lightgbm", "params": {"n_estimators": 2}},
        "tuning": {"n_trials": 0},
        "tracking": {"enabled": False},
    }
    result = run(spec, base_dir=tmp_path)
    assert result.degenerate, result.predictions["signal"].value_counts()
    notes = dict(summary_notes(result))
    assert notes["DEGENERATE MODEL"] == "; ".join(result.degenerate)
    lost = result.warmup["BTCUSDT"]
    assert lost["bars"] > 0 and lost["feature"]
    assert notes["warm-up (BTCUSDT)"].startswith(f"{lost['bars']:,} of {lost['of']:,} bars")
    units = {item: unit for item, _, unit in summary_rows(result)}
    assert units["oos_sharpe"] == "annualised"
    assert units["oos_turnover"] == "of equity per bar"
    assert units["oos_max_drawdown"] == "of equity, peak to trough"


def test_holdout_fraction_zero_is_refused_and_unset_means_the_default():
    with pytest.raises(SpecError, match=r"validation.holdout_fraction: must be > 0"):
        load_spec({"validation": {"holdout_fraction": 0}})
    assert load_spec({}).validation.holdout_fraction is None
    assert DEFAULT_HOLDOUT == 0.2
    assert load_spec({"validation": {"holdout_fraction": 0.3}}).validation.holdout_fraction == 0.3


def test_warmup_lost_names_the_longest_feature():
    frame = pd.DataFrame(
        {"short": [np.nan, 1, 2, 3, 4, 5], "long": [np.nan] * 4 + [1, 2], "none": 1.0}
    )
    lost = warmup_lost(frame)
    assert lost == {"bars": 4, "of": 6, "feature": "long", "next_feature": "short",
                    "next_bars": 1}  # fmt: skip
    assert describe_warmup(lost) == (
        "4 of 6 bars (66.7%) lost to the warm-up of long; next longest short (1 bars)"
    )
