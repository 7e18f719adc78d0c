"""A registry with a champion (v1) and a challenger (v2) trained on the bundled sample."""

from __future__ import annotations

import pytest


def small_spec(folder, **overrides) -> dict:
    spec = {
        "name": "life",
        "seed": 11,
        "data": {"sample": "BTCUSDT-1h", "start": "2026-01-15"},
        "features": {"categories": ["momentum"]},
        "labels": {"kind": "direction", "horizon": 4},
        "validation": {"n_splits": 3, "holdout_fraction": 0.25},
        "model": {"kind": "lightgbm", "params": {"n_estimators": 25}, "early_stopping_rounds": 5},
        "tuning": {"n_trials": 1, "storage": f"sqlite:///{folder / 'optuna.db'}"},
        "tracking": {
            "uri": f"sqlite:///{folder / 'mlruns.db'}",
            "artifact_root": str(folder / "mlartifacts"),
            # 25 trees on three months are degenerate by design: these tests check the
            # lifecycle's mechanics, not the models (a degenerate challenger: test_retrain)
            "refuse_degenerate": False,
        },
        "monitoring": {"db_url": f"sqlite:///{folder / 'monitor.db'}"},
    }
    spec.update(overrides)
    return spec


@pytest.fixture(scope="session")
def two_versions(tmp_path_factory):
    """(folder, spec dict, name): v1 is champion, v2 a challenger with other parameters."""
    from trademl import tracking
    from trademl.pipeline import run

    folder = tmp_path_factory.mktemp("lifecycle")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        spec = small_spec(folder)
        first = run(spec, progress=False)
        tracking.promote(first.model_name, first.model_version, reason="test champion")
        second = dict(
            spec, model={**spec["model"], "params": {"n_estimators": 40, "num_leaves": 7}}
        )
        second = dict(second, seed=12)
        run(second, progress=False)
    return folder, spec, first.model_name
