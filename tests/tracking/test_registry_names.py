"""Model names with quotes work everywhere (show, list, lineage, rollback); names that cannot
be quoted or parsed are refused up front, the same way in the spec and the registry."""

from __future__ import annotations

import re

import pytest
from sklearn.linear_model import LogisticRegression

from trademl.config import ExperimentSpec, load_spec
from trademl.errors import SpecError
from trademl.tracking import (
    TrackingError,
    lineage,
    list_models,
    log_metrics_batch,
    log_model,
    model_versions,
    promote,
    register_model,
    rollback,
    start_run,
)
from trademl.tracking.registry import name_filter


@pytest.fixture(scope="module")
def run_id(module_store, activate_store, btc_xy):
    activate_store(module_store)
    features, target = btc_xy
    with start_run(ExperimentSpec(name="names-test", seed=2)) as run:
        log_model(LogisticRegression(max_iter=300).fit(features, target),
                  input_example=features.head(3), card={"purpose": "names"})  # fmt: skip
        log_metrics_batch({"hit_rate": 0.5})
    return run.info.run_id


@pytest.mark.parametrize("name", ["o'brien", 'say "hi"', "ünïcode model", "a`b"])
def test_quoted_names_show_list_lineage_and_roll_back(store, run_id, name, cli):
    first = register_model(run_id, name)
    second = register_model(run_id, name)
    assert [v["version"] for v in model_versions(name)] == [second, first]
    assert {m["name"]: m["versions"] for m in list_models()}[name] == 2
    promote(name, first)
    promote(name, second)
    assert rollback(name, "test") == first
    assert lineage(name, second)["model"]["name"] == name
    code, out, err = cli("models", "show", name, "--tracking-uri", store["uri"])
    assert code == 0, err
    assert "v2" in out or "2" in out


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("a/b", "must not contain '/'"),
        ("btc@prod", "must not contain '/', '@'"),
        ("both'\"", "both ' and \""),
        (" padded ", "spaces"),
        ("tab\there", "control characters"),
        ("", "non-empty"),
    ],
)
def test_unquotable_names_are_refused_in_the_registry_and_the_spec(store, run_id, name, problem):
    with pytest.raises(TrackingError, match=re.escape(problem)):
        register_model(run_id, name)
    with pytest.raises(SpecError, match="model name"):
        load_spec({"tracking": {"model_name": name}})
    with pytest.raises(TrackingError, match=re.escape(problem)):
        name_filter(name)  # every registry search goes through it
