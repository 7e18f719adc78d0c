"""Alert channels: one ``send(message)`` method each, built from the spec by ``make_channel``."""

from __future__ import annotations

from trademl.config.monitoring import ChannelSpec
from trademl.monitoring.alerts.channels._base import AlertChannel, AlertMessage, DeliveryError
from trademl.monitoring.alerts.channels._email import EmailChannel
from trademl.monitoring.alerts.channels._log import LogChannel
from trademl.monitoring.alerts.channels._webhook import SlackWebhookChannel, WebhookChannel

__all__ = [
    "AlertChannel",
    "AlertMessage",
    "DeliveryError",
    "EmailChannel",
    "LogChannel",
    "SlackWebhookChannel",
    "WebhookChannel",
    "make_channel",
]


def make_channel(name: str, spec: ChannelSpec) -> AlertChannel:
    """The channel a ``monitoring.channels.<name>`` spec entry describes."""
    if spec.kind == "log":
        return LogChannel()
    if spec.kind == "email":
        if not spec.recipients:
            raise ValueError(f"monitoring.channels.{name}.recipients: required for kind=email")
        return EmailChannel(
            host=spec.host, port=spec.port, sender=spec.sender, recipients=list(spec.recipients),
            username=spec.username, password=spec.password, starttls=spec.starttls,
            timeout=spec.timeout, retries=spec.retries,
        )  # fmt: skip
    if not spec.url:
        raise ValueError(f"monitoring.channels.{name}.url: required for kind={spec.kind}")
    cls = SlackWebhookChannel if spec.kind == "slack" else WebhookChannel
    return cls(url=spec.url, headers=dict(spec.headers), timeout=spec.timeout, retries=spec.retries)
