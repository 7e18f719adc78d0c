"""Splitters: leak-freedom as properties over random settings, and sklearn compatibility."""

from __future__ import annotations

from math import comb

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score

from trademl.config import load_spec
from trademl.errors import SpecError
from trademl.labels import direction, triple_barrier
from trademl.validation import (
    CombinatorialPurgedCV,
    PurgedKFold,
    WalkForward,
    fold_table,
    holdout_split,
    label_end_positions,
    make_splitter,
)

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_no_leak(splitter, n, end, embargo):
    """No train span meets a test span; embargo bars after each test block are not trained."""
    times_tested = np.zeros(n, dtype=int)
    try:
        splits = list(splitter.split(np.zeros((n, 1))))
    except ValueError as exc:  # too little data for these settings: must say so, not leak
        assert "no training samples left" in str(exc)
        assume(False)
    for train, test in splits:
        assert len(np.intersect1d(train, test)) == 0
        times_tested[test] += 1
        # spans [i, end_i]: intervals intersect iff start_a <= end_b and start_b <= end_a
        test_lo, test_hi = test, end[test]
        order = np.argsort(test_lo)
        for i in train:
            overlap = (test_lo <= end[i]) & (i <= test_hi)
            assert not overlap.any(), f"train {i} (span {i}..{end[i]}) meets a test span"
        # embargo: the `embargo` samples after the last bar read by each test block
        blocks = np.split(test[order], np.flatnonzero(np.diff(test[order]) > 1) + 1)
        for block in blocks:
            reach = end[block].max()
            embargoed = np.arange(reach + 1, min(reach + 1 + embargo, n))
            assert len(np.intersect1d(train, embargoed)) == 0
    return times_tested


@FAST
@given(
    n=st.integers(20, 400),
    k=st.integers(2, 8),
    horizon=st.integers(0, 30),
    embargo=st.integers(0, 20),
)
def test_purged_kfold_never_leaks_and_tests_each_sample_once(n, k, horizon, embargo):
    k = min(k, n)
    cv = PurgedKFold(k, horizon=horizon, embargo=embargo)
    end = np.minimum(np.arange(n) + horizon, n - 1)
    tested = _check_no_leak(cv, n, end, embargo)
    assert (tested == 1).all()


@FAST
@given(
    n=st.integers(30, 300),
    groups=st.integers(3, 7),
    k=st.integers(1, 3),
    horizon=st.integers(0, 15),
    embargo=st.integers(0, 10),
)
def test_cpcv_never_leaks_and_tests_each_sample_phi_times(n, groups, k, horizon, embargo):
    k = min(k, groups - 1)
    cv = CombinatorialPurgedCV(groups, k, horizon=horizon, embargo=embargo)
    end = np.minimum(np.arange(n) + horizon, n - 1)
    tested = _check_no_leak(cv, n, end, embargo)
    assert (tested == comb(groups - 1, k - 1)).all()
    assert cv.get_n_paths() == k * comb(groups, k) // groups


@FAST
@given(
    n=st.integers(40, 400),
    splits=st.integers(1, 6),
    horizon=st.integers(0, 12),
    gap=st.integers(0, 5),
    window=st.sampled_from(["expanding", "sliding"]),
)
def test_walk_forward_trains_on_the_past_only(n, splits, horizon, gap, window):
    cv = WalkForward(splits, horizon=horizon, gap=gap, window=window)
    end = np.minimum(np.arange(n) + horizon, n - 1)
    test_size = n // (splits + 1)
    if n - splits * test_size - gap < 1:
        with pytest.raises(ValueError, match="no training data"):
            list(cv.split(np.zeros((n, 1))))
        return
    tested = _check_no_leak(cv, n, end, 0)
    sizes = set()
    for train, test in cv.split(np.zeros((n, 1))):
        assert train.max() < test.min() - gap
        sizes.add(len(train))
    assert (tested[n - splits * test_size :] == 1).all() and (
        tested[: n - splits * test_size] == 0
    ).all()
    if window == "sliding" and horizon == 0:
        assert len(sizes) == 1


@FAST
@given(data=st.data(), n=st.integers(30, 200), k=st.integers(2, 5), embargo=st.integers(0, 8))
def test_irregular_label_ends_are_purged_exactly(data, n, k, embargo):
    """Triple-barrier-like spans: each label ends anywhere from its own bar on (not monotone)."""
    extra = np.array(data.draw(st.lists(st.integers(0, 25), min_size=n, max_size=n)))
    end = np.minimum(np.arange(n) + extra, n - 1)
    cv = PurgedKFold(k, label_end=end, embargo=embargo)
    _check_no_leak(cv, n, end, embargo)
    cpcv = CombinatorialPurgedCV(k + 1, 2, label_end=end, embargo=embargo)
    _check_no_leak(cpcv, n, end, embargo)


