"""User feature modules (``features.modules``) and the causality guard on the run path:
real files imported from a temporary folder, checked on the bundled BTC/USDT 1h sample."""

from __future__ import annotations

import hashlib
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

import trademl
from trademl.errors import CausalityError, SpecError
from trademl.features import (
    check_run_causality,
    feature,
    generate_features,
    get_feature,
    load_feature_modules,
    registry,
    unregister,
)

CAUSAL = '''
import numpy as np
import pandas as pd
from trademl.features import feature

@feature("close_vs_mean", category="statistical", params={"window": 12},
         warmup=lambda window: window - 1)
def close_vs_mean(bars, window):
    """Close over its trailing mean, minus one."""
    mean = pd.Series(bars.close).rolling(window).mean().to_numpy()
    return bars.close / mean - 1.0
'''

# the classic leak: the next bar's return, stamped on this bar
LEAKY = """
import numpy as np
from trademl.features import feature

@feature("next_close_ret", category="momentum")
def next_close_ret(bars):
    out = np.full(len(bars), np.nan)
    out[:-1] = bars.close[1:] / bars.close[:-1] - 1.0
    return out
"""

# three bars ahead: still a leak after a lag of one
PEEK3 = """
import numpy as np
from trademl.features import feature

@feature("peek3", category="statistical")
def peek3(bars):
    out = np.full(len(bars), np.nan)
    out[:-3] = bars.close[3:] / bars.close[:-3] - 1.0
    return out
"""


def write(folder, name: str, source: str):
    path = folder / name
    path.write_text(textwrap.dedent(source))
    return path


@pytest.fixture(scope="module")
def candles() -> pd.DataFrame:
    """The bundled real BTC/USDT 1h sample from 2026-01-15 on (about 3,750 bars)."""
    return trademl.load_sample("BTCUSDT-1h").loc["2026-01-15":]


@pytest.fixture(autouse=True)
def clean_registry():
    """Every feature a test registers is gone afterwards (the registry is process-wide)."""
    before = set(registry())
    yield
    for name in set(registry()) - before:
        unregister(name)


def test_a_module_registers_its_features_unproven_and_generate_features_computes_them(
    tmp_path, candles
):
    path = write(tmp_path, "my_features.py", CAUSAL)
    hashes = load_feature_modules(["my_features.py"], base_dir=tmp_path)
    assert hashes == {"my_features.py": hashlib.sha256(path.read_bytes()).hexdigest()}
    feat = get_feature("close_vs_mean")
    assert feat.proven is False and feat.origin.startswith("_trademl_user_features_")
    # trademl's own features are proven (the test suite checks every one of them)
    assert get_feature("rsi").proven and get_feature("rsi").origin == "trademl.features.momentum"
    assert all(f.proven for name, f in registry().items() if name != "close_vs_mean")

    frame = generate_features(candles, {"indicators": ["close_vs_mean", "rsi"]})
    close = candles["close"]
    expected = close / close.rolling(12).mean() - 1.0
    np.testing.assert_allclose(frame["close_vs_mean_12"], expected.to_numpy(), rtol=1e-12)
    # the automatic check ran on the user column only, and passed
    assert frame.attrs["causality"]["checked"] == ["close_vs_mean_12"]
    report = check_run_causality(candles, {"indicators": ["close_vs_mean", "rsi"]})
    assert report["checked"] == ["close_vs_mean_12"] and len(report["prefixes"]) == 4
    assert report["unchecked"] == [] and report["seconds"] < 5


def test_loading_again_is_a_no_op_and_an_edited_file_is_imported_again(tmp_path, candles):
    path = write(tmp_path, "my_features.py", CAUSAL)
    first = load_feature_modules([str(path)], base_dir=None)
    registered = get_feature("close_vs_mean")
    # the same file again (here through another spelling of its path): nothing re-registers
    again = load_feature_modules(["my_features.py"], base_dir=tmp_path)
    assert again["my_features.py"] == first[str(path)]
    assert get_feature("close_vs_mean") is registered

    path.write_text(textwrap.dedent(CAUSAL).replace("- 1.0", "- 2.0"))
    edited = load_feature_modules([str(path)], base_dir=None)
    assert edited[str(path)] != first[str(path)]
    assert get_feature("close_vs_mean") is not registered  # no duplicate-registration error
    frame = generate_features(candles, {"indicators": ["close_vs_mean"]})
    close = candles["close"]
    np.testing.assert_allclose(
        frame["close_vs_mean_12"], (close / close.rolling(12).mean() - 2.0).to_numpy()
    )


