"""Alerts written to the Python log (always available, never fails)."""

from __future__ import annotations

import logging

from trademl.monitoring.alerts.channels._base import AlertChannel, AlertMessage

__all__ = ["LogChannel"]

_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.CRITICAL}


class LogChannel(AlertChannel):
    def __init__(self, *, logger_name: str = "trademl.alerts"):
        self.logger_name = logger_name

    def send(self, message: AlertMessage) -> None:
        logging.getLogger(self.logger_name).log(
            _LEVELS.get(message.severity, logging.WARNING),
            "%s %s",
            message.subject,
            message.message,
        )
