"""Experiment tools and the `trademl experiments` / `trademl models` commands on a real store."""

from __future__ import annotations

import time

import pytest
import yaml
from sklearn.dummy import DummyClassifier

from trademl.config import ExperimentSpec
from trademl.tracking import (
    TrackingError,
    best_run,
    cleanup_runs,
    compare_runs,
    list_experiments,
    log_metrics_batch,
    log_model,
    register_model,
    search_runs,
    start_run,
)
from trademl.tracking._store import client

KINDS = ["lightgbm", "xgboost", "random_forest", "logistic"]
SHARPES = [0.8, 1.4, 0.3, 1.1]


def _log_study(experiment: str) -> list[str]:
    """Four top-level runs (one per model kind), each with two fold children."""
    run_ids = []
    for kind, sharpe in zip(KINDS, SHARPES, strict=True):
        spec = ExperimentSpec(name=experiment, model={"kind": kind})
        with start_run(spec, run_name=kind) as run:
            for fold in range(2):
                with start_run(spec, nested=True, run_name=f"{kind}-fold{fold}"):
                    log_metrics_batch({"sharpe": sharpe + fold, "hit_rate": 0.5})
            log_metrics_batch({"sharpe": sharpe, "max_drawdown": -sharpe / 10})
        run_ids.append(run.info.run_id)
    return run_ids


@pytest.fixture(scope="module")
def study(module_store, activate_store):
    activate_store(module_store)
    return _log_study("study")


def test_compare_best_and_search(store, study):
    frame = compare_runs("study")
    assert sorted(frame.index) == sorted(study)  # parents only by default
    assert dict(zip(frame["params.model.kind"], frame["metrics.sharpe"], strict=True)) == dict(
        zip(KINDS, SHARPES, strict=True)
    )
    assert len(compare_runs("study", include_children=True)) == 12
    picked = compare_runs("study", metrics=["sharpe"], params=["model.kind"])
    assert list(picked.columns) == [
        "run_name",
        "status",
        "start_time",
        "params.model.kind",
        "metrics.sharpe",
    ]
    with pytest.raises(
        TrackingError, match=r"no metric named \['sortino'\].*known: max_drawdown, sharpe"
    ):
        compare_runs("study", metrics=["sortino"])

    best = best_run("study", "sharpe")
    assert best.name == study[1] and best["params.model.kind"] == "xgboost"
    assert best_run("study", "max_drawdown", mode="max").name == study[2]
    assert best_run("study", "sharpe", mode="min").name == study[2]
    # children count when asked: xgboost fold 1 has 2.4
    assert best_run("study", "sharpe", include_children=True)["metrics.sharpe"] == pytest.approx(
        2.4
    )
    with pytest.raises(TrackingError, match="no run in 'study' recorded metric 'calmar'"):
        best_run("study", "calmar")

    good = search_runs("study", "metrics.sharpe > 1 and params.`model.kind` != 'lightgbm'")
    # children log no params, so only parents can match the param clause
    assert sorted(good["run_id"]) == sorted([study[1], study[3]])
    parents = search_runs("study", "metrics.sharpe > 1", include_children=False)
    assert sorted(parents["run_id"]) == sorted([study[1], study[3]])
    with pytest.raises(TrackingError, match="invalid run filter 'metrics.sharpe >>> 1'"):
        search_runs("study", "metrics.sharpe >>> 1")
    with pytest.raises(TrackingError, match="experiment 'nope' not found"):
        compare_runs("nope")
    listed = list_experiments().set_index("name")
    assert listed.loc["study", "runs"] == 12


def test_cleanup_is_a_dry_run_by_default_and_spares_registered_runs(store, btc_xy):
    run_ids = _log_study("retention")
    features, target = btc_xy
    # the second-newest run backs a registered model through one of its children
    spec = ExperimentSpec(name="retention")
    with (
        start_run(spec, run_name="with-model") as parent,
        start_run(spec, nested=True, run_name="trained") as child,
    ):
        model = DummyClassifier(strategy="most_frequent").fit(features, target)
        log_model(model, input_example=features.head(2), card={"purpose": "retention test"})
    register_model(child.info.run_id, "retention-model")
    with start_run(ExperimentSpec(name="retention"), run_name="newest"):
        pass

    preview = cleanup_runs("retention", keep_last=1)
    assert set(preview["action"]) == {
        "would delete",
        "kept: backs model retention-model v1 (child run)",
    }
    assert len(preview) == 5 and preview["children"].tolist()[0] == 1
    assert len(search_runs("retention")) == 4 * 3 + 2 + 1  # nothing deleted

    nothing = cleanup_runs("retention", older_than_days=1)
    assert nothing.empty  # everything started seconds ago
    in_ten_days = int((time.time() + 10 * 86_400) * 1000)
    done = cleanup_runs(
        "retention", older_than_days=5, keep_last=1, dry_run=False, now_ms=in_ten_days
    )
    assert sorted(done.loc[done["action"] == "deleted", "run_id"]) == sorted(run_ids)
    remaining = search_runs("retention")
    assert sorted(remaining["tags.mlflow.runName"]) == ["newest", "trained", "with-model"]
    assert client().get_run(run_ids[0]).info.lifecycle_stage == "deleted"
    assert parent.info.run_id in set(remaining["run_id"])
    with pytest.raises(ValueError, match="cleanup needs older_than_days and/or keep_last"):
        cleanup_runs("retention")


