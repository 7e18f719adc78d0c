"""Which model answers a request: the champion, or the challenger for a canary's share of keys.

The split is sticky: a key (the symbol, or the client's ``request_key``) always lands in the
same one of 10,000 buckets, by a hash that does not change between processes (Python's own
``hash`` of a string does), so a symbol keeps its model across requests and restarts.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Literal

__all__ = ["Mode", "TrafficSplit", "bucket"]

Mode = Literal["off", "canary", "shadow"]
_BUCKETS = 10_000


def bucket(key: str) -> int:
    """A stable bucket in [0, 10000) for ``key``."""
    return zlib.crc32(key.encode("utf-8")) % _BUCKETS


@dataclass(frozen=True)
class TrafficSplit:
    """``canary``: ``percent`` of keys answered by the challenger; ``shadow``: the challenger
    predicts every request beside the champion, only the champion answers."""

    mode: Mode = "off"
    percent: float = 0.0

    def to_challenger(self, key: str) -> bool:
        if self.mode != "canary" or self.percent <= 0:
            return False
        return bucket(key) < round(self.percent * _BUCKETS / 100)
