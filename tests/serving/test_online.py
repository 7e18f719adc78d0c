"""Online features equal batch features: real BTC/USDT 1h bars streamed one at a time give the
values ``recipe.transform`` computes on the same history, and the in-process predictor's
probabilities equal ``ModelPackage.predict_frame``. Rejected bars change nothing."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from trademl.datasets import load_sample
from trademl.errors import DataError
from trademl.features import generate_features, registry
from trademl.features._generate import load_feature_spec, make_plan
from trademl.models.factory import build_model
from trademl.package.model import POOLED, ModelPackage
from trademl.package.recipe import FeatureRecipe
from trademl.serving import BarRejected, OnlineFeatures, Predictor, UnservableFeatures
from trademl.serving.online import unservable_features

ROOT = Path(__file__).resolve().parents[2]
WARM = 3000
STREAM = 5000
HORIZON = 12
SYMBOL = "BTCUSDT"


def _recipe(candles: pd.DataFrame, spec: dict, dtype: str = "float64") -> FeatureRecipe:
    """Every column the spec computes, minus the ones that cannot be served."""
    columns = list(generate_features(candles.iloc[:500], {**spec, "on_short": "nan"}).columns)
    everything = FeatureRecipe(feature_spec=spec, columns=columns, symbols=[SYMBOL], dtype=dtype)
    unservable = unservable_features(everything)
    kept = [c for c in columns if c not in unservable]
    return FeatureRecipe(feature_spec=spec, columns=kept, symbols=[SYMBOL], dtype=dtype)


def _package(recipe: FeatureRecipe, train: pd.DataFrame) -> ModelPackage:
    """A real LightGBM direction model fitted on bars before the stream."""
    X = recipe.transform(train, SYMBOL)
    future = train["close"].shift(-HORIZON)
    rows = X.notna().all(axis=1) & future.notna()
    y = (future > train["close"]).astype(int)[rows]
    model = build_model(
        {"kind": "lightgbm", "params": {"n_estimators": 60, "max_bin": 63}}, "classification"
    ).fit(X[rows], y)
    return ModelPackage(
        recipe=recipe,
        estimators={POOLED: model},
        task="classification",
        label={"kind": "direction", "horizon": HORIZON},
        timeframe="1h",
        backtest={"execution_lag": 1, "threshold": 0.0, "allow_short": True},
        name="online-test",
    )


def _stream(predictor: Predictor, candles: pd.DataFrame) -> tuple[list[dict], np.ndarray]:
    state = predictor.state(SYMBOL)
    answers, rows = [], []
    for stamp, bar in zip(candles.index, candles.to_dict("records"), strict=True):
        answers.append(predictor.on_bar(SYMBOL, bar, stamp))
        rows.append(state.last_row)
    return answers, np.vstack(rows)


@pytest.fixture(scope="module")
def candles() -> pd.DataFrame:
    return load_sample("BTCUSDT-1h").iloc[: WARM + STREAM]


@pytest.fixture(scope="module")
def default_stream(candles):
    """The default feature set: warm up on 3,000 real bars, stream the next 5,000, computing
    every column (the rows), and as the service does, only the columns the model reads."""
    recipe = _recipe(candles, {})
    package = _package(recipe, candles.iloc[:WARM])
    predictor = Predictor(package, all_features=True)
    predictor.warm_up(SYMBOL, candles.iloc[:WARM])
    every, rows = _stream(predictor, candles.iloc[WARM:])
    served = Predictor(package)
    served.warm_up(SYMBOL, candles.iloc[:WARM])
    answers, read_rows = _stream(served, candles.iloc[WARM:])
    return package, answers, rows, every, read_rows


def _owners(spec: dict) -> dict:
    plan, _ = make_plan(load_feature_spec(spec), {"open", "high", "low", "close", "volume"})
    return plan.owners(load_feature_spec(spec))


def _compare(columns, online, batch, owners, float32=False):
    """Exact features bit-identical; tail features within their declared tolerance of the
    column's size (the larger of |batch| and the column's median |value|: a value near 0 of
    a column of returns carries the rounding of the returns' scale, not its own)."""
    exact = 0
    for j, column in enumerate(columns):
        got, want = online[:, j], batch[:, j]
        assert np.array_equal(np.isnan(got), np.isnan(want)), f"{column}: NaN where batch is not"
        declared = owners[column].online
        if declared.mode == "exact":
            np.testing.assert_array_equal(got, want, err_msg=column)
            exact += 1
            continue
        scale = np.nanmedian(np.abs(want))
        with np.errstate(invalid="ignore"):
            relative = np.abs(got - want) / np.maximum(np.abs(want), scale)
        # a float32 recipe rounds both sides to float32: they may land one ulp apart
        tolerance = max(declared.tolerance, np.finfo(np.float32).eps if float32 else 0.0)
        worst = np.nanmax(relative) if np.isfinite(relative).any() else 0.0
        assert worst <= tolerance, f"{column}: {worst:.2e} relative > {tolerance:.0e}"
    return exact


