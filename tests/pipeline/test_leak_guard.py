"""End to end: `trademl run` refuses a spec whose user feature module reads the next bar,
before anything is registered, whatever the execution lag."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

TRADEML = Path(sys.executable).with_name("trademl")

LEAKY = '''
import numpy as np
from trademl.features import feature

@feature("next_close_ret", category="momentum")
def next_close_ret(bars):
    """The next bar's return: the classic look-ahead leak."""
    out = np.full(len(bars), np.nan)
    out[:-1] = bars.close[1:] / bars.close[:-1] - 1.0
    return out
'''


def _registered_versions(db: Path) -> int:
    """Model versions in the MLflow SQLite store (0 when the run never created it)."""
    if not db.exists():
        return 0
    with sqlite3.connect(db) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        if "model_versions" not in tables:
            return 0
        return connection.execute("SELECT COUNT(*) FROM model_versions").fetchone()[0]


@pytest.mark.parametrize("execution_lag", [0, 1])
def test_run_with_a_leaky_feature_module_exits_2_and_registers_nothing(tmp_path, execution_lag):
    (tmp_path / "leaky.py").write_text(textwrap.dedent(LEAKY))
    db = tmp_path / "mlruns.db"
    spec = {
        "name": f"leak-guard-{execution_lag}",
        "seed": 11,
        "data": {"sample": "BTCUSDT-1h", "start": "2026-01-15"},
        "features": {"categories": ["momentum"], "modules": ["leaky.py"]},
        "labels": {"kind": "direction", "horizon": 4},
        "validation": {"n_splits": 3, "holdout_fraction": 0.25},
        "model": {"kind": "lightgbm", "params": {"n_estimators": 25}, "early_stopping_rounds": 5},
        "tuning": {"n_trials": 2, "storage": f"sqlite:///{tmp_path / 'optuna.db'}"},
        "backtest": {"execution_lag": execution_lag},
        "tracking": {
            "uri": f"sqlite:///{db}",
            "artifact_root": str(tmp_path / "mlartifacts"),
            "gates": {"oos_sharpe": {"min": -100.0}},
        },
    }
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    # run from another folder: the module is found beside the spec, not in the cwd
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [str(TRADEML), "run", str(path), "--no-progress"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "feature 'next_close_ret' is not causal" in output
    assert "it reads the future" in output and "Traceback" not in output
    assert _registered_versions(db) == 0
