"""Search spaces from the spec: ask an Optuna trial for values, or list a grid."""

from __future__ import annotations

from typing import Any

import numpy as np

from trademl.config.tuning import CategoricalRange, FloatRange, IntRange
from trademl.errors import SpecError

__all__ = ["grid_values", "suggest_params"]


def suggest_params(trial, space: dict[str, Any]) -> dict[str, Any]:
    """One value per parameter, drawn by the trial's sampler."""
    params: dict[str, Any] = {}
    for name, rng in space.items():
        if isinstance(rng, IntRange):
            params[name] = trial.suggest_int(name, rng.low, rng.high, step=rng.step, log=rng.log)
        elif isinstance(rng, FloatRange):
            params[name] = trial.suggest_float(name, rng.low, rng.high, step=rng.step, log=rng.log)
        elif isinstance(rng, CategoricalRange):
            params[name] = trial.suggest_categorical(name, rng.choices)
        else:  # pragma: no cover - the spec's union has exactly these three
            raise SpecError(f"model.search_space.{name}: unsupported range {rng!r}")
    return params


def grid_values(space: dict[str, Any]) -> dict[str, list[Any]]:
    """Every grid point per parameter; floats need a ``step`` to be enumerable."""
    grid: dict[str, list[Any]] = {}
    for name, rng in space.items():
        if isinstance(rng, IntRange):
            if rng.log:
                raise SpecError(
                    f"model.search_space.{name}: the grid sampler cannot enumerate a log "
                    "range; use step or a categorical list"
                )
            grid[name] = list(range(rng.low, rng.high + 1, rng.step))
        elif isinstance(rng, FloatRange):
            if rng.step is None:
                raise SpecError(
                    f"model.search_space.{name}: the grid sampler needs a step for float "
                    "ranges (or use a categorical list)"
                )
            count = int(np.floor((rng.high - rng.low) / rng.step + 1e-9)) + 1
            grid[name] = [float(round(rng.low + i * rng.step, 12)) for i in range(count)]
        else:
            grid[name] = list(rng.choices)
    return grid
