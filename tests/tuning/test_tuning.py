from __future__ import annotations

import numpy as np
import optuna
import pytest

from trademl.config import load_spec
from trademl.config.tuning import TuningSpec
from trademl.errors import SpecError
from trademl.tuning import (
    CrossValidatedObjective,
    describe_storage,
    grid_values,
    make_storage,
    save_plots,
    tune,
)

HORIZON = 4  # bars, as in conftest.py


def _model(kind="lightgbm", **params):
    spec = load_spec({"model": {"kind": kind, "params": params, "early_stopping_rounds": 10}})
    return spec.model


def _objective(cv_data, model, metrics, space=None):
    return CrossValidatedObjective(
        model,
        cv_data,
        task="classification",
        metrics=metrics,
        space=space or model.resolved_search_space(),
        purge=HORIZON,
        seed=0,
    )


def _space(spec_dict, kind="lightgbm"):
    return load_spec(
        {"model": {"kind": kind, "search_space": spec_dict}}
    ).model.resolved_search_space()


def test_study_resumes_by_name_in_sqlite(cv_data, tmp_path):
    model = _model(n_estimators=15)
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    spec = TuningSpec(n_trials=3, storage=storage, pruner="none")
    objective = _objective(cv_data, model, ["sharpe"])
    first = tune(objective, spec, space=objective.space, study_name="resume-me", seed=1, n_folds=3)
    assert first.n_complete == 3
    first_params = [t.params for t in first.study.trials]
    # same name, more trials: only the missing ones run, the first three are kept
    more = TuningSpec(n_trials=5, storage=storage, pruner="none")
    second = tune(objective, more, space=objective.space, study_name="resume-me", seed=1, n_folds=3)
    assert second.n_complete == 5
    numbers = [t.number for t in second.study.trials]
    assert numbers == [0, 1, 2, 3, 4]
    assert [t.params for t in second.study.trials[:3]] == first_params
    # a finished study does no more work when run again
    again = tune(objective, more, space=objective.space, study_name="resume-me", seed=1, n_folds=3)
    assert again.n_complete == 5 and again.best_params == second.best_params
    # every complete trial carries its per-bar Sharpe, feeding the deflated Sharpe
    assert len(second.trial_sharpes) == 5 and second.sharpe_variance > 0
    # fold scores were reported as intermediate values, one per fold
    assert all(len(t.intermediate_values) == 3 for t in second.study.trials)


def test_crashed_trial_left_running_is_redone_on_resume(cv_data, tmp_path):
    storage = f"sqlite:///{tmp_path / 'crash.db'}"
    study = optuna.create_study(study_name="crashy", storage=storage, direction="maximize")
    study.ask()  # a trial that a killed process left RUNNING
    model = _model(n_estimators=10)
    objective = _objective(cv_data, model, ["sharpe"])
    result = tune(
        objective,
        TuningSpec(n_trials=2, storage=storage, pruner="none"),
        space=objective.space,
        study_name="crashy",
        n_folds=3,
    )
    states = [t.state.name for t in result.study.trials]
    assert states.count("FAIL") == 1 and states.count("COMPLETE") == 2


def test_median_pruner_stops_bad_trials(cv_data, tmp_path):
    # trials whose first folds score below the median of earlier trials are pruned
    model = _model(n_estimators=15)
    space = _space(
        {
            "learning_rate": {"type": "float", "low": 0.001, "high": 0.5, "log": True},
            "num_leaves": {"type": "int", "low": 2, "high": 64},
        }
    )
    objective = _objective(cv_data, model, ["accuracy"], space)
    spec = TuningSpec(
        n_trials=14, sampler="random", pruner="median", n_startup_trials=3,
        storage=f"sqlite:///{tmp_path / 'p.db'}", metric="accuracy",
    )  # fmt: skip
    result = tune(objective, spec, space=space, study_name="prune", seed=3, n_folds=3)
    assert result.n_pruned >= 1
    pruned = [t for t in result.study.trials if t.state.name == "PRUNED"]
    assert all(len(t.intermediate_values) < 3 for t in pruned)
    assert result.n_complete + result.n_pruned == 14


def test_hyperband_pruner_runs(cv_data, tmp_path):
    model = _model(n_estimators=10)
    objective = _objective(cv_data, model, ["sharpe"])
    spec = TuningSpec(n_trials=6, pruner="hyperband", storage=f"sqlite:///{tmp_path / 'h.db'}")
    result = tune(objective, spec, space=objective.space, study_name="hb", n_folds=3)
    assert result.n_trials == 6
    assert isinstance(result.study.pruner, optuna.pruners.HyperbandPruner)


def test_grid_sampler_enumerates_every_point_once(cv_data, tmp_path):
    model = _model("logistic")
    space = _space(
        {
            "C": {"type": "categorical", "choices": [0.01, 0.1, 1.0]},
            "max_iter": {"type": "int", "low": 100, "high": 200, "step": 100},
        },
        "logistic",
    )
    objective = _objective(cv_data, model, ["accuracy"], space)
    spec = TuningSpec(
        n_trials=50,
        sampler="grid",
        pruner="none",
        storage=f"sqlite:///{tmp_path / 'g.db'}",
        metric="accuracy",
    )
    result = tune(objective, spec, space=space, study_name="grid", n_folds=3)
    seen = sorted((t.params["C"], t.params["max_iter"]) for t in result.study.trials)
    assert seen == sorted((c, m) for c in (0.01, 0.1, 1.0) for m in (100, 200))


