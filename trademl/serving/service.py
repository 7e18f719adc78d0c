"""Assemble and run the service: load and verify the models, warm them up, open the
monitoring store, start uvicorn. ``trademl serve`` is a thin call into :func:`build_service`
and :func:`run_service`."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from trademl.errors import DataError

__all__ = ["API_KEY_ENV", "Service", "build_service", "run_service", "warmup_frames"]

logger = logging.getLogger(__name__)

API_KEY_ENV = "TRADEML_API_KEY"
DEFAULT_MAX_HISTORY = 20_000


@dataclass
class Service:
    app: Any  # FastAPI
    deployment: Any
    metrics: Any
    prediction_log: Any
    store: Any


def _configure_tracking(tracking_uri: str | None) -> str:
    from trademl import tracking
    from trademl.config.tracking import TrackingSpec

    return tracking.configure(TrackingSpec(uri=tracking_uri) if tracking_uri else None)


def warmup_frames(given: Sequence[str], symbols: Sequence[str]) -> dict[str, pd.DataFrame]:
    """``--warmup FILE`` or ``--warmup SYMBOL=FILE`` (repeatable) -> {symbol: candles}."""
    from trademl.data.io import load_ohlcv, symbol_from_filename

    frames = {}
    for item in given:
        symbol, _, path_text = item.rpartition("=") if "=" in item else ("", "", item)
        path = Path(path_text).expanduser()
        if not path.is_file():
            raise DataError(f"--warmup {item}: file not found")
        if not symbol:
            symbol = symbols[0] if len(symbols) == 1 else symbol_from_filename(path)
        if symbol not in symbols:
            raise DataError(
                f"--warmup {item}: symbol {symbol!r} is unknown to the model ({list(symbols)}); "
                "write SYMBOL=FILE"
            )
        frames[symbol] = load_ohlcv(path)
    return frames


def _run_frames(slot) -> dict[str, pd.DataFrame]:
    """The candles the registered version was trained on, from its run's spec."""
    from trademl.pipeline import load_frames
    from trademl.tracking import _store
    from trademl.tracking.artifacts import read_spec

    try:
        run_id = _store.client().get_model_version(slot.name, slot.version).run_id
        frames = load_frames(read_spec(run_id))
    except Exception as exc:  # noqa: BLE001 - any reason: the user can give the file instead
        raise DataError(
            f"warm-up: cannot load the data of {slot.label}'s run ({exc}); pass --warmup FILE"
        ) from None
    return {s: f for s, f in frames.items() if s in slot.package.symbols}


def build_service(
    model: str,
    *,
    challenger: str | None = None,
    warmup: Sequence[str] = (),
    tracking_uri: str | None = None,
    db: str | None = None,
    log_predictions: bool = True,
    allow_unservable: bool = False,
    max_history: int = DEFAULT_MAX_HISTORY,
    protect_predictions: bool = False,
    poll_seconds: float = 30.0,
    all_features: bool = False,
) -> Service:
    """Everything ``trademl serve`` runs, ready for uvicorn (raises on a bad model or input)."""
    from functools import partial

    from trademl.data.timeframe import timeframe_to_seconds
    from trademl.serving.app import create_app
    from trademl.serving.deployment import Deployment, load_slot
    from trademl.serving.history import SymbolHistory
    from trademl.serving.metrics import ServingMetrics

    _configure_tracking(tracking_uri)
    loader = partial(
        load_slot,
        tracking_uri=tracking_uri,
        allow_unservable=allow_unservable,
        all_features=all_features,
    )
    champion = loader(model)  # verified against its manifest; refuses a tampered package
    frames = warmup_frames(warmup, champion.package.symbols) if warmup else _run_frames(champion)
    if not frames:
        raise DataError(f"warm-up: no history for any symbol of {champion.label}")
    histories = {s: SymbolHistory(s, f, max_bars=max_history) for s, f in frames.items()}
    metrics = ServingMetrics()

    def feature_error(slot, symbol, exc) -> None:
        metrics.feature_errors.labels(slot.name, slot.version, symbol).inc()
        logger.warning("%s on %s: %s", slot.label, symbol, exc)

    deployment = Deployment(
        histories=histories,
        step_ns=timeframe_to_seconds(champion.package.timeframe) * 10**9,
        loader=loader,
        on_feature_error=feature_error,
    )
    deployment.start(champion, challenger)
    store = prediction_log = None
    if log_predictions:
        from trademl.monitoring import open_store
        from trademl.serving.prediction_log import PredictionLogger

        store = open_store(db)
        prediction_log = PredictionLogger(store, metrics=metrics)
    app = create_app(
        deployment,
        metrics=metrics,
        prediction_log=prediction_log,
        store=store,
        api_key=os.environ.get(API_KEY_ENV) or None,
        protect_predictions=protect_predictions,
        poll_seconds=poll_seconds,
    )
    return Service(app, deployment, metrics, prediction_log, store)


def run_service(service: Service, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve until SIGTERM/SIGINT; uvicorn finishes in-flight requests, then the prediction
    log is flushed (the app's shutdown) before the process exits."""
    import uvicorn

    config = uvicorn.Config(
        service.app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=30,
        lifespan="on",
    )
    uvicorn.Server(config).run()
    if service.store is not None:
        service.store.close()
