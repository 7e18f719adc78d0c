"""``POST /v1/explain``: one prediction of the served model and each feature's TreeSHAP share.

Two ways to say what to explain:

* a feature row, ``columns`` + ``rows`` (exactly one row), checked against the answering
  package's signature as ``/v1/predict`` checks it (so a ``/v1/predict`` body of one row
  is also an ``/v1/explain`` body);
* ``symbol`` (+ ``timestamp``, default the newest) of a bar the service has seen: the
  newest bar is explained on the very input row its ``/v1/bars`` prediction used (the
  online state keeps it); an earlier one is recomputed by the batch path on the bars the
  service keeps (online equals batch, so it is the row served then unless the kept history
  has been trimmed since).

The explanation is :func:`trademl.explain.explain_one`: LightGBM/XGBoost natively (one
call on one row, about a millisecond, answered inline like a prediction), scikit-learn
tree ensembles through ``shap`` (in a worker thread: shap parses the trees per call). A
model kind without a TreeSHAP explainer is refused with a 422 naming it; the
model-agnostic explainers take seconds and a background sample, which is a job for
``trademl explain``, not a request.
"""

from __future__ import annotations

import json
import math
import time
from datetime import datetime
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from trademl.errors import TradeMLError
from trademl.explain import ExplainError, explain_one, resolve_target
from trademl.package.model import POOLED
from trademl.serving.history import BarRejected
from trademl.serving.schemas import ErrorResponse, ModelInfo, column_positions

__all__ = ["ExplainRequest", "ExplainResponse", "explain_router"]

ROUTE = "/v1/explain"
# answered inline (about a millisecond); anything else goes to a worker thread
_NATIVE = ("lightgbm", "xgboost")
_SUPPORTED = "lightgbm, xgboost, random_forest, extra_trees and other scikit-learn trees"

Finite = Annotated[float, Field(allow_inf_nan=False)]
Symbol = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9._:/-]+$")]


class ExplainRequest(BaseModel):
    """Either a feature row (``columns`` + ``rows`` with one row) or a seen bar (``symbol``
    + optional ``timestamp``)."""

    model_config = ConfigDict(extra="forbid")

    columns: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        None, min_length=1, max_length=2_000, description="Names of the row's values."
    )
    rows: list[list[Finite]] | None = Field(
        None, min_length=1, max_length=1, description="Exactly one feature row."
    )
    symbol: Symbol | None = Field(
        None,
        description="The bar's symbol; with a row, needed by per-symbol models.",
    )
    timestamp: AwareDatetime | None = Field(
        None, description="Open time of a bar the service has seen (default: the newest)."
    )
    top: int | None = Field(
        None, ge=1, le=2_000, description="Only the k largest contributions (default all)."
    )
    request_key: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="Sticky canary key: explain the model that would answer it."
    )

    @model_validator(mode="after")
    def _one_way(self) -> ExplainRequest:
        if (self.columns is None) != (self.rows is None):
            given, other = ("columns", "rows") if self.rows is None else ("rows", "columns")
            raise ValueError(f"{given} given without {other}: a feature row needs both")
        if self.columns is None and self.symbol is None:
            raise ValueError("give a feature row (columns + rows) or the symbol of a seen bar")
        if self.columns is not None and self.timestamp is not None:
            raise ValueError("timestamp names a seen bar; with a feature row leave it out")
        return self


class Contribution(BaseModel):
    feature: str
    value: float | None = Field(
        description="The feature's value in the explained row; null for a column the model "
        "never reads, which the service does not compute bar by bar (its contribution is 0)."
    )
    contribution: float = Field(description="Its SHAP value, in the units of `output`.")


class ExplainResponse(BaseModel):
    model: ModelInfo
    symbol: str | None
    timestamp: datetime | None = Field(description="The explained bar (None for a given row).")
    prediction: float = Field(description="y_pred, as /v1/predict gives it for the row.")
    proba: float | None = Field(description="Classifiers: P(up).")
    signal: int
    output: str = Field(description="What the contributions add up to: log_odds (of up) or raw.")
    base_value: float
    output_value: float = Field(description="base_value + the sum of all contributions.")
    contributions: list[Contribution] = Field(description="Largest |contribution| first.")
    rest: float = Field(description="Sum of the contributions left out by `top` (0 without).")
    n_features: int
    explainer: str = Field(description="The algorithm, e.g. lightgbm.pred_contrib.")
    latency_ms: float = Field(description="Time in the service for this explanation.")


def explain_router(deployment: Any, metrics: Any) -> APIRouter:
    """The ``/v1/explain`` route over ``deployment``'s answering model; include it with the
    prediction endpoints' API-key dependency."""
    router = APIRouter()

    @router.post(
        ROUTE,
        response_model=ExplainResponse,
        responses={
            401: {"model": ErrorResponse, "description": "Missing or wrong API key."},
            404: {"model": ErrorResponse, "description": "Unknown symbol or bar."},
            409: {"model": ErrorResponse, "description": "The bar has no prediction."},
            422: {"model": ErrorResponse, "description": "Invalid field or unexplainable model."},
        },
        summary="One prediction and each feature's TreeSHAP contribution to it.",
    )
    async def post_explain(body: ExplainRequest) -> Response:
        started = time.perf_counter()
        slot = deployment.routing.answering(body.request_key or body.symbol or "")
        package = slot.package
        symbol = _symbol(package, body.symbol)
        target = resolve_target(package._estimator(symbol), package.task)
        if target.family == "none":
            raise ExplainError(
                f"model kind {target.kind!r} ({slot.label}): no TreeSHAP explainer for it; "
                f"/v1/explain explains {_SUPPORTED} (`trademl explain` has the "
                "model-agnostic one)"
            )
        stamp = None
        if body.columns is not None:
            row = _given_row(body.columns, body.rows[0], package.feature_names)
        else:
            stamp, row = await _seen_row(deployment, slot, symbol, body.timestamp)
        if target.family in _NATIVE:
            answer = explain_one(package, row, symbol=symbol)
        else:
            answer = await run_in_threadpool(explain_one, package, row, symbol=symbol)
        payload = _payload(slot, answer, row, stamp, body.top)
        seconds = time.perf_counter() - started
        payload["latency_ms"] = seconds * 1e3
        metrics.observe(ROUTE, 200, seconds, slot.name, slot.version)
        return Response(json.dumps(payload), media_type="application/json")

    return router