def test_grid_needs_a_step_for_floats():
    space = _space({"learning_rate": {"type": "float", "low": 0.01, "high": 0.1}})
    with pytest.raises(SpecError, match="learning_rate: the grid sampler needs a step"):
        grid_values(space)
    stepped = _space({"learning_rate": {"type": "float", "low": 0.01, "high": 0.05, "step": 0.02}})
    assert grid_values(stepped) == {"learning_rate": [0.01, 0.03, 0.05]}


def test_multi_objective_nsga2_returns_pareto_front(cv_data, tmp_path):
    model = _model(n_estimators=10)
    objective = _objective(cv_data, model, ["sharpe", "turnover"])
    spec = TuningSpec(
        n_trials=8,
        sampler="nsga2",
        objectives=["sharpe", "turnover"],
        storage=f"sqlite:///{tmp_path / 'm.db'}",
    )
    assert spec.pruner_name == "none" and spec.directions == ["maximize", "minimize"]
    result = tune(objective, spec, space=objective.space, study_name="pareto", n_folds=3)
    assert result.pareto and len(result.best_values) == 2
    # nobody on the front is dominated by another trial
    values = [t.values for t in result.study.trials if t.values]
    for point in result.pareto:
        s, to = point["values"]
        assert not any(v[0] >= s and v[1] <= to and (v[0] > s or v[1] < to) for v in values)
    paths = save_plots(result.study, tmp_path / "plots")
    assert {p.name for p in paths} >= {"pareto_front.png", "optimization_history.png"}


def test_cmaes_and_random_samplers_are_seeded(cv_data, tmp_path):
    model = _model(n_estimators=10)
    space = _space(
        {
            "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
            "num_leaves": {"type": "int", "low": 4, "high": 32},
        }
    )
    objective = _objective(cv_data, model, ["sharpe"], space)
    # CMA-ES needs the cmaes package (a declared dependency; skip only where it is missing)
    samplers = ("cmaes", "random") if _has_cmaes() else ("random",)
    for sampler in samplers:
        runs = []
        for i in range(2):
            spec = TuningSpec(
                n_trials=4,
                sampler=sampler,
                pruner="none",
                n_startup_trials=1,
                storage=f"sqlite:///{tmp_path / f'{sampler}{i}.db'}",
            )
            runs.append(tune(objective, spec, space=space, study_name=sampler, seed=5, n_folds=3))
        assert [t.params for t in runs[0].study.trials] == [t.params for t in runs[1].study.trials]
        assert runs[0].best_values == runs[1].best_values


def _has_cmaes() -> bool:
    try:
        import cmaes  # noqa: F401
    except ImportError:
        return False
    return True


def test_parallel_processes_share_a_journal_study(cv_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert describe_storage(None, n_jobs=2).startswith("journal:")
    model = _model(n_estimators=10)
    objective = _objective(cv_data, model, ["sharpe"])
    spec = TuningSpec(n_trials=3, n_jobs=2, pruner="none")
    result = tune(objective, spec, space=objective.space, study_name="par", n_folds=3)
    # each worker stops once the study holds 3 finished trials; one may be in flight
    assert 3 <= result.n_complete <= 4
    assert (tmp_path / "optuna-journal.log").is_file()
    assert len(result.study.trials) == result.n_complete


def test_sqlite_refused_for_several_processes(tmp_path):
    with pytest.raises(SpecError, match="cannot take 2 writing processes"):
        describe_storage(f"sqlite:///{tmp_path / 'x.db'}", n_jobs=2)
    with pytest.raises(SpecError, match="tuning.storage: cannot open"):
        make_storage("nosuchdb://nowhere")


def test_plots_for_a_single_objective_study(cv_data, tmp_path):
    model = _model(n_estimators=10)
    objective = _objective(cv_data, model, ["sharpe"])
    spec = TuningSpec(n_trials=4, pruner="none", storage=f"sqlite:///{tmp_path / 's.db'}")
    result = tune(objective, spec, space=objective.space, study_name="plots", n_folds=3)
    names = {p.name for p in save_plots(result.study, tmp_path / "out")}
    assert {"optimization_history.png", "param_importances.png", "intermediate_values.png"} <= names
    assert np.isfinite(result.best_values[0])


@pytest.mark.parametrize(
    ("tuning", "message"),
    [
        (
            {"objectives": ["sharpe", "turnover"], "pruner": "median"},
            "cannot be used with several objectives",
        ),
        ({"sampler": "annealing"}, "tuning.sampler"),
        ({"n_trials": -1}, "tuning.n_trials"),
        ({"metric": "profit"}, "tuning.metric"),
    ],
)
def test_bad_tuning_specs(tuning, message):
    with pytest.raises(SpecError, match=message):
        load_spec({"tuning": tuning})
