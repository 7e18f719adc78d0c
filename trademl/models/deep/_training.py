"""The training loop of every sequence network.

AdamW, a one-cycle learning-rate schedule, gradient-norm clipping, class-weighted loss,
early stopping on the validation rows (carved by the estimator from the end of its
training rows, purged), a checkpoint after every epoch, mixed precision when asked (CUDA
float16 with a gradient scaler, CPU bfloat16), per-epoch metrics to MLflow when a run is
active, and an optional per-epoch reporter (Optuna pruning).

Determinism: before each epoch the shuffling generator and torch's global generator
(dropout) are seeded from (seed, epoch), so a resumed run replays exactly the epochs an
uninterrupted one would. Under ``torch.distributed`` every process draws the same
permutation and takes a strided share of each global batch; the loss is normalised by
the GLOBAL batch's weight, so averaging gradients over processes gives the one-process
gradient up to the order of floating-point sums.
"""

from __future__ import annotations

import copy
import logging
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from trademl.models.deep._checkpoint import load_checkpoint, save_checkpoint
from trademl.models.deep._reporting import EPOCH_REPORTER
from trademl.models.deep._windows import SlidingWindows

__all__ = ["TrainResult", "TrainSettings", "fit_network", "predict_network"]

logger = logging.getLogger(__name__)


@dataclass
class TrainSettings:
    task: str
    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    grad_clip: float
    patience: int | None
    seed: int
    device: torch.device
    mixed_precision: bool
    class_weights: np.ndarray | None = None
    checkpoint_dir: Path | None = None
    signature: dict[str, Any] = field(default_factory=dict)
    metric_prefix: str = "deep"


@dataclass
class TrainResult:
    best_epoch: int
    history: list[dict[str, float]]
    stopped_early: bool


def _world() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _autocast(settings: TrainSettings):
    kind = settings.device.type
    dtype = torch.float16 if kind == "cuda" else torch.bfloat16
    return torch.autocast(device_type=kind, dtype=dtype, enabled=settings.mixed_precision)


def _losses(outputs: torch.Tensor, target: torch.Tensor, task: str) -> torch.Tensor:
    if task == "classification":
        return nn.functional.cross_entropy(outputs.float(), target, reduction="none")
    return (outputs.float()[:, 0] - target) ** 2


def _batch_tensors(windows, target, weights, rows, device, task):
    x = torch.from_numpy(windows.gather(rows)).to(device)
    dtype = torch.long if task == "classification" else torch.float32
    t = torch.as_tensor(target[rows], dtype=dtype, device=device)
    w = torch.as_tensor(weights[rows], dtype=torch.float32, device=device)
    return x, t, w


@torch.no_grad()
def _validation_loss(network, windows, target, weights, rows, settings) -> float:
    network.eval()
    total, weight = 0.0, 0.0
    for start in range(0, len(rows), max(settings.batch_size, 256)):
        batch = rows[start : start + max(settings.batch_size, 256)]
        x, t, w = _batch_tensors(windows, target, weights, batch, settings.device, settings.task)
        with _autocast(settings):
            outputs, _ = network(x)
        total += float((_losses(outputs, t, settings.task) * w).sum())
        weight += float(w.sum())
    return total / max(weight, 1e-12)


def _log_to_mlflow(prefix: str, values: dict[str, float], epoch: int) -> None:
    # a run can only be active if mlflow was imported; never import it just to look
    if "mlflow" not in sys.modules:
        return
    import mlflow

    if mlflow.active_run() is not None:
        mlflow.log_metrics({f"{prefix}_{k}": v for k, v in values.items()}, step=epoch)


