"""``trademl explain`` on a model registered in a real MLflow SQLite store: the summary, the
files under -o, the MLflow artifacts, the impact rows in the monitoring store that
``monitor check`` alerts on, ``explain_one`` for serving, and bad input named."""

from __future__ import annotations

import json
import math
import shutil
import subprocess

import mlflow
import numpy as np
import pandas as pd
import pytest

import trademl
from trademl.config import load_spec
from trademl.errors import DataError
from trademl.explain import (
    ExplainError,
    explain_one,
    explain_package,
    resolve_target,
    tree_shap,
)
from trademl.monitoring.check import run_check
from trademl.monitoring.store import open_store
from trademl.pipeline import load_frames, run

from ..pipeline.test_pipeline import small_spec


@pytest.fixture(scope="module")
def registered(tmp_path_factory):
    """One tracked run of the small spec (LightGBM on real BTC 1h); its folder holds the store."""
    folder = tmp_path_factory.mktemp("explain")
    spec = small_spec(folder, name="explain-test", tuning={"n_trials": 0})
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        result = run(spec, progress=False)
    return folder, spec, result


@pytest.fixture
def env(registered, monkeypatch):
    folder, spec, result = registered
    monkeypatch.chdir(folder)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", spec["tracking"]["uri"])
    monkeypatch.setenv("TRADEML_EXPLAIN_CACHE", str(folder / "cache"))
    return folder, spec, result


def test_explain_cli_writes_tables_plots_artifacts_and_impact(env, cli, tmp_path):
    folder, spec, result = env
    model = f"{result.model_name}/{result.model_version}"
    out, db = tmp_path / "why", tmp_path / "monitor.db"
    code, stdout, err = cli("explain", "--model", model, "-o", out, "--db", db)
    assert code == 0, err
    assert "top 10 features by mean |SHAP|" in stdout and "surrogate tree (depth 3)" in stdout
    assert "lightgbm.pred_contrib" in stdout and "logged to runs:/" in stdout
    names = {p.name for p in out.iterdir()}
    assert {"importance.csv", "shap_values.csv", "impact.csv", "lime.csv", "local.csv",
            "interactions.csv", "surrogate_rules.txt", "summary.json", "beeswarm.png",
            "waterfall.png", "impact_over_time.png"} == names  # fmt: skip
    for png in ("beeswarm.png", "waterfall.png", "impact_over_time.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    importance = pd.read_csv(out / "importance.csv")
    assert list(importance.columns) == ["feature", "mean_abs_shap", "share", "reference_share"]
    assert importance["share"].sum() == pytest.approx(1.0)
    assert importance["feature"].iloc[0] in stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] == model and 0.5 <= summary["surrogate"]["fidelity"] <= 1.0
    # the holdout is what is explained: every SHAP row is on or after the cut
    shap_rows = pd.read_csv(out / "shap_values.csv", index_col="timestamp", parse_dates=True)
    package = trademl.load_model(model)
    assert shap_rows.index.min() >= pd.Timestamp(package.trained_until)
    # every holdout prediction is explained (and the last bars, whose labels are not known yet)
    assert result.predictions.index.isin(shap_rows.index).all()
    assert len(shap_rows) == len(result.predictions) + spec["labels"]["horizon"]

    client = mlflow.MlflowClient(tracking_uri=spec["tracking"]["uri"])
    logged = {a.path for a in client.list_artifacts(result.run_id, "explain")}
    assert {"explain/importance.parquet", "explain/beeswarm.png", "explain/impact.parquet",
            "explain/waterfall.png", "explain/impact_over_time.png"} <= logged  # fmt: skip
    assert "explain_surrogate_fidelity" in client.get_run(result.run_id).data.metrics

    store = open_store(db)
    stored = store.feature_impact(result.model_name, version=str(result.model_version))
    impact = pd.read_csv(out / "impact.csv")
    assert len(stored) == len(impact) > 0 and set(stored["source"]) == {"holdout"}

    # a second run: the output is refused, nothing is touched; --force replaces it; the
    # store rows are replaced, not duplicated; SHAP values come from the cache
    before = (out / "importance.csv").read_bytes()
    code, _, err = cli("explain", "--model", model, "-o", out, "--db", db, "--no-log")
    assert code == 2 and "--force" in err and (out / "importance.csv").read_bytes() == before
    code, stdout, err = cli("explain", "--model", model, "-o", out, "--db", db, "--no-log",
                            "--force")  # fmt: skip
    assert code == 0, err
    assert "(from cache)" in stdout
    assert len(store.feature_impact(result.model_name)) == len(stored)


