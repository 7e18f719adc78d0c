"""``evaluate``: the package predicts the untouched holdout, and every figure is scored.

The holdout predictions come from the model package itself (``score_rows`` on the
recipe's columns), so ``trademl predict`` on the raw candles gives the same rows. Every
figure comes from ``trademl.evaluation.score_predictions`` — the backtest engine with the
spec's lag, fees, slippage and sizing — the same function tuning and monitoring use.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from trademl.config import ExperimentSpec
    from trademl.package.model import ModelPackage
    from trademl.pipeline.dataset import Dataset
    from trademl.tuning import TuningResult

__all__ = ["OOS_COLUMNS", "evaluate", "holdout_predictions"]

logger = logging.getLogger(__name__)

# the contract of predictions/oos.parquet (index: timestamp)
OOS_COLUMNS = ["symbol", "close", "y_true", "y_pred", "proba", "signal", "forward_return"]


def holdout_predictions(dataset: Dataset, package: ModelPackage) -> pd.DataFrame:
    """The holdout rows as the package predicts them: the ``predictions/oos.parquet`` frame."""
    rows = dataset.holdout
    X = dataset.X.iloc[rows]
    symbols = dataset.symbol[rows]
    scored = pd.DataFrame(index=X.index, columns=["y_pred", "proba", "signal"], dtype=float)
    for name in np.unique(symbols):
        where = np.flatnonzero(symbols == name)
        # the symbol's rows from its first bar, as `trademl predict` on its candles sees them:
        # a sequence model reads the bars before each holdout row (features, never labels)
        history = np.flatnonzero(dataset.symbol[: rows[where[-1]] + 1] == name)
        part = package.score_rows(dataset.X.iloc[history], str(name)).iloc[-len(where) :]
        scored.iloc[where] = part.to_numpy(dtype=float)
    frame = pd.DataFrame(
        {
            "symbol": pd.array(symbols, dtype="string"),
            "close": dataset.close[rows],
            "y_true": dataset.y[rows].astype(float),
            "y_pred": scored["y_pred"].to_numpy(dtype=float),
            "proba": scored["proba"].to_numpy(dtype=float),
            "signal": scored["signal"].to_numpy().astype(np.int8),
            "forward_return": dataset.forward_return[rows],
        },
        index=X.index,
    )
    frame.index.name = "timestamp"
    return frame[OOS_COLUMNS]


def evaluate(
    spec: ExperimentSpec,
    dataset: Dataset,
    oos: pd.DataFrame,
    tuning: TuningResult | None = None,
) -> dict[str, float]:
    """Holdout figures (``oos_*``), the probabilistic and deflated Sharpe, and ``cv_*``."""
    from scipy import stats

    from trademl.analytics.periods import periods_per_year_for
    from trademl.evaluation import score_predictions
    from trademl.validation.metrics import sharpe
    from trademl.validation.significance import deflated_sharpe_ratio, probabilistic_sharpe_ratio

    ppy = periods_per_year_for(dataset.timeframe, spec.backtest.calendar)
    scores = score_predictions(
        oos, task=spec.model.task, backtest=spec.backtest, periods_per_year=ppy
    )
    out = {f"oos_{name}": value for name, value in scores.metrics.items()}
    returns = scores.returns.dropna().to_numpy(dtype=float)
    n_obs = len(returns)
    per_bar = sharpe(returns)  # per bar: the unit PSR and DSR work in
    skew = float(stats.skew(returns)) if n_obs > 2 else 0.0
    kurt = float(stats.kurtosis(returns, fisher=False)) if n_obs > 3 else 3.0
    out["probabilistic_sharpe"] = float(probabilistic_sharpe_ratio(per_bar, n_obs, skew, kurt, 0.0))
    if tuning is not None and tuning.n_complete > 1:
        # pruned trials were configurations tried and rejected too: they count as trials;
        # the Sharpe spread comes from the completed ones (pruned have no full-CV Sharpe)
        out["deflated_sharpe"] = float(
            deflated_sharpe_ratio(
                per_bar, tuning.n_trials, tuning.sharpe_variance, n_obs, skew, kurt
            )
        )
        out["n_trials"] = float(tuning.n_trials)
        best = tuning.study.trials[tuning.best_trial_number].user_attrs
        for name, value in best.items():
            if name.startswith("cv_") and isinstance(value, int | float):
                out[name] = float(value)
    else:
        # one configuration tried: nothing to deflate for, DSR equals PSR against zero
        out["deflated_sharpe"] = out["probabilistic_sharpe"]
        out["n_trials"] = 1.0
    return {k: float(v) for k, v in out.items() if v is not None and np.isfinite(v)}
