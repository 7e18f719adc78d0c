"""Per-epoch training checkpoints: written atomically, refused when from another network.

A checkpoint holds everything the next epoch depends on (weights, optimizer, schedule,
gradient scaler, the best weights so far and the early-stopping counters); the shuffling
and dropout randomness is re-seeded from (seed, epoch), so resuming from epoch k gives the
same final weights as never stopping.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from trademl.errors import TradeMLError

__all__ = ["CHECKPOINT_NAME", "CheckpointMismatch", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_NAME = "last.pt"


class CheckpointMismatch(TradeMLError):
    """A checkpoint was written by another architecture, other settings or other data."""


def save_checkpoint(folder: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``folder/last.pt`` via a temp file and a rename (kill-safe)."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CHECKPOINT_NAME
    partial = folder / f".{CHECKPOINT_NAME}.{os.getpid()}.partial"
    torch.save(state, partial)
    os.replace(partial, path)
    return path


def load_checkpoint(folder: Path, signature: dict[str, Any]) -> dict[str, Any] | None:
    """The checkpoint in ``folder`` if one exists; refuses one made for another network."""
    import torch

    path = folder / CHECKPOINT_NAME
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a foreign or corrupt file: name it, do not guess
        raise CheckpointMismatch(f"{path}: not a trademl training checkpoint ({exc})") from None
    theirs = state.get("signature") if isinstance(state, dict) else None
    if theirs != signature:
        theirs = theirs or {}
        differ = sorted(
            k for k in set(signature) | set(theirs) if theirs.get(k) != signature.get(k)
        )
        shown = {k: theirs.get(k) for k in differ}
        raise CheckpointMismatch(
            f"{path} was written for another network or data ({json.dumps(shown)} where this "
            f"model has {json.dumps({k: signature.get(k) for k in differ})}); use another "
            "checkpoint_dir or delete it"
        )
    return state