def test_experiments_commands(cli, store, study):
    uri = store["uri"]
    code, out, err = cli("experiments", "list", "-t", uri)
    assert code == 0, err
    assert "study" in out
    code, out, err = cli("experiments", "compare", "study", "-m", "sharpe", "-t", uri)
    assert code == 0, err
    assert "4 runs of study" in out and "1.4" in out and "xgboost" in out


def test_compare_across_experiments_fits_80_columns(cli, store, study):
    other = _log_study("study-b")
    frame = compare_runs(["study", "study-b"])
    assert len(frame) == 8 and set(frame["experiment"]) == {"study", "study-b"}
    uri = store["uri"]
    code, out, err = cli("experiments", "compare", "study", "study-b", "-t", uri)
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= 80  # the test console is 80 wide
    assert "8 runs of study, study-b (runs 1-" in out
    assert other[0][:8] in out and "model.kind" in out and "sharpe" in out
    # a param every run shares says nothing: left out by default, shown with --all
    assert "tracking.enabled" not in out
    code, out, _ = cli("experiments", "compare", "study", "--all", "-t", uri)
    assert "tracking.enabled" in out
    code, out, err = cli("experiments", "best", "study", "--metric", "sharpe", "-t", uri)
    assert code == 0, err
    assert f"best run by sharpe (max): {study[1]} 'xgboost' sharpe=1.4" in out
    code, out, err = cli("experiments", "best", "study", "--metric", "calmar", "-t", uri)
    assert code == 2 and "recorded metric 'calmar'" in err
    code, out, err = cli("experiments", "cleanup", "study", "--keep-last", "2", "-t", uri)
    assert code == 0, err
    assert "2 runs would delete (dry run; add --apply)" in out
    assert len(search_runs("study")) == 12
    code, out, err = cli("experiments", "cleanup", "study", "-t", uri)
    assert code == 2 and "--older-than-days and/or --keep-last" in err


def test_models_commands(cli, store, study, btc_xy, tmp_path):
    uri = store["uri"]
    features, target = btc_xy
    run_ids = []
    for sharpe in (1.2, 0.7):
        with start_run(ExperimentSpec(name="cli-models")) as run:
            model = DummyClassifier(strategy="prior").fit(features, target)
            log_model(model, input_example=features.head(2), card={"purpose": "cli test"})
            log_metrics_batch({"deflated_sharpe": sharpe})
        run_ids.append(run.info.run_id)
    code, out, err = cli(
        "models", "register", run_ids[0], "cli-model", "-d", "first", "-c", "init", "-t", uri
    )
    assert code == 0, err
    assert "registered cli-model v1" in out
    assert cli("models", "register", run_ids[1], "cli-model", "-t", uri)[0] == 0
    spec = tmp_path / "experiment.yaml"
    spec.write_text(
        yaml.safe_dump({"tracking": {"uri": uri, "gates": {"deflated_sharpe": {"min": 0.95}}}})
    )
    code, out, err = cli("models", "promote", "cli-model", "1", "--spec", spec)
    assert code == 0, err
    assert "gate deflated_sharpe min 0.95: value 1.2 passed" in out
    assert "cli-model v1 is now production (champion)" in out
    code, out, err = cli("models", "promote", "cli-model", "2", "--spec", spec)
    assert code == 2
    assert "deflated_sharpe = 0.7 < min 0.95, short by 0.25" in err
    code, out, err = cli("models", "promote", "cli-model", "2", "--reason", "manual", "-t", uri)
    assert code == 0 and "(was v1)" in out
    code, out, err = cli("models", "rollback", "cli-model", "--reason", "drawdown", "-t", uri)
    assert code == 0, err
    assert "champion v2 rolled back to v1 (drawdown)" in out
    code, out, err = cli("models", "list", "-t", uri)
    assert code == 0 and "cli-model" in out
    code, out, err = cli("models", "show", "cli-model", "-t", uri)
    assert code == 0, err
    assert "champion history" in out and "rollback" in out and "drawdown" in out
    code, out, err = cli("models", "lineage", "cli-model", "2", "-t", uri)
    assert code == 0, err
    assert out.splitlines()[0].startswith("model    cli-model v2 (archived)")
    assert f"run    {run_ids[1]}" in out and "parent v1" in out
    code, out, err = cli("models", "verify", "cli-model", "1", "-t", uri)
    assert code == 0 and "files match their recorded SHA-256" in out
    code, out, err = cli("models", "verify", "cli-model", "5", "-t", uri)
    assert code == 2 and "has no version 5" in err
