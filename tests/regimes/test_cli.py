"""`trademl regimes fit|predict|plot|report` on real files, and errors as one red line."""

from __future__ import annotations

import pandas as pd
import pytest

from trademl.data.synthetic import synthetic_ohlcv


@pytest.fixture(scope="module")
def candles_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("regimes") / "synthetic.csv"
    synthetic_ohlcv(2_500, seed=3).drop(columns="regime").to_csv(path)
    return path


def test_fit_predict_report_plot(cli, candles_csv, tmp_path):
    model = tmp_path / "hmm.json"
    code, out, err = cli("regimes", "fit", candles_csv, "-o", model, "--restarts", "2")
    assert code == 0, err
    assert model.exists() and "bull" in out and "expected_duration" in out

    predictions = tmp_path / "regimes.csv"
    code, out, err = cli("regimes", "predict", model, candles_csv, "-o", predictions)
    assert code == 0, err
    frame = pd.read_csv(predictions, index_col="timestamp")
    assert list(frame.columns) == [
        "regime",
        "regime_p_bull",
        "regime_p_sideways",
        "regime_p_bear",
    ]
    assert len(frame) == 2_500 and "causal" in out

    code, out, err = cli(
        "regimes", "predict", model, candles_csv, "-o", predictions, "--smoothed", "--force"
    )
    assert code == 0 and "future" in err

    code, out, err = cli("regimes", "report", model, candles_csv)
    assert code == 0, err
    assert "mean_return" in out and "bear" in out

    png = tmp_path / "regimes.png"
    code, out, err = cli("regimes", "plot", model, candles_csv, "-o", png)
    assert code == 0, err
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_fit_auto_prints_the_selection(cli, candles_csv, tmp_path):
    code, out, err = cli(
        "regimes",
        "fit",
        candles_csv,
        "-o",
        tmp_path / "m.json",
        "--n-regimes",
        "auto",
        "--features",
        "log_return",
        "--restarts",
        "1",
    )
    assert code == 0, err
    assert "model selection (bic)" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--n-regimes", "one"), "--n-regimes"),
        (("--covariance", "weird"), "covariance_type"),
        (("--features", "log_return,nope"), "'nope'"),
    ],
)
def test_bad_options_are_one_red_line(cli, candles_csv, tmp_path, args, message):
    code, out, err = cli("regimes", "fit", candles_csv, "-o", tmp_path / "m.json", *args)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_missing_files(cli, candles_csv, tmp_path):
    code, _, err = cli("regimes", "report", tmp_path / "absent.json", candles_csv)
    assert code == 2 and "absent.json" in err
    code, _, err = cli("regimes", "fit", tmp_path / "absent.csv", "-o", tmp_path / "m.json")
    assert code == 2 and "absent.csv" in err
