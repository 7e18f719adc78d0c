"""Promotion on a real MLflow SQLite store: the run's own gates by default, degenerate
models refused, and a forced promotion only with a reason that the registry keeps."""

from __future__ import annotations

import mlflow
import pytest
from sklearn.linear_model import LogisticRegression

from trademl.config import load_spec
from trademl.pipeline.degenerate import degeneracy_tags
from trademl.tracking import (
    PromotionRefused,
    champion_history,
    champion_version,
    log_metrics_batch,
    log_model,
    promote,
    register_model,
    start_run,
)
from trademl.tracking._store import client

METRICS = {"oos_accuracy": 0.52, "oos_roc_auc": 0.53, "deflated_sharpe": 0.25}


def _run(btc_xy, *, gates=None, degenerate=(), refuse=True) -> str:
    features, target = btc_xy
    spec = load_spec(
        {
            "name": "promotion-gates",
            "tracking": {"gates": gates or {}, "refuse_degenerate": refuse},
        }
    )
    with start_run(spec) as run:
        model = LogisticRegression(max_iter=200).fit(features, target)
        log_model(model, input_example=features.head(3), card={"purpose": "gates"})
        log_metrics_batch(METRICS)
        mlflow.set_tags(degeneracy_tags(list(degenerate)))
    return run.info.run_id


@pytest.fixture(scope="module")
def runs(module_store, activate_store, btc_xy) -> dict[str, str]:
    activate_store(module_store)
    return {
        "strict": _run(btc_xy, gates={"deflated_sharpe": {"min": 0.95}}),
        "degenerate": _run(btc_xy, degenerate=["long on 100.0% of the 3,104 holdout bars"]),
        "allowed": _run(btc_xy, degenerate=["long on 99.0% of the bars"], refuse=False),
        "clean": _run(btc_xy),
    }


def test_promote_without_gates_uses_the_gates_the_run_logged(store, runs):
    version = register_model(runs["strict"], "stored-gates")
    with pytest.raises(PromotionRefused, match=r"deflated_sharpe = 0.25 < min 0.95"):
        promote("stored-gates", version)
    assert champion_version("stored-gates") is None
    # explicit gates still replace the stored ones; {} checks none
    promote("stored-gates", version, {"deflated_sharpe": {"min": 0.2}})
    assert champion_version("stored-gates") == version


def test_a_degenerate_model_is_refused_unless_its_spec_allows_it(store, runs):
    version = register_model(runs["degenerate"], "degenerate-model")
    with pytest.raises(PromotionRefused, match=r"degenerate model: long on 100.0% of the 3,104"):
        promote("degenerate-model", version, {})
    promote("degenerate-model", version, {}, refuse_degenerate=False)
    assert champion_version("degenerate-model") == version
    allowed = register_model(runs["allowed"], "degenerate-allowed")
    promote("degenerate-allowed", allowed)  # its spec said tracking.refuse_degenerate: false
    clean = register_model(runs["clean"], "clean-model")
    promote("clean-model", clean)


def test_force_needs_a_reason_and_is_recorded(store, runs):
    version = register_model(runs["strict"], "forced-model")
    with pytest.raises(ValueError, match="forced promotion needs a reason"):
        promote("forced-model", version, force=True)
    outcome = promote("forced-model", version, force=True, reason="shadow test on paper")
    assert outcome["forced"] and "deflated_sharpe = 0.25 < min 0.95" in outcome["skipped"]
    tags = client().get_model_version("forced-model", str(version)).tags
    assert tags["trademl.promotion_forced"] == "shadow test on paper"
    assert "deflated_sharpe" in tags["trademl.promotion_skipped"]
    event = champion_history("forced-model")[-1]
    assert event["forced"] is True and event["reason"] == "shadow test on paper"


def test_cli_promote_uses_stored_gates_and_force_needs_reason(cli, store, runs):
    version = register_model(runs["strict"], "cli-gates")
    uri = store["uri"]
    code, _, err = cli("models", "promote", "cli-gates", str(version), "-t", uri)
    assert code == 2 and "deflated_sharpe = 0.25 < min 0.95" in err
    code, _, err = cli("models", "promote", "cli-gates", str(version), "--force", "-t", uri)
    assert code == 2 and "--force needs --reason" in err
    code, out, err = cli(
        "models", "promote", "cli-gates", str(version), "--force", "--reason", "paper", "-t", uri
    )
    assert code == 0, err
    assert "forced (paper)" in out and "is now production (champion)" in out
    code, out, _ = cli("models", "history", "cli-gates", "-t", uri)
    assert "FORCED: paper" in out
