from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from trademl.config.monitoring import DegradationSpec
from trademl.errors import DataError
from trademl.monitoring.anomaly import PredictionAnomalyDetector
from trademl.monitoring.concept import detect_concept_drift, error_stream
from trademl.monitoring.performance import (
    assess_degradation,
    health_from_findings,
    performance_metrics,
    rolling_metrics,
)


def _live(btc_1h: pd.DataFrame, start: str, end: str, skill: float, seed: int = 0):
    """Predictions on real BTC hours whose hit rate is controlled by ``skill``."""
    bars = btc_1h.loc[start:end]
    ret = (bars["close"].shift(-1) / bars["close"] - 1).dropna()  # 1-bar label horizon
    rng = np.random.default_rng(seed)
    right = rng.uniform(size=len(ret)) < skill
    up = (ret > 0).to_numpy()
    predicted_up = np.where(right, up, ~up)
    proba = np.clip(np.where(predicted_up, 0.6, 0.4) + rng.normal(0, 0.05, len(ret)), 0.01, 0.99)
    return pd.DataFrame(
        {
            "prediction": predicted_up.astype(float),
            "proba": proba,
            "signal": np.where(predicted_up, 1.0, -1.0),
            "close": bars["close"].reindex(ret.index),
            "label": up.astype(float),
            "forward_return": ret.to_numpy(),
        },
        index=ret.index,
    )


def test_metrics_agree_with_sklearn_and_the_engine(btc_1h):
    """Live figures are the holdout's: sklearn scores, and the strategy from the backtest
    engine (next-bar fill, 10 bp fees, simple returns) annualised over 365 days."""
    from trademl.backtest import run_backtest
    from trademl.validation.metrics import sharpe

    frame = _live(btc_1h, "2021-01", "2021-03", skill=0.55)
    m = performance_metrics(frame)
    up = frame["label"] > 0
    assert m["accuracy"] == pytest.approx(accuracy_score(up, frame["prediction"]))
    assert m["f1"] == pytest.approx(f1_score(up, frame["prediction"]))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(up, frame["proba"]))
    assert m["periods_per_year"] == 8760  # 365 days of hourly bars
    engine = run_backtest(frame["close"], frame["signal"], fee_bp=10.0, execution_lag=1)
    np.testing.assert_allclose(m["sharpe"], sharpe(engine.returns, 8760), rtol=1e-12)
    assert m["total_return"] == pytest.approx(float((1 + engine.returns).prod() - 1), rel=1e-12)
    assert m["hit_rate"] == pytest.approx(m["accuracy"], abs=0.01)  # zero returns are rare
    assert 0 < m["ic"] < 0.5


def test_a_short_on_a_falling_price_earns_the_simple_return():
    """The old monitor summed position x log return: wrong for shorts. The engine compounds
    simple returns: short from 100 to 50 in 10 bars earns +50 % before fees, not ln 2."""
    index = pd.date_range("2024-01-01", periods=12, freq="1h", tz="UTC")
    close = np.concatenate(([100.0], np.geomspace(100, 50, 11)))
    frame = pd.DataFrame(
        {"prediction": 0.0, "proba": 0.2, "signal": -1.0, "close": close, "label": 0.0,
         "forward_return": np.append(close[1:] / close[:-1] - 1, np.nan)},
        index=index,
    ).iloc[:-1]  # fmt: skip
    m = performance_metrics(frame, periods_per_year=8760)
    fee = 10 / 1e4
    # short at bar 1's close (lag 1), paying fee on the equity after the trade
    expected = (1 / (1 + fee)) * np.prod(1 - (close[2:11] / close[1:10] - 1)) - 1
    assert m["total_return"] == pytest.approx(expected, rel=1e-12)
    assert m["total_return"] > 0.5 and m["sharpe"] > 0
    assert m["hit_rate"] == 1.0 and m["n_trades"] == 1


