"""Deep sequence models as spec kinds: fit/predict on real bars, ONNX parity, determinism,
bad input named clearly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from trademl.errors import DataError, TradeMLError
from trademl.models import build_model, card

KINDS = ("lstm", "gru", "tcn", "transformer", "cnn_lstm_attention")
TINY = {"window": 12, "epochs": 3, "batch_size": 64, "layers": 1, "dropout": 0.1}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(kind: str, **extra):
    size = {"filters": 8} if kind == "tcn" else {"hidden_size": 8}
    if kind == "cnn_lstm_attention":
        size["filters"] = 8
    if kind == "transformer":
        size["heads"] = 2
    return build_model({"kind": kind, "params": {**TINY, **size, **extra}}, purge=4)


@pytest.fixture(scope="module")
def small(xy):
    X, y, _ = xy
    return X.iloc[:900], y[:900]


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_fits_and_onnx_predicts_like_torch(kind, small):
    X, y = small
    model = tiny(kind).fit(X.iloc[:700], y[:700])
    proba = model.predict_proba(X.iloc[700:])
    assert proba.shape == (200, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(model.predict(X.iloc[700:])) <= {-1, 1}
    # the early-stopping slice is the purged END of the rows, scaled on fitting rows only
    assert model.early_stopping_slice_ == (595, 700)
    assert len(model.history_) == 3 and "val_loss" in model.history_[0]
    onnx_outputs = model._raw_outputs(X.iloc[700:])[0]
    model.onnx_model_ = None  # the same rows through torch
    torch_outputs = model._raw_outputs(X.iloc[700:])[0]
    assert np.max(np.abs(onnx_outputs - torch_outputs)) <= 1e-5
    assert card(kind).params["window"].default == 32


def test_same_seed_same_weights_and_another_seed_differs(small):
    X, y = small
    first = tiny("lstm", onnx=False).fit(X.iloc[:400], y[:400])
    again = tiny("lstm", onnx=False).fit(X.iloc[:400], y[:400])
    other = build_model(
        {"kind": "lstm", "params": {**TINY, "hidden_size": 8, "onnx": False}}, random_state=7
    ).fit(X.iloc[:400], y[:400])
    a, b, c = (m.network_.state_dict() for m in (first, again, other))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_regression_predicts_returns_on_their_own_scale(xy):
    X, _, forward = xy
    model = build_model(
        {"kind": "gru", "task": "regression", "params": {**TINY, "hidden_size": 8}}, purge=4
    ).fit(X.iloc[:600], forward[:600])
    pred = model.predict(X.iloc[600:700])
    assert pred.shape == (100,) and np.isfinite(pred).all()
    assert abs(np.mean(pred) - np.mean(forward[:600])) < 5 * np.std(forward[:600])


def test_mixed_precision_path_runs_on_cpu(small):
    X, y = small
    model = tiny("cnn_lstm_attention", mixed_precision=True, onnx=False)
    model.fit(X.iloc[:300], y[:300])
    assert np.isfinite(model.history_[-1]["train_loss"])


def test_pooled_symbols_get_their_own_windows(xy):
    X, y, _ = xy
    part = X.iloc[:300]
    a = part.assign(**{"symbol=A": 1.0, "symbol=B": 0.0})
    b = (part * 1.5).assign(**{"symbol=A": 0.0, "symbol=B": 1.0})
    both = pd.concat([a, b])
    order = np.lexsort((both["symbol=B"].to_numpy(), both.index.asi8))
    panel, labels = both.iloc[order], np.concatenate([y[:300], y[:300]])[order]
    model = tiny("tcn", onnx=False).fit(panel, labels)
    # a symbol's predictions depend on its own rows only: B alone == B inside the panel
    in_panel = model.predict_proba(panel)[panel["symbol=B"].to_numpy() == 1]
    alone = model.predict_proba(b)
    assert np.allclose(in_panel, alone, atol=1e-6)


# ---- bad input ---------------------------------------------------------------------------
def test_window_longer_than_the_data(small):
    X, y = small
    with pytest.raises(DataError, match="window=500 is longer than the data .100 rows"):
        tiny("lstm", window=500).fit(X.iloc[:100], y[:100])


def test_symbol_with_fewer_rows_than_one_window(small):
    X, y = small
    a = X.iloc[:200].assign(**{"symbol=A": 1.0, "symbol=B": 0.0})
    b = X.iloc[:10].assign(**{"symbol=A": 0.0, "symbol=B": 1.0})
    with pytest.raises(DataError, match="symbol B has 10 rows, fewer than one window"):
        tiny("gru").fit(pd.concat([a, b]).sort_index(kind="stable"), np.r_[y[:200], y[:10]])


def test_nan_inside_a_window_is_named(small):
    X, y = small
    X = X.iloc[:200].copy()
    X.iloc[50, 2] = np.nan
    with pytest.raises(DataError, match=rf"row 50 .*column '{X.columns[2]}'"):
        tiny("lstm").fit(X, y[:200])


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_gpu_asked_for_where_none_exists(small):
    X, y = small
    with pytest.raises(TradeMLError, match="device='cuda' was asked for but no CUDA GPU"):
        tiny("lstm", device="cuda").fit(X.iloc[:100], y[:100])


def test_spec_rejects_a_parameter_the_kind_does_not_have():
    with pytest.raises(Exception, match="heads"):
        build_model({"kind": "lstm", "params": {"heads": 4}})
    with pytest.raises(ValueError, match="unknown model kind .*lstm"):
        build_model({"kind": "lstmm"})


# ---- hybrid ------------------------------------------------------------------------------
def test_hybrid_boosters_read_representations_of_networks_that_never_saw_their_rows(small):
    X, y = small
    params = {**TINY, "hidden_size": 8, "filters": 8, "inner_folds": 3, "xgb_n_estimators": 20,
              "onnx": False}  # fmt: skip
    model = build_model({"kind": "hybrid", "params": params}, purge=4).fit(X.iloc[:600], y[:600])
    assert len(model.pairs_) == 3
    for fold, (network, booster) in enumerate(model.pairs_):
        start, end = 200 * fold, 200 * (fold + 1)
        seen = set(network.feature_names_in_)  # same columns; rows are what must differ
        assert seen == set(X.columns)
        # the network was fitted on the rows outside the block and its purge margin
        n_outside = 600 - (min(600, end + 4) - max(0, start - 4))
        assert network.early_stopping_slice_[1] == n_outside
        assert booster.n_features_in_ == 8 + X.shape[1]
    proba = model.predict_proba(X.iloc[600:700])
    assert proba.shape == (100, 2) and np.allclose(proba.sum(axis=1), 1.0)


def test_hybrid_refuses_blocks_shorter_than_three_windows(small):
    X, y = small
    model = build_model({"kind": "hybrid", "params": {**TINY, "window": 40, "inner_folds": 3}})
    with pytest.raises(DataError, match="fewer than 3 windows .window=40"):
        model.fit(X.iloc[:300], y[:300])
