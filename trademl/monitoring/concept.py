"""Concept drift: a change in the model's error stream, found by river's ADWIN and Page-Hinkley.

Data drift says the inputs moved; concept drift says the relation between inputs and
outcome moved, which shows up first as a change in the stream of errors (0/1 misses
for a classifier, absolute errors for a regressor). ADWIN (adaptive windows) and
Page-Hinkley (cumulative deviations) say *when* they noticed; where the change *began*
is estimated by the standardised CUSUM (the split with the largest two-sample t-statistic)
of the errors since the previous detection. ADWIN's own kept width is not used for that: it shrinks in
exponential buckets and still holds part of the old regime when it fires.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd

from trademl.errors import DataError

__all__ = ["ChangePoint", "detect_concept_drift", "error_stream"]

Detector = Literal["adwin", "page_hinkley"]


@dataclass(frozen=True)
class ChangePoint:
    detector: str
    detected_at: pd.Timestamp
    detected_index: int
    estimated_start: pd.Timestamp
    estimated_start_index: int
    mean_before: float
    mean_after: float

    def to_dict(self) -> dict:
        out = asdict(self)
        out["detected_at"] = self.detected_at.isoformat()
        out["estimated_start"] = self.estimated_start.isoformat()
        return out


def error_stream(frame: pd.DataFrame) -> pd.Series:
    """Per-prediction error from a predictions-with-outcomes frame.

    Classifier-style rows (a ``label``): 1.0 when the predicted direction missed, else 0.
    Otherwise the absolute error between ``prediction`` and ``forward_return`` (or
    ``realized_return`` on rows without one).
    """
    if "label" in frame.columns and frame["label"].notna().any():
        rows = frame[frame["label"].notna()]
        predicted_up = rows["prediction"].to_numpy(dtype=float) > 0
        if "proba" in rows.columns and rows["proba"].notna().all():
            predicted_up = rows["proba"].to_numpy(dtype=float) > 0.5
        actual_up = rows["label"].to_numpy(dtype=float) > 0
        return pd.Series((predicted_up != actual_up).astype(float), index=rows.index)
    returns = None
    for name in ("realized_return", "forward_return"):  # the latter wins where given
        if name in frame.columns:
            values = frame[name].astype(float)
            returns = values if returns is None else values.fillna(returns)
    if returns is not None:
        known = returns.notna()
        return (frame["prediction"][known] - returns[known]).abs().astype(float)
    raise DataError(
        "concept drift: needs outcome columns 'label', 'forward_return' or 'realized_return'"
    )


def _onset(segment: np.ndarray, min_size: int = 10) -> int:
    """Where the mean of ``segment`` changed: the split with the largest two-sample
    t-statistic, |S_k - k/n S_n| / sqrt(k (n - k) / n). Unlike the raw CUSUM maximum it
    is not pulled towards the middle when the new regime is still short."""
    n = segment.size
    if n < 2 * min_size:
        return max(n // 2, 1)
    k = np.arange(1, n)
    centred = np.abs(np.cumsum(segment - segment.mean())[:-1]) / np.sqrt(k * (n - k) / n)
    centred[: min_size - 1] = 0.0
    centred[n - min_size :] = 0.0
    return int(np.argmax(centred)) + 1


def detect_concept_drift(
    errors: pd.Series,
    *,
    detectors: tuple[Detector, ...] = ("adwin", "page_hinkley"),
    adwin_delta: float = 0.002,
    ph_threshold: float = 50.0,
    ph_delta: float = 0.005,
    ph_min_instances: int = 30,
) -> list[ChangePoint]:
    """Run the detectors over ``errors`` (time-indexed) and return every change point."""
    from river import drift

    unknown = set(detectors) - {"adwin", "page_hinkley"}
    if unknown:
        raise ValueError(f"concept drift: unknown detector(s) {sorted(unknown)}")
    values = np.asarray(errors, dtype=float)
    if not np.isfinite(values).all():
        bad = int(np.flatnonzero(~np.isfinite(values))[0])
        raise DataError(f"concept drift: error stream has a non-finite value at row {bad}")
    index = pd.DatetimeIndex(errors.index) if len(errors) else pd.DatetimeIndex([])
    found: list[ChangePoint] = []
    for name in detectors:
        detector = (
            drift.ADWIN(delta=adwin_delta)
            if name == "adwin"
            else drift.PageHinkley(
                threshold=ph_threshold, delta=ph_delta, min_instances=ph_min_instances
            )
        )
        segment_start = 0
        for i, value in enumerate(values):
            detector.update(float(value))
            if not detector.drift_detected:
                continue
            start = min(segment_start + _onset(values[segment_start : i + 1]), i)
            before = values[segment_start:start]
            after = values[start : i + 1]
            found.append(
                ChangePoint(
                    detector=name,
                    detected_at=index[i],
                    detected_index=i,
                    estimated_start=index[start],
                    estimated_start_index=start,
                    mean_before=float(before.mean()) if before.size else float("nan"),
                    mean_after=float(after.mean()),
                )
            )
            # the next change is looked for after this one began
            segment_start = start
    return sorted(found, key=lambda c: (c.detected_index, c.detector))