def test_label_end_timestamps_are_mapped_onto_the_frame(btc):
    frame = btc.iloc[:3000]
    labels = triple_barrier(frame, 24).dropna()
    X = frame.loc[labels.values.index]
    by_time = label_end_positions(X, len(X), label_end=labels.end)
    by_obj = label_end_positions(X, len(X), label_end=labels)
    # the last sample at or before each end (ends past X's last row map to that row)
    expected = X.index.searchsorted(labels.end, side="right") - 1
    assert (expected[:-24] == X.index.get_indexer(labels.end[:-24])).all()
    np.testing.assert_array_equal(by_time, expected)
    np.testing.assert_array_equal(by_obj, expected)
    with pytest.raises(ValueError, match="not both"):
        label_end_positions(X, len(X), horizon=3, label_end=labels.end)
    with pytest.raises(ValueError, match="no entry for sample"):
        label_end_positions(frame.iloc[:500], 500, label_end=labels.end)
    with pytest.raises(ValueError, match="DatetimeIndex"):
        label_end_positions(np.zeros(5), 5, label_end=np.array(labels.end.iloc[:5]))


def _features(frame):
    ret = np.log(frame["close"]).diff()
    X = pd.DataFrame({f"lag{i}": ret.shift(i) for i in range(1, 6)}, index=frame.index)
    return X


def test_usable_in_cross_val_score_and_grid_search(btc):
    frame = btc.iloc[-8000:]
    labels = direction(frame, 24)
    X = _features(frame)
    keep = labels.values.notna() & X.notna().all(axis=1)
    X, y = X[keep], labels.values[keep].astype(int)
    for cv in (
        PurgedKFold(4, label_end=labels.end, embargo=12),
        WalkForward(3, horizon=24),
        CombinatorialPurgedCV(5, 2, horizon=24, embargo=12),
    ):
        scores = cross_val_score(LogisticRegression(), X, y, cv=cv, scoring="accuracy")
        assert len(scores) == cv.get_n_splits() and np.all((scores > 0.3) & (scores < 0.7))
        search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=cv).fit(X, y)
        assert search.best_params_["C"] in (0.1, 1.0)
        assert f"embargo={cv.embargo}" in repr(cv)  # sklearn's repr reads __init__ args back


def test_cpcv_paths_cover_every_sample_once():
    n, cv = 103, CombinatorialPurgedCV(6, 2, horizon=3)
    splits = list(cv.split(np.zeros((n, 1))))
    paths = cv.backtest_paths()
    assert paths.shape == (cv.get_n_paths(), 6) == (5, 6)
    # each split's test groups are used exactly once across all paths
    used = np.bincount(paths.ravel(), minlength=len(splits))
    assert (used == 2).all()
    # predictions = split number * 1000 + sample position: reconstruct and decode
    preds = [split * 1000 + test for split, (_, test) in enumerate(splits)]
    stitched = cv.reconstruct_paths(preds, n)
    np.testing.assert_array_equal(stitched % 1000, np.tile(np.arange(n), (5, 1)))
    for p in range(5):
        for g, split in enumerate(paths[p]):
            assert g in cv.test_groups()[split]
    with pytest.raises(ValueError, match="expected predictions for 15"):
        cv.reconstruct_paths(preds[:3], n)


def test_cpcv_is_lazy_and_fast_on_a_million_samples():
    import time
    import tracemalloc

    X = np.zeros((1_000_000, 1), dtype=np.float32)
    cv = CombinatorialPurgedCV(10, 2, horizon=24, embargo=0)
    tracemalloc.start()
    start = time.process_time()  # CPU time: robust to other work on a shared machine
    count = sum(1 for _ in cv.split(X))
    elapsed = time.process_time() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    assert count == 45
    assert peak < 200 and elapsed < 5.0  # benchmark target is 0.5 s; CI machines vary


def test_fold_table_and_counts(btc):
    frame = btc.iloc[:1000]
    table = fold_table(PurgedKFold(5, horizon=24, embargo=12), frame)
    assert list(table.columns) == [
        "fold",
        "train",
        "n_train",
        "test",
        "n_test",
        "purged",
        "embargoed",
    ]
    assert table["purged"].tolist() == [24, 48, 48, 48, 24]
    assert table["embargoed"].tolist() == [12, 12, 12, 12, 0]
    assert (table["n_train"] + table["n_test"] + table["purged"] + table["embargoed"] == 1000).all()