def test_degradation_against_baseline_history_and_trend(btc_1h):
    good = _live(btc_1h, "2021-01", "2021-06", skill=0.58, seed=1)
    history = rolling_metrics(good, window=500)
    assert len(history) == len(good) // 500
    baseline = performance_metrics(good)
    fine, _ = assess_degradation(performance_metrics(good.iloc[-500:]), baseline=baseline,
                                 history=history)  # fmt: skip
    assert health_from_findings(fine)[0] == "healthy"
    decayed = _live(btc_1h, "2021-07", "2021-08", skill=0.45, seed=2)
    current = performance_metrics(decayed)
    findings, facts = assess_degradation(current, baseline=baseline, history=history,
                                         spec=DegradationSpec(accuracy_drop=0.05))  # fmt: skip
    status, reasons = health_from_findings(findings)
    assert status == "failing"  # 13 points below baseline: beyond 2 x 0.05
    assert any("accuracy" in r and "baseline" in r for r in reasons)
    assert facts["accuracy.drop_vs_baseline"] == pytest.approx(
        baseline["accuracy"] - current["accuracy"]
    )
    assert facts["accuracy.relative_drop_vs_history"] > 0.2
    assert facts["accuracy.trend_slope"] < 0
    mild, _ = assess_degradation({"accuracy": baseline["accuracy"] - 0.07}, baseline=baseline)
    assert health_from_findings(mild)[0] == "degraded"


def test_concept_drift_found_near_the_true_change(btc_1h):
    """Skill collapses at a known hour; ADWIN and Page-Hinkley report where it began."""
    before = _live(btc_1h, "2021-01-01", "2021-02-15", skill=0.75, seed=3)
    after = _live(btc_1h, "2021-02-16", "2021-03-31", skill=0.4, seed=4)
    frame = pd.concat([before, after])
    change = after.index[0]
    points = detect_concept_drift(error_stream(frame))
    assert {p.detector for p in points} == {"adwin", "page_hinkley"}
    # stated delays for this 0.25 -> 0.6 error-rate jump: ADWIN within 4 days (~100 bars),
    # Page-Hinkley (river's default threshold 50) within 6 days
    for detector, delay in (("adwin", 4), ("page_hinkley", 6)):
        first = next(p for p in points if p.detector == detector)
        assert first.detected_at > change  # never before the change happened
        assert first.detected_at - change < pd.Timedelta(days=delay)
        assert abs(first.estimated_start - change) < pd.Timedelta(days=3)
        assert first.mean_after > first.mean_before
    steady = _live(btc_1h, "2021-01-01", "2021-03-31", skill=0.6, seed=5)
    assert detect_concept_drift(error_stream(steady)) == []


def test_anomaly_detector_flags_a_stuck_model(btc_1h):
    reference = _live(btc_1h, "2021-01", "2021-03", skill=0.55)["proba"]
    detector = PredictionAnomalyDetector(random_state=0).fit(reference)
    normal = detector.assess(_live(btc_1h, "2021-04", "2021-04", skill=0.55, seed=9)["proba"])
    assert normal["share_pvalue"] > 0.001
    stuck = pd.Series(0.97, index=pd.date_range("2021-05-01", periods=300, freq="1h", tz="UTC"))
    result = detector.assess(stuck)
    assert result["share"] > 0.9 and result["share_pvalue"] < 1e-10
    with pytest.raises(DataError, match="reference has 5 predictions"):
        PredictionAnomalyDetector().fit(reference.iloc[:5])


def test_bad_inputs_are_named():
    with pytest.raises(DataError, match="'prediction'"):
        performance_metrics(pd.DataFrame({"label": [1.0]}))
    with pytest.raises(DataError, match="outcomes"):
        performance_metrics(pd.DataFrame({"prediction": [1.0]}))
    with pytest.raises(ValueError, match="window"):
        rolling_metrics(pd.DataFrame({"prediction": [1.0]}), window=2)
    errors = pd.Series([0.0, np.nan], index=pd.date_range("2021", periods=2, freq="h", tz="UTC"))
    with pytest.raises(DataError, match="row 1"):
        detect_concept_drift(errors)
