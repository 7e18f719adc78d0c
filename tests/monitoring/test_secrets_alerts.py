"""A failing webhook or mail channel never shows its token, header or password: not in
log lines, not in the engine's outcome (what the CLI prints), not in ``alert_events``."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from trademl.config.monitoring import ChannelSpec
from trademl.errors import SpecError
from trademl.monitoring.alerts import AlertEngine, make_channel
from trademl.monitoring.alerts.rules import AlertRule
from trademl.monitoring.store import open_store

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TOKEN = "T0KEN-9f8e7d"
BEARER = "Bearer sk-live-5up3r"


@pytest.mark.server
def test_a_failing_webhook_is_reported_without_its_secrets(
    tmp_path, http_server, monkeypatch, caplog
):
    server, base = http_server
    server.statuses = [403] * 10
    monkeypatch.setenv("HOOK_URL", f"{base}/services/{TOKEN}?token={TOKEN}")
    monkeypatch.setenv("HOOK_AUTH", BEARER)
    spec = ChannelSpec(
        kind="webhook", url="${HOOK_URL}", headers={"Authorization": "${HOOK_AUTH}"},
        retries=1, timeout=2,
    )  # fmt: skip
    channel = make_channel("hook", spec)
    store = open_store(tmp_path / "m.db")
    rule = AlertRule.model_validate(
        {"name": "acc", "when": "x > 0", "severity": "critical", "channels": ["hook"]}
    )
    engine = AlertEngine(store, rules=[rule], channels={"hook": channel})
    caplog.set_level(logging.DEBUG)
    actions = engine.evaluate("btc", {"x": 1.0}, now=T0)
    outcome = actions[0]["delivered"]["hook"]
    assert outcome.startswith("failed") and "403" in outcome
    assert server.calls[0]["headers"]["Authorization"] == BEARER  # the real value was sent
    events = store.alert_history(actions[0]["alert_id"])
    shown = "\n".join([outcome, caplog.text, *map(str, events["detail"])])
    assert TOKEN not in shown and "sk-live-5up3r" not in shown
    assert "127.0.0.1" in outcome  # still says where it failed
    store.close()


def test_an_unset_reference_is_named_when_the_channel_is_built(monkeypatch):
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    spec = ChannelSpec(kind="email", recipients=["a@b.c"], password="${SMTP_PASSWORD}")
    with pytest.raises(SpecError, match=r"channels\.mail\.password: environment variable "
                       r"SMTP_PASSWORD is not set"):  # fmt: skip
        make_channel("mail", spec)
