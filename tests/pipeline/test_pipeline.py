"""End to end on a small slice of the bundled real BTC/USDT (and ETH/USDT) 1h sample."""

from __future__ import annotations

import math
import time

import mlflow
import pandas as pd
import pytest
import yaml

from trademl.config import load_spec
from trademl.errors import DataError, SpecError
from trademl.pipeline import run, summary_table


@pytest.fixture(scope="module")
def tracking_dir(tmp_path_factory):
    """One MLflow store for the module: creating its tables is the slowest part of a run."""
    return tmp_path_factory.mktemp("tracking")


def small_spec(tmp_path, tracking_root=None, **overrides) -> dict:
    tracking_root = tracking_root or tmp_path
    spec = {
        "name": "pipeline-test",
        "seed": 11,
        "data": {"sample": "BTCUSDT-1h", "start": "2026-01-15"},
        "features": {"categories": ["momentum"]},
        "labels": {"kind": "direction", "horizon": 4},
        "validation": {"n_splits": 3, "holdout_fraction": 0.25},
        "model": {"kind": "lightgbm", "params": {"n_estimators": 25}, "early_stopping_rounds": 5},
        "tuning": {"n_trials": 3, "storage": f"sqlite:///{tmp_path / 'optuna.db'}"},
        "tracking": {
            "uri": f"sqlite:///{tracking_root / 'mlruns.db'}",
            "artifact_root": str(tracking_root / "mlartifacts"),
        },
    }
    for key, value in overrides.items():
        spec[key] = value if not isinstance(value, dict) else {**spec.get(key, {}), **value}
    return spec


def test_end_to_end_tracked_run(tmp_path, monkeypatch, tracking_dir):
    monkeypatch.chdir(tmp_path)
    spec = small_spec(
        tmp_path,
        tracking_dir,
        name="pipeline-e2e",
        tracking={"gates": {"oos_sharpe": {"min": 100.0}}},
        tuning={"n_trials": 3},
    )
    result = run(spec, progress=False)

    assert result.run_id and result.model_version == 1
    for key in ("oos_accuracy", "oos_ic", "oos_sharpe", "deflated_sharpe", "n_trials"):
        assert key in result.metrics and math.isfinite(result.metrics[key])
    assert 0.0 <= result.metrics["deflated_sharpe"] <= 1.0
    assert result.metrics["n_trials"] == result.tuning.n_complete + result.tuning.n_pruned
    # the gate is out of reach, so the version stays where it is and the reason is named
    assert result.promoted is False and "oos_sharpe" in result.promotion

    client = mlflow.MlflowClient(tracking_uri=spec["tracking"]["uri"])
    parent = client.get_run(result.run_id)
    assert float(parent.data.metrics["oos_sharpe"]) == pytest.approx(result.metrics["oos_sharpe"])
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{result.run_id}'"
    )
    assert len(children) == result.tuning.n_trials == 3
    names = {a.path for a in client.list_artifacts(result.run_id, "tuning")}
    assert "tuning/optimization_history.png" in names

    # the OOS predictions artifact follows the contract exactly
    local = client.download_artifacts(result.run_id, "predictions/oos.parquet", str(tmp_path))
    oos = pd.read_parquet(local)
    assert list(oos.columns) == [
        "symbol", "close", "y_true", "y_pred", "proba", "signal", "forward_return"
    ]  # fmt: skip
    assert oos.index.name == "timestamp" and str(oos.index.tz) == "UTC"
    assert set(oos["signal"].unique()) <= {-1, 0, 1}
    assert oos["proba"].between(0, 1).all() and (oos["symbol"] == "BTCUSDT").all()
    # the holdout comes after every development label ends
    assert oos.index.min() == pd.Timestamp(parent.data.params["holdout_start"])
    pd.testing.assert_frame_equal(oos, result.predictions, check_dtype=False)

    table = summary_table(result)
    assert table.row_count > 8


