"""validate_ohlcv / find_problems / repair_ohlcv on the real BTC 1h candles and broken copies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trademl.data.validation import find_gaps, find_problems, repair_ohlcv, validate_ohlcv
from trademl.errors import DataValidationError


def kinds(problems):
    return {p["kind"]: p for p in problems}


def test_real_file_has_exactly_its_known_gaps(btc_1h):
    problems = find_problems(btc_1h)
    assert [p["kind"] for p in problems] == ["gaps"]
    gaps = problems[0]
    assert gaps["count"] == 28
    assert gaps["missing_bars"] == 128
    longest = max(gaps["gaps"], key=lambda g: g["missing_bars"])
    # README: longest outage 34 h from 2018-02-08 (33 bars missing between two bars 34 h apart)
    assert longest == {
        "after": "2018-02-08T00:00:00Z",
        "before": "2018-02-09T10:00:00Z",
        "missing_bars": 33,
    }
    # rows point at the first bar after each gap, timestamps match those rows
    assert btc_1h.index[gaps["rows"][0]].strftime("%Y-%m-%dT%H:%M:%SZ") == gaps["timestamps"][0]
    assert int((btc_1h["volume"] == 0).sum()) == 4  # legal, so not a problem


def test_validate_raises_with_machine_readable_problems(btc_1h):
    with pytest.raises(DataValidationError) as info:
        validate_ohlcv(btc_1h)
    assert info.value.problems[0]["kind"] == "gaps"
    assert "128 missing 1h bar(s)" in str(info.value)
    clean = btc_1h.loc["2024-06-20":]
    assert validate_ohlcv(clean) is clean


def test_find_gaps_table(btc_1h):
    gaps = find_gaps(btc_1h.index, "1h")
    assert len(gaps) == 28 and int(gaps["missing_bars"].sum()) == 128
    assert list(gaps.columns) == ["after", "before", "missing_bars", "row"]


@pytest.fixture()
def clean(btc_1h):
    return btc_1h.loc["2024-06-20":"2024-07-20"].copy()


def test_each_kind_of_problem_is_found_with_its_rows(clean):
    bad = clean.copy()
    bad.iloc[3, bad.columns.get_loc("volume")] = -1.0
    bad.iloc[5, bad.columns.get_loc("high")] = bad.iloc[5]["low"] - 1.0
    bad.iloc[7, bad.columns.get_loc("low")] = bad.iloc[7][["open", "close"]].min() + 5.0
    bad.iloc[9, bad.columns.get_loc("close")] = np.nan
    bad.iloc[11, bad.columns.get_loc("open")] = np.inf
    bad.iloc[13, bad.columns.get_loc("open")] = 0.0
    bad.iloc[100, bad.columns.get_loc("close")] = bad.iloc[99]["close"] * 3  # bad tick
    found = kinds(find_problems(bad, "1h"))
    assert found["negative_volume"]["rows"] == [3]
    assert 5 in found["high_below_low"]["rows"]
    assert 7 in found["low_above_open_close"]["rows"]
    assert found["missing_values"]["rows"] == [9]
    assert found["infinite_values"]["rows"] == [11]
    assert found["non_positive_price"]["rows"] == [13]
    assert found["absurd_jump"]["rows"] == [100, 101]
    assert found["negative_volume"]["timestamps"] == [clean.index[3].strftime("%Y-%m-%dT%H:%M:%SZ")]


def test_absurd_jump_threshold_is_configurable(clean):
    bad = clean.copy()
    bad.iloc[50, bad.columns.get_loc("close")] = bad.iloc[49]["close"] * 1.2
    assert "absurd_jump" not in kinds(find_problems(bad))
    assert kinds(find_problems(bad, max_jump=0.1))["absurd_jump"]["rows"] == [50, 51]
    with pytest.raises(ValueError, match="max_jump"):
        find_problems(bad, max_jump=0)


def test_order_duplicates_grid_and_future(clean):
    swapped = clean.iloc[[0, 1, 3, 2, 4, 5]]
    assert kinds(find_problems(swapped, "1h"))["unsorted"]["rows"] == [3]
    exact = pd.concat([clean.iloc[:5], clean.iloc[[2]], clean.iloc[5:10]])
    found = kinds(find_problems(exact, "1h"))
    assert found["duplicate_rows"]["rows"] == [5] and "duplicate_timestamps" not in found
    conflicting = exact.copy()
    conflicting.iloc[5, conflicting.columns.get_loc("volume")] += 1
    assert kinds(find_problems(conflicting, "1h"))["duplicate_timestamps"]["rows"] == [2, 5]
    shifted = clean.iloc[:10].copy()
    shifted.index = shifted.index.where(np.arange(10) != 4, shifted.index[4] + pd.Timedelta("7min"))
    assert kinds(find_problems(shifted, "1h"))["off_grid"]["rows"] == [4]
    future = clean.iloc[:10].copy()
    future.index = future.index + pd.Timedelta(days=365 * 50)
    now = pd.Timestamp("2026-01-01", tz="UTC")
    assert kinds(find_problems(future, "1h", now=now))["future_timestamps"]["count"] == 10


def test_shape_errors():
    with pytest.raises(DataValidationError, match="missing column"):
        validate_ohlcv(
            pd.DataFrame({"open": [1.0]}, index=pd.DatetimeIndex(["2024-01-01"], tz="UTC"))
        )
    naive = pd.DataFrame({c: [1.0, 1.0] for c in ["open", "high", "low", "close", "volume"]})
    naive.index = pd.DatetimeIndex(["2024-01-01", "2024-01-01 01:00"])
    with pytest.raises(DataValidationError, match="expected UTC"):
        validate_ohlcv(naive)


def test_repair_real_file_fills_every_gap_visibly(btc_1h):
    repaired, report = repair_ohlcv(btc_1h)
    assert len(repaired) == 77_374 + 128
    assert int(repaired["is_filled"].sum()) == 128
    assert report.gaps_filled == 28 and len(report.filled_bars) == 128
    assert find_problems(repaired) == []
    filled = repaired[repaired["is_filled"]]
    assert (filled["volume"] == 0).all()
    assert (filled["open"] == filled["close"]).all() and (filled["high"] == filled["low"]).all()
    # flat at the last real close before the gap; real bars untouched
    assert filled.loc["2018-02-08 01:00", "close"] == btc_1h.loc["2018-02-08 00:00", "close"]
    pd.testing.assert_frame_equal(
        repaired[~repaired["is_filled"]].drop(columns="is_filled"), btc_1h
    )
    assert "filled 128 missing 1h bar(s) in 28 gap(s)" in report.lines()[0]


def test_repair_drops_exact_duplicates_and_sorts_but_refuses_conflicts(clean):
    messy = pd.concat([clean.iloc[:5], clean.iloc[[2]], clean.iloc[[6, 5]], clean.iloc[7:20]])
    repaired, report = repair_ohlcv(messy, "1h")
    pd.testing.assert_frame_equal(
        repaired.drop(columns="is_filled"), clean.iloc[:20], check_freq=False
    )
    assert report.dropped_duplicates == [clean.index[2].strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert report.rows_moved_by_sort == 2
    assert not report.filled_bars
    conflicting = messy.copy()
    conflicting.iloc[5, conflicting.columns.get_loc("close")] += 1
    with pytest.raises(
        DataValidationError, match="cannot repair: same timestamp, different values"
    ):
        repair_ohlcv(conflicting, "1h")


def test_microsecond_index_gives_the_same_answers(btc_1h):
    # pandas 3 parses date strings to microsecond resolution; results must not depend on it
    coarse = btc_1h.copy()
    coarse.index = coarse.index.as_unit("us")
    gaps = kinds(find_problems(coarse))["gaps"]
    assert gaps["count"] == 28 and gaps["missing_bars"] == 128
    repaired, report = repair_ohlcv(coarse)
    assert len(report.filled_bars) == 128 and find_problems(repaired) == []