def test_module_errors_name_the_setting_the_path_and_the_line(tmp_path):
    with pytest.raises(SpecError, match=r"features\.modules: missing\.py: file not found"):
        load_feature_modules(["missing.py"], base_dir=tmp_path)
    write(tmp_path, "broken.py", "import numpy as np\n\ndef f(:\n    pass\n")
    with pytest.raises(SpecError, match=r"features\.modules: broken\.py: syntax error at line 3"):
        load_feature_modules(["broken.py"], base_dir=tmp_path)
    # registers one feature, then fails: the registry is left as it was
    write(
        tmp_path,
        "raises.py",
        CAUSAL + "\nTHRESHOLD = 1 / 0\n",
    )
    with pytest.raises(
        SpecError,
        match=r"features\.modules: raises\.py: importing it raised ZeroDivisionError at line \d+",
    ):
        load_feature_modules(["raises.py"], base_dir=tmp_path)
    assert "close_vs_mean" not in registry()
    write(tmp_path, "clash.py", CAUSAL.replace('"close_vs_mean"', '"rsi"'))
    with pytest.raises(SpecError, match="clash.py.*'rsi' is already registered"):
        load_feature_modules(["clash.py"], base_dir=tmp_path)
    assert get_feature("rsi").proven


def test_a_next_bar_feature_is_refused_naming_column_symbol_and_bar(tmp_path, candles):
    write(tmp_path, "leaky.py", LEAKY)
    load_feature_modules(["leaky.py"], base_dir=tmp_path)
    spec = {"categories": ["momentum"]}
    frame = generate_features(candles, spec, check_causality=False)
    with pytest.raises(CausalityError) as caught:
        check_run_causality(candles, spec, full=frame, symbol="BTCUSDT")
    error = caught.value
    assert error.column == "next_close_ret" and error.symbol == "BTCUSDT"
    assert error.timestamp in candles.index
    # a causal feature on the first k bars ends at bar k-1: that is where the leak shows
    assert error.timestamp == candles.index[error.prefix - 1]
    message = str(error)
    assert message.startswith("feature 'next_close_ret' is not causal (BTCUSDT): with the first")
    assert error.timestamp.strftime("%Y-%m-%d %H:%M") in message
    assert "it reads the future" in message and "remove leaky.py from features.modules" in message
    assert "\n" not in message
    # generate_features refuses it by itself (the notebook path)
    with pytest.raises(CausalityError, match="next_close_ret"):
        generate_features(candles, spec)
    # it is a SpecError: the command line shows it as one line with exit code 2
    assert isinstance(error, SpecError)


def test_a_notebook_feature_is_unproven_too(candles):
    @feature("peek_next_high", category="volatility", inputs=("high",))
    def peek_next_high(bars):
        return np.r_[bars.high[1:], np.nan]

    assert get_feature("peek_next_high").proven is False
    with pytest.raises(CausalityError, match="'peek_next_high'.*leave it out of the spec"):
        generate_features(candles, {"indicators": ["peek_next_high"]})


def test_lags_z_scores_and_higher_timeframes_of_a_leak_are_caught(tmp_path, candles):
    write(tmp_path, "peek.py", PEEK3)
    load_feature_modules(["peek.py"], base_dir=tmp_path)
    spec = {
        "indicators": ["peek3", "rsi"],
        "lags": {"peek3": [1], "rsi_14": [1]},
        "normalise": {"window": 50, "columns": ["peek3_lag1", "rsi_14"]},
    }
    with pytest.raises(CausalityError) as caught:
        check_run_causality(candles, spec)
    # the lag of a three-bar peek still reads two bars ahead, and its z-score with it
    assert caught.value.columns == ["peek3", "peek3_lag1", "peek3_lag1_z50"]
    # a leak computed on the higher timeframe only
    higher = {"indicators": ["rsi"], "timeframes": [{"timeframe": "4h", "indicators": ["peek3"]}]}
    with pytest.raises(CausalityError, match="feature '4h_peek3' is not causal"):
        check_run_causality(candles, higher)


