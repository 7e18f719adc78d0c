"""Alerting: YAML rules over check facts, channels with one ``send`` method, and the engine
that deduplicates, rate-limits and escalates (state kept in the monitoring store)."""

from __future__ import annotations

from trademl.monitoring.alerts.channels import (
    AlertChannel,
    AlertMessage,
    DeliveryError,
    EmailChannel,
    LogChannel,
    SlackWebhookChannel,
    WebhookChannel,
    make_channel,
)
from trademl.monitoring.alerts.engine import AlertEngine
from trademl.monitoring.alerts.rules import AlertRule, default_rules, load_rules

__all__ = [
    "AlertChannel",
    "AlertEngine",
    "AlertMessage",
    "AlertRule",
    "DeliveryError",
    "EmailChannel",
    "LogChannel",
    "SlackWebhookChannel",
    "WebhookChannel",
    "default_rules",
    "load_rules",
    "make_channel",
]
