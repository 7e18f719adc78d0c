"""Live performance of a model once outcomes arrive, and whether it is degrading.

Input is the frame ``MonitorStore.predictions(model, with_outcomes=True)`` returns:
``prediction`` (class or expected return), ``proba`` (P(up)), ``signal`` (target
position), ``close`` (the bar's close) and the outcome's ``label`` and
``forward_return`` (simple return over the label horizon). The figures come from
``trademl.evaluation.score_predictions``, the function that scores the holdout: the same
metric registry, the same backtest engine (execution lag, fees, sizing) and the same
horizon for IC and hit rate, so a live Sharpe is comparable with the baseline's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from trademl.config.monitoring import DegradationSpec
from trademl.errors import DataError

__all__ = [
    "DEGRADATION_METRICS",
    "Finding",
    "HealthStatus",
    "assess_degradation",
    "health_from_findings",
    "performance_metrics",
    "predictions_frame",
    "rolling_metrics",
]

logger = logging.getLogger(__name__)

HealthStatus = Literal["healthy", "degraded", "failing"]
# the live figures compared with the baseline (directions from the metric registry)
RATE_METRICS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc",
                "hit_rate", "ic")  # fmt: skip
DEGRADATION_METRICS = (*RATE_METRICS, "sharpe")


def predictions_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Stored predictions with outcomes as the ``predictions/oos.parquet`` contract frame.

    ``y_true`` is the outcome's ``label`` (a regressor without labels: its
    ``forward_return``); ``forward_return`` falls back to ``realized_return`` on rows
    stored before the store had that column; a missing ``signal`` is the side of P(up) -
    0.5 (or of the prediction).
    """
    if "prediction" not in frame.columns:
        raise DataError(f"performance: missing column 'prediction'; got {list(frame.columns)}")
    nan = pd.Series(np.nan, index=frame.index, dtype="float64")

    def column(name: str) -> pd.Series:
        return frame[name].astype(float) if name in frame.columns else nan

    forward = column("forward_return").fillna(column("realized_return"))
    label = column("label")
    truth = label if label.notna().any() else forward
    if not truth.notna().any():
        raise DataError("performance: needs outcomes ('label' or 'forward_return')")
    rows = truth.notna().to_numpy()
    proba = column("proba")
    prediction = frame["prediction"].astype(float)
    signal = column("signal")
    if signal[rows].isna().any():
        side = np.sign(proba - 0.5) if proba[rows].notna().all() else np.sign(prediction)
        signal = signal.fillna(side)
    symbol = frame["symbol"].astype(str) if "symbol" in frame.columns else ""
    out = pd.DataFrame(
        {"symbol": symbol, "close": column("close"), "y_true": truth, "y_pred": prediction,
         "proba": proba, "signal": signal, "forward_return": forward},
        index=frame.index,
    )[rows]  # fmt: skip
    out.index.name = "timestamp"
    return out


def performance_metrics(
    frame: pd.DataFrame,
    *,
    periods_per_year: float | None = None,
    backtest=None,
    task: str | None = None,
) -> dict:
    """The live figures of a window: ``score_predictions`` on the rows with outcomes.

    ``backtest``: the ``BacktestSpec`` the baseline was scored with (default: the spec
    defaults); ``periods_per_year``: the baseline's (default: inferred from the window's
    timestamps with the 365-day rule); ``task``: classification if P(up) is given, else
    regression. Without a ``close`` on every row the strategy figures are left out.
    Adds ``n`` (rows scored) and ``periods_per_year``.
    """
    from trademl.evaluation import model_metrics, score_predictions

    rows = predictions_frame(frame)
    metrics: dict[str, float] = {"n": float(len(rows))}
    if not len(rows):
        return metrics
    if task is None:
        task = "classification" if rows["proba"].notna().any() else "regression"
    if backtest is None:
        from trademl.config.backtest import BacktestSpec

        backtest = BacktestSpec()
    ppy = periods_per_year
    if ppy is None:
        from trademl.analytics.periods import periods_per_year as infer

        try:
            ppy = infer(rows.index.unique())
        except DataError as exc:
            logger.warning("strategy figures left out: %s", exc)
    if ppy is None or rows["close"].isna().any():
        if ppy is not None:
            logger.warning("strategy figures left out: predictions stored without 'close'")
        metrics.update(
            model_metrics(
                task,
                y_true=rows["y_true"].to_numpy(),
                y_pred=rows["y_pred"].to_numpy(),
                proba=rows["proba"].to_numpy(),
                signal=rows["signal"].to_numpy(),
                forward_return=rows["forward_return"].to_numpy(),
            )
        )
        return metrics
    scores = score_predictions(rows, task=task, backtest=backtest, periods_per_year=ppy)
    metrics.update(scores.metrics)
    metrics["periods_per_year"] = float(ppy)
    return metrics


def rolling_metrics(
    frame: pd.DataFrame,
    *,
    window: int = 500,
    step: int | None = None,
    periods_per_year: float | None = None,
    backtest=None,
    task: str | None = None,
) -> pd.DataFrame:
    """Metrics over consecutive windows of ``window`` outcomes, one row per window end."""
    if window < 10:
        raise ValueError(f"rolling metrics: window must be >= 10, got {window=}")
    step = step or window
    if step < 1:
        raise ValueError(f"rolling metrics: step must be >= 1, got {step=}")
    rows = []
    for end in range(window, len(frame) + 1, step):
        part = frame.iloc[end - window : end]
        rows.append(
            {
                "window_end": part.index[-1],
                **performance_metrics(
                    part, periods_per_year=periods_per_year, backtest=backtest, task=task
                ),
            }
        )
    out = pd.DataFrame(rows)
    return out.set_index("window_end") if len(out) else out


