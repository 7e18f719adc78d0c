"""DistributedDataParallel through torchrun (gloo, 2 processes) learns what one process
learns, up to the order of floating-point gradient sums."""

from __future__ import annotations

import torch

from trademl.models import build_model

PARAMS = {"window": 8, "epochs": 3, "hidden_size": 8, "batch_size": 64, "dropout": 0.0,
          "onnx": False}  # fmt: skip


def test_two_processes_equal_one(xy):
    torch.set_num_threads(1)
    X, y, _ = xy
    X, y = X.iloc[:400], y[:400]
    one = build_model({"kind": "lstm", "params": PARAMS}, purge=4).fit(X, y)
    two = build_model({"kind": "lstm", "params": {**PARAMS, "nproc": 2}}, purge=4).fit(X, y)
    a, b = one.network_.state_dict(), two.network_.state_dict()
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-5
    for first, second in zip(one.history_, two.history_, strict=True):
        assert abs(first["train_loss"] - second["train_loss"]) < 1e-5
        assert abs(first["val_loss"] - second["val_loss"]) < 1e-5


def test_run_nproc_is_checked_against_the_models_card(cli):
    from pathlib import Path

    spec = Path(__file__).resolve().parents[2] / "examples" / "btc_1h_lightgbm.yaml"
    code, _, err = cli("run", spec, "--nproc", "2", "--no-progress")
    assert code == 2 and "model.params.nproc" in err and "lightgbm" in err
