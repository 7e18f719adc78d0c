"""Every `trademl data` command on the real files, and the catalogue of bad inputs.

Each bad input must give one clear error line naming the problem, a non-zero exit
code, and no Python traceback.
"""

from __future__ import annotations

import pandas as pd
import pytest

from trademl.data.io import load_ohlcv


def squash(text: str) -> str:
    """Rich wraps long lines at the terminal width; compare on single spaces."""
    return " ".join(text.split())


def test_info_finds_the_real_gaps(cli, btc_1h_path):
    code, out, err = cli("data", "info", btc_1h_path)
    assert code == 0, err
    out = squash(out)
    assert "rows: 77,374" in out
    assert "range: 2017-08-17 04:00 -> 2026-06-20 09:00 UTC" in out
    assert "timeframe: 1h (inferred)" in out
    assert "gaps: 28 (128 missing bars); longest 33 bars after 2018-02-08 00:00" in out
    assert "zero-volume bars: 4" in out


def test_info_on_parquet_json_and_other_files(cli, shared_data, btc_1h, tmp_path):
    btc_1h.iloc[:1000].to_parquet(tmp_path / "btc.parquet")
    code, out, _ = cli("data", "info", tmp_path / "btc.parquet")
    assert code == 0 and "rows: 1,000" in out
    code, out, _ = cli(
        "data", "info", shared_data / "binance_intraday" / "ETHUSDT_5m_2024-2026.csv.gz"
    )
    assert code == 0 and "timeframe: 5m (inferred)" in out and "gaps: 0 (0 missing bars)" in out


def test_validate_clean_file_exits_0(cli, shared_data):
    code, out, err = cli(
        "data",
        "validate",
        shared_data / "binance_intraday" / "futures_BTCUSDT_PERP_1h_2024-2026.csv.gz",
    )
    assert code == 0, err
    assert "clean" in out


def test_validate_real_gaps_exits_2_listing_them(cli, btc_1h_path):
    code, out, err = cli("data", "validate", btc_1h_path, "--timeframe", "1h")
    assert code == 2
    out = squash(out)
    assert "gaps" in out and "28 gap(s), 128 missing 1h bar(s)" in out
    assert "gap: 33 bar(s) missing between 2018-02-08T00:00:00Z and 2018-02-09T10:00:00Z" in out
    assert "1 kind(s) of problem" in err and "Traceback" not in err


def test_validate_json_is_machine_readable(cli, btc_1h_path):
    import json

    code, out, _ = cli("data", "validate", btc_1h_path, "--json")
    assert code == 2
    problems = json.loads(out)
    assert problems[0]["kind"] == "gaps" and problems[0]["missing_bars"] == 128


def test_validate_repair_writes_a_clean_file_and_says_what_changed(
    cli, btc_1h_path, btc_1h, tmp_path
):
    out_path = tmp_path / "btc_repaired.parquet"
    code, out, err = cli("data", "validate", btc_1h_path, "--repair", out_path)
    assert code == 0, err
    out = squash(out)
    assert "filled 128 missing 1h bar(s) in 28 gap(s)" in out and "is_filled=True" in out
    repaired = load_ohlcv(out_path)
    assert len(repaired) == 77_502 and int(repaired["is_filled"].sum()) == 128
    assert cli("data", "validate", out_path)[0] == 0
    code, out, _ = cli("data", "info", out_path)
    assert "filled bars (is_filled): 128" in out


def test_resample_command(cli, shared_data, btc_1h, tmp_path):
    out_path = tmp_path / "btc_4h.parquet"
    code, out, err = cli(
        "data",
        "resample",
        shared_data / "BTCUSDT_1h_2017-2026.csv.gz",
        "--to",
        "4h",
        "-o",
        out_path,
    )
    assert code == 0, err
    four = load_ohlcv(out_path)
    assert four.index[1] == pd.Timestamp("2017-08-17 08:00", tz="UTC")
    assert (
        four.loc["2024-01-01 00:00", "high"]
        == btc_1h.loc["2024-01-01 00:00":"2024-01-01 03:00", "high"].max()
    )
    code, _, err = cli(
        "data",
        "resample",
        shared_data / "BTCUSDT_1h_2017-2026.csv.gz",
        "--to",
        "30m",
        "-o",
        out_path,
        "--force",
    )
    assert code == 2 and "whole multiple of 1h" in err


def test_synth_command_writes_regimes(cli, tmp_path):
    out_path = tmp_path / "synth.csv"
    code, out, err = cli("data", "synth", "-o", out_path, "--bars", "500", "--seed", "7")
    assert code == 0, err
    frame = load_ohlcv(out_path)
    assert len(frame) == 500 and "regime" in frame.columns
    assert set(frame["regime"].unique()) <= {0, 1, 2}
    again = tmp_path / "again.csv"
    cli("data", "synth", "-o", again, "--bars", "500", "--seed", "7")
    assert out_path.read_text() == again.read_text()  # seeded: byte-identical


def test_demo_runs_on_the_bundled_samples(cli):
    code, out, err = cli("demo")
    assert code == 0, err
    assert "BTCUSDT-1h" in out and "ETHUSDT-1h" in out and "17,530" in out


