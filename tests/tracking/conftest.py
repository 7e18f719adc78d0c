"""Fixtures for the tracking tests: real MLflow stores (SQLite) in temporary folders.

Creating an MLflow SQLite schema runs ~60 migrations (about 10 s here), so it is done
once per session into a template file; each test module works on its own copy.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def mlflow_template_db() -> Path:
    """An empty, fully migrated MLflow SQLite database (cached per MLflow version).

    Written to a temporary name and renamed into place, so concurrent xdist workers
    never see a half-migrated file.
    """
    import mlflow
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    path = Path(tempfile.gettempdir()) / f"trademl-test-mlflow-{mlflow.__version__}.db"
    if path.is_file():
        return path
    folder = Path(tempfile.mkdtemp(prefix="trademl-mlflow-template-"))
    draft = folder / "template.db"
    store = SqlAlchemyStore(f"sqlite:///{draft}", str(folder / "artifacts"))
    store.engine.dispose()
    os.replace(draft, path)
    shutil.rmtree(folder, ignore_errors=True)
    return path


def make_store(template: Path, folder: Path) -> dict[str, str]:
    """Copy the template into ``folder`` and point trademl.tracking at it."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "mlruns.db"
    shutil.copyfile(template, db)
    store = {
        "uri": f"sqlite:///{db}",
        "folder": str(folder),
        "artifact_root": str(folder / "mlartifacts"),
    }
    use_store(store)
    return store


def use_store(store: dict[str, str]) -> str:
    from trademl.config.tracking import TrackingSpec
    from trademl.tracking import configure

    return configure(TrackingSpec(uri=store["uri"], artifact_root=store["artifact_root"]))


@pytest.fixture(scope="session")
def activate_store():
    """``activate_store(store)`` points trademl.tracking at a store again (for module fixtures)."""
    return use_store


@pytest.fixture(scope="module")
def module_store(mlflow_template_db, tmp_path_factory) -> dict[str, str]:
    return make_store(mlflow_template_db, tmp_path_factory.mktemp("store"))


@pytest.fixture
def store(module_store) -> dict[str, str]:
    """The module's store (created once per module), configured again for every test.

    MLflow's tracking URI is process-global and xdist interleaves modules on a worker.
    """
    use_store(module_store)
    return module_store


@pytest.fixture(scope="session")
def new_store(mlflow_template_db):
    """Factory: ``new_store(folder)`` makes a fresh store there and configures it."""
    return lambda folder: make_store(mlflow_template_db, Path(folder))


@pytest.fixture(scope="module")
def btc_recent(btc_1h_path) -> pd.DataFrame:
    """The last 2,000 hours of real BTC/USDT 1h candles."""
    frame = pd.read_csv(btc_1h_path, parse_dates=["timestamp"], index_col="timestamp")
    return frame.iloc[-2000:].copy()


@pytest.fixture(scope="module")
def btc_xy(btc_recent) -> tuple[pd.DataFrame, pd.Series]:
    """Small causal features and the next-bar direction, for real (if weak) models."""
    close = btc_recent["close"]
    features = pd.DataFrame(
        {
            "ret_1": close.pct_change(),
            "ret_6": close.pct_change(6),
            "range": (btc_recent["high"] - btc_recent["low"]) / close,
            "vol_z": (btc_recent["volume"] - btc_recent["volume"].rolling(24).mean())
            / btc_recent["volume"].rolling(24).std(),
        }
    )
    target = (close.shift(-1) > close).astype(int)
    keep = features.notna().all(axis=1) & close.shift(-1).notna()
    return features[keep], target[keep]


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
