"""End to end: a model's reference and live stream on real BTC data, checked from the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from trademl.monitoring.check import register_reference, run_check
from trademl.monitoring.store import open_store


def _stream(features: pd.DataFrame, ohlcv: pd.DataFrame, skill: float, seed: int):
    close = ohlcv["close"]
    ret = (close.shift(-1) / close - 1).reindex(features.index)  # 1-bar label horizon
    keep = ret.notna()
    features, ret = features[keep], ret[keep]
    rng = np.random.default_rng(seed)
    up = (ret > 0).to_numpy()
    predicted_up = np.where(rng.uniform(size=len(ret)) < skill, up, ~up)
    proba = np.clip(np.where(predicted_up, 0.6, 0.4) + rng.normal(0, 0.05, len(ret)), 0.01, 0.99)
    preds = pd.DataFrame(
        {"symbol": "BTCUSDT", "prediction": predicted_up.astype(float), "proba": proba,
         "signal": np.where(predicted_up, 1.0, -1.0), "close": close.reindex(features.index)},
        index=features.index,
    )  # fmt: skip
    outcomes = pd.DataFrame(
        {"symbol": "BTCUSDT", "label": up.astype(float), "forward_return": ret.to_numpy()},
        index=features.index,
    )
    return features, preds, outcomes


@pytest.fixture
def monitored(tmp_path, btc_1h, btc_features, monkeypatch):
    """Model 'btc-dir' v1: reference = 2019 (skill 0.58); live = 2021-05 (skill 0.45)."""
    db = tmp_path / "monitor.db"
    monkeypatch.setenv("TRADEML_MONITOR_DB", str(db))
    store = open_store(db)
    ref_x, ref_p, ref_o = _stream(btc_features.loc["2019"], btc_1h, 0.58, seed=1)
    from trademl.monitoring.performance import performance_metrics

    baseline = performance_metrics(ref_p.join(ref_o[["label", "forward_return"]]))
    register_reference(store, model="btc-dir", version="1", features=ref_x, predictions=ref_p,
                       labels=ref_o, baseline=baseline)  # fmt: skip
    live_x, live_p, live_o = _stream(btc_features.loc["2021-05"], btc_1h, 0.45, seed=2)
    store.log_predictions(live_p, model="btc-dir", version="1", features=live_x)
    store.log_outcomes(live_o, model="btc-dir")
    return store, db


def test_run_check_finds_decay_and_drift_and_alerts_once(monitored):
    store, _ = monitored
    now = datetime(2021, 6, 1, 0, 10, tzinfo=UTC)
    result = run_check(store, "btc-dir", since="31d", now=now)
    assert result.n_predictions == result.n_outcomes == 744 - 1
    assert result.status == "failing"
    assert result.facts["performance.accuracy.drop_vs_baseline"] > 0.1
    assert result.drift.drift_detected and result.drift.table.loc["vol_24h", "drifted"]
    # outputs and labels are profiled too (same skill-free probabilities: no output drift)
    assert set(result.prediction_drift.table.index) == {"prediction", "proba"}
    assert not result.prediction_drift.drift_detected
    assert set(result.label_drift.table.index) == {"label", "forward_return"}
    assert result.anomaly is not None and result.anomaly["n"] == result.n_predictions
    opened = {a["rule"] for a in result.alerts if a["action"] == "opened"}
    assert {"accuracy_drop", "accuracy_collapse", "feature_drift"} <= opened
    again = run_check(store, "btc-dir", since="31d", now=now)
    assert {a["action"] for a in again.alerts} <= {"deduplicated", "escalated"}
    assert store.health()["status"].tolist() == ["failing"]
    assert len(store.snapshots("btc-dir")) == 2


def test_cli_check_status_and_alerts(monitored, cli):
    store, db = monitored
    code, out, err = cli("monitor", "check", "--model", "btc-dir", "--since", "3000d")
    # findings exit 3, so cron or CI can gate on the check
    assert code == 3, err
    assert "FAILING" in out and "accuracy" in out and "DRIFT" in out
    assert "accuracy_collapse: opened" in out
    code, out, _ = cli("monitor", "check", "--model", "btc-dir", "--since", "3000d", "--json")
    payload = json.loads(out)
    assert code == 3
    assert payload["status"] == "failing" and payload["drift"]["n_features"] == 8
    code, out, _ = cli("monitor", "check", "--model", "btc-dir", "--since", "3000d", "--no-fail")
    assert code == 0 and "FAILING" in out
    code, out, _ = cli("monitor", "status")
    assert code == 0 and "btc-dir" in out and "failing" in out
    code, out, _ = cli("alerts", "list", "--json")
    alerts = json.loads(out)
    critical = next(a for a in alerts if a["rule"] == "accuracy_collapse")
    n_active = len(alerts)
    code, out, _ = cli("alerts", "ack", str(critical["id"]), "--by", "alice")
    assert code == 0 and "acknowledged by alice" in out
    # an acknowledged alert stays active: listed by default, counted by monitor status
    code, out, _ = cli("alerts", "list", "--json")
    listed = {a["id"]: a["state"] for a in json.loads(out)}
    assert len(listed) == n_active and listed[critical["id"]] == "acknowledged"
    code, out, _ = cli("monitor", "status")
    assert f"{n_active} (1 acked)" in out
    code, out, _ = cli("alerts", "list", "--state", "open", "--json")
    assert critical["id"] not in {a["id"] for a in json.loads(out)}
    code, out, _ = cli("alerts", "ack", "--help")
    assert "stays active until resolved" in " ".join(out.split())
    code, _, err = cli("alerts", "ack", str(critical["id"]), "--by", "bob")
    assert code == 2 and "already acknowledged by alice" in err
    code, out, _ = cli(
        "alerts", "resolve", str(critical["id"]), "--by", "bob", "--note", "retrained"
    )
    assert code == 0 and "resolved by bob" in out
    code, out, _ = cli("alerts", "list", "--state", "resolved")
    assert "accuracy_collapse" in out
    history = store.alert_history(critical["id"])
    assert history["event"].tolist()[-2:] == ["acked", "resolved"]
    assert history["detail"].tolist()[-1] == "retrained"


def test_cli_errors_are_one_line(monitored, cli, tmp_path):
    code, _, err = cli("monitor", "check", "--model", "nope")
    assert code == 2 and "no model named 'nope' in the store (models: btc-dir)" in err
    code, _, err = cli("monitor", "check", "--model", "btc-dir", "--since", "soon")
    assert code == 2 and "since" in err
    code, _, err = cli("alerts", "list", "--state", "closed")
    assert code == 2
    assert "--state 'closed' is not a state; choose from active, open, acknowledged" in err
    bad_rules = tmp_path / "r.yaml"
    bad_rules.write_text("rules:\n  - name: x\n    when: a >> 1\n")
    code, _, err = cli("monitor", "check", "--model", "btc-dir", "--rules", bad_rules)
    assert code == 2 and "rules.0.when" in err


def test_cli_drift_between_two_files(tmp_path, btc_features, cli):
    ref, cur = tmp_path / "ref.csv.gz", tmp_path / "cur.parquet"
    btc_features.loc["2019"].to_csv(ref)
    btc_features.loc["2021"].to_parquet(cur)
    code, out, err = cli("monitor", "drift", ref, cur)
    assert code == 3, err  # drift found
    assert "vol_24h" in out and "DRIFT" in out
    code, out, _ = cli("monitor", "drift", ref, cur, "--no-fail")
    assert code == 0 and "DRIFT" in out
    code, out, _ = cli("monitor", "drift", ref, ref, "--json")
    payload = json.loads(out)
    assert code == 0
    assert payload["n_drifted"] == 0 and payload["drift_detected"] is False
    code, _, err = cli("monitor", "drift", ref, tmp_path / "missing.csv")
    assert code == 2 and "missing.csv: file not found" in err


def test_check_of_a_model_with_a_reference_but_no_prediction(tmp_path, btc_features, cli):
    db = tmp_path / "fresh.db"
    store = open_store(db)
    features = btc_features.loc["2019-01"]
    register_reference(store, model="fresh", version="1", features=features,
                       baseline={"accuracy": 0.55})  # fmt: skip
    store.close()
    code, _, err = cli("monitor", "check", "--model", "fresh", "--db", db)
    assert code == 2
    assert "model 'fresh' (v1) has a reference but no prediction logged yet" in err
    assert "known" not in err


def test_silence_raises_the_no_predictions_alert(monitored):
    store, _ = monitored
    later = datetime.now(UTC) + pd.Timedelta(hours=2)
    result = run_check(store, "btc-dir", since="1h", now=later)
    assert result.n_predictions == 0
    assert result.facts["stream.minutes_since_last_prediction"] > 119
    assert result.status == "failing"
    assert any("no prediction for" in reason for reason in result.reasons)
    opened = [a for a in result.alerts if a["action"] == "opened"]
    assert [a["rule"] for a in opened] == ["no_predictions"]
    assert opened[0]["severity"] == "critical"


def test_pipeline_oos_predictions_become_a_reference(tmp_path, btc_1h):
    from trademl.monitoring.check import frames_from_oos

    bars = btc_1h.loc["2020-01":"2020-02"]
    forward = bars["close"].shift(-4) / bars["close"] - 1
    oos = pd.DataFrame(
        {"symbol": "BTCUSDT", "close": bars["close"], "y_true": 1.0, "y_pred": 1.0,
         "proba": 0.6, "signal": 1.0, "forward_return": forward},
        index=bars.index,
    ).dropna()  # fmt: skip
    predictions, outcomes = frames_from_oos(oos)
    # the outcome is the label horizon's simple return, as on the holdout (not next-bar log)
    np.testing.assert_array_equal(outcomes["forward_return"], oos["forward_return"])
    np.testing.assert_array_equal(predictions["close"], oos["close"])
    store = open_store(tmp_path / "oos.db")
    register_reference(store, model="p", version="3", predictions=predictions, labels=outcomes)
    assert store.load_profile(model="p", version="3", kind="predictions")["features"].keys() == {
        "prediction",
        "proba",
    }
    with pytest.raises(Exception, match=r"missing column\(s\) \['close'\]"):
        frames_from_oos(oos.drop(columns="close"))
