"""The HTTP contract of ``trademl serve``: pydantic request and response models.

They are the OpenAPI schema as well as the validation: a wrong type, a missing field, a
NaN or an oversized batch is refused by these models with the field's path before any
model or online state is touched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from trademl.serving.history import BarRejected

__all__ = [
    "MAX_BARS",
    "MAX_ROWS",
    "Bar",
    "BarsRequest",
    "BarsResponse",
    "ErrorResponse",
    "ModelInfo",
    "PredictRequest",
    "PredictResponse",
    "ReloadResponse",
    "RollbackRequest",
    "StatusResponse",
    "TrafficRequest",
]

# a request larger than this is refused (413-like 422) instead of stalling every other client
MAX_BARS = 1_000
MAX_ROWS = 10_000

Finite = Annotated[float, Field(allow_inf_nan=False)]
Symbol = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9._:/-]+$")]
Key = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    # an unknown field is a typo the client should hear about, not something to drop
    model_config = ConfigDict(extra="forbid")


class Bar(_Strict):
    """One closed candle; ``timestamp`` is the bar's open time (UTC offset required)."""

    timestamp: AwareDatetime
    open: Finite = Field(gt=0)
    high: Finite = Field(gt=0)
    low: Finite = Field(gt=0)
    close: Finite = Field(gt=0)
    volume: Finite = Field(ge=0)


class BarsRequest(_Strict):
    symbol: Symbol
    bars: list[Bar] = Field(min_length=1, max_length=MAX_BARS)
    request_key: Key | None = Field(None, description="Sticky canary key (default: the symbol).")
    allow_gap: bool = Field(
        False, description="Accept a jump over missing bars (a real exchange outage)."
    )


class ModelInfo(BaseModel):
    name: str
    version: str


class BarsResponse(BaseModel):
    symbol: str
    timestamp: datetime = Field(description="Open time of the newest bar, the one predicted.")
    prediction: float | None = Field(description="None while a feature is still warming up.")
    proba: float | None = Field(
        description="Classifiers: probability of the positive class (as `trademl predict`)."
    )
    signal: int | None = Field(description="-1 short, 0 flat, +1 long.")
    ready: bool = Field(description="Every feature of the bar was warm.")
    model: ModelInfo
    bars_accepted: int


class PredictRequest(_Strict):
    """Feature rows in columns: ``columns`` names each value of every row of ``rows``."""

    columns: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=2_000
    )
    rows: list[list[Finite]] = Field(min_length=1, max_length=MAX_ROWS)
    symbol: Symbol | None = Field(
        None, description="Needed by models with one estimator per symbol."
    )
    timestamps: list[AwareDatetime] | None = Field(
        None, description="One per row: the rows are then logged to the monitoring store."
    )
    request_key: Key | None = Field(None, description="Sticky canary key.")


class PredictResponse(BaseModel):
    predictions: list[float]
    proba: list[float | None]
    signal: list[int]
    model: ModelInfo


class TrafficRequest(_Strict):
    mode: Literal["off", "canary", "shadow"]
    percent: Annotated[float, Field(ge=0, le=100)] = Field(
        0.0, description="Canary: share of keys answered by the challenger."
    )


class RollbackRequest(_Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class ReloadResponse(BaseModel):
    changed: bool
    champion: ModelInfo
    challenger: ModelInfo | None
    message: str


class StatusResponse(BaseModel):
    ready: bool
    champion: ModelInfo
    challenger: ModelInfo | None
    traffic: TrafficRequest
    symbols: dict[str, str | None] = Field(description="Symbol -> open time of its last bar.")
    latency_ms: dict[str, dict[str, float]] = Field(description="Route -> p50, p99, n.")
    predictions: dict[str, int] = Field(description="Signal counts of the champion: -1, 0, 1.")
    proba_histogram: list[int] = Field(description="Champion proba counts in 10 bins of 0.1.")
    logged: int
    log_queue: int
    drift: dict | None
    open_alerts: list[dict]
    started: datetime
    swaps: int


class ErrorResponse(BaseModel):
    error: str = Field(description="One line naming the field and the problem.")
    detail: list | None = None


def column_positions(columns: list[str], wanted: list[str]) -> dict[str, int]:
    """Each request column's position, when ``columns`` are exactly the model's features
    (``wanted``) in any order; otherwise BarRejected naming the first problem."""
    position: dict[str, int] = {}
    for i, c in enumerate(columns):
        if c in position:
            raise BarRejected(f"columns: {c!r} is given twice", field="columns")
        position[c] = i
    missing = [c for c in wanted if c not in position]
    if missing:
        raise BarRejected(
            f"columns: missing {len(missing)} feature(s) the model needs, first {missing[:5]}",
            field="columns",
        )
    known = set(wanted)
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise BarRejected(
            f"columns: {len(unknown)} column(s) the model does not use, first {unknown[:5]}",
            field="columns",
        )
    return position
