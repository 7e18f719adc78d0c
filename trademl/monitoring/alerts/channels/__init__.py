"""Alert channels: one ``send(message)`` method each, built from the spec by ``make_channel``."""

from __future__ import annotations

from trademl.config.monitoring import ChannelSpec
from trademl.config.secrets import resolve_env
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
    """The channel a ``monitoring.channels.<name>`` spec entry describes; ``${VAR}``
    references in its secret fields are read from the environment now, at use time."""
    where = f"monitoring.channels.{name}"
    if spec.kind == "log":
        return LogChannel()
    if spec.kind == "email":
        if not spec.recipients:
            raise ValueError(f"{where}.recipients: required for kind=email")
        return EmailChannel(
            host=spec.host, port=spec.port, sender=spec.sender, recipients=list(spec.recipients),
            username=resolve_env(spec.username, field=f"{where}.username"),
            password=resolve_env(spec.password, field=f"{where}.password"),
            starttls=spec.starttls, timeout=spec.timeout, retries=spec.retries,
        )  # fmt: skip
    if not spec.url:
        raise ValueError(f"{where}.url: required for kind={spec.kind}")
    cls = SlackWebhookChannel if spec.kind == "slack" else WebhookChannel
    headers = {
        key: resolve_env(value, field=f"{where}.headers.{key}") or ""
        for key, value in spec.headers.items()
    }
    url = resolve_env(spec.url, field=f"{where}.url") or ""
    return cls(url=url, headers=headers, timeout=spec.timeout, retries=spec.retries)
