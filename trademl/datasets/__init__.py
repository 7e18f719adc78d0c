"""Real candles shipped inside the package, so the demo and quick start run anywhere.

>>> from trademl.datasets import load_sample
>>> btc = load_sample("BTCUSDT-1h")   # ~2 years of Binance BTC/USDT 1h candles

See README.md beside this file for the source and exact range of each sample.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["available_samples", "load_sample", "sample_path"]

_HERE = Path(__file__).resolve().parent
_SUFFIX = ".csv.gz"


def available_samples() -> list[str]:
    """Names accepted by ``load_sample``, e.g. ``["BTCUSDT-1h", "ETHUSDT-1h"]``."""
    return sorted(p.name[: -len(_SUFFIX)] for p in _HERE.glob(f"*{_SUFFIX}"))


def sample_path(name: str) -> Path:
    """The bundled file behind a sample name; ``DataError`` lists the names that exist."""
    from trademl.errors import DataError

    path = _HERE / f"{name}{_SUFFIX}"
    if not isinstance(name, str) or "/" in name or not path.is_file():
        raise DataError(
            f"unknown sample {name!r}; available samples: {', '.join(available_samples())}"
        )
    return path


def load_sample(name: str = "BTCUSDT-1h") -> pd.DataFrame:
    """Load a bundled sample as the standard OHLCV frame (UTC index ``timestamp``)."""
    from trademl.data.io import load_ohlcv

    return load_ohlcv(sample_path(name))