@dataclass
class Finding:
    """One reason a model is not healthy (or a note that it is fine)."""

    metric: str
    kind: Literal["baseline", "history", "trend", "stream", "drift", "concept", "anomaly"]
    severity: Literal["info", "warning", "critical"]
    message: str
    value: float | None = None
    reference: float | None = None
    extra: dict = field(default_factory=dict)


def _standard_error(metric: str, value: float, reference: float, metrics: dict) -> float:
    """Sampling error of ``metric`` over the window (0 when the window size is unknown)."""
    n = metrics.get("n") or 0
    if n < 2:
        return 0.0
    if metric == "sharpe":
        # Lo (2002): SE of a Sharpe ratio from n iid returns, here annualised
        ppy = metrics.get("periods_per_year") or 1.0
        per_period = reference / np.sqrt(ppy)
        return float(np.sqrt((1 + per_period**2 / 2) / n) * np.sqrt(ppy))
    if metric in ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc",
                  "hit_rate"):  # fmt: skip
        p = min(max(reference, 0.0), 1.0)
        return float(np.sqrt(p * (1 - p) / n))
    if metric == "ic":
        return float(1 / np.sqrt(n))
    return 0.0


def _threshold(metric: str, spec: DegradationSpec, value, reference, metrics) -> float:
    base = spec.sharpe_drop if metric == "sharpe" else spec.accuracy_drop
    return max(base, spec.noise_z * _standard_error(metric, value, reference, metrics))


def assess_degradation(
    current: dict[str, float],
    *,
    baseline: dict[str, float] | None = None,
    history: pd.DataFrame | None = None,
    spec: DegradationSpec | None = None,
) -> tuple[list[Finding], dict[str, float]]:
    """Compare current metrics with the validation baseline and the recent history.

    A drop counts only if it exceeds both the spec's threshold and ``noise_z`` standard
    errors of the metric over the window (``current["n"]`` observations).
    Returns the findings and a flat dict of facts for the alert rules
    (``<metric>.drop_vs_baseline``, ``<metric>.relative_drop_vs_history``,
    ``<metric>.trend_slope`` and ``<metric>.trend_pvalue``).
    """
    from trademl.validation.metrics import get_metric

    spec = spec or DegradationSpec()
    findings: list[Finding] = []
    facts: dict[str, float] = {}
    for metric in DEGRADATION_METRICS:
        value = current.get(metric)
        if value is None or not np.isfinite(value):
            continue
        sign = 1.0 if get_metric(metric).direction == "max" else -1.0
        reference = (baseline or {}).get(metric)
        if reference is not None and np.isfinite(reference):
            limit = _threshold(metric, spec, value, reference, current)
            drop = sign * (reference - value)
            facts[f"{metric}.drop_vs_baseline"] = drop
            if drop > limit:
                severity = "critical" if drop > spec.failing_factor * limit else "warning"
                findings.append(
                    Finding(
                        metric, "baseline", severity,
                        f"{metric} {value:.3f} is {drop:.3f} worse than the validation "
                        f"baseline {reference:.3f} (threshold {limit:.3g})",
                        value, reference,
                    )
                )  # fmt: skip
        if history is None or metric not in getattr(history, "columns", []):
            continue
        past = history[metric].dropna().to_numpy(dtype=float)[-spec.history :]
        if past.size >= 2:
            mean = float(past.mean())
            if abs(mean) > 1e-12:
                relative = sign * (mean - value) / abs(mean)
                facts[f"{metric}.relative_drop_vs_history"] = relative
                noise = spec.noise_z * _standard_error(metric, value, mean, current)
                if relative > spec.relative_drop and sign * (mean - value) > noise:
                    findings.append(
                        Finding(
                            metric, "history", "warning",
                            f"{metric} {value:.3f} is {relative:.0%} worse than its mean "
                            f"{mean:.3f} over the last {past.size} windows",
                            value, mean,
                        )
                    )  # fmt: skip
            series = np.append(past, value)
            if np.ptp(series) > 0:
                fit = stats.linregress(np.arange(series.size), series)
                facts[f"{metric}.trend_slope"] = float(fit.slope)
                facts[f"{metric}.trend_pvalue"] = float(fit.pvalue)
                if sign * fit.slope < 0 and fit.pvalue < 0.05:
                    findings.append(
                        Finding(
                            metric, "trend", "info",
                            f"{metric} trending down by {abs(fit.slope):.4f} per window "
                            f"(p={fit.pvalue:.3f}, {series.size} windows)",
                            float(fit.slope), None,
                        )
                    )  # fmt: skip
    return findings, facts


def health_from_findings(findings: list[Finding]) -> tuple[HealthStatus, list[str]]:
    """failing if any critical finding, degraded if any warning, otherwise healthy."""
    severities = {f.severity for f in findings}
    status: HealthStatus = (
        "failing"
        if "critical" in severities
        else "degraded"
        if "warning" in severities
        else "healthy"
    )
    reasons = [f.message for f in findings if f.severity in ("critical", "warning")]
    return status, reasons
