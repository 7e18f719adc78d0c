"""The ``data:`` section of an experiment spec turned into candles: ``{symbol: frame}``."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from trademl.config.data import DataSpec
from trademl.data.io import load_folder, load_ohlcv, symbol_from_filename
from trademl.data.resample import resample_ohlcv
from trademl.data.timeframe import infer_timeframe, timeframe_to_timedelta
from trademl.datasets import available_samples, load_sample
from trademl.errors import DataError

__all__ = ["load_data"]

logger = logging.getLogger(__name__)


def _load_one(source: str, base_dir: Path | None) -> pd.DataFrame:
    if source in available_samples():
        return load_sample(source)
    path = Path(source).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.exists():
        raise DataError(
            f"data source {source!r} is neither a file nor a bundled sample "
            f"({', '.join(available_samples())})"
        )
    return load_ohlcv(path)


def _sample_symbol(name: str) -> str:
    return name.split("-")[0]


def load_data(
    spec: DataSpec | None = None, *, base_dir: str | Path | None = None
) -> dict[str, pd.DataFrame]:
    """Load the candles a spec names, as ``{symbol: standard OHLCV frame}``.

    Sources: ``sample`` (a bundled sample; symbol = the part before "-"), ``path`` (a
    file, symbol from its name, or a folder of one file per symbol) or ``symbols``
    (symbol -> file or sample name). Relative paths resolve against ``base_dir`` (the
    spec file's folder) when given. ``timeframe`` resamples finer data up to it;
    ``start`` (inclusive) and ``end`` (exclusive) slice by bar open time.
    """
    spec = spec or DataSpec()
    base = Path(base_dir) if base_dir is not None else None
    if spec.symbols:
        frames = {symbol: _load_one(source, base) for symbol, source in spec.symbols.items()}
    elif spec.path is not None:
        path = Path(spec.path).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        if path.is_dir():
            frames = load_folder(path)
        else:
            frames = {symbol_from_filename(path): _load_one(str(path), None)}
    elif spec.sample is not None:
        frames = {_sample_symbol(spec.sample): load_sample(spec.sample)}
    else:
        raise DataError("data: set one of sample, path or symbols")

    start = pd.Timestamp(spec.start, tz="UTC") if spec.start else None
    end = pd.Timestamp(spec.end, tz="UTC") if spec.end else None
    out = {}
    for symbol, frame in frames.items():
        if spec.timeframe is not None:
            have = infer_timeframe(frame.index)
            if timeframe_to_timedelta(have) > timeframe_to_timedelta(spec.timeframe):
                raise DataError(
                    f"data.timeframe is {spec.timeframe} but {symbol} has {have} bars; "
                    "candles can only be resampled to a higher timeframe"
                )
            if have != spec.timeframe:
                logger.info("resampling %s from %s to %s", symbol, have, spec.timeframe)
                frame = resample_ohlcv(frame, spec.timeframe, source_timeframe=have)
        if start is not None:
            frame = frame[frame.index >= start]
        if end is not None:
            frame = frame[frame.index < end]
        if len(frame) == 0:
            raise DataError(
                f"no {symbol} candles between data.start={spec.start} and data.end={spec.end}"
            )
        out[symbol] = frame
    return out