def test_default_set_streams_like_batch(candles, default_stream):
    package, _, online, _, _ = default_stream
    columns = package.recipe.columns
    batch = package.recipe.transform(candles, SYMBOL).iloc[WARM:][columns].to_numpy()
    assert online.shape == (STREAM, len(columns)) and len(columns) > 250
    # past the warm-up every streamed value is real: a comparison of NaNs proves nothing
    assert np.isfinite(online[-STREAM + 300 :]).mean() > 0.99
    exact = _compare(columns, online, batch, _owners({}))
    assert exact >= 200  # TA-Lib handles, carried states, exact windows: bit-identical


def test_predictor_proba_equals_predict_frame(candles, default_stream):
    package, answers, _, _, _ = default_stream
    reference = package.predict_frame(candles).loc[candles.index[WARM:]]
    got = pd.DataFrame(answers).set_index("timestamp")
    assert got["ready"].all() and len(got) == STREAM == len(reference)
    np.testing.assert_allclose(got["proba"], reference["proba"], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(got["prediction"], reference["y_pred"])
    np.testing.assert_array_equal(got["signal"], reference["signal"])
    assert 0.05 < (got["signal"] > 0).mean() < 0.95  # a real model, not a constant


def test_the_service_computes_only_the_columns_the_model_reads(candles, default_stream):
    package, answers, rows, every, read_rows = default_stream
    read = package.columns_read(SYMBOL)
    columns = package.recipe.columns
    booster = package.estimators[POOLED].estimator_.booster_
    splits = booster.feature_importance("split", iteration=0)
    splits = dict(zip(booster.feature_name(), splits, strict=True))
    assert read == [c for c in columns if splits[c] > 0] and 10 < len(read) < len(columns)
    # the columns read are the full state's, to the bit; the rest are never computed
    at = [columns.index(c) for c in read]
    np.testing.assert_array_equal(read_rows[:, at], rows[:, at])
    unread = np.setdiff1d(np.arange(len(columns)), at)
    assert np.isnan(read_rows[:, unread]).all()
    # and the answers are the same, bit for bit, as computing every column
    assert answers == every


def test_a_model_reading_few_columns_answers_from_the_same_bar_as_batch(candles):
    """From a cold start, a bar is answered once every column of the recipe is past its
    warm-up, read or not: the batch path scores no bar before that either."""
    recipe = _recipe(candles, {"indicators": ["rsi", "ema", "hurst"]})
    train = candles.iloc[:2000]
    X = recipe.transform(train, SYMBOL).assign(hurst_100=0.0, hurst_250=0.0)  # never split on
    up = (train["close"].shift(-HORIZON) > train["close"]).astype(int)
    rows = X.notna().all(axis=1) & train["close"].shift(-HORIZON).notna()
    model = build_model({"kind": "lightgbm", "params": {"n_estimators": 40}}, "classification")
    package = ModelPackage(
        recipe=recipe, estimators={POOLED: model.fit(X[rows], up[rows])}, task="classification",
        label={"kind": "direction", "horizon": HORIZON}, timeframe="1h",
        backtest={"execution_lag": 1, "threshold": 0.0}, name="reads-few",
    )  # fmt: skip
    read = package.columns_read(SYMBOL)
    assert read is not None and not any(c.startswith("hurst") for c in read)
    history = candles.iloc[2000:2400]
    served = Predictor(package)
    answers = [served.on_bar(SYMBOL, bar, stamp) for stamp, bar in
               zip(history.index, history.to_dict("records"), strict=True)]  # fmt: skip
    got = pd.DataFrame(answers).set_index("timestamp")
    reference = package.predict_frame(history)
    assert list(got.index[got["ready"]]) == list(reference.index)
    np.testing.assert_allclose(got.loc[got["ready"], "proba"], reference["proba"], atol=1e-9)
    assert not served.state(SYMBOL).computes_all


def test_demo_spec_features_stream_like_batch(candles):
    spec = yaml.safe_load((ROOT / "examples" / "btc_1h_lightgbm.yaml").read_text())["features"]
    recipe = _recipe(candles, spec, dtype="float32")
    assert any(c.startswith("garch") for c in generate_features(candles.iloc[:50], {
        **spec, "on_short": "nan"}).columns)  # fmt: skip
    assert not any(c.startswith("garch") for c in recipe.columns)
    history = candles.iloc[:3500]
    state = OnlineFeatures(recipe, SYMBOL, bar_delta="1h")
    state.warm_up(history.iloc[:2500])
    rows = [state.update(bar, stamp) for stamp, bar in
            zip(history.index[2500:], history.iloc[2500:].to_dict("records"), strict=True)]  # fmt: skip
    assert np.vstack(rows).dtype == np.float32
    batch = recipe.transform(history, SYMBOL).iloc[2500:].to_numpy()
    _compare(recipe.columns, np.vstack(rows), batch, _owners(spec), float32=True)


def test_lag_columns_stream_exactly(candles):
    spec = {"indicators": ["rsi", "ema"], "lags": {"rsi_14": [1, 3], "ema_20_dist": [2]}}
    recipe = _recipe(candles, spec)
    assert "rsi_14_lag3" in recipe.columns and "ema_20_dist_lag2" in recipe.columns
    history = candles.iloc[:800]
    state = OnlineFeatures(recipe, SYMBOL)
    state.warm_up(history.iloc[:600])
    rows = [state.update(bar, stamp) for stamp, bar in
            zip(history.index[600:], history.iloc[600:].to_dict("records"), strict=True)]  # fmt: skip
    batch = recipe.transform(history, SYMBOL).iloc[600:].to_numpy()
    np.testing.assert_array_equal(np.vstack(rows), batch)


def test_a_cold_start_warms_up_bar_by_bar(candles):
    """No history: the state fills from the first bar and is ready after the longest warm-up."""
    recipe = _recipe(candles, {"indicators": ["macd", "swing", "vpt", "keltner", "donchian"]})
    history = candles.iloc[:300]
    state = OnlineFeatures(recipe, SYMBOL, bar_delta="1h")
    rows = []
    for stamp, bar in zip(history.index, history.to_dict("records"), strict=True):
        rows.append(state.update(bar, stamp))
    assert state.ready and state.bars_seen == 300
    batch = recipe.transform(history, SYMBOL).to_numpy()
    np.testing.assert_array_equal(np.vstack(rows), batch)


def test_rejected_bars_leave_state_unchanged(candles):
    recipe = _recipe(candles, {"indicators": ["rsi", "retstd", "vpt", "swing", "bbands"]})
    state = OnlineFeatures(recipe, SYMBOL)
    state.warm_up(candles.iloc[:500])
    before = copy.deepcopy(state)  # TA-Lib handles copy themselves
    last = candles.index[499]
    good = candles.iloc[500].to_dict()
    stamp = candles.index[500]
    bad = [
        (good, last, "timestamp", "duplicate"),
        (good, last - pd.Timedelta("1h"), "timestamp", "out_of_order"),
        (good, stamp + pd.Timedelta("2h"), "timestamp", "gap"),
        ({**good, "close": float("nan")}, stamp, "close", "not_finite"),
        ({**good, "volume": float("inf")}, stamp, "volume", "not_finite"),
        ({k: v for k, v in good.items() if k != "volume"}, stamp, "volume", "missing"),
        ({**good, "open": "12.5"}, stamp, "open", "not_numeric"),
        ({**good, "high": good["low"] - 1.0}, stamp, "high", "inconsistent"),
        ({**good, "close": -1.0}, stamp, "close", "inconsistent"),
        (good, "not a time", "timestamp", "not_numeric"),
    ]
    for bar, when, field, reason in bad:
        with pytest.raises(BarRejected) as info:
            state.update(bar, when)
        assert (info.value.field, info.value.reason) == (field, reason), str(info.value)
        assert isinstance(info.value, DataError) and field in str(info.value)
    with pytest.raises(BarRejected, match="not closed yet") as info:
        state.update(good, stamp, now=stamp + pd.Timedelta("59min"))
    assert state.last_timestamp == last and state.bars_seen == before.bars_seen
    # the next good bar gives exactly what it gives on a state that never saw the bad ones
    np.testing.assert_array_equal(state.update(good, stamp), before.update(good, stamp))
    nxt = candles.iloc[501].to_dict()
    np.testing.assert_array_equal(
        state.update(nxt, candles.index[501]), before.update(nxt, candles.index[501])
    )


def test_unservable_features_are_refused_unless_allowed(candles):
    spec = {"indicators": ["rsi", {"name": "garch", "params": {"window": 100, "refit": 60}}]}
    columns = list(generate_features(candles.iloc[:400], spec).columns)
    recipe = FeatureRecipe(feature_spec=spec, columns=columns, symbols=[SYMBOL])
    assert list(unservable_features(recipe)) == ["garch_100_60"]
    history = candles.iloc[:330]
    package = _package(recipe, candles.iloc[:300])
    with pytest.raises(UnservableFeatures, match="garch_100_60") as info:
        Predictor(package)
    assert "refitted" in info.value.features["garch_100_60"]
    with pytest.raises(UnservableFeatures, match="garch_100_60"):
        OnlineFeatures(recipe, SYMBOL)
    # allowed: recomputed on the whole history kept since the warm-up, so still batch-equal
    predictor = Predictor(package, allow_unservable=True, all_features=True)
    predictor.warm_up(SYMBOL, history.iloc[:300])
    answers, rows = _stream(predictor, history.iloc[300:])
    batch = recipe.transform(history, SYMBOL).iloc[300:].to_numpy()
    np.testing.assert_array_equal(rows, batch)
    reference = package.predict_frame(history).loc[history.index[300:]]
    np.testing.assert_allclose([a["proba"] for a in answers], reference["proba"], atol=1e-9)


def test_every_feature_says_how_it_is_served():
    for name, feat in registry().items():
        online = feat.online
        assert online.mode in ("exact", "tail", "none"), name
        if online.mode == "none":
            assert online.reason, f"{name}: not servable without a reason"
        elif online.state is None:
            assert online.tail is not None, f"{name}: neither a state nor a tail"
        if online.mode == "tail":
            assert 0 < online.tolerance <= 1e-8 and online.reason, name
    assert registry()["garch"].online.mode == "none"
    assert registry()["xcorr"].online.mode == "none"
    assert registry()["ofi"].online.mode == "none"


def test_predict_rows_checks_the_signature(candles):
    recipe = _recipe(candles, {"indicators": ["rsi", "atr", "bbands"]})
    package = _package(recipe, candles.iloc[:1500])
    predictor = Predictor(package)
    X = recipe.transform(candles.iloc[:1500], SYMBOL).dropna().iloc[-50:]
    scored = predictor.predict_rows(X.assign(extra=1.0))
    pd.testing.assert_frame_equal(scored, package.score_rows(X, SYMBOL))
    with pytest.raises(DataError, match="missing feature column.*rsi_7"):
        predictor.predict_rows(X.drop(columns=["rsi_7"]))
    with pytest.raises(DataError, match="column 'atr_14' is nan at row 3"):
        predictor.predict_rows(X.assign(atr_14=lambda f: f["atr_14"].mask(f.index == f.index[3])))
    with pytest.raises(DataError, match="column 'rsi_14' is not numeric"):
        predictor.predict_rows(X.assign(rsi_14="high"))
    with pytest.raises(DataError, match="unknown to this model"):
        predictor.on_bar("ETHUSDT", candles.iloc[0].to_dict(), candles.index[0])
