"""Models and registry on a real MLflow SQLite store: log, register, gates, rollback, integrity.

Runs are logged once per module; every test registers them under its own model name,
so tests stay independent (xdist may split a module over workers).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlparse

import mlflow
import mlflow.pyfunc
import numpy as np
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

from trademl.config import ExperimentSpec
from trademl.config.tracking import GateSpec
from trademl.tracking import (
    IntegrityError,
    PromotionRefused,
    TrackingError,
    champion_history,
    champion_version,
    lineage,
    load_model,
    log_dataset,
    log_metrics_batch,
    log_model,
    model_versions,
    promote,
    register_model,
    rollback,
    start_run,
    verify,
)
from trademl.tracking._store import client
from trademl.tracking.provenance import frame_sha256

GATES = {"deflated_sharpe": {"min": 0.95}, "hit_rate": {"min": "champion"}}


def _train_and_log(btc_xy, btc_recent, btc_1h_path, *, hit_rate, deflated_sharpe, c=1.0):
    features, target = btc_xy
    spec = ExperimentSpec(name="registry-test", seed=3)
    with start_run(spec, run_name=f"C={c}") as run:
        log_dataset(btc_recent, source=str(btc_1h_path), symbols="BTCUSDT", timeframe="1h")
        model = LogisticRegression(C=c, max_iter=500).fit(features, target)
        uri = log_model(
            model,
            input_example=features.head(5),
            card={"purpose": "next-hour direction of BTC/USDT", "name": "btc-direction"},
        )
        log_metrics_batch({"hit_rate": hit_rate, "deflated_sharpe": deflated_sharpe})
    return {"run_id": run.info.run_id, "uri": uri, "model": model}


@pytest.fixture(scope="module")
def logged(module_store, activate_store, btc_xy, btc_recent, btc_1h_path):
    """good: passes the absolute gate; better: also beats good's hit rate; weak: fails both."""
    activate_store(module_store)
    return {
        "good": _train_and_log(
            btc_xy, btc_recent, btc_1h_path, hit_rate=0.52, deflated_sharpe=0.97
        ),
        "better": _train_and_log(
            btc_xy, btc_recent, btc_1h_path, hit_rate=0.54, deflated_sharpe=0.99, c=0.1
        ),
        "weak": _train_and_log(
            btc_xy, btc_recent, btc_1h_path, hit_rate=0.51, deflated_sharpe=0.90, c=10.0
        ),
    }


def test_logged_model_loads_with_plain_mlflow_and_carries_its_card(store, logged, btc_xy):
    features, _ = btc_xy
    good = logged["good"]
    loaded = mlflow.pyfunc.load_model(good["uri"])
    np.testing.assert_array_equal(loaded.predict(features), good["model"].predict(features))
    assert loaded.metadata.get_input_schema().input_names() == list(features.columns)
    card = loaded.metadata.metadata["trademl_model_card"]
    assert card["purpose"] == "next-hour direction of BTC/USDT"
    assert card["features"] == list(features.columns)
    assert card["input_shape"] == ["n_rows", 4]
    run_id = good["run_id"]
    assert (
        mlflow.artifacts.load_dict(f"runs:/{run_id}/model_card/model.json")["name"]
        == "btc-direction"
    )
    markdown = mlflow.artifacts.load_text(f"runs:/{run_id}/model_card/model.md")
    assert markdown.startswith("# Model card: btc-direction")
    # the signature checks inputs: a missing column is refused by MLflow itself
    with pytest.raises(mlflow.exceptions.MlflowException):
        loaded.predict(features.drop(columns=["ret_1"]))