def test_same_spec_and_seed_give_identical_metrics(tmp_path, monkeypatch):
    results = []
    for name in ("a", "b"):
        where = tmp_path / name
        where.mkdir()
        monkeypatch.chdir(where)
        spec = small_spec(where, tracking={"enabled": False}, tuning={"n_trials": 3})
        results.append(run(spec, progress=False))
    assert results[0].metrics == results[1].metrics
    assert results[0].best_params == results[1].best_params
    pd.testing.assert_frame_equal(results[0].predictions, results[1].predictions)


def test_multi_symbol_pooled_and_per_symbol(tmp_path, monkeypatch, shared_data):
    monkeypatch.chdir(tmp_path)
    files = {
        "BTC": str(shared_data / "BTCUSDT_1h_2017-2026.csv.gz"),
        "ETH": str(shared_data / "binance_1h" / "ETHUSDT_1h_2017-2022.csv.gz"),
    }
    data = {"sample": None, "symbols": files, "start": "2022-06-01", "end": "2022-08-20"}
    common = {"tracking": {"enabled": False}, "tuning": {"n_trials": 0}, "data": data}
    pooled = run(small_spec(tmp_path, **common), progress=False)
    assert set(pooled.predictions["symbol"]) == {"BTC", "ETH"}
    assert {"symbol=BTC", "symbol=ETH"} <= set(pooled.models["pooled"].feature_names_in_)
    per_symbol = run(
        small_spec(tmp_path, **common, model={"multi_symbol": "per_symbol"}), progress=False
    )
    assert set(per_symbol.models) == {"BTC", "ETH"}
    assert not any(c.startswith("symbol=") for c in per_symbol.models["BTC"].feature_names_in_)
    # per timestamp, one row per symbol in the holdout
    assert not per_symbol.predictions.reset_index().duplicated(["timestamp", "symbol"]).any()


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"model": {"kind": "catboost"}}, SpecError, "model.kind: unknown model kind"),
        (
            {"labels": {"horizon": 5000}},
            SpecError,
            "labels.horizon=5000 bars is longer than the data",
        ),
        (
            {"data": {"start": "2030-01-01"}},
            DataError,
            "no BTCUSDT candles between data.start=2030-01-01",
        ),
        (
            {
                "tuning": {"sampler": "grid"},
                "model": {
                    "search_space": {"learning_rate": {"type": "float", "low": 0.01, "high": 0.1}}
                },
            },
            SpecError,
            "the grid sampler needs a step",
        ),
        (
            {
                "model": {
                    "search_space": {
                        "learning_rate": {"type": "float", "low": -1, "high": 0.1, "log": True}
                    }
                }
            },
            SpecError,
            "log scale needs low > 0",
        ),
        (
            {"tracking": {"gates": {"sharp": {"min": 1}}}},
            SpecError,
            "tracking.gates: unknown metric(s) ['sharp']",
        ),
        ({"labels": {"kind": "forward_return"}}, SpecError, "set model.task: regression"),
        ({"tuning": {"metric": "rmse"}}, SpecError, "'rmse' needs a regression target"),
        (
            {"validation": {"holdout_fraction": None, "holdout_start": "2030-01-01"}},
            SpecError,
            "validation.holdout_start=2030-01-01 00:00 is outside the data: BTCUSDT covers",
        ),
    ],
)
def test_bad_specs_fail_before_any_work(tmp_path, monkeypatch, overrides, error, message):
    monkeypatch.chdir(tmp_path)
    started = time.perf_counter()
    with pytest.raises(error) as info:
        run(small_spec(tmp_path, **overrides), progress=False)
    assert message in str(info.value)
    assert time.perf_counter() - started < 30
    # nothing was tracked or tuned
    assert not (tmp_path / "mlruns.db").exists() and not (tmp_path / "optuna.db").exists()


