"""`trademl validate splits` on the real BTC file."""

from __future__ import annotations


def test_validate_splits_prints_folds_and_draws_png(cli, btc_1h_path, tmp_path):
    png = tmp_path / "folds.png"
    code, out, err = cli(
        "validate",
        "splits",
        btc_1h_path,
        "--scheme",
        "purged-kfold",
        "--folds",
        "5",
        "--horizon",
        "24",
        "--embargo",
        "12",
        "--png",
        png,
    )
    assert code == 0, err
    assert "77,374 bars" in out and "purged" in out and "embargoed" in out
    assert "2017-08-17" in out and "15,475" in out  # first bar; rows per test fold
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_validate_splits_cpcv_and_walk_forward(cli, btc_1h_path):
    code, out, _ = cli(
        "validate",
        "splits",
        btc_1h_path,
        "--scheme",
        "cpcv",
        "--folds",
        "6",
        "--test-groups",
        "2",
        "--horizon",
        "24",
    )
    assert code == 0 and out.count("│") > 15 * 8  # 15 splits in the table
    code, out, _ = cli(
        "validate", "splits", btc_1h_path, "--scheme", "walk-forward", "--folds", "4"
    )
    assert code == 0


def test_validate_splits_errors_are_one_line(cli, btc_1h_path, tmp_path):
    code, _, err = cli(
        "validate", "splits", btc_1h_path, "--scheme", "cpcv", "--folds", "3", "--test-groups", "3"
    )
    assert code == 2 and "test_groups (3) must be < n_splits (3)" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("validate", "splits", tmp_path / "missing.csv")
    assert code == 2 and "missing.csv" in err
    code, _, err = cli("validate", "splits", btc_1h_path, "--scheme", "kfold")
    assert code == 2