def test_lightgbm_wrapper_and_plain_predict_objects_are_loggable(store, btc_xy):
    import lightgbm as lgb

    features, target = btc_xy

    class SignOfMomentum:
        """Not an estimator: just a predict method."""

        def predict(self, frame):
            return (frame["ret_6"] > 0).astype(int).to_numpy()

    booster = lgb.LGBMClassifier(n_estimators=20, num_leaves=7, verbose=-1, random_state=0)
    booster.fit(features, target)
    with start_run(ExperimentSpec(name="registry-test")):
        lgb_uri = log_model(booster, input_example=features.head(3), card={"purpose": "lgbm"})
        rule_uri = log_model(
            SignOfMomentum(), input_example=features.head(3), card={}, artifact_name="rule"
        )
    np.testing.assert_array_equal(
        mlflow.pyfunc.load_model(lgb_uri).predict(features), booster.predict(features)
    )
    np.testing.assert_array_equal(
        np.asarray(mlflow.pyfunc.load_model(rule_uri).predict(features)),
        SignOfMomentum().predict(features),
    )
    with (
        pytest.raises(ValueError, match="model must have a predict method, got int"),
        start_run(ExperimentSpec(name="registry-test")),
    ):
        log_model(3, input_example=features.head(3), card={})


def test_promotion_is_gated_and_keeps_exactly_one_champion(store, logged):
    name = "gated"
    v1 = register_model(logged["good"]["run_id"], name, description="baseline", changelog="first")
    v2 = register_model(logged["better"]["run_id"], name, changelog="C=0.1")
    v3 = register_model(logged["weak"]["run_id"], name, changelog="C=10")
    assert (v1, v2, v3) == (1, 2, 3)
    assert [v["stage"] for v in model_versions(name)] == ["development"] * 3

    promote(name, v1, GATES)
    promote(name, v2, GATES, reason="higher hit rate")
    assert champion_version(name) == v2
    stages = {v["version"]: (v["stage"], v["aliases"]) for v in model_versions(name)}
    assert stages == {
        3: ("development", []),
        2: ("production", ["champion"]),
        1: ("archived", []),
    }

    with pytest.raises(PromotionRefused) as refused:
        promote(name, v3, GATES)
    message = str(refused.value)
    assert "deflated_sharpe = 0.9 < min 0.95, short by 0.05" in message
    assert "hit_rate = 0.51 < min 0.54 (the champion's value), short by 0.03" in message
    assert {f["gate"] for f in refused.value.failures} == {"deflated_sharpe", "hit_rate"}
    assert champion_version(name) == v2  # a refusal changes nothing

    # a gate only on the absolute threshold: v3 fails by 0.05 and is named alone
    with pytest.raises(
        PromotionRefused,
        match=r"^promotion of gated v3 to staging refused: "
        r"deflated_sharpe = 0\.9 < min 0\.95, short by 0\.05$",
    ):
        promote(name, v3, {"deflated_sharpe": GateSpec(min=0.95)}, stage="staging")
    with pytest.raises(TrackingError, match="gated v2 is the champion"):
        promote(name, v2, stage="staging")
    promote(name, v3, {"hit_rate": {"max": 0.6}}, stage="staging")
    assert {v["version"]: v["aliases"] for v in model_versions(name)}[3] == ["challenger"]
    with pytest.raises(PromotionRefused, match="sharpe: metric not recorded on the run"):
        promote(name, v3, {"sharpe": {"min": 1.0}})
    with pytest.raises(
        TrackingError, match=r"model 'gated' has no version 9 \(versions: \[1, 2, 3\]\)"
    ):
        promote(name, 9, GATES)


def test_rollback_restores_the_previous_champion_and_records_why(store, logged):
    name = "rollback"
    v1 = register_model(logged["good"]["run_id"], name)
    v2 = register_model(logged["better"]["run_id"], name)
    with pytest.raises(TrackingError, match="has no champion to roll back"):
        rollback(name, "nothing yet")
    promote(name, v1)
    promote(name, v2)
    assert rollback(name, "live hit rate fell to 0.47") == v1
    assert champion_version(name) == v1
    archived = {v["version"]: v["stage"] for v in model_versions(name)}
    assert archived == {1: "production", 2: "archived"}
    tags = client().get_model_version(name, "2").tags
    assert tags["trademl.rollback_reason"] == "live hit rate fell to 0.47"
    history = champion_history(name)
    assert [(e["event"], e["version"], e["previous"]) for e in history] == [
        ("promote", 1, None),
        ("promote", 2, 1),
        ("rollback", 1, 2),
    ]
    assert history[-1]["reason"] == "live hit rate fell to 0.47"
    with pytest.raises(TrackingError, match="no earlier champion to restore than v1"):
        rollback(name, "again")
    with pytest.raises(ValueError, match="rollback needs a reason"):
        rollback(name, " ")


