"""Data-parallel training with ``torchrun`` (DistributedDataParallel on the gloo backend).

``fit_distributed`` writes the windows, targets and the untrained network to a temp
folder, starts ``torchrun --standalone --nproc_per_node N`` on ``_ddp_worker``, and reads
the trained weights that rank 0 writes back. Every process draws the same permutation and
takes a strided share of each global batch (see ``_training``), so N processes learn what
one process does, up to the order in which floating-point gradients are summed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from trademl.errors import TradeMLError

__all__ = ["fit_distributed"]


def fit_distributed(model, network, windows, target, fit_rows, val_rows, settings):
    """Train ``network`` on ``model.nproc`` processes; it holds the result on return."""
    import torch

    from trademl.models.deep._training import TrainResult

    if settings.device.type != "cpu":
        raise TradeMLError("nproc > 1 runs on the CPU (gloo); set device='cpu' or nproc=1")
    with tempfile.TemporaryDirectory(prefix="trademl-ddp-") as tmp:
        folder = Path(tmp)
        np.savez(
            folder / "data.npz",
            values=windows.values,
            run_start=windows.run_start,
            position=windows.position,
            target=target,
            fit_rows=fit_rows,
            val_rows=np.empty(0, dtype=np.int64) if val_rows is None else val_rows,
            has_val=np.array(val_rows is not None),
        )
        torch.save(
            {"network": network, "settings": settings, "window": windows.window,
             "threads": int(model.n_jobs or 1)},
            folder / "job.pt",
        )  # fmt: skip
        command = [
            sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1",
            "--nproc_per_node", str(int(model.nproc)),
            "-m", "trademl.models.deep._ddp_worker", str(folder),
        ]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": str(int(model.n_jobs or 1))}
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise TradeMLError(
                f"torchrun with nproc={model.nproc} failed (exit {done.returncode}): "
                + " | ".join(tail)
            )
        result = torch.load(folder / "result.pt", weights_only=False)
    network.load_state_dict(result["state"])
    network.eval()
    return TrainResult(result["best_epoch"], result["history"], result["stopped_early"])