def fit_network(
    network: nn.Module,
    windows: SlidingWindows,
    target: np.ndarray,
    fit_rows: np.ndarray,
    val_rows: np.ndarray | None,
    settings: TrainSettings,
) -> TrainResult:
    """Train ``network`` in place; on return it holds the best (or last) epoch's weights."""
    rank, world = _world()
    device = settings.device
    network.to(device)
    model = network
    if world > 1:
        model = nn.parallel.DistributedDataParallel(network)
    if settings.class_weights is not None and settings.task == "classification":
        weights = settings.class_weights[target].astype(np.float32)
    else:
        weights = np.ones(len(target), dtype=np.float32)

    steps_per_epoch = max(1, math.ceil(len(fit_rows) / settings.batch_size))
    optimizer = torch.optim.AdamW(
        network.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    total_steps = settings.epochs * steps_per_epoch
    if total_steps >= 4:
        # the warm-up phase needs at least one whole step, or OneCycleLR divides by zero
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=settings.learning_rate,
            total_steps=total_steps,
            pct_start=min(0.5, max(0.1, 2.0 / total_steps)),
        )
    else:  # too few steps for a schedule: the constant peak rate
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    use_scaler = settings.mixed_precision and device.type == "cuda"
    scaler = torch.amp.GradScaler(device.type, enabled=use_scaler)

    history: list[dict[str, float]] = []
    best = {"loss": math.inf, "epoch": -1, "state": None}
    bad_epochs, first_epoch, stopped = 0, 0, False
    if settings.checkpoint_dir is not None:
        state = load_checkpoint(settings.checkpoint_dir, settings.signature)
        if state is not None:
            network.load_state_dict(state["network"])
            optimizer.load_state_dict(state["optimizer"])
            schedule.load_state_dict(state["schedule"])
            scaler.load_state_dict(state["scaler"])
            best = {"loss": state["best_loss"], "epoch": state["best_epoch"],
                    "state": state["best_state"]}  # fmt: skip
            bad_epochs, first_epoch = state["bad_epochs"], state["epoch"] + 1
            history, stopped = list(state["history"]), bool(state["finished"])
            logger.info("resuming from %s after epoch %d", settings.checkpoint_dir, first_epoch)

    reporter = EPOCH_REPORTER.get()
    for epoch in range(first_epoch, settings.epochs):
        if stopped:
            break
        started, cpu_started = time.perf_counter(), time.process_time()
        shuffle = torch.Generator().manual_seed(settings.seed * 100_003 + epoch)
        torch.manual_seed(settings.seed * 7_919 + epoch + rank * 1_000_003)
        order = fit_rows[torch.randperm(len(fit_rows), generator=shuffle).numpy()]
        model.train()
        total, seen = 0.0, 0.0
        for start in range(0, len(order), settings.batch_size):
            batch = order[start : start + settings.batch_size]
            if len(batch) < world:  # a process would get no row: the tail batch is dropped
                break
            batch_weight = float(weights[batch].sum())
            share = batch[rank::world]
            x, t, w = _batch_tensors(windows, target, weights, share, device, settings.task)
            with _autocast(settings):
                outputs, _ = model(x)
            # normalised by the global batch's weight; DDP's gradient mean divides by world
            loss = (_losses(outputs, t, settings.task) * w).sum() / batch_weight * world
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            if settings.grad_clip > 0:
                nn.utils.clip_grad_norm_(network.parameters(), settings.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            schedule.step()
            total += float(loss.detach()) / world * batch_weight
            seen += batch_weight
        if world > 1:  # each process summed its own share of the loss
            shared = torch.tensor([total], dtype=torch.float64)
            torch.distributed.all_reduce(shared)
            total = float(shared[0])
        record = {"train_loss": total / max(seen, 1e-12), "lr": schedule.get_last_lr()[0]}
        if val_rows is not None and len(val_rows):
            record["val_loss"] = _validation_loss(
                network, windows, target, weights, val_rows, settings
            )
            improved = record["val_loss"] < best["loss"]
        else:
            improved = True  # without a validation slice the last epoch is the model
        if improved:
            best = {"loss": record.get("val_loss", record["train_loss"]), "epoch": epoch,
                    "state": copy.deepcopy(network.state_dict())}  # fmt: skip
            bad_epochs = 0
        else:
            bad_epochs += 1
        record["epoch_seconds"] = time.perf_counter() - started
        record["epoch_cpu_seconds"] = time.process_time() - cpu_started
        history.append(record)
        stopped = settings.patience is not None and bad_epochs >= settings.patience
        logger.info(
            "epoch %d/%d %s",
            epoch + 1,
            settings.epochs,
            " ".join(f"{k}={v:.4g}" for k, v in record.items()),
        )
        if rank == 0:
            _log_to_mlflow(settings.metric_prefix, record, epoch)
            if settings.checkpoint_dir is not None:
                save_checkpoint(
                    settings.checkpoint_dir,
                    {
                        "signature": settings.signature,
                        "epoch": epoch,
                        "network": network.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "schedule": schedule.state_dict(),
                        "scaler": scaler.state_dict(),
                        "best_state": best["state"],
                        "best_loss": best["loss"],
                        "best_epoch": best["epoch"],
                        "bad_epochs": bad_epochs,
                        "history": history,
                        "finished": stopped or epoch + 1 == settings.epochs,
                    },
                )
        if reporter is not None and "val_loss" in record:
            reporter(epoch, record["val_loss"])
    if best["state"] is not None:
        network.load_state_dict(best["state"])
    network.to("cpu").eval()
    return TrainResult(best_epoch=best["epoch"], history=history, stopped_early=stopped)


@torch.no_grad()
def predict_network(
    network: nn.Module, windows: SlidingWindows, rows: np.ndarray, batch_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """(outputs, representations) of ``network`` on the windows ending at ``rows``."""
    network.eval()
    outputs, representations = [], []
    for start in range(0, len(rows), batch_size):
        x = torch.from_numpy(windows.gather(rows[start : start + batch_size]))
        out, rep = network(x)
        outputs.append(out.float().numpy())
        representations.append(rep.float().numpy())
    return np.concatenate(outputs), np.concatenate(representations)
