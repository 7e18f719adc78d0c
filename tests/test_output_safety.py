"""No command overwrites its input, an existing output needs --force, names match formats,
and every file is replaced atomically (the old one survives a failed write)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trademl._io import OutputError, atomic_path, atomic_write_text, check_output
from trademl.datasets import load_sample


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> Path:
    """Real inputs of every writer: candles, a regime model, predictions, returns, outputs."""
    tmp_path = tmp_path_factory.mktemp("originals")
    candles = load_sample("BTCUSDT-1h").iloc[-600:]
    paths = {"candles": tmp_path / "btc.csv", "parquet": tmp_path / "btc.parquet"}
    candles.to_csv(paths["candles"], index_label="timestamp")
    candles.to_parquet(paths["parquet"])
    from trademl.regimes.hmm import HMMRegimeDetector

    paths["model"] = (
        HMMRegimeDetector(2, n_init=1, random_state=0).fit(candles).save(tmp_path / "model.json")
    )
    close = candles["close"]
    returns = close.pct_change().fillna(0.0).rename("returns")
    paths["returns"] = tmp_path / "returns.csv"
    returns.to_frame().to_csv(paths["returns"], index_label="timestamp")
    predictions = pd.DataFrame(
        {"symbol": "BTCUSDT", "signal": np.sign(returns.shift(1).fillna(0.0)), "close": close},
        index=candles.index,
    )
    paths["predictions"] = tmp_path / "predictions.csv"
    predictions.to_csv(paths["predictions"], index_label="timestamp")
    for name in ("existing.csv", "existing.parquet", "existing.json", "existing.png",
                 "existing.html"):  # fmt: skip
        (tmp_path / name).write_text("precious output\n")
        paths[name] = tmp_path / name
    full = tmp_path / "full"
    full.mkdir()
    (full / "returns.csv").write_text("precious\n")
    paths["full"] = full
    return tmp_path


@pytest.fixture
def files(originals: Path, tmp_path: Path) -> dict[str, Path]:
    """A fresh copy of the inputs per test, plus a symlink to the candles."""
    shutil.copytree(originals, tmp_path, dirs_exist_ok=True)
    paths = {p.stem if p.stem != "existing" else p.name: p for p in tmp_path.iterdir()}
    paths["candles"], paths["parquet"] = tmp_path / "btc.csv", tmp_path / "btc.parquet"
    (tmp_path / "link.csv").symlink_to(paths["candles"])
    paths["link"] = tmp_path / "link.csv"
    return paths


# (command, what the one red line must say); {name} are paths from ``files``
REFUSED = [
    ("data validate {candles} --repair {candles}", "is the input file"),
    ("data validate {candles} --repair {link}", "is the input file"),
    ("data validate {candles} --repair {existing.csv}", "exists; pass --force"),
    ("data resample {candles} --to 4h -o {candles}", "is the input file"),
    ("data resample {link} --to 4h -o {candles}", "is the input file"),
    ("data resample {candles} --to 4h -o {existing.parquet}", "exists; pass --force"),
    ("data resample {candles} --to 4h -o {dir}/out.xlsx", "does not name the format"),
    ("data synth -o {existing.csv} --bars 10 --seed 1", "exists; pass --force"),
    ("features generate {candles} -o {candles}", "is the input file"),
    ("features generate {parquet} -o {parquet}", "is the input file"),
    ("features generate {candles} -o {existing.parquet}", "exists; pass --force"),
    ("features generate {candles} -o {dir}/f.json", "does not name the format"),
    ("regimes fit {candles} -o {candles}", "is the input file"),
    ("regimes fit {candles} -o {existing.json}", "exists; pass --force"),
    ("regimes fit {candles} -o {dir}/m.csv", "does not name the format"),
    ("regimes predict {model} {candles} -o {candles}", "is the input file"),
    ("regimes predict {model} {candles} -o {model}", "is the input file"),
    ("regimes predict {model} {candles} -o {existing.csv}", "exists; pass --force"),
    ("regimes plot {model} {candles} -o {existing.png}", "exists; pass --force"),
    ("validate splits {candles} --png {existing.png}", "exists; pass --force"),
    ("validate splits {candles} --png {candles}", "is the input file"),
    ("backtest --predictions {predictions} --out {full}", "not empty; pass --force"),
    ("backtest --predictions {predictions} --out {predictions}", "is the input file"),
    ("backtest --predictions {predictions} --out {existing.csv}", "is a file"),
    ("report --returns {returns} -o {existing.html}", "exists; pass --force"),
    ("report --returns {returns} -o {dir}/r.html --format pdf", "does not name the format"),
    ("report --returns {returns} --format html -o {returns}", "is the input file"),
    ("experiments compare x --csv {existing.csv}", "exists; pass --force"),
    ("experiments compare x --csv {dir}/table.parquet", "does not name the format"),
    ("predict -m m@champion {candles} -o {candles}", "is the input file"),
    ("predict -m m@champion {candles} -o {existing.parquet}", "exists; pass --force"),
]


@pytest.mark.parametrize(("command", "message"), REFUSED, ids=[c for c, _ in REFUSED])
def test_writers_refuse_and_change_nothing(cli, files, tmp_path, command, message):
    before = _digest(tmp_path)
    names = {k: str(v) for k, v in files.items()} | {"dir": str(tmp_path)}
    args = command
    for key, value in names.items():
        args = args.replace("{" + key + "}", value)
    code, _, err = cli(*args.split())
    assert code == 2, err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert _digest(tmp_path) == before


def test_force_replaces_an_output_and_outputs_follow_their_extension(cli, files, tmp_path):
    out = files["existing.csv"]
    code, _, err = cli("data", "resample", files["candles"], "--to", "4h", "-o", out, "--force")
    assert code == 0, err
    assert pd.read_csv(out)["timestamp"].iloc[0].endswith("Z")  # CSV, whole
    spec = tmp_path / "features.yaml"
    spec.write_text("features:\n  categories: [momentum]\n")
    code, _, err = cli(
        "features", "generate", files["candles"], "-o", tmp_path / "f.csv", "--spec", spec
    )
    assert code == 0, err
    features = pd.read_csv(tmp_path / "f.csv", index_col=0)  # CSV under a .csv name
    assert len(features) == 600 and features.shape[1] > 10
    code, _, err = cli(
        "regimes", "predict", files["model"], files["candles"], "-o", files["existing.csv"],
        "--force",
    )  # fmt: skip
    assert code == 0, err
    assert "regime" in pd.read_csv(files["existing.csv"]).columns
    code, _, err = cli(
        "backtest", "--predictions", files["predictions"], "--out", files["full"], "--force"
    )
    assert code == 0, err
    assert {p.name for p in files["full"].iterdir()} == {
        "returns.csv", "positions.csv", "trades.csv", "summary.json",
    }  # fmt: skip
    # no temporary names are left behind
    assert not [p for p in tmp_path.rglob(".*") if ".tmp" in p.name]


def test_check_output_rules(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("x")
    os.link(source, tmp_path / "hard.csv")
    with pytest.raises(OutputError, match="is the input file"):
        check_output(tmp_path / "hard.csv", inputs=[source])  # a hard link is the same file
    with pytest.raises(OutputError, match="is the input file"):
        check_output(tmp_path / "sub" / ".." / "in.csv", inputs=[source], force=True)
    with pytest.raises(OutputError, match="a folder"):
        check_output(tmp_path, inputs=[source])
    assert check_output(tmp_path / "new.csv.gz", suffixes=(".csv.gz",)).name == "new.csv.gz"
    with pytest.raises(OutputError, match="'.gz'"):
        check_output(tmp_path / "new.gz", suffixes=(".csv.gz",))
    assert check_output(source, force=True) == source


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.csv"
    atomic_write_text(target, "old\n")
    os.chmod(target, 0o640)
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("killed half way")
    assert target.read_text() == "old\n"
    with atomic_path(target) as temporary:
        assert temporary.parent == tmp_path and temporary.name.endswith(".csv")
        pd.DataFrame({"a": [1]}).to_csv(temporary)
    assert pd.read_csv(target)["a"].tolist() == [1]
    assert target.stat().st_mode & 0o777 == 0o640  # a replaced file keeps its mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
