"""Prometheus metrics of one service (its own registry, so two apps in a process never clash)
and the recent figures the dashboard shows (latency percentiles, prediction distribution)."""

from __future__ import annotations

import math
import threading
from collections import deque

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["ServingMetrics"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0)
_PROBA_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))
_RECENT = 2_000


class ServingMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "trademl_requests", "Requests by route, status and answering model version.",
            ["route", "status", "model", "version"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "trademl_request_latency_seconds", "Time in the handler, by route and model version.",
            ["route", "model", "version"], buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.proba = Histogram(
            "trademl_prediction_proba", "Probability of the positive class of answered predictions.",
            ["model", "version", "role"], buckets=_PROBA_BUCKETS, registry=r,
        )  # fmt: skip
        self.signals = Counter(
            "trademl_prediction_signals", "Predicted signals (-1, 0, 1).",
            ["model", "version", "role", "signal"], registry=r,
        )  # fmt: skip
        self.feature_errors = Counter(
            "trademl_online_feature_errors", "Bars the online features or the model failed on.",
            ["model", "version", "symbol"], registry=r,
        )  # fmt: skip
        self.rejected_bars = Counter(
            "trademl_rejected_bars", "Requests refused for a bad bar, by the offending field.",
            ["field"], registry=r,
        )  # fmt: skip
        self.logged = Counter(
            "trademl_logged_predictions", "Predictions written to the monitoring store.", registry=r
        )
        self.log_errors = Counter(
            "trademl_prediction_log_errors", "Failed writes to the monitoring store.", registry=r
        )
        self.log_queue = Gauge(
            "trademl_prediction_log_queue", "Predictions waiting to be written.", registry=r
        )
        self.models = Gauge(
            "trademl_model_info", "1 for each model being served, by role.",
            ["role", "model", "version"], registry=r,
        )  # fmt: skip
        self.swaps = Counter("trademl_model_swaps", "Hot swaps of a served model.", registry=r)
        self._lock = threading.Lock()
        self._recent: dict[str, deque] = {}
        self._children: dict[tuple, object] = {}
        self.signal_counts = {-1: 0, 0: 0, 1: 0}
        self.proba_counts = [0] * 10

    # ------------------------------------------------------------------ recording
    def _child(self, metric, *labels: str):
        """``metric.labels(*labels)``, kept: prometheus-client validates and locks on every
        ``labels`` call (~5 us), four of them a bar."""
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def observe(self, route: str, status: int, seconds: float, model: str = "", version: str = ""):
        self._child(self.requests, route, str(status), model, version).inc()
        if status < 400:
            self._child(self.latency, route, model, version).observe(seconds)
            with self._lock:
                self._recent.setdefault(route, deque(maxlen=_RECENT)).append(seconds * 1e3)

    def predictions(self, model: str, version: str, role: str, proba, signal) -> None:
        proba = np.asarray(proba, dtype=float)
        signal = np.asarray(signal, dtype=int)
        _observe_many(self.proba.labels(model, version, role), proba[np.isfinite(proba)])
        values, counts = np.unique(signal, return_counts=True)
        for value, count in zip(values.tolist(), counts.tolist(), strict=True):
            self.signals.labels(model, version, role, str(value)).inc(count)
        if role != "champion":
            return
        with self._lock:
            for value, count in zip(values.tolist(), counts.tolist(), strict=True):
                self.signal_counts[value] = self.signal_counts.get(value, 0) + count
            finite = proba[np.isfinite(proba)]
            bins = np.minimum((finite * 10).astype(int), 9)
            for b, count in zip(*np.unique(bins, return_counts=True), strict=True):
                self.proba_counts[int(b)] += int(count)

    def prediction(
        self, model: str, version: str, role: str, proba: float | None, signal: int
    ) -> None:
        """``predictions`` of one answer (a live bar): the same counters, without the
        numpy arrays that cost more than the rest of the bar's bookkeeping."""
        finite = proba is not None and math.isfinite(proba)
        if finite:
            self._child(self.proba, model, version, role).observe(proba)
        self._child(self.signals, model, version, role, str(signal)).inc()
        if role != "champion":
            return
        with self._lock:
            self.signal_counts[signal] = self.signal_counts.get(signal, 0) + 1
            if finite:
                self.proba_counts[min(int(proba * 10), 9)] += 1

    def serving(self, roles: dict[str, tuple[str, str] | None]) -> None:
        self.models.clear()
        for role, model in roles.items():
            if model is not None:
                self.models.labels(role, *model).set(1)

    # ------------------------------------------------------------------ reading
    def latency_summary(self) -> dict[str, dict[str, float]]:
        with self._lock:
            recent = {route: np.asarray(values) for route, values in self._recent.items()}
        return {
            route: {
                "p50": float(np.percentile(values, 50)),
                "p99": float(np.percentile(values, 99)),
                "n": int(values.size),
            }
            for route, values in recent.items()
            if values.size
        }

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _observe_many(histogram, values: np.ndarray) -> None:
    """``histogram.observe`` of every value, bucketed by numpy in one pass for a batch (a
    5,000-row /v1/predict spent ~10 ms in a Python loop of observe calls). It adds to
    the same bucket counters ``observe`` does (value <= bound: the first bucket); a
    prometheus-client without those attributes gets the loop."""
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total = getattr(histogram, "_sum", None)
    if len(values) < 8 or bounds is None or buckets is None or total is None:
        for value in values.tolist():
            histogram.observe(value)
        return
    counts = np.bincount(np.searchsorted(bounds, values, side="left"), minlength=len(bounds))
    for bucket, count in zip(buckets, counts.tolist(), strict=True):
        if count:
            bucket.inc(count)
    total.inc(float(values.sum()))
