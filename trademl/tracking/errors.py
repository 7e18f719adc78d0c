"""Errors the tracking and registry layer raises on purpose (all are ``TradeMLError``)."""

from __future__ import annotations

from trademl.errors import TradeMLError

__all__ = ["IntegrityError", "PromotionRefused", "TrackingError"]


class TrackingError(TradeMLError, ValueError):
    """A run, experiment or model version cannot be found or used as asked."""


class PromotionRefused(TrackingError):
    """A model version failed a quality gate; ``failures`` lists one dict per failed gate."""

    def __init__(self, message: str, failures: list[dict] | None = None):
        super().__init__(message)
        self.failures = list(failures or [])


class IntegrityError(TrackingError):
    """A registered model's files differ from the SHA-256 recorded at registration.

    ``files`` maps each offending relative path to what is wrong with it.
    """

    def __init__(self, message: str, files: dict[str, str] | None = None):
        super().__init__(message)
        self.files = dict(files or {})