def test_lineage_links_version_run_spec_data_code_and_parent(store, logged, btc_recent):
    name = "lineage"
    register_model(logged["good"]["run_id"], name)
    promote(name, 1)
    v2 = register_model(logged["better"]["run_id"], name, changelog="smaller C")
    chain = lineage(name, v2)
    assert chain["model"]["version"] == 2 and chain["model"]["files_hashed"] >= 5
    assert chain["run"]["run_id"] == logged["better"]["run_id"]
    assert chain["run"]["experiment"] == "registry-test"
    spec_text = mlflow.artifacts.load_text(f"runs:/{chain['run']['run_id']}/spec/experiment.yaml")
    assert chain["spec"]["sha256"] == hashlib.sha256(spec_text.encode()).hexdigest()
    assert yaml.safe_load(spec_text)["seed"] == 3
    assert chain["dataset"]["sha256"] == frame_sha256(btc_recent)
    assert chain["dataset"]["rows"] == "2000" and chain["dataset"]["timeframe"] == "1h"
    assert chain["code"]["seed"] == "3"
    assert chain["code"]["git_commit"] != ""
    assert chain["parents"] == [1]


def _stored_file(name: str, version: int, relative: str) -> Path:
    uri = client().get_model_version_download_uri(name, str(version))
    return Path(urlparse(uri).path) / relative


def test_a_changed_byte_is_refused_naming_the_file(store, btc_xy, btc_recent, btc_1h_path):
    # its own run: the tampered files must not be shared with other tests' versions
    own = _train_and_log(btc_xy, btc_recent, btc_1h_path, hit_rate=0.5, deflated_sharpe=0.99)
    name = "tamper"
    version = register_model(own["run_id"], name)
    promote(name, version)
    features, _ = btc_xy
    assert verify(name, version)["files"] >= 5
    np.testing.assert_array_equal(
        load_model(name).predict(features), own["model"].predict(features)
    )
    pickled = _stored_file(name, version, "model.pkl")
    original = pickled.read_bytes()
    changed = bytearray(original)
    changed[len(changed) // 2] ^= 0x01
    pickled.write_bytes(bytes(changed))
    with pytest.raises(
        IntegrityError, match=r"model tamper v1 failed its integrity check.*model\.pkl: sha256"
    ):
        load_model(name)
    with pytest.raises(IntegrityError) as caught:
        verify(name, version)
    assert list(caught.value.files) == ["model.pkl"]
    # put the byte back: verified again; then an added file is refused too
    pickled.write_bytes(original)
    verify(name, version)
    (pickled.parent / "extra.py").write_text("print('hi')\n")
    with pytest.raises(IntegrityError, match="extra.py: not in the manifest"):
        load_model(name, version=version)


def test_load_model_resolves_alias_and_version_with_clear_errors(store, logged, btc_xy):
    name = "loading"
    register_model(logged["good"]["run_id"], name)
    v2 = register_model(logged["better"]["run_id"], name)
    features, _ = btc_xy
    with pytest.raises(TrackingError, match="no version with alias 'champion'"):
        load_model(name)
    promote(name, v2, stage="staging")
    challenger = load_model(name, alias="challenger")
    np.testing.assert_array_equal(
        challenger.predict(features), logged["better"]["model"].predict(features)
    )
    first = load_model(name, version=1)
    np.testing.assert_array_equal(
        first.predict(features), logged["good"]["model"].predict(features)
    )
    with pytest.raises(TrackingError, match="has no version 7"):
        load_model(name, version=7)
    with pytest.raises(TrackingError, match="run 'nope' not found"):
        register_model("nope", name)
