"""Alerts by e-mail over SMTP (standard library ``smtplib``)."""

from __future__ import annotations

import json
import smtplib
from email.message import EmailMessage

from trademl.monitoring.alerts.channels._base import AlertChannel, AlertMessage

__all__ = ["EmailChannel"]


class EmailChannel(AlertChannel):
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 25,
        sender: str = "trademl@localhost",
        recipients: tuple[str, ...] | list[str] = (),
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.2,
    ):
        self.host = host
        self.port = port
        self.sender = sender
        self.recipients = recipients
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    def secrets(self) -> list[str]:
        return [self.password] if self.password else []

    def send(self, message: AlertMessage) -> None:
        if not self.recipients:
            raise ValueError("email channel: recipients is empty")
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.recipients)
        mail.set_content(f"{message.message}\n\n{json.dumps(message.to_dict(), indent=2)}\n")
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(mail)
