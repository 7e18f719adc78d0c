"""A few months of the bundled sample replayed through prediction, monitoring, retraining."""

from __future__ import annotations

import pandas as pd

from trademl.config import load_spec
from trademl.lifecycle.journal import Journal
from trademl.lifecycle.replay import replay_lifecycle, write_report
from trademl.monitoring import open_store


def test_a_short_replay_retrains_on_schedule_and_reports_honestly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = load_spec(
        {
            "name": "replay-test",
            "seed": 3,
            "data": {"sample": "BTCUSDT-1h"},
            "features": {"categories": ["momentum"]},
            "labels": {"kind": "direction", "horizon": 6},
            "validation": {"n_splits": 3, "holdout_fraction": 0.25},
            "model": {"kind": "lightgbm", "params": {"n_estimators": 30}},
            "tuning": {"n_trials": 0},
            "backtest": {"sizing": "probability", "threshold": 0.01},
            "tracking": {
                "uri": f"sqlite:///{tmp_path / 'ml.db'}",
                "artifact_root": str(tmp_path / "art"),
                "refuse_degenerate": False,  # 30 trees on the sample: mechanics, not models
            },  # fmt: skip
            "monitoring": {
                "db_url": f"sqlite:///{tmp_path / 'mon.db'}",
                "register_reference": True,
            },
            "retraining": {
                "schedule": "0 0 1 * *",
                "triggers": {"schedule": {"cooldown": "7d"}},
                "rollback": {"margin": 0.05, "min_bars": 200},
                "replay": {
                    "start": "2026-02-01",
                    "end": "2026-04-01",
                    "step": "7d",
                    "train_window": "300d",
                },  # fmt: skip
            },
        }
    )
    result = replay_lifecycle(spec)
    kinds = list(result.events["kind"])
    assert kinds[0] == "first"
    # monthly ticks on Mar 1 (and Feb 1, caught up in the first step): two scheduled jobs
    assert kinds.count("trigger:schedule") == 2
    assert sum(k in ("promoted", "rejected", "failed") for k in kinds) == 2
    assert "failed" not in kinds, result.events
    stamps = result.equity.index
    assert stamps[0] == pd.Timestamp("2026-02-01", tz="UTC") and len(stamps) == 59 * 24
    assert list(result.equity.columns) == ["retrained", "never_retrained", "buy_and_hold"]
    assert (
        result.summary["buy_and_hold"]["total_return"]
        != result.summary["retrained"]["total_return"]
    )
    store = open_store(spec.monitoring.db_url)
    decisions = Journal(store).decisions("replay-test")
    assert decisions["fired"].sum() == 2 and (~decisions["fired"]).sum() >= 5
    store.close()
    report = write_report(result, tmp_path / "report")
    page = report.read_text()
    assert "never retrained" in page and "data:image/png;base64," in page
    assert (tmp_path / "report" / "events.csv").is_file()
