"""The FastAPI app of ``trademl serve``: predictions, bars, health, metrics, admin, dashboard.

``create_app(deployment, ...)`` wires an already started :class:`Deployment` (models
loaded, warmed up) to HTTP. Handlers are ``async`` and do their short CPU work inline (a
bar is about a millisecond): no thread hop on the hot path. Slow work (loading a package
for a hot swap) runs in a worker thread while the old model keeps answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import math
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd
from fastapi import Depends, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from trademl.errors import TradeMLError
from trademl.serving.deployment import Deployment, ModelSlot
from trademl.serving.explain_route import explain_router
from trademl.serving.history import BarRejected
from trademl.serving.metrics import ServingMetrics
from trademl.serving.schemas import (
    BarsRequest,
    BarsResponse,
    ErrorResponse,
    ModelInfo,
    PredictRequest,
    PredictResponse,
    ReloadResponse,
    RollbackRequest,
    StatusResponse,
    TrafficRequest,
    column_positions,
)
from trademl.serving.traffic import TrafficSplit

__all__ = ["create_app", "keep_freed_memory"]

logger = logging.getLogger(__name__)

_ERRORS = {
    401: {"model": ErrorResponse, "description": "Missing or wrong API key."},
    404: {"model": ErrorResponse, "description": "Unknown symbol."},
    409: {"model": ErrorResponse, "description": "The bar conflicts with the stream."},
    422: {"model": ErrorResponse, "description": "A field is invalid; the message names it."},
}
ARROW_STREAM = "application/vnd.apache.arrow.stream"
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def _where(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


def _error(status: int, message: str, detail: list | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "detail": detail}, status_code=status)


def _info(slot: ModelSlot | None) -> ModelInfo | None:
    return None if slot is None else ModelInfo(name=slot.name, version=slot.version)


def _finite_or_none(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


class _StatusCache:
    """Drift and alerts from the monitoring store, read at most every ``ttl`` seconds."""

    def __init__(self, store: Any, ttl: float = 5.0):
        self.store, self.ttl = store, ttl
        self._at, self._value, self._model = 0.0, (None, []), None

    def get(self, model: str) -> tuple[dict | None, list[dict]]:
        if self.store is None:
            return None, []
        if time.monotonic() - self._at < self.ttl and self._model == model:
            return self._value
        try:
            history = self.store.drift_history(model, limit=1)
            drift = None
            if history:
                last = history[0]
                drift = {
                    "checked_at": pd.Timestamp(last["created_at"]).isoformat(),
                    "n_drifted": last.get("n_drifted"),
                    "n_features": last.get("n_features"),
                    "share": last.get("share"),
                    "drifted": bool(last.get("drifted", last.get("n_drifted", 0))),
                }
            frame = self.store.alerts(state="open", model=model)
            alerts = [
                {"rule": r["rule"], "severity": r["severity"], "message": r["message"]}
                for r in frame.to_dict("records")
            ]
        except Exception as exc:  # noqa: BLE001 - the page shows the store's problem instead
            logger.warning("dashboard: reading the monitoring store failed: %s", exc)
            drift, alerts = {"error": str(exc)}, []
        self._at, self._value, self._model = time.monotonic(), (drift, alerts), model
        return drift, alerts


def create_app(
    deployment: Deployment,
    *,
    metrics: ServingMetrics | None = None,
    prediction_log: Any = None,
    store: Any = None,
    api_key: str | None = None,
    protect_predictions: bool = False,
    poll_seconds: float = 0.0,
) -> FastAPI:
    """The service around ``deployment``. ``api_key`` guards the admin endpoints (and the
    prediction ones with ``protect_predictions``); ``poll_seconds`` > 0 follows the
    registry aliases and hot-swaps when they move."""
    from trademl import __version__

    metrics = metrics or ServingMetrics()
    started = datetime.now(UTC)
    status_cache = _StatusCache(store)
    stop_polling = threading.Event()

    def record_models() -> None:
        routing = deployment.routing
        metrics.serving(
            {
                "champion": (routing.champion.name, routing.champion.version),
                "challenger": None
                if routing.challenger is None
                else (routing.challenger.name, routing.challenger.version),
            }
        )

    def reload_now() -> tuple[bool, str]:
        changed, message = deployment.reload()
        if changed:
            metrics.swaps.inc()
            record_models()
        return changed, message

    def poll() -> None:
        while not stop_polling.wait(poll_seconds):
            try:
                reload_now()
            except Exception as exc:  # noqa: BLE001 - keep serving the old model, say why
                deployment.last_reload_error = str(exc)
                logger.error("hot swap refused, still serving the old model: %s", exc)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        keep_freed_memory()
        record_models()
        if prediction_log is not None:
            prediction_log.start()
        poller = None
        if poll_seconds > 0:
            poller = threading.Thread(target=poll, name="trademl-registry-poll", daemon=True)
            poller.start()
        try:
            yield
        finally:
            stop_polling.set()
            if prediction_log is not None:
                # uvicorn has finished the in-flight requests: everything answered is queued
                left = await asyncio.to_thread(prediction_log.stop)
                logger.info(
                    "prediction log flushed (%d rows, %d left)", prediction_log.written, left
                )

    app = FastAPI(
        title="trademl serve",
        version=__version__,
        summary="Candles in, predictions out: a registered trademl model package over HTTP.",
        lifespan=lifespan,
    )

    # ------------------------------------------------------------------ auth
    def _check_key(given: str | None, *, required: bool) -> None:
        if not required:
            return
        if not api_key:
            raise _Refused(
                403, "admin endpoints are disabled: start the service with TRADEML_API_KEY set"
            )
        if not given or not hmac.compare_digest(given.encode(), api_key.encode()):
            raise _Refused(401, "X-API-Key: missing or wrong API key")

    async def admin_key(given: str | None = Security(_api_key_header)) -> None:
        _check_key(given, required=True)

    async def predict_key(given: str | None = Security(_api_key_header)) -> None:
        _check_key(given, required=protect_predictions)

    # ------------------------------------------------------------------ errors
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        message = f"{_where(tuple(first.get('loc', ())))}: {first.get('msg')}"
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more)"
        metrics.observe(request.url.path, 422, 0.0)
        detail = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg")),
                "type": e.get("type"),
            }
            for e in errors[:20]
        ]
        return _error(422, message, detail)

    @app.exception_handler(_Refused)
    async def _refused(request: Request, exc: _Refused):
        metrics.observe(request.url.path, exc.status, 0.0)
        return _error(exc.status, exc.message)

    @app.exception_handler(BarRejected)
    async def _rejected(request: Request, exc: BarRejected):
        metrics.rejected_bars.labels(re.sub(r"\[\d+\]", "[]", exc.field)).inc()
        metrics.observe(request.url.path, exc.status, 0.0)
        return _error(exc.status, str(exc))

    @app.exception_handler(TradeMLError)
    async def _trademl_error(request: Request, exc: TradeMLError):
        metrics.observe(request.url.path, 422, 0.0)
        return _error(422, str(exc))

    # ------------------------------------------------------------------ predictions
    # the two prediction routes check the key inline: a FastAPI dependency costs ~0.1 ms
    # of dependency solving per request, a tenth of a bar's whole online update
    guarded = {"security": [{"APIKeyHeader": []}]} if protect_predictions else {}

    @app.post(
        "/v1/bars",
        response_model=BarsResponse,
        responses=_ERRORS,
        summary="New closed candles of one symbol -> the prediction for the newest.",
        openapi_extra=_json_body(BarsRequest, arrow=False) | guarded,
    )
    async def post_bars(request: Request) -> Response:
        _check_key(request.headers.get("x-api-key"), required=protect_predictions)
        body = _validated(BarsRequest, await request.body())
        result = deployment.on_bars(
            body.symbol, body.bars, key=body.request_key, allow_gap=body.allow_gap
        )
        slot, newest = result.slot, result.predictions[-1]
        latency_ms = result.seconds * 1e3
        _log_bars(slot, result.symbol, body, result.predictions, latency_ms, role="answer")
        if result.shadow is not None:
            _log_bars(
                *result.shadow[:1], result.symbol, body, result.shadow[1], latency_ms, role="shadow"
            )
        metrics.observe("/v1/bars", 200, result.seconds, slot.name, slot.version)
        ready = newest.get("prediction") is not None
        payload = {
            "symbol": result.symbol,
            "timestamp": newest["timestamp"].isoformat(),
            "prediction": float(newest["prediction"]) if ready else None,
            "proba": _finite_or_none(newest["proba"]),
            "signal": int(newest["signal"]) if ready else None,
            "ready": ready,
            "model": {"name": slot.name, "version": slot.version},
            "bars_accepted": len(result.predictions),
        }
        return Response(orjson.dumps(payload), media_type="application/json")

    def _role(slot: ModelSlot, role: str) -> str:
        if role == "shadow":
            return "shadow"
        return "champion" if slot is deployment.routing.champion else "challenger"

    def _log_bars(slot, symbol, body, predictions, latency_ms, *, role) -> None:
        predictions = [p for p in predictions if p.get("prediction") is not None]
        if not predictions:
            return
        if len(predictions) == 1:  # one live bar: no numpy arrays for one number
            newest = predictions[0]
            metrics.prediction(
                slot.name, slot.version, _role(slot, role), newest["proba"], newest["signal"]
            )
        else:
            metrics.predictions(
                slot.name, slot.version, _role(slot, role), [p["proba"] for p in predictions],
                [p["signal"] for p in predictions],
            )  # fmt: skip
        if prediction_log is None:
            return
        closes = {pd.Timestamp(b.timestamp).tz_convert("UTC").value: b.close for b in body.bars}
        rows = []
        for p in predictions:
            ts = p["timestamp"].value
            rows.append(
                (ts, symbol, float(p["prediction"]), _finite_or_none(p["proba"]),
                 float(p["signal"]), closes.get(ts), latency_ms)
            )  # fmt: skip
        prediction_log.submit(slot.name, slot.version, rows)

    @app.post(
        "/v1/predict",
        response_model=PredictResponse,
        responses=_ERRORS,
        summary="A batch of feature rows (named columns) -> predictions and probabilities.",
        openapi_extra=_json_body(PredictRequest) | guarded,
    )
    async def post_predict(request: Request) -> Response:
        headers = request.headers
        _check_key(headers.get("x-api-key"), required=protect_predictions)
        raw = await request.body()
        if headers.get("content-type", "").startswith(ARROW_STREAM):
            body = _arrow_batch(raw, request.query_params)
        else:
            body = _json_batch(_validated(PredictRequest, raw))
        started_at = time.perf_counter()
        routing = deployment.routing
        answering = routing.answering(body.request_key or body.symbol or "")
        values = _rows_matrix(body, answering.package.feature_names)
        symbol = body.symbol
        package = answering.package
        if symbol is not None and symbol not in package.symbols:
            raise BarRejected(
                f"symbol: {symbol!r} is unknown to the model (it knows {package.symbols})",
                field="symbol",
                status=404,
            )
        slot, scored, shadow = deployment.predict_values(
            values, symbol=symbol, key=body.request_key
        )
        seconds = time.perf_counter() - started_at
        y_pred, proba, signal = scored
        metrics.predictions(slot.name, slot.version, _role(slot, "answer"), proba, signal)
        if shadow is not None:
            metrics.predictions(
                shadow[0].name, shadow[0].version, "shadow", shadow[1][1], shadow[1][2]
            )
        if body.timestamps is not None and prediction_log is not None:
            for who, result in [(slot, scored), *([shadow] if shadow else [])]:
                prediction_log.submit(who.name, who.version, _predict_rows(body, result, seconds))
        metrics.observe("/v1/predict", 200, seconds, slot.name, slot.version)
        if ARROW_STREAM in headers.get("accept", ""):
            return Response(_arrow_answer(scored, slot), media_type=ARROW_STREAM)
        # orjson writes the arrays in C, a NaN proba (a regressor) as null
        payload = {
            "predictions": np.ascontiguousarray(y_pred, dtype=np.float64),
            "proba": np.ascontiguousarray(proba, dtype=np.float64),
            "signal": np.ascontiguousarray(signal, dtype=np.int64),
            "model": {"name": slot.name, "version": slot.version},
        }
        return Response(
            orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json"
        )

    # ------------------------------------------------------------------ health
    @app.get("/health", summary="Liveness: the process answers.")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/ready", summary="Readiness: a model is loaded and warm.", responses={503: {}})
    async def ready() -> Response:
        if not deployment.ready:
            return _error(503, "no model loaded yet")
        champion = deployment.routing.champion
        return JSONResponse(
            {"status": "ready", "model": {"name": champion.name, "version": champion.version}}
        )

    @app.get("/metrics", summary="Prometheus metrics.", response_class=Response)
    async def prometheus() -> Response:
        if prediction_log is not None:
            metrics.log_queue.set(prediction_log.pending)
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/status", response_model=StatusResponse, summary="What the dashboard shows.")
    async def status() -> StatusResponse:
        routing = deployment.routing
        drift, alerts = await run_in_threadpool(status_cache.get, routing.champion.name)
        return StatusResponse(
            ready=deployment.ready,
            champion=_info(routing.champion),
            challenger=_info(routing.challenger),
            traffic=TrafficRequest(mode=routing.split.mode, percent=routing.split.percent),
            symbols={s: h.last_timestamp.isoformat() for s, h in deployment.histories.items()},
            latency_ms=metrics.latency_summary(),
            predictions={str(k): v for k, v in sorted(metrics.signal_counts.items())},
            proba_histogram=list(metrics.proba_counts),
            logged=0 if prediction_log is None else prediction_log.written,
            log_queue=0 if prediction_log is None else prediction_log.pending,
            drift=drift,
            open_alerts=alerts,
            started=started,
            swaps=deployment.swaps,
        )

    @app.get("/dashboard", response_class=HTMLResponse, summary="A small live page.")
    async def dashboard() -> HTMLResponse:
        from trademl.serving.dashboard import PAGE

        return HTMLResponse(PAGE)

    # ------------------------------------------------------------------ admin
    def _reload_response(changed: bool, message: str) -> ReloadResponse:
        routing = deployment.routing
        return ReloadResponse(
            changed=changed, champion=_info(routing.champion), challenger=_info(routing.challenger),
            message=message,
        )  # fmt: skip

    @app.post(
        "/v1/admin/reload",
        response_model=ReloadResponse,
        responses=_ERRORS,
        dependencies=[Depends(admin_key)],
        summary="Load what the registry aliases point at now (hot swap if they moved).",
    )
    async def admin_reload() -> ReloadResponse:
        try:
            changed, message = await run_in_threadpool(reload_now)
        except TradeMLError as exc:
            deployment.last_reload_error = str(exc)
            raise _Refused(409, f"reload refused, still serving the old model: {exc}") from None
        return _reload_response(changed, message)

    @app.post(
        "/v1/admin/traffic",
        response_model=ReloadResponse,
        responses=_ERRORS,
        dependencies=[Depends(admin_key)],
        summary="Set the traffic split: off, canary (percent to the challenger) or shadow.",
    )
    async def admin_traffic(body: TrafficRequest) -> ReloadResponse:
        try:
            deployment.set_traffic(TrafficSplit(mode=body.mode, percent=body.percent))
        except TradeMLError as exc:
            raise _Refused(409, str(exc)) from None
        return _reload_response(False, f"traffic {body.mode} {body.percent:g}%")

    @app.post(
        "/v1/admin/rollback",
        response_model=ReloadResponse,
        responses=_ERRORS,
        dependencies=[Depends(admin_key)],
        summary="Put the previous champion back (in the registry when serving an alias).",
    )
    async def admin_rollback(body: RollbackRequest) -> ReloadResponse:
        try:
            changed, message = await run_in_threadpool(deployment.rollback, body.reason)
        except (TradeMLError, ValueError) as exc:
            raise _Refused(409, f"rollback refused: {exc}") from None
        metrics.swaps.inc()
        record_models()
        return _reload_response(changed, message)

    app.include_router(explain_router(deployment, metrics), dependencies=[Depends(predict_key)])
    _with_components(app, PredictRequest)
    return app


def keep_freed_memory(*, mmap_bytes: int = 32 << 20, trim_bytes: int = 128 << 20) -> bool:
    """glibc only (elsewhere nothing, False): serve large buffers from the heap and keep
    freed ones there instead of handing them back to the OS after every request.

    By default glibc maps a fresh region for each large allocation and unmaps it when freed:
    a 10 MB Arrow batch (the joined body, the batch's copies) then touches ~5,000 new pages
    per request, ~5 ms of page faults on this machine's server, a fifth of its CPU for the
    request. With regions up to ``mmap_bytes`` taken from the heap and up to ``trim_bytes``
    of free heap kept, the next request reuses the same pages. A process-wide setting
    (``mallopt``), so the service sets it once, at start-up."""
    import ctypes
    import ctypes.util
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    m_trim_threshold, m_mmap_threshold = -1, -3  # malloc.h
    return bool(
        libc.mallopt(m_mmap_threshold, mmap_bytes) and libc.mallopt(m_trim_threshold, trim_bytes)
    )


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _validated(model: type, raw: bytes) -> Any:
    """The request body parsed and validated by pydantic-core in one pass over the bytes
    (for a batch of thousands of rows several times faster than json.loads + validation,
    and no FastAPI dependency layer per request); errors as FastAPI's own 422."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None


# request models of the endpoints that validate their bytes themselves: FastAPI does not
# see them, ``_with_components`` adds them to the OpenAPI components
_SELF_VALIDATED: dict[str, type] = {}


def _json_body(model: type, *, arrow: bool = True) -> dict:
    """The OpenAPI request body of an endpoint that validates its bytes itself (the model
    is added to the components by ``_with_components``)."""
    _SELF_VALIDATED[model.__name__] = model
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    content: dict[str, Any] = {"application/json": {"schema": schema}}
    if arrow:  # float columns, see docs
        content[ARROW_STREAM] = {"schema": {"type": "string", "format": "binary"}}
    return {"requestBody": {"required": True, "content": content}}


def _with_components(app: FastAPI, *models: type) -> None:
    """Generate the OpenAPI schema once, with ``models`` among its components."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in {**{m.__name__: m for m in models}, **_SELF_VALIDATED}.values():
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(found.pop("$defs", {}))
                components[model.__name__] = found
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi


@dataclass
class _Batch:
    """A /v1/predict request, from JSON or Arrow: named columns and their matrix."""

    columns: list[str]
    rows: Any  # list of lists (JSON, widths unchecked) or a 2-D float array (Arrow)
    symbol: str | None = None
    timestamps: list | None = None
    request_key: str | None = None


def _json_batch(body: PredictRequest) -> _Batch:
    return _Batch(body.columns, body.rows, body.symbol, body.timestamps, body.request_key)


def _arrow_batch(raw: bytes, query) -> _Batch:
    """An Arrow IPC stream of numeric columns (optional ``timestamp`` column); symbol and
    request_key in the query string. No per-value parsing: the batch path's fast lane. The
    record batch stays as it arrived (its buffers are views of ``raw``) until
    ``_rows_matrix`` copies the model's columns into one matrix."""
    import pyarrow as pa

    from trademl.serving.schemas import MAX_ROWS

    try:
        table = pa.ipc.open_stream(raw).read_all()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise BarRejected(f"body: not an Arrow IPC stream ({exc})", field="body") from None
    if not 1 <= table.num_rows <= MAX_ROWS:
        raise BarRejected(f"rows: {table.num_rows} given, expected 1 to {MAX_ROWS}", field="rows")
    timestamps = None
    if "timestamp" in table.column_names:
        stamps = table.column("timestamp").to_pandas()
        timestamps = list(pd.DatetimeIndex(stamps, tz="UTC") if stamps.dt.tz is None else stamps)
        table = table.drop(["timestamp"])
    for field in table.schema:
        if not (pa.types.is_floating(field.type) or pa.types.is_integer(field.type)):
            raise BarRejected(
                f"columns: {field.name!r} is {field.type}, not numeric",
                field=f"columns.{field.name}",
            )
    if table.num_columns == 0:
        raise BarRejected("columns: the stream has no feature column", field="columns")
    # one record batch (a client that wrote several gets them joined here, one copy)
    batch = table.combine_chunks().to_batches()[0]
    return _Batch(
        table.column_names, batch, query.get("symbol"), timestamps, query.get("request_key")
    )


def _rows_matrix(body: _Batch, wanted: list[str]) -> np.ndarray:
    """The request's rows in the model's column order, or BarRejected naming the bad field."""
    columns = body.columns
    position = column_positions(columns, wanted)
    if body.timestamps is not None and len(body.timestamps) != len(body.rows):
        raise BarRejected(
            f"timestamps: {len(body.timestamps)} given for {len(body.rows)} rows",
            field="timestamps",
        )
    if not isinstance(body.rows, list):
        return _arrow_matrix(body.rows, wanted, position)
    width = len(columns)
    for i, row in enumerate(body.rows):
        if len(row) != width:
            raise BarRejected(
                f"rows[{i}]: {len(row)} values for {width} columns", field=f"rows[{i}]"
            )
    values = np.asarray(body.rows, dtype=float)
    order = [position[c] for c in wanted]
    return values if order == list(range(width)) else values[:, order]


def _arrow_matrix(batch: Any, wanted: list[str], position: dict[str, int]) -> np.ndarray:
    """The record batch's columns, in the model's order, as one float64 matrix.

    Arrow writes each column into its own place of a column-major (Fortran-order) matrix:
    one contiguous copy per column, ~1.5 ms for 5,000 x 257 (a row-major matrix written
    column by column took ~6 ms of strided writes). LightGBM reads column-major matrices
    as such (no copy; same numbers, the scoring costs about what a row-major one does).
    Nulls become NaN and are refused below like any non-finite value."""
    chosen = batch if list(batch.schema.names) == wanted else batch.select(wanted)
    values = np.asarray(chosen.to_tensor(null_to_nan=True, row_major=False))
    if values.dtype != np.float64:  # integer or float32 columns: the JSON lane's float64
        values = values.astype(np.float64, order="F")
    finite = np.isfinite(values)
    if not finite.all():
        row, j = np.argwhere(~finite)[0]
        col, name = position[wanted[j]], wanted[j]
        raise BarRejected(
            f"rows[{row}][{col}]: {name!r} is {values[row, j]}, not a finite number",
            field=f"rows[{row}][{col}]",
        )
    return values


def _arrow_answer(scored: tuple, slot: ModelSlot) -> bytes:
    """``(y_pred, proba, signal)`` as an Arrow IPC stream: columns ``predictions``,
    ``proba`` (null for a regressor, as in JSON), ``signal``; the model in the schema's
    metadata (``model``, ``version``)."""
    import pyarrow as pa

    y_pred, proba, signal = scored
    proba = np.asarray(proba, dtype=np.float64)
    batch = pa.record_batch(
        [
            pa.array(np.asarray(y_pred, dtype=np.float64)),
            pa.array(proba, mask=~np.isfinite(proba)),
            pa.array(np.asarray(signal, dtype=np.int8)),
        ],
        schema=pa.schema(
            [("predictions", pa.float64()), ("proba", pa.float64()), ("signal", pa.int8())],
            metadata={"model": slot.name, "version": slot.version},
        ),
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def _predict_rows(body: _Batch, scored: tuple, seconds: float) -> list[tuple]:
    stamps = [pd.Timestamp(t).tz_convert("UTC").value for t in body.timestamps]
    symbol = body.symbol or ""
    latency_ms = seconds * 1e3
    return [
        (ts, symbol, float(y), _finite_or_none(p), float(s), None, latency_ms)
        for ts, y, p, s in zip(
            stamps, np.asarray(scored[0]).tolist(), np.asarray(scored[1]).tolist(),
            np.asarray(scored[2]).tolist(), strict=True,
        )
    ]  # fmt: skip
