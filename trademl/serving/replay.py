"""``trademl serve --replay FILE --speed N``: recorded candles through a running service.

Bars the service already has (its warm-up history) are skipped; the rest are posted one
by one to ``/v1/bars`` over one keep-alive connection, ``N`` times faster than real time
(``--speed 0``: as fast as the service answers). A jump over missing bars that is in the
file itself (a real exchange outage) is sent with ``allow_gap``.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from trademl.errors import DataError

__all__ = ["ReplayStats", "replay_file"]


@dataclass
class ReplayStats:
    symbol: str
    skipped: int = 0
    sent: int = 0
    answered: int = 0
    rejected: Counter = field(default_factory=Counter)  # status -> count
    models: Counter = field(default_factory=Counter)  # "name/version" -> answers
    signals: Counter = field(default_factory=Counter)
    latency_ms: list[float] = field(default_factory=list)
    first_error: str | None = None

    def summary(self) -> str:
        lat = np.asarray(self.latency_ms) if self.latency_ms else np.asarray([np.nan])
        models = ", ".join(f"{k} {v:,}" for k, v in self.models.items()) or "none"
        rejected = sum(self.rejected.values())
        line = (
            f"{self.symbol}: {self.sent:,} bars sent ({self.skipped:,} already known skipped), "
            f"{self.answered:,} answered, {rejected:,} rejected; models {models}; signals "
            f"long {self.signals[1]:,}, flat {self.signals[0]:,}, short {self.signals[-1]:,}; "
            f"round trip p50 {np.nanpercentile(lat, 50):.2f} ms, p99 {np.nanpercentile(lat, 99):.2f} ms"
        )
        if self.first_error:
            line += f"; first rejection: {self.first_error}"
        return line


def replay_file(
    url: str,
    path: str | Path,
    *,
    symbol: str | None = None,
    speed: float = 0.0,
    api_key: str | None = None,
    limit: int | None = None,
) -> ReplayStats:
    import httpx

    from trademl.data.io import load_ohlcv, symbol_from_filename

    if speed < 0:
        raise DataError(f"--speed: expected 0 (as fast as possible) or more, got {speed}")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"--replay {path}: file not found")
    candles = load_ohlcv(path)
    headers = {"X-API-Key": api_key} if api_key else {}
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=30.0) as client:
        try:
            status = client.get("/v1/status").raise_for_status().json()
        except httpx.HTTPError as exc:
            raise DataError(f"--url {url}: no trademl service answers there ({exc})") from None
        known = status["symbols"]
        if symbol is None:
            guess = symbol_from_filename(path)
            symbol = guess if guess in known else (next(iter(known)) if len(known) == 1 else guess)
        if symbol not in known:
            raise DataError(f"--symbol {symbol}: the service serves {sorted(known)}")
        stats = ReplayStats(symbol)
        last = pd.Timestamp(known[symbol]) if known[symbol] else None
        if last is not None:
            stats.skipped = int((candles.index <= last).sum())
            candles = candles.loc[candles.index > last]
        if limit is not None:
            candles = candles.iloc[:limit]
        steps = candles.index.to_series().diff()
        step = steps.min() if len(candles) > 1 else pd.Timedelta(0)
        previous = last
        for stamp, row in candles.iterrows():
            gap = previous is not None and step > pd.Timedelta(0) and stamp - previous > step
            body = {
                "symbol": symbol,
                "bars": [{
                    "timestamp": stamp.isoformat(),
                    **{k: float(row[k]) for k in ("open", "high", "low", "close", "volume")},
                }],
                "allow_gap": bool(gap),
            }  # fmt: skip
            started = time.perf_counter()
            response = client.post("/v1/bars", json=body)
            stats.latency_ms.append((time.perf_counter() - started) * 1e3)
            stats.sent += 1
            if response.status_code == 200:
                answer = response.json()
                stats.answered += 1
                stats.models[f"{answer['model']['name']}/{answer['model']['version']}"] += 1
                stats.signals[int(answer["signal"])] += 1
                previous = stamp
            else:
                stats.rejected[response.status_code] += 1
                if stats.first_error is None:
                    stats.first_error = response.json().get("error", response.text)[:300]
            if speed > 0 and step > pd.Timedelta(0):
                time.sleep(step.total_seconds() / speed)
    return stats
