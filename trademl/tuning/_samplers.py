"""The Optuna sampler a spec asks for, seeded so the same spec gives the same trials."""

from __future__ import annotations

from typing import Any

from trademl.errors import SpecError
from trademl.tuning._space import grid_values

__all__ = ["make_sampler"]


def make_sampler(name: str, space: dict[str, Any], *, seed: int, n_startup_trials: int = 5):
    """``tpe``, ``random``, ``grid``, ``cmaes`` or ``nsga2`` (multi-objective Pareto search)."""
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup_trials)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler(grid_values(space), seed=seed)
    if name == "cmaes":
        try:
            import cmaes  # noqa: F401  (Optuna's CMA-ES sampler needs it at sample time)
        except ImportError:
            raise SpecError(
                "tuning.sampler: 'cmaes' needs the cmaes package (pip install cmaes)"
            ) from None
        # categorical parameters go to an independent random sampler, seeded the same way
        return optuna.samplers.CmaEsSampler(
            seed=seed,
            n_startup_trials=n_startup_trials,
            independent_sampler=optuna.samplers.RandomSampler(seed=seed),
            warn_independent_sampling=False,
        )
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    raise SpecError(f"tuning.sampler: unknown sampler {name!r}")