def _symbol(package: Any, given: str | None) -> str | None:
    if given is not None and given not in package.symbols:
        raise BarRejected(
            f"symbol: {given!r} is unknown to the model (it knows {package.symbols})",
            field="symbol",
            status=404,
        )
    if given is None and len(package.estimators) > 1:
        raise BarRejected(
            f"symbol: this model has one estimator per symbol ({', '.join(package.symbols)}): "
            "say which symbol the row is for",
            field="symbol",
        )
    if given is None and POOLED not in package.estimators:
        return package.symbols[0]  # one estimator, for one symbol
    return given


def _given_row(columns: list[str], values: list[float], wanted: list[str]) -> dict[str, float]:
    """The row as {feature: value}, refused as /v1/predict refuses a bad row."""
    column_positions(columns, wanted)
    if len(values) != len(columns):
        raise BarRejected(
            f"rows[0]: {len(values)} values for {len(columns)} columns", field="rows[0]"
        )
    return dict(zip(columns, values, strict=True))


async def _seen_row(
    deployment: Any, slot: Any, symbol: str, timestamp: datetime | None
) -> tuple[pd.Timestamp, dict[str, float]]:
    """The input row of a bar the service has seen: the online state's for the newest bar,
    the batch path on the kept history for an earlier one. The columns the model never
    reads are not computed online: NaN in the row, a contribution of exactly 0."""
    history = deployment.histories.get(symbol)
    state = slot.predictor.states_.get(symbol)
    if history is None or state is None or state.last_timestamp is None:
        raise BarRejected(
            f"symbol: {symbol!r} is not served here (served: {sorted(deployment.histories)})",
            field="symbol",
            status=404,
        )
    names = slot.package.feature_names
    newest = pd.Timestamp(state.last_timestamp)
    wanted = newest if timestamp is None else _utc(timestamp)
    skipped: set[str] = set()
    if wanted == newest:
        values = state.last_row
        skipped = set(state.recipe.columns) - set(state.computed_columns)
    else:
        # copied here, on the event loop, where no bar can be appended meanwhile
        candles = history.frame()
        if wanted not in candles.index:
            first = candles.index[0].isoformat()
            raise BarRejected(
                f"timestamp: no bar of {symbol} opens at {wanted.isoformat()} among the "
                f"{len(candles)} kept ({first} to {newest.isoformat()})",
                field="timestamp",
                status=404,
            )
        candles = candles.loc[:wanted]
        try:
            features = await run_in_threadpool(slot.package.features_frame, candles, symbol)
        except TradeMLError as exc:  # FeatureError: too few bars before it for a feature
            raise BarRejected(
                f"timestamp: {symbol} at {wanted.isoformat()} has no prediction, its features "
                f"are still warming up ({exc})",
                field="timestamp",
                status=409,
            ) from None
        values = features[names].iloc[-1].to_numpy(dtype=float)
    values = np.asarray(values, dtype=float)
    warming = [
        n for n in (names[i] for i in np.flatnonzero(~np.isfinite(values))) if n not in skipped
    ]
    if warming:
        raise BarRejected(
            f"timestamp: {symbol} at {wanted.isoformat()} has no prediction: feature(s) "
            f"{warming[:5]} still warming up",
            field="timestamp",
            status=409,
        )
    return wanted, dict(zip(names, values.tolist(), strict=True))


def _utc(timestamp: datetime) -> pd.Timestamp:
    try:
        return pd.Timestamp(timestamp).tz_convert("UTC")
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        raise BarRejected(
            f"timestamp: {timestamp.isoformat()} is outside any kept bar",
            field="timestamp",
            status=404,
        ) from None


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _payload(slot, answer: dict, row: dict, stamp, top: int | None) -> dict[str, Any]:
    ranked = list(answer["contributions"].items())  # largest |value| first
    shown = ranked if top is None else ranked[:top]
    rest = math.fsum(value for _, value in ranked[len(shown) :])
    return {
        "model": {"name": slot.name, "version": slot.version},
        "symbol": answer["symbol"],
        "timestamp": None if stamp is None else stamp.isoformat(),
        "prediction": answer["prediction"],
        "proba": answer["proba"],
        "signal": answer["signal"],
        "output": answer["output"],
        "base_value": answer["base_value"],
        "output_value": answer["output_value"],
        "contributions": [
            # None: a column the model never reads, not computed online (contribution 0)
            {"feature": name, "value": _finite(row[name]), "contribution": value}
            for name, value in shown
        ],
        "rest": rest,
        "n_features": len(ranked),
        "explainer": answer["method"],
    }
