"""``features:`` section: which features to compute, on which timeframes, and how to post-process.

Example::

    features:
      categories: [trend, momentum, volatility]   # default: every category
      indicators:                                  # optional: exactly these (overrides categories)
        - rsi                                      # its default periods (7, 14, 21)
        - {name: sma, params: {timeperiod: [20, 50]}}
      exclude: ["cdl_*"]                           # column-name globs to drop
      timeframes: ["4h", {timeframe: "1d", indicators: [rsi, atr]}]
      lags: {"rsi_14": [1, 2], "logret_1": [1, 2, 3]}
      normalise: {window: 200, columns: ["sma_*"]}
      float32: true
      cache: .trademl/features
      modules: [my_features.py]                    # files with your own @feature functions

``modules`` are Python files (relative to the spec file's folder) whose ``@feature``
registrations join the registry before features are computed. Their features are not
proven causal like trademl's own, so the run checks them on its own data (see
``trademl.features.check_run_causality``) and refuses one that reads a later bar.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from trademl.config._base import SpecModel

Category = Literal[
    "trend", "momentum", "volatility", "volume", "pattern", "statistical", "microstructure"
]
CATEGORIES: tuple[str, ...] = (
    "trend",
    "momentum",
    "volatility",
    "volume",
    "pattern",
    "statistical",
    "microstructure",
)

ParamValue = int | float | str | bool


def _python_file(path: str) -> str:
    if not path.strip().endswith(".py"):
        raise ValueError("must be a Python file ending in .py")
    return path


ModulePath = Annotated[str, AfterValidator(_python_file)]


class IndicatorSpec(SpecModel):
    """One registered feature and its parameters; a list value means one column set per value."""

    name: str
    params: dict[str, ParamValue | list[ParamValue]] = {}


class TimeframeSpec(SpecModel):
    """Features computed on a higher timeframe (resampled from the input) and joined back."""

    timeframe: str
    # None: the same selection as the base timeframe
    categories: list[Category] | None = None
    indicators: list[str | IndicatorSpec] | None = None


class NormaliseSpec(SpecModel):
    """Rolling z-score of selected columns over the trailing ``window`` bars (causal)."""

    window: int = Field(200, ge=2)
    columns: list[str] = ["*"]
    # append adds ``<col>_z<window>``; replace overwrites the column in place
    mode: Literal["append", "replace"] = "append"


class FeatureSpec(SpecModel):
    categories: list[Category] | None = None
    indicators: list[str | IndicatorSpec] | None = None
    exclude: list[str] = []
    timeframes: list[str | TimeframeSpec] = []
    lags: dict[str, list[int]] = {}
    normalise: NormaliseSpec | None = None
    float32: bool = False
    cache: str | None = None
    # a series shorter than a feature's warm-up: raise naming the feature, or an all-NaN column
    on_short: Literal["raise", "nan"] = "raise"
    # NaNs in the input OHLCV: raise naming column and rows, or warn once and let them propagate
    on_nan: Literal["raise", "warn"] = "raise"
    # threads computing features (TA-Lib and numpy release the GIL); None: one per CPU core.
    # 1 by default: on a busy shared machine extra threads only add contention
    n_jobs: int | None = Field(1, ge=1)
    # user feature files (paths relative to the spec file's folder), imported before the run
    modules: list[ModulePath] = []

    @field_validator("lags")
    @classmethod
    def _positive_lags(cls, value: dict[str, list[int]]) -> dict[str, list[int]]:
        for column, lags in value.items():
            bad = [lag for lag in lags if lag < 1]
            if bad:
                raise ValueError(f"lags for {column!r} must be >= 1 (a negative lag looks ahead)")
        return value

    @model_validator(mode="after")
    def _timeframes_as_specs(self) -> FeatureSpec:
        specs = [TimeframeSpec(timeframe=t) if isinstance(t, str) else t for t in self.timeframes]
        object.__setattr__(self, "timeframes", specs)
        return self
