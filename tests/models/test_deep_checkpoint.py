"""Checkpoints: a training killed with SIGKILL resumes to the weights of an uninterrupted
one; a checkpoint from another architecture is refused by name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from trademl.models import build_model
from trademl.models.deep._checkpoint import CheckpointMismatch

EPOCHS = 12
PARAMS = {"window": 8, "epochs": EPOCHS, "batch_size": 32, "hidden_size": 8, "onnx": False}

_CHILD = """
import sys, numpy as np, pandas as pd, torch
torch.set_num_threads(1)
from trademl.models import build_model
data = np.load(sys.argv[1])
X = pd.DataFrame(data["X"], index=pd.DatetimeIndex(data["index"], tz="UTC"))
params = dict(%r, checkpoint_dir=sys.argv[2])
build_model({"kind": "lstm", "params": params}, purge=4).fit(X, data["y"])
"""


@pytest.fixture
def data(xy):
    X, y, _ = xy
    return X.iloc[:300], y[:300]


def _epoch(folder: Path) -> tuple[int, bool]:
    path = folder / "last.pt"
    if not path.exists():
        return -1, False
    try:
        state = torch.load(path, weights_only=True)
    except (FileNotFoundError, EOFError, RuntimeError):
        return -1, False
    return int(state["epoch"]), bool(state["finished"])


def test_killed_training_resumes_to_the_same_weights(data, tmp_path):
    torch.set_num_threads(1)
    X, y = data
    npz = tmp_path / "data.npz"
    np.savez(npz, X=X.to_numpy(), index=X.index.tz_localize(None).to_numpy(), y=y)
    folder = tmp_path / "ckpt"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD % PARAMS, str(npz), str(folder)], env=env
    )
    try:
        deadline = time.monotonic() + 120
        while _epoch(folder)[0] < 2 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    killed_at, finished = _epoch(folder)
    assert child.returncode == -signal.SIGKILL
    assert 2 <= killed_at < EPOCHS - 1 and not finished, "the kill must land mid-training"

    X_frame = pd.DataFrame(X.to_numpy(), index=X.index)
    resumed = build_model(
        {"kind": "lstm", "params": {**PARAMS, "checkpoint_dir": str(folder)}}, purge=4
    ).fit(X_frame, y)
    straight = build_model({"kind": "lstm", "params": PARAMS}, purge=4).fit(X_frame, y)
    assert len(resumed.history_) == len(straight.history_)
    a, b = resumed.network_.state_dict(), straight.network_.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.best_epoch_ == straight.best_epoch_


def test_checkpoint_from_another_architecture_is_refused(data, tmp_path):
    X, y = data
    params = {**PARAMS, "epochs": 2, "checkpoint_dir": str(tmp_path)}
    build_model({"kind": "lstm", "params": params}, purge=4).fit(X, y)
    with pytest.raises(CheckpointMismatch, match=r"last.pt was written for another network.*gru"):
        build_model({"kind": "gru", "params": params}, purge=4).fit(X, y)
    with pytest.raises(CheckpointMismatch, match="hidden_size"):
        build_model({"kind": "lstm", "params": {**params, "hidden_size": 16}}, purge=4).fit(X, y)
