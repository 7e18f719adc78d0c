"""A registry with a champion (v1) and a challenger (v2) trained on the bundled sample."""

from __future__ import annotations

import pytest

from ..pipeline.test_pipeline import small_spec as pipeline_spec


def small_spec(folder, **overrides) -> dict:
    """The pipeline tests' small spec with one tuning trial and a monitoring store."""
    settings = {
        "name": "life",
        "tuning": {"n_trials": 1},
        # 25 trees on three months are degenerate by design: these tests check the
        # lifecycle's mechanics, not the models (a degenerate challenger: test_retrain)
        "tracking": {"refuse_degenerate": False},
        "monitoring": {"db_url": f"sqlite:///{folder / 'monitor.db'}"},
    }
    return pipeline_spec(folder, **(settings | overrides))


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