# ---- the catalogue of bad inputs -------------------------------------------------------


def _write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def _bad_inputs(tmp_path, lines):
    """name -> (file, command, text the error must contain)."""
    header, rows = lines[0], lines[1:41]
    cases = {}

    def case(name, file, text, command="info"):
        cases[name] = (file, command, text)

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    case("empty file", empty, "the file is empty")
    case("header only", _write_lines(tmp_path / "header.csv", [header]), "header only, no candles")
    no_volume = [",".join(line.split(",")[:5]) for line in [header, *rows]]
    case("missing column", _write_lines(tmp_path / "novol.csv", no_volume), "no column for volume")
    text_price = list(rows)
    text_price[3] = text_price[3].rsplit(",", 2)[0] + ",4308.8x," + text_price[3].rsplit(",", 1)[1]
    case(
        "non-numeric price",
        _write_lines(tmp_path / "text.csv", [header, *text_price]),
        "column 'close' is not numeric at row 3 ('4308.8x')",
    )
    negative = list(rows)
    negative[5] = negative[5].rsplit(",", 1)[0] + ",-3.5"
    case(
        "negative volume",
        _write_lines(tmp_path / "neg.csv", [header, *negative]),
        "negative_volume",
        "validate",
    )
    inverted = list(rows)
    t, o, h, lo, c, v = inverted[6].split(",")
    inverted[6] = ",".join([t, o, lo, h, c, v])  # high and low swapped
    case(
        "high < low",
        _write_lines(tmp_path / "hl.csv", [header, *inverted]),
        "high_below_low",
        "validate",
    )
    duplicated = list(rows)
    t, o, h, lo, c, v = duplicated[8].split(",")
    duplicated.insert(9, ",".join([t, o, h, lo, c, str(float(v) + 1)]))
    case(
        "duplicate timestamps, different values",
        _write_lines(tmp_path / "dup.csv", [header, *duplicated]),
        "duplicate_timestamps",
        "validate",
    )
    unsorted = list(rows)
    unsorted[10], unsorted[11] = unsorted[11], unsorted[10]
    case(
        "unsorted rows",
        _write_lines(tmp_path / "unsorted.csv", [header, *unsorted]),
        "unsorted",
        "validate",
    )
    zones = [line.replace("Z,", "+02:00,", 1) if i >= 20 else line for i, line in enumerate(rows)]
    case("mixed timezones", _write_lines(tmp_path / "tz.csv", [header, *zones]), "mixes time zones")
    naive = [line.replace("Z,", ",", 1) if i % 2 else line for i, line in enumerate(rows)]
    case(
        "mixed naive and zoned",
        _write_lines(tmp_path / "naive.csv", [header, *naive]),
        "mixes timestamps with a time zone",
    )
    future = [line.replace("2017-", "3000-", 1) if i >= 30 else line for i, line in enumerate(rows)]
    case(
        "year 3000",
        _write_lines(tmp_path / "y3000.csv", [header, *future]),
        "outside the supported range",
    )
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    case("binary file renamed .csv", binary, "not a readable CSV file; it holds binary data")
    zero = tmp_path / "zero.parquet"
    zero.write_bytes(b"")
    case("0-byte parquet", zero, "the Parquet file is empty (0 bytes)")
    case(
        "unknown extension",
        _write_lines(tmp_path / "candles.xlsx", ["x"]),
        "cannot tell the format",
    )
    case("missing file", tmp_path / "nope.csv", "no such file")
    return cases


CATALOGUE = [
    "empty file", "header only", "missing column", "non-numeric price", "negative volume",
    "high < low", "duplicate timestamps, different values", "unsorted rows", "mixed timezones",
    "mixed naive and zoned", "year 3000", "binary file renamed .csv", "0-byte parquet",
    "unknown extension", "missing file",
]  # fmt: skip


@pytest.mark.parametrize("name", CATALOGUE)
def test_bad_input_gives_one_clear_error(name, cli, tmp_path, btc_1h_text):
    file, command, expected = _bad_inputs(tmp_path, btc_1h_text)[name]
    code, out, err = cli("data", command, file)
    assert code == 2, (out, err)
    assert "Traceback" not in err and "Traceback" not in out
    assert expected in squash(out + " " + err)
    if command == "info":
        assert err.strip().startswith("error:") and len(err.strip().splitlines()) == 1
    else:  # validate: the problems table on stdout, one error line on stderr
        assert len(err.strip().splitlines()) == 1


def test_bad_spec_data_section(cli, tmp_path):
    from trademl import load_spec
    from trademl.errors import SpecError

    spec = tmp_path / "spec.yaml"
    spec.write_text("data:\n  sample: BTCUSDT-1h\n  timeframe: 4h\n  colour: blue\n")
    with pytest.raises(SpecError, match="data.colour: unknown key"):
        load_spec(spec)
    spec.write_text("data:\n  symbols: 12\n")
    with pytest.raises(SpecError, match="data.symbols"):
        load_spec(spec)
