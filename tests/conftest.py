"""Fixtures shared by every test area. Area-specific fixtures live in tests/<area>/conftest.py."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# model manifests are signed (trademl.package.signing): one throwaway key per test session
# (subprocesses inherit it), never the user's own key file
os.environ.pop("TRADEML_SIGNING_KEY", None)
os.environ["TRADEML_SIGNING_KEY_FILE"] = str(
    Path(tempfile.mkdtemp(prefix="trademl-test-key-")) / "signing.key"
)

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real market data beside the project (../shared/data)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real market data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def btc_1h_path(shared_data: Path) -> Path:
    return shared_data / "BTCUSDT_1h_2017-2026.csv.gz"


@pytest.fixture
def cli(capsys):
    """Run ``trademl ARGS`` in-process; returns (exit_code, stdout, stderr)."""
    from trademl.cli import run_cli

    def invoke(*args: str):
        code = run_cli([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke
