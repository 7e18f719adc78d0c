"""Live performance of a model once outcomes arrive, and whether it is degrading.

Input is the frame ``MonitorStore.predictions(model, with_outcomes=True)`` returns:
``prediction`` (class, sign or expected return), optional ``proba`` (P(up)) and
``signal`` (target position), and the outcome ``label`` (direction) and/or
``realized_return``. Direction metrics treat "up" (label > 0) as the positive class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from trademl.config.monitoring import DegradationSpec
from trademl.errors import DataError

__all__ = [
    "Finding",
    "HealthStatus",
    "assess_degradation",
    "health_from_findings",
    "infer_periods_per_year",
    "performance_metrics",
    "rolling_metrics",
]

HealthStatus = Literal["healthy", "degraded", "failing"]
# higher is better for all of these except the Brier score
RATE_METRICS = ("accuracy", "precision", "recall", "f1", "hit_rate", "ic")
_SECONDS_PER_YEAR = 365.25 * 24 * 3600


def infer_periods_per_year(index: pd.DatetimeIndex) -> float:
    """Bars per year from the median spacing of distinct timestamps (crypto: 24/7)."""
    unique = pd.DatetimeIndex(index).unique().sort_values().as_unit("ns")
    if len(unique) < 2:
        return 365.25
    seconds = float(np.median(np.diff(unique.asi8)) / 1e9)
    return _SECONDS_PER_YEAR / seconds if seconds > 0 else 365.25


def performance_metrics(frame: pd.DataFrame, *, periods_per_year: float | None = None) -> dict:
    """Accuracy, precision, recall, F1, hit rate, IC, strategy return and Sharpe, Brier."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    if "prediction" not in frame.columns:
        raise DataError(f"performance: missing column 'prediction'; got {list(frame.columns)}")
    has_label = "label" in frame.columns and frame["label"].notna().any()
    has_return = "realized_return" in frame.columns and frame["realized_return"].notna().any()
    if not (has_label or has_return):
        raise DataError("performance: needs outcomes ('label' or 'realized_return')")
    proba = frame["proba"] if "proba" in frame.columns else pd.Series(np.nan, index=frame.index)
    truth = frame["label"] if has_label else frame["realized_return"]
    rows = frame[truth.notna()]
    truth = truth[truth.notna()]
    proba = proba.loc[rows.index] if len(proba) == len(frame) else proba
    metrics: dict[str, float] = {"n": float(len(rows))}
    if not len(rows):
        return metrics
    actual_up = truth.to_numpy(dtype=float) > 0
    probs = proba.to_numpy(dtype=float)
    use_proba = np.isfinite(probs).all()
    predicted_up = probs > 0.5 if use_proba else rows["prediction"].to_numpy(dtype=float) > 0
    metrics["accuracy"] = float(accuracy_score(actual_up, predicted_up))
    precision, recall, f1, _ = precision_recall_fscore_support(
        actual_up, predicted_up, average="binary", zero_division=0
    )
    metrics.update(precision=float(precision), recall=float(recall), f1=float(f1))
    if use_proba:
        metrics["brier"] = float(np.mean((probs - actual_up) ** 2))
    if has_return:
        returns = rows["realized_return"].to_numpy(dtype=float)
        ok = np.isfinite(returns)
        if "signal" in rows.columns and rows["signal"].notna().all():
            position = rows["signal"].to_numpy(dtype=float)
        else:
            position = np.where(predicted_up, 1.0, -1.0)
        score = probs if use_proba else rows["prediction"].to_numpy(dtype=float)
        active = ok & (position != 0) & (returns != 0)
        if active.any():
            metrics["hit_rate"] = float(
                np.mean(np.sign(position[active]) == np.sign(returns[active]))
            )
        if ok.sum() > 2 and np.std(score[ok]) > 0 and np.std(returns[ok]) > 0:
            metrics["ic"] = float(stats.spearmanr(score[ok], returns[ok]).statistic)
        strategy = position[ok] * returns[ok]
        ppy = periods_per_year or infer_periods_per_year(rows.index[ok])
        metrics["strategy_return"] = float(np.sum(strategy))
        metrics["periods_per_year"] = float(ppy)
        std = float(np.std(strategy, ddof=1)) if strategy.size > 1 else 0.0
        metrics["sharpe"] = float(np.mean(strategy) / std * np.sqrt(ppy)) if std > 0 else 0.0
    return metrics


def rolling_metrics(
    frame: pd.DataFrame,
    *,
    window: int = 500,
    step: int | None = None,
    periods_per_year: float | None = None,
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
                **performance_metrics(part, periods_per_year=periods_per_year),
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
    if metric in ("accuracy", "precision", "recall", "f1", "hit_rate"):
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
    spec = spec or DegradationSpec()
    findings: list[Finding] = []
    facts: dict[str, float] = {}
    for metric in (*RATE_METRICS, "sharpe", "brier"):
        value = current.get(metric)
        if value is None or not np.isfinite(value):
            continue
        sign = -1.0 if metric == "brier" else 1.0  # Brier: lower is better
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