def test_only_unproven_columns_are_checked_and_builtin_specs_cost_nothing(tmp_path, candles):
    write(tmp_path, "my_features.py", CAUSAL)
    load_feature_modules(["my_features.py"], base_dir=tmp_path)
    spec = {
        "categories": ["momentum", "statistical"],
        "lags": {"close_vs_mean_12": [1, 2], "rsi_14": [1]},
        "normalise": {"window": 50, "columns": ["close_vs_mean_12*", "rsi_*"]},
        "timeframes": [{"timeframe": "4h", "indicators": ["close_vs_mean", "rsi"]}],
    }
    report = check_run_causality(candles, spec, symbol="BTCUSDT")
    assert report["checked"] == [
        "close_vs_mean_12",
        "4h_close_vs_mean_12",
        "close_vs_mean_12_lag1",
        "close_vs_mean_12_lag2",
        "close_vs_mean_12_z50",
        "close_vs_mean_12_lag1_z50",
        "close_vs_mean_12_lag2_z50",
    ]
    # a spec of trademl's own features only: nothing is recomputed, even with a user
    # feature registered, and generate_features runs no check at all
    builtin = {"categories": ["momentum"], "lags": {"rsi_14": [1]}}
    started = time.perf_counter()
    report = check_run_causality(candles, builtin)
    assert report["checked"] == [] and report["prefixes"] == []
    assert time.perf_counter() - started < 0.5
    assert "causality" not in generate_features(candles, builtin).attrs


def test_the_full_frame_is_reused_and_the_cost_is_bounded(candles):
    calls: list[int] = []

    @feature("counted_ret", category="statistical")
    def counted_ret(bars):
        calls.append(len(bars))
        return np.r_[np.nan, bars.close[1:] / bars.close[:-1] - 1.0]

    spec = {"indicators": ["counted_ret", "rsi"]}
    frame = generate_features(candles, spec)  # computes once, checks on four prefixes
    n = len(candles)
    assert calls[0] == n and sorted(calls[1:]) == calls[1:] and max(calls[1:]) == n - 1
    assert frame.attrs["causality"]["prefixes"] == calls[1:]
    calls.clear()
    # the pipeline's own call on the frame just checked: nothing is recomputed
    report = check_run_causality(candles, spec, full=frame, symbol="BTCUSDT")
    assert calls == [] and report["reused"] and report["checked"] == ["counted_ret"]
    # given a frame not checked yet: the prefixes only, never the full run again
    unchecked = generate_features(candles, spec, check_causality=False)
    calls.clear()
    report = check_run_causality(candles, spec, full=unchecked)
    assert n not in calls and calls == report["prefixes"]

    @feature("slow_ret", category="statistical")
    def slow_ret(bars):
        time.sleep(0.1)  # a feature far slower than the run's other features
        return np.r_[np.nan, np.diff(np.log(bars.close))]

    slow = generate_features(candles, {"indicators": ["slow_ret", "rsi"]}, check_causality=False)
    slow.attrs["feature_seconds"] = 0.2
    started = time.perf_counter()
    report = check_run_causality(candles, {"indicators": ["slow_ret", "rsi"]}, full=slow)
    # over budget after the first prefix: the later ones are left out
    assert report["prefixes"] == [n // 4] and time.perf_counter() - started < 0.4


def test_cli_generate_with_a_leaky_module_exits_2_and_writes_nothing(cli, tmp_path, candles):
    source = tmp_path / "btc.csv"
    candles.to_csv(source, index_label="timestamp")
    leaky = write(tmp_path, "leaky.py", LEAKY)
    out = tmp_path / "out.parquet"
    code, _, stderr = cli("features", "generate", source, "--module", leaky, "-o", out)
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "feature 'next_close_ret' is not causal" in lines[0]
    assert "Traceback" not in stderr and not out.exists()

    causal = write(tmp_path, "my_features.py", CAUSAL)
    code, stdout, stderr = cli(
        "features", "generate", source, "-m", causal, "-o", out, "--spec", write(
            tmp_path, "spec.yaml", "features:\n  categories: [statistical]\n  on_short: nan\n"
        ),
    )  # fmt: skip
    assert code == 0, stderr
    assert "close_vs_mean_12" in pd.read_parquet(out)
    assert "causality of 1 user feature column(s) checked" in stdout