def test_explain_bad_input_is_named(env, cli):
    folder, spec, result = env
    model = f"{result.model_name}/{result.model_version}"
    code, _, err = cli("explain", "--model", model, "--at", "2019-05-01", "--no-log",
                       "--no-store")  # fmt: skip
    assert code == 2 and "--at 2019-05-01: outside the explained data of BTCUSDT" in err
    code, _, err = cli("explain", "--model", model, "--background", "5", "--no-log", "--no-store")
    assert code == 2 and "background sample" in err and "5" in err
    code, _, err = cli("explain", "--model", "no-such-model@champion", "--no-log")
    assert code == 2 and "no-such-model" in err


def test_explain_at_a_timestamp_and_unsupported_kind(env):
    folder, spec, result = env
    package = trademl.load_model(f"{result.model_name}/{result.model_version}")
    frames = load_frames(load_spec(spec))
    at = "2026-05-20 13:30"
    explanation = explain_package(package, frames, model_id="t/1", at=at, interactions=False)
    assert explanation.at == pd.Timestamp("2026-05-20 13:00", tz="UTC")  # the bar at or before
    row = explanation.local.set_index("feature")
    margin = explanation.local_base + row["shap"].sum()
    X = package.features_frame(frames["BTCUSDT"], "BTCUSDT").loc[[explanation.at]]
    p_up = package.score_rows(X)["proba"].iloc[0]
    assert 1 / (1 + math.exp(-margin)) == pytest.approx(p_up, abs=1e-9)

    class Opaque:  # a fitted thing with no predict: no explainer can take it
        classes_ = np.array([-1, 1])

    package.estimators = {"pooled": Opaque()}
    with pytest.raises(ExplainError, match="model kind 'Opaque'.*no explainer supports it"):
        explain_package(package, frames, model_id="t/opaque")


