"""`trademl run` checks every store its spec names before any work: exit 2 naming the setting."""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

import pytest
import yaml


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spec(tmp_path, **sections) -> str:
    spec = {
        "name": "store-checks",
        "data": {"sample": "BTCUSDT-1h", "start": "2026-01-20"},
        "features": {"categories": ["momentum"]},
        "labels": {"kind": "direction", "horizon": 4},
        "validation": {"n_splits": 3, "holdout_fraction": 0.25},
        "model": {"kind": "lightgbm", "params": {"n_estimators": 10}},
        "tuning": {"n_trials": 1, "storage": f"sqlite:///{tmp_path / 'optuna.db'}"},
        "tracking": {"artifact_root": str(tmp_path / "artifacts")},
    }
    for key, value in sections.items():
        spec[key] = spec.get(key, {}) | value
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def _blocked(tmp_path) -> str:
    """A folder that cannot exist: its parent is a file."""
    (tmp_path / "a-file").write_text("not a folder")
    return str(tmp_path / "a-file" / "sub")


CASES = {
    "tracking folder": ({"tracking": {"uri": "sqlite:///{blocked}/mlruns.db"}}, "tracking.uri"),
    "tracking server down": ({"tracking": {"uri": "http://127.0.0.1:{port}"}}, "unreachable"),
    # refused when the spec loads, before the store check
    "tracking scheme": ({"tracking": {"uri": "notascheme://x"}}, "notascheme://x"),
    "artifact root": (
        {"tracking": {"uri": "{store}", "artifact_root": "{blocked}/art"}},
        "tracking.artifact_root",
    ),
    "monitoring folder": (
        {"monitoring": {"db_url": "sqlite:///{blocked}/m.db", "register_reference": True}},
        "monitoring.db_url",
    ),
    "monitoring url": (
        {"monitoring": {"db_url": "nosuchdb://x/y", "register_reference": True}},
        "monitoring.db_url",
    ),
}


@pytest.fixture(scope="module")
def template_store(tmp_path_factory) -> Path:
    """One MLflow store built for the module (building one runs ~60 migrations)."""
    from trademl.config.tracking import TrackingSpec
    from trademl.tracking import configure

    folder = tmp_path_factory.mktemp("template")
    configure(TrackingSpec(uri=f"sqlite:///{folder / 'mlruns.db'}", artifact_root=str(folder)))
    return folder / "mlruns.db"


@pytest.fixture
def store_uri(template_store, tmp_path) -> str:
    shutil.copyfile(template_store, tmp_path / "mlruns.db")
    return f"sqlite:///{tmp_path / 'mlruns.db'}"


@pytest.mark.parametrize("case", list(CASES))
def test_an_unusable_store_fails_before_any_work(cli, tmp_path, monkeypatch, store_uri, case):
    monkeypatch.chdir(tmp_path)
    sections, message = CASES[case]
    fill = {"blocked": _blocked(tmp_path), "port": str(_free_port()), "store": store_uri}
    text = yaml.safe_dump(sections)
    for key, value in fill.items():
        text = text.replace("{" + key + "}", value)
    if "tracking" not in sections:  # a working tracking store, so the monitoring one is reached
        text += f"tracking:\n  uri: {store_uri}\n"
    spec = _spec(tmp_path, **yaml.safe_load(text))
    started = time.perf_counter()
    code, _, err = cli("run", spec, "--no-progress")
    assert code == 2, err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    # refused before the data, the features and the tuning study were touched
    assert not (tmp_path / "optuna.db").exists()
    assert time.perf_counter() - started < 60


def test_a_monitoring_failure_no_longer_registers_a_version_first(
    cli, tmp_path, monkeypatch, store_uri
):
    """The issue's case: v1 registered, then the monitoring store failed (gates skipped)."""
    monkeypatch.chdir(tmp_path)
    blocked = _blocked(tmp_path)
    spec = _spec(
        tmp_path,
        tracking={"uri": store_uri},
        monitoring={"db_url": f"sqlite:///{blocked}/m.db", "register_reference": True},
    )
    code, _, err = cli("run", spec, "--no-progress")
    assert code == 2 and "monitoring.db_url" in err
    from trademl.tracking._store import client

    assert client().search_registered_models() == []
