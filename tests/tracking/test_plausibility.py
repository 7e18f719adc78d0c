"""The plausibility gate at promotion, on a real MLflow SQLite store: a version whose run
recorded an accuracy or AUC no honest market direction model reaches is refused."""

from __future__ import annotations

import pytest
import yaml
from sklearn.linear_model import LogisticRegression

from trademl.config import ExperimentSpec, load_spec
from trademl.errors import SpecError
from trademl.tracking import (
    PromotionRefused,
    champion_version,
    log_metrics_batch,
    log_model,
    model_versions,
    promote,
    register_model,
    start_run,
)

NORMAL = {"oos_accuracy": 0.52, "oos_balanced_accuracy": 0.51, "oos_roc_auc": 0.53}
LEAKED = {"oos_accuracy": 0.99, "oos_balanced_accuracy": 0.99, "oos_roc_auc": 0.999}


def _logged_run(btc_xy, metrics: dict, spec: ExperimentSpec | None = None) -> str:
    features, target = btc_xy
    with start_run(spec or ExperimentSpec(name="plausibility-test", seed=5)) as run:
        model = LogisticRegression(max_iter=300).fit(features, target)
        log_model(model, input_example=features.head(3), card={"purpose": "plausibility"})
        log_metrics_batch(metrics)
    return run.info.run_id


@pytest.fixture(scope="module")
def runs(module_store, activate_store, btc_xy) -> dict[str, str]:
    activate_store(module_store)
    return {
        "normal": _logged_run(btc_xy, NORMAL),
        "leaked": _logged_run(btc_xy, {**LEAKED, "deflated_sharpe": 0.99}),
        "cv_auc": _logged_run(btc_xy, {**NORMAL, "cv_auc": 0.97}),
        # trained from a spec that allows up to 0.995 accuracy and turns the AUC bound off
        "lenient": _logged_run(
            btc_xy,
            LEAKED,
            load_spec(
                {
                    "name": "plausibility-test",
                    "tracking": {"plausibility": {"max_accuracy": 0.995, "max_auc": None}},
                }
            ),
        ),
    }


def test_an_implausible_accuracy_is_refused_without_any_gate(store, runs):
    name = "too-good"
    leaked = register_model(runs["leaked"], name)
    with pytest.raises(PromotionRefused) as caught:
        promote(name, leaked)
    message = str(caught.value)
    assert message.startswith(f"promotion of {name} v{leaked} to production refused: ")
    assert "oos_accuracy = 0.99 >= 0.9" in message and "oos_roc_auc = 0.999 >= 0.9" in message
    assert "implausibly high for a market direction model" in message
    assert "check for look-ahead (features.modules, execution_lag)" in message
    assert {f["gate"] for f in caught.value.failures} == {
        "oos_accuracy",
        "oos_balanced_accuracy",
        "oos_roc_auc",
    }
    # refused means nothing changed, for staging as well
    with pytest.raises(PromotionRefused, match="oos_accuracy"):
        promote(name, leaked, stage="staging")
    assert champion_version(name) is None
    assert [v["stage"] for v in model_versions(name)] == ["development"]

    normal = register_model(runs["normal"], name)
    outcome = promote(name, normal)
    assert champion_version(name) == normal
    assert {r["gate"] for r in outcome["plausibility"]} == set(NORMAL)
    assert all(r["passed"] for r in outcome["plausibility"])


def test_with_gates_both_reasons_are_given(store, runs):
    name = "too-good-gated"
    leaked = register_model(runs["leaked"], name)
    with pytest.raises(PromotionRefused) as caught:
        promote(name, leaked, {"deflated_sharpe": {"min": 0.95}, "oos_sharpe": {"min": 1.0}})
    message = str(caught.value)
    # the gate it passes is not a reason; the missing metric and the leak are
    assert "oos_accuracy = 0.99 >= 0.9" in message and "oos_sharpe: metric not recorded" in message
    assert "deflated_sharpe" not in message


def test_cv_auc_counts_and_the_bounds_are_configurable(store, runs):
    name = "cv-too-good"
    version = register_model(runs["cv_auc"], name)
    with pytest.raises(PromotionRefused, match=r"cv_auc = 0\.97 >= 0\.9 is implausibly high"):
        promote(name, version)
    # a stricter or looser bound, from a spec section or a plain mapping
    spec = load_spec({"tracking": {"plausibility": {"max_auc": 0.98}}})
    promote(name, version, plausibility=spec.tracking.plausibility)
    assert champion_version(name) == version

    name = "normal-strict"
    version = register_model(runs["normal"], name)
    with pytest.raises(PromotionRefused, match=r"oos_accuracy = 0\.52 >= 0\.52"):
        promote(name, version, plausibility={"max_accuracy": 0.52})


def test_null_turns_a_bound_off(store, runs):
    name = "leak-allowed"
    version = register_model(runs["leaked"], name)
    with pytest.raises(PromotionRefused, match="oos_roc_auc") as caught:
        promote(name, version, plausibility={"max_accuracy": None})
    assert "oos_accuracy" not in str(caught.value)
    promote(name, version, plausibility={"max_accuracy": None, "max_auc": None})
    assert champion_version(name) == version


def test_the_bounds_of_the_versions_own_spec_apply_by_default(store, runs):
    # what `trademl run` and `trademl models promote` do: no bounds passed
    name = "lenient"
    version = register_model(runs["lenient"], name)
    outcome = promote(name, version)  # accuracy 0.99 < 0.995; AUC bound off
    assert [r["gate"] for r in outcome["plausibility"]] == ["oos_accuracy", "oos_balanced_accuracy"]
    assert champion_version(name) == version


def test_cli_promote_refuses_an_implausible_version(cli, store, runs, tmp_path):
    name = "cli-too-good"
    version = register_model(runs["leaked"], name)
    code, _, err = cli("models", "promote", name, str(version), "-t", store["uri"])
    assert code == 2 and "oos_accuracy = 0.99 >= 0.9, " in err and "are implausibly high" in err
    assert champion_version(name) is None


def test_the_spec_section_validates_its_bounds(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"tracking": {"plausibility": {"max_accuracy": 0.4}}}))
    with pytest.raises(SpecError, match="tracking.plausibility.max_accuracy"):
        load_spec(path)
    spec = load_spec({"tracking": {"plausibility": {"max_accuracy": None}}})
    assert spec.tracking.plausibility.max_accuracy is None
    assert spec.tracking.plausibility.max_auc == 0.9
