"""``data:`` section: where the candles come from (see ``trademl.data.load_data``)."""

from __future__ import annotations

from pydantic import field_validator, model_validator

from trademl.config._base import SpecModel


class DataSpec(SpecModel):
    # a bundled sample name (e.g. "BTCUSDT-1h"), used when neither path nor symbols is set
    sample: str | None = "BTCUSDT-1h"
    # a candle file (symbol taken from its name) or a folder with one file per symbol
    path: str | None = None
    # several symbols: mapping symbol -> file path or sample name
    symbols: dict[str, str] | None = None
    # resample to this timeframe ("4h"); None keeps the source's
    timeframe: str | None = None
    # bar open times, start inclusive, end exclusive ("2024-01-01")
    start: str | None = None
    end: str | None = None

    @field_validator("sample")
    @classmethod
    def _known_sample(cls, value: str | None) -> str | None:
        from trademl.datasets import available_samples

        if value is not None and value not in available_samples():
            raise ValueError(f"unknown sample; available: {', '.join(available_samples())}")
        return value

    @field_validator("timeframe")
    @classmethod
    def _valid_timeframe(cls, value: str | None) -> str | None:
        if value is not None:
            from trademl.data.timeframe import parse_timeframe

            parse_timeframe(value)  # DataError is a ValueError: pydantic reports the field
        return value

    @field_validator("start", "end", mode="before")
    @classmethod
    def _valid_time(cls, value: object) -> object:
        if value is None:
            return None
        import pandas as pd

        text = str(value)  # YAML turns 2024-01-01 into a date object
        try:
            pd.Timestamp(text)
        except ValueError:
            raise ValueError("expected a date or date-time such as 2024-01-01") from None
        return text

    @model_validator(mode="after")
    def _one_source(self) -> DataSpec:
        if self.path is not None and self.symbols is not None:
            raise ValueError("set either path or symbols, not both")
        if self.path is not None or self.symbols is not None:
            object.__setattr__(self, "sample", None)
        if self.start and self.end:
            import pandas as pd

            if pd.Timestamp(self.start) >= pd.Timestamp(self.end):
                raise ValueError(f"start ({self.start}) must be before end ({self.end})")
        return self
