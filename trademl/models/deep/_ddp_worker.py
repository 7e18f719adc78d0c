"""One ``torchrun`` process of ``fit_distributed``: join the gloo group, train, rank 0 writes.

Run as ``python -m torch.distributed.run ... -m trademl.models.deep._ddp_worker FOLDER``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from trademl.models.deep._training import fit_network
from trademl.models.deep._windows import SlidingWindows


def main(folder: Path) -> None:
    dist.init_process_group("gloo")
    try:
        job = torch.load(folder / "job.pt", weights_only=False)
        torch.set_num_threads(job["threads"])
        data = np.load(folder / "data.npz")
        windows = SlidingWindows(
            values=data["values"],
            run_start=data["run_start"],
            position=data["position"],
            window=job["window"],
        )
        val_rows = data["val_rows"] if bool(data["has_val"]) else None
        network = job["network"]
        result = fit_network(
            network, windows, data["target"], data["fit_rows"], val_rows, job["settings"]
        )
        if dist.get_rank() == 0:
            torch.save(
                {"state": network.state_dict(), "best_epoch": result.best_epoch,
                 "history": result.history, "stopped_early": result.stopped_early},
                folder / "result.pt",
            )  # fmt: skip
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
