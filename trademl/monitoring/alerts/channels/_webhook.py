"""Alerts POSTed as JSON: a generic webhook, and the Slack incoming-webhook shape."""

from __future__ import annotations

import logging

from trademl.config.secrets import redact_text
from trademl.monitoring.alerts.channels._base import AlertChannel, AlertMessage

__all__ = ["SlackWebhookChannel", "WebhookChannel"]

_SLACK_EMOJI = {
    "info": ":information_source:",
    "warning": ":warning:",
    "critical": ":rotating_light:",
}


class _RedactUrls(logging.Filter):
    """httpx logs every request with its full URL (at INFO): cut the token-bearing part."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        return True


# added once: httpx's logger is process-wide, and a webhook URL is a credential
if not any(isinstance(f, _RedactUrls) for f in logging.getLogger("httpx").filters):
    logging.getLogger("httpx").addFilter(_RedactUrls())


class WebhookChannel(AlertChannel):
    """POST the alert as a JSON object; any non-2xx answer is a failure (and retried)."""

    def __init__(
        self,
        *,
        url: str,
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.2,
    ):
        self.url = url
        self.headers = headers
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    def payload(self, message: AlertMessage) -> dict:
        return message.to_dict()

    def secrets(self) -> list[str]:
        return [self.url, *(self.headers or {}).values()]

    def send(self, message: AlertMessage) -> None:
        import httpx

        response = httpx.post(
            self.url, json=self.payload(message), headers=self.headers or {}, timeout=self.timeout
        )
        response.raise_for_status()


class SlackWebhookChannel(WebhookChannel):
    """Slack-compatible: ``{"text": ..., "blocks": [...]}`` (Mattermost, Rocket.Chat accept it)."""

    def payload(self, message: AlertMessage) -> dict:
        emoji = _SLACK_EMOJI.get(message.severity, ":warning:")
        text = f"{emoji} *{message.subject}*\n{message.message}"
        return {
            "text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        }
