"""Optuna's history, importance and Pareto plots as image files (run artifacts)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

__all__ = ["save_plots"]

logger = logging.getLogger(__name__)


def save_plots(study, directory: str | Path) -> list[Path]:
    """Write the plots that make sense for ``study`` into ``directory``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    from optuna.trial import TrialState
    from optuna.visualization import matplotlib as vis

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    multi = len(study.directions) > 1
    first = {"target": (lambda t: t.values[0]), "target_name": "objective 0"} if multi else {}
    plots = {"optimization_history": lambda: vis.plot_optimization_history(study, **first)}
    if len(complete) >= 2 and len({tuple(sorted(t.params.items())) for t in complete}) >= 2:
        plots["param_importances"] = lambda: vis.plot_param_importances(study, **first)
    if not multi:
        plots["intermediate_values"] = lambda: vis.plot_intermediate_values(study)
    if multi:
        plots["pareto_front"] = lambda: vis.plot_pareto_front(study)
    paths = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        for name, draw in plots.items():
            try:
                ax = draw()
            except (ValueError, RuntimeError) as exc:  # e.g. importances on constant params
                logger.info("plot %s skipped: %s", name, exc)
                continue
            figure = (ax.flat[0] if hasattr(ax, "flat") else ax).figure
            path = directory / f"{name}.png"
            figure.savefig(path, dpi=90, bbox_inches="tight")
            plt.close(figure)
            paths.append(path)
    return paths