def test_holdout_split_purges_the_boundary():
    dev, hold = holdout_split(np.zeros((100, 1)), 0.2, horizon=5)
    np.testing.assert_array_equal(hold, np.arange(80, 100))
    np.testing.assert_array_equal(dev, np.arange(0, 75))
    with pytest.raises(ValueError, match="fraction"):
        holdout_split(np.zeros((10, 1)), 1.5)


def test_make_splitter_from_spec():
    spec = load_spec(
        {"validation": {"scheme": "cpcv", "n_splits": 8, "test_groups": 3, "embargo": 5}}
    ).validation
    cv = make_splitter(spec, horizon=24)
    assert isinstance(cv, CombinatorialPurgedCV) and cv.get_n_splits() == comb(8, 3)
    assert cv.embargo == 5 and cv.horizon == 24
    wf = make_splitter(
        load_spec(
            {"validation": {"scheme": "walk-forward", "window": "sliding", "max_train_size": 50}}
        ).validation
    )
    assert isinstance(wf, WalkForward) and wf.window == "sliding"
    assert isinstance(make_splitter(), PurgedKFold)


@pytest.mark.parametrize(
    ("validation", "match"),
    [
        ({"scheme": "cpcv", "n_splits": 3, "test_groups": 3}, "test_groups"),
        ({"scheme": "purged-kfold", "window": "sliding"}, "walk-forward"),
        ({"scheme": "kfold"}, "validation.scheme"),
        ({"embargo": -1}, "validation.embargo"),
    ],
)
def test_validation_spec_errors_name_the_field(validation, match):
    with pytest.raises(SpecError, match=match):
        load_spec({"validation": validation})


@pytest.mark.parametrize(
    ("cv", "match"),
    [
        (PurgedKFold(1), "n_splits"),
        (PurgedKFold(5, embargo=-2), "embargo=-2"),
        (PurgedKFold(5, horizon=2.5), "horizon=2.5"),
        (CombinatorialPurgedCV(4, 4), "n_test_groups"),
        (WalkForward(3, window="rolling"), "window"),
        (WalkForward(9, test_size=20), "no training data"),
    ],
)
def test_bad_settings_raise_when_splitting(cv, match):
    with pytest.raises(ValueError, match=match):
        list(cv.split(np.zeros((100, 1))))


def test_multi_symbol_panel_sorted_by_time_purges_by_time(btc, shared_data):
    """Two symbols stacked and sorted by (timestamp, symbol): no train label overlaps a
    test label in time, even though positions interleave the symbols."""
    from trademl.data.io import load_ohlcv

    eth = load_ohlcv(shared_data / "binance_1h" / "ETHUSDT_1h_2017-2022.csv.gz").iloc[-1500:]
    btc_part = btc.loc[eth.index[0] : eth.index[-1]]
    parts = []
    for symbol, frame in (("BTC", btc_part), ("ETH", eth)):
        lab = triple_barrier(frame, 12, vol_window=24).dropna()
        parts.append(pd.DataFrame({"symbol": symbol, "end": lab.end}, index=lab.values.index))
    panel = pd.concat(parts).rename_axis("timestamp").reset_index()
    panel = panel.sort_values(["timestamp", "symbol"]).set_index(["timestamp", "symbol"])
    start = panel.index.get_level_values("timestamp").to_numpy()
    end = panel["end"].to_numpy()
    cv = PurgedKFold(4, label_end=panel["end"], embargo=0)
    for train, test in cv.split(panel):
        lo, hi = start[test].min(), end[test].max()
        # test labels form one time interval [lo, hi]; train spans must avoid it
        assert not ((start[train] <= hi) & (end[train] >= lo)).any()
    shuffled = panel.sort_index(level="symbol")
    with pytest.raises(ValueError, match="sorted by time"):
        list(PurgedKFold(4, label_end=shuffled["end"]).split(shuffled))


def test_walk_forward_step_and_sliding_window():
    cv = WalkForward(3, test_size=10, step=5, window="sliding", max_train_size=20, horizon=2)
    folds = list(cv.split(np.zeros((60, 1))))
    assert [(te.min(), te.max()) for _, te in folds] == [(40, 49), (45, 54), (50, 59)]
    # sliding window of 20 ending before the test block, last 2 purged (labels reach in)
    assert [(tr.min(), tr.max()) for tr, _ in folds] == [(20, 37), (25, 42), (30, 47)]
