"""`trademl features generate` and `trademl features list`."""

from __future__ import annotations

import pandas as pd


def test_generate_writes_parquet_with_spec_and_float32(cli, btc, tmp_path):
    source = tmp_path / "btc.csv"
    btc.iloc[:1500].to_csv(source, index_label="timestamp")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "features:\n  categories: [trend, momentum]\n  timeframes: [4h]\n  on_short: nan\n"
    )
    out = tmp_path / "features.parquet"
    code, stdout, stderr = cli(
        "features", "generate", source, "-o", out, "--spec", spec, "--float32"
    )
    assert code == 0, stderr
    frame = pd.read_parquet(out)
    assert "wrote" in stdout and f"x {frame.shape[1]} features" in stdout
    assert len(frame) == 1500 and "4h_rsi_14" in frame and "cdl_engulfing" not in frame
    assert (frame.dtypes == "float32").all()


def test_generate_default_full_set(cli, btc, tmp_path):
    source = tmp_path / "btc.csv"
    btc.to_csv(source, index_label="timestamp")
    out = tmp_path / "all.parquet"
    code, _, stderr = cli("features", "generate", source, "-o", out)
    assert code == 0, stderr
    assert pd.read_parquet(out).shape[1] >= 200


def test_generate_errors_are_one_red_line(cli, btc, tmp_path):
    code, _, stderr = cli(
        "features", "generate", tmp_path / "nope.csv", "-o", tmp_path / "x.parquet"
    )
    assert code == 2 and "not found" in stderr
    source = tmp_path / "short.csv"
    btc.iloc[:100].to_csv(source, index_label="timestamp")
    code, _, stderr = cli("features", "generate", source, "-o", tmp_path / "x.parquet")
    assert code == 2 and "too few bars" in stderr and "Traceback" not in stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("features:\n  lags: {rsi_14: [0]}\n")
    code, _, stderr = cli(
        "features", "generate", source, "-o", tmp_path / "x.parquet", "--spec", bad
    )
    assert code == 2 and "features.lags" in stderr


def test_list_all_and_by_category(cli):
    code, stdout, _ = cli("features", "list")
    assert code == 0 and "rsi" in stdout and "cdl_engulfing" in stdout and "warm-up" in stdout
    code, stdout, _ = cli("features", "list", "--category", "microstructure")
    assert code == 0 and "ofi" in stdout and "rsi" not in stdout.replace("stochrsi", "")
    code, _, stderr = cli("features", "list", "--category", "nonsense")
    assert code == 2 and "unknown category" in stderr
