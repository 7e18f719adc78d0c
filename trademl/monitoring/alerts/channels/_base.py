"""The one interface every alert channel implements: ``send(message)``."""

from __future__ import annotations

import abc
import logging
import time
from dataclasses import dataclass

from trademl.config.secrets import redact_text

__all__ = ["AlertChannel", "AlertMessage", "DeliveryError"]

logger = logging.getLogger(__name__)


class DeliveryError(RuntimeError):
    """A channel could not deliver a message after its retries."""


@dataclass(frozen=True)
class AlertMessage:
    alert_id: int
    rule: str
    model: str
    severity: str
    message: str
    value: float | None
    first_seen: str
    escalation: bool = False

    @property
    def subject(self) -> str:
        prefix = "ESCALATED " if self.escalation else ""
        return f"[trademl {prefix}{self.severity.upper()}] {self.model}: {self.rule}"

    def to_dict(self) -> dict:
        return {
            "alert_id": self.alert_id,
            "rule": self.rule,
            "model": self.model,
            "severity": self.severity,
            "message": self.message,
            "value": self.value,
            "first_seen": self.first_seen,
            "escalation": self.escalation,
        }


class AlertChannel(abc.ABC):
    """Delivers alert messages somewhere. Subclasses implement ``send`` and set
    ``retries``, ``timeout`` and ``backoff`` in their constructor."""

    retries: int = 0
    timeout: float = 5.0
    backoff: float = 0.2

    @abc.abstractmethod
    def send(self, message: AlertMessage) -> None:
        """Deliver once or raise; must give up within ``timeout`` seconds."""

    def secrets(self) -> list[str]:
        """Values that must never appear in a log line or an error (password, token URL)."""
        return []

    def deliver(self, message: AlertMessage) -> int:
        """``send`` with retries and exponential backoff; returns the attempts used."""
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                self.send(message)
                return attempt
            except Exception as exc:  # noqa: BLE001 - any failure is retried, then reported
                # an HTTP error names its URL, which may carry the webhook's token
                first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                reason = redact_text(f"{type(exc).__name__}: {first_line}", self.secrets())
                logger.warning(
                    "%s attempt %d/%d failed: %s", type(self).__name__, attempt, attempts, reason
                )
                if attempt == attempts:
                    # not chained: the original exception's text holds the secret
                    raise DeliveryError(f"{type(self).__name__}: {reason}") from None
                time.sleep(self.backoff * 2 ** (attempt - 1))
        return attempts  # pragma: no cover