def test_cli_run_prints_summary_and_bad_spec_is_one_red_line(
    tmp_path, monkeypatch, cli, tracking_dir
):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "spec.yaml"
    spec = small_spec(tmp_path, tracking_dir, name="pipeline-cli", tuning={"n_trials": 0})
    path.write_text(yaml.safe_dump(spec))
    code, out, err = cli("run", path, "--no-progress")
    assert code == 0, err
    assert "run id" in out and "oos_sharpe" in out
    # the honest summary: the same rows held long, the excess over it, exposure and trades
    for item in ("oos_buy_hold_sharpe", "oos_excess_sharpe", "oos_time_in_market", "oos_n_trades"):
        assert item in out

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(small_spec(tmp_path, model={"params": {"max_depth": "deep"}})))
    code, out, err = cli("run", bad)
    assert code == 2
    assert 'model.params.max_depth: expected int, got "deep"' in err
    assert "Traceback" not in err

    code, out, err = cli("run", path, "--trials", "-1")
    assert code == 2 and "tuning.n_trials" in err


def test_models_cards_command(capsys):
    import typer
    from typer.testing import CliRunner

    from trademl.cli.run import models_cards

    app = typer.Typer()
    app.command("cards")(models_cards)
    app.command("noop")(lambda: None)  # a group of two, as under `trademl models`
    runner = CliRunner()
    result = runner.invoke(app, ["cards", "--regime", "trending"])
    assert result.exit_code == 0
    assert "lightgbm" in result.output and "extra_trees" not in result.output
    result = runner.invoke(app, ["cards", "--kind", "ridge"])
    assert '"kind": "ridge"' in result.output


def test_example_specs_are_valid():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "examples"
    for name in ("btc_1h_lightgbm.yaml", "btc_1h_full_100_trials.yaml"):
        spec = load_spec(root / name)
        assert spec.tuning.n_trials > 0
    assert load_spec(root / "btc_1h_full_100_trials.yaml").tuning.n_trials == 100


def test_study_name_ignores_trial_count_and_follows_the_experiment():
    from trademl.pipeline import study_name as _study_name

    base = _study_name(load_spec({"name": "x"}))
    assert base.startswith("x-")
    assert _study_name(load_spec({"name": "x", "tuning": {"n_trials": 500, "n_jobs": 2}})) == base
    assert _study_name(load_spec({"name": "x", "model": {"kind": "xgboost"}})) != base
    assert _study_name(load_spec({"name": "x", "labels": {"horizon": 6}})) != base
    assert _study_name(load_spec({"tuning": {"study_name": "mine"}})) == "mine"


def test_registered_version_hands_its_reference_to_the_monitor(tmp_path, tracking_dir):
    from trademl.monitoring import open_store

    db = tmp_path / "monitor.db"
    spec = small_spec(
        tmp_path,
        tracking_dir,
        name="pipeline-monitor",
        monitoring={"db_url": f"sqlite:///{db}", "register_reference": True},
        tuning={"n_trials": 2},
    )
    result = run(spec, progress=False)

    store = open_store(f"sqlite:///{db}")
    try:
        version = str(result.model_version)
        features = store.load_profile(model="pipeline-monitor", version=version)
        assert features is not None
        # the profile describes exactly the features the model was trained on
        trained_on = result.models["pooled"].feature_names_in_
        assert sorted(features["features"]) == sorted(trained_on)
        for kind in ("predictions", "labels"):
            assert store.load_profile(model="pipeline-monitor", version=version, kind=kind)
    finally:
        store.close()


def test_holdout_from_a_date(tmp_path, tracking_dir):
    spec = small_spec(
        tmp_path,
        tracking_dir,
        name="pipeline-holdout-date",
        validation={"holdout_fraction": None, "holdout_start": "2026-05-20"},
        tuning={"n_trials": 2},
    )
    result = run(spec, progress=False)
    # the holdout is exactly the bars from that date on; tuning never saw them
    assert result.predictions.index.min() == pd.Timestamp("2026-05-20", tz="UTC")
    assert result.predictions.index.max() < pd.Timestamp("2026-06-21", tz="UTC")


def test_holdout_fraction_and_start_are_exclusive():
    with pytest.raises(SpecError, match="set holdout_fraction or holdout_start, not both"):
        load_spec({"validation": {"holdout_fraction": 0.2, "holdout_start": "2026-05-20"}})