def test_explain_one_for_serving(env):
    folder, spec, result = env
    package = trademl.load_model(f"{result.model_name}/{result.model_version}")
    X = package.features_frame(load_frames(load_spec(spec))["BTCUSDT"], "BTCUSDT").dropna()
    row = X.iloc[-1].to_dict()
    # the fast path scores exactly like the package, row by row
    scored_all = package.score_rows(X.iloc[-200:])
    for (_, features), expected in zip(
        X.iloc[-200:].iterrows(), scored_all.itertuples(), strict=True
    ):
        got = explain_one(package, features)
        assert (got["prediction"], got["signal"]) == (expected.y_pred, expected.signal)
        assert got["proba"] == pytest.approx(expected.proba, abs=1e-12)
    answer = explain_one(package, row)
    scored = package.score_rows(X.iloc[[-1]]).iloc[0]
    assert answer["prediction"] == scored["y_pred"] and answer["signal"] == scored["signal"]
    assert answer["output"] == "log_odds" and answer["method"] == "lightgbm.pred_contrib"
    total = answer["base_value"] + sum(answer["contributions"].values())
    assert total == pytest.approx(answer["output_value"])
    assert 1 / (1 + math.exp(-total)) == pytest.approx(answer["proba"], abs=1e-9)
    magnitudes = [abs(v) for v in answer["contributions"].values()]
    assert magnitudes == sorted(magnitudes, reverse=True) and len(magnitudes) == X.shape[1]
    assert len(explain_one(package, row, top=3)["contributions"]) == 3
    latencies = sorted(explain_one(package, row)["latency_ms"] for _ in range(50))
    assert latencies[len(latencies) // 2] < 50  # generous for a shared CI machine
    missing = dict(row)
    missing.pop(X.columns[0])
    with pytest.raises(DataError, match=f"missing feature.*{X.columns[0]}"):
        explain_one(package, missing)
    with pytest.raises(DataError, match="not numbers"):
        explain_one(package, {**row, X.columns[1]: "high"})


def test_served_impact_drift_raises_a_monitor_alert(env, cli, tmp_path):
    """Served predictions whose features lean on one indicator shift the impact shares;
    ``explain --served`` stores the flag and ``monitor check`` turns it into an alert."""
    folder, spec, result = env
    name, version = result.model_name, str(result.model_version)
    package = trademl.load_model(f"{name}/{version}")
    X = package.features_frame(load_frames(load_spec(spec))["BTCUSDT"], "BTCUSDT").dropna()
    served = X.loc[X.index >= pd.Timestamp(package.trained_until)].copy()
    # a stuck feed: the model's strongest feature frozen at the training value where it
    # pushed the model hardest, so its share of the impact grows
    target = resolve_target(package._estimator(None), package.task)
    training = X.loc[X.index < pd.Timestamp(package.trained_until)]
    contributions = tree_shap(target, training)
    strongest = contributions.global_importance().index[0]
    served[strongest] = training[strongest].iloc[contributions.values[strongest].abs().argmax()]
    scored = package.score_rows(served)
    db = tmp_path / "served.db"
    store = open_store(db)
    store.log_predictions(
        pd.DataFrame({"prediction": scored["y_pred"], "proba": scored["proba"],
                      "symbol": "BTCUSDT"}, index=served.index),
        model=name, version=version, features=served,
    )  # fmt: skip
    code, stdout, err = cli("explain", "--model", f"{name}/{version}", "--db", db, "--served",
                            "--threshold", "0.05", "--no-log")  # fmt: skip
    assert code == 0, err
    assert "served" in stdout
    impact = store.feature_impact(name, version=version, source="served")
    assert impact["drifted"].any()
    assert strongest in set(impact.loc[impact["drifted"], "feature"])
    check = run_check(store, name, version=version, since="3650d",
                      now=served.index[-1].to_pydatetime())  # fmt: skip
    assert check.facts["impact.n_drifted"] >= 1
    assert any(a.get("rule") == "feature_impact_drift" for a in check.alerts), check.alerts
    assert "feature_impact_drift" in set(store.alerts(model=name)["rule"])


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update",
        f"--user-data-dir={tmp_path / 'chromium-profile'}", "--virtual-time-budget=5000", *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.server
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make install adds it)")
def test_report_gains_the_explanation_page(env, cli, tmp_path):
    from matplotlib.image import imread

    from trademl.explain.report_page import load_page, render_section

    folder, spec, result = env
    model = f"{result.model_name}/{result.model_version}"
    out = tmp_path / "why"
    code, _, err = cli("explain", "--model", model, "-o", out, "--no-store")  # logs explain/
    assert code == 0, err
    page = tmp_path / "report.html"
    code, stdout, err = cli("report", "--run-id", result.run_id, "-o", page, "--mc-paths", "100")
    assert code == 0, err
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = dom.stdout
    top = pd.read_csv(out / "importance.csv")["feature"].iloc[0]
    assert '<h2 id="explanation">Explanation</h2>' in text and top in text
    for plot in ("beeswarm", "waterfall", "impact_over_time"):
        assert f'alt="{plot}" src="data:image/png;base64,' in text
    assert "surrogate tree agreement" in text and "|---" in text  # fidelity and rules
    # the same page from the -o folder, drawn by the browser: SHAP's red and blue dots
    alone = tmp_path / "section.html"
    alone.write_text(f"<html><body>{render_section(load_page(out))}</body></html>")
    shot = tmp_path / "section.png"
    done = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1000,1400", alone.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    pixels = (imread(shot)[..., :3] * 255).round().astype(int)
    for colour in ((0xFF, 0x00, 0x52), (0x00, 0x8B, 0xFB)):  # shap's red and blue
        assert np.all(np.abs(pixels - np.array(colour)) <= 12, axis=-1).sum() > 100


def test_model_agnostic_path_end_to_end(env, cli, tmp_path):
    """--method permutation: the same files, SHAP of P(up) that adds up to the package's P(up)."""
    folder, spec, result = env
    model = f"{result.model_name}/{result.model_version}"
    out = tmp_path / "agnostic"
    code, stdout, err = cli("explain", "--model", model, "--method", "permutation", "--rows", "12",
                            "--background", "40", "-o", out, "--no-log", "--no-store")  # fmt: skip
    assert code == 0, err
    assert "shap.PermutationExplainer (P(up))" in stdout
    values = pd.read_csv(out / "shap_values.csv", index_col="timestamp", parse_dates=True)
    assert len(values) == 12
    package = trademl.load_model(model)
    X = package.features_frame(load_frames(load_spec(spec))["BTCUSDT"], "BTCUSDT")
    p_up = package.score_rows(X.loc[values.index])["proba"].to_numpy()
    np.testing.assert_allclose(values.sum(axis=1).to_numpy(), p_up, atol=1e-9)
