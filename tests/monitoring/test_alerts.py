from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest

from trademl.config.monitoring import ChannelSpec
from trademl.errors import SpecError
from trademl.monitoring.alerts import (
    AlertEngine,
    AlertMessage,
    EmailChannel,
    LogChannel,
    SlackWebhookChannel,
    WebhookChannel,
    default_rules,
    load_rules,
    make_channel,
)
from trademl.monitoring.alerts.rules import AlertRule
from trademl.monitoring.store import open_store

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _rule(**overrides) -> AlertRule:
    base = {
        "name": "acc",
        "when": "performance.accuracy.drop_vs_baseline > 0.05",
        "severity": "warning",
        "channels": ["log"],
        "cooldown": "1h",
    }
    return AlertRule.model_validate({**base, **overrides})


def _message(**overrides) -> AlertMessage:
    base = dict(alert_id=1, rule="acc", model="btc", severity="critical", message="accuracy fell",
                value=0.1, first_seen=T0.isoformat())  # fmt: skip
    return AlertMessage(**{**base, **overrides})


class Recording(LogChannel):
    """A real in-memory channel (the one-method interface makes it trivial)."""

    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append(message)


def test_default_rules_load_and_cover_the_issue():
    names = {r.name for r in default_rules()}
    assert {"accuracy_drop", "sharpe_drop", "feature_drift", "no_predictions",
            "prediction_anomaly"} <= names  # fmt: skip


def test_rule_file_errors_name_the_field(tmp_path):
    bad = tmp_path / "rules.yaml"
    bad.write_text("rules:\n  - name: x\n    when: accuracy >> 3\n")
    with pytest.raises(SpecError, match=r"rules\.0\.when.*cannot read condition"):
        load_rules(bad)
    bad.write_text("rules:\n  - name: x\n    when: a > 1\n    severity: loud\n")
    with pytest.raises(SpecError, match=r"rules\.0\.severity"):
        load_rules(bad)
    bad.write_text("rules:\n  - name: x\n    when: a > 1\n    cooldown: soon\n")
    with pytest.raises(SpecError, match=r"rules\.0\.cooldown.*duration"):
        load_rules(bad)
    with pytest.raises(SpecError, match="not found"):
        load_rules(tmp_path / "missing.yaml")


def test_dedup_cooldown_resolve_and_history(tmp_path):
    store = open_store(tmp_path / "a.db")
    channel = Recording()
    engine = AlertEngine(store, rules=[_rule()], channels={"log": channel})
    bad = {"performance.accuracy.drop_vs_baseline": 0.08}
    good = {"performance.accuracy.drop_vs_baseline": 0.01}
    assert [a["action"] for a in engine.evaluate("btc", bad, now=T0)] == ["opened"]
    # the same condition while open: counted, not re-sent
    for minute in (5, 10, 15):
        actions = engine.evaluate("btc", bad, now=T0 + timedelta(minutes=minute))
        assert [a["action"] for a in actions] == ["deduplicated"]
    assert len(channel.sent) == 1 and store.alerts()["count"].tolist() == [4]
    # missing facts are "unknown": the alert stays as it is
    assert engine.evaluate("btc", {}, now=T0 + timedelta(minutes=20)) == []
    # condition clears -> resolved by the monitor; back within the cooldown -> quiet
    assert engine.evaluate("btc", good, now=T0 + timedelta(minutes=30))[0]["action"] == "resolved"
    assert engine.evaluate("btc", bad, now=T0 + timedelta(minutes=40))[0]["action"] == "cooldown"
    assert len(channel.sent) == 1
    # after the cooldown a new alert opens and is sent
    assert engine.evaluate("btc", bad, now=T0 + timedelta(hours=2))[0]["action"] == "opened"
    assert len(channel.sent) == 2
    # another model has its own alert
    assert engine.evaluate("eth", bad, now=T0)[0]["action"] == "opened"
    history = store.alert_history(1)
    assert history["event"].tolist() == ["opened", "sent", "resolved"]
    assert history["actor"].tolist()[-1] == "monitor"


def test_ack_stops_escalation_and_records_who(tmp_path):
    store = open_store(tmp_path / "e.db")
    first, pager = Recording(), Recording()
    rule = _rule(severity="critical", escalate_after="30m", escalate_to=["pager"])
    engine = AlertEngine(store, rules=[rule], channels={"log": first, "pager": pager})
    facts = {"performance.accuracy.drop_vs_baseline": 0.2}
    engine.evaluate("btc", facts, now=T0)
    engine.evaluate("btc", facts, now=T0 + timedelta(minutes=10))
    assert pager.sent == []  # not yet
    actions = engine.evaluate("btc", facts, now=T0 + timedelta(minutes=31))
    assert [a["action"] for a in actions] == ["deduplicated", "escalated"]
    assert len(pager.sent) == 1 and pager.sent[0].escalation
    assert "ESCALATED" in pager.sent[0].subject
    engine.evaluate("btc", facts, now=T0 + timedelta(minutes=50))
    assert len(pager.sent) == 1  # escalated once
    # a second critical alert, acknowledged in time, is never escalated
    engine.evaluate("eth", facts, now=T0)
    eth_id = int(store.alerts(model="eth")["id"].iloc[0])
    acked = store.set_alert_state(eth_id, "acknowledged", actor="alice",
                                  now=T0 + timedelta(minutes=5))  # fmt: skip
    assert acked["acked_by"] == "alice" and acked["acked_ns"] is not None
    engine.evaluate("eth", facts, now=T0 + timedelta(hours=2))
    assert len(pager.sent) == 1
    done = store.set_alert_state(eth_id, "resolved", actor="bob", now=T0 + timedelta(hours=3))
    assert done["state"] == "resolved" and done["resolved_by"] == "bob"
    events = store.alert_history(eth_id)
    assert events["event"].tolist() == ["opened", "sent", "acked", "resolved"]
    assert events["actor"].tolist()[2:] == ["alice", "bob"]


def test_rate_limit_per_channel(tmp_path):
    store = open_store(tmp_path / "r.db")
    chat = Recording()
    rules = [_rule(name=f"r{i}", when=f"x > {i}") for i in range(5)]
    for rule in rules:
        rule.channels = ["chat"]
    engine = AlertEngine(store, rules=rules, channels={"chat": chat}, max_per_hour={"chat": 3})
    actions = engine.evaluate("btc", {"x": 10}, now=T0)
    assert [a["delivered"]["chat"] for a in actions] == ["sent"] * 3 + ["rate limited"] * 2
    assert len(chat.sent) == 3


@pytest.mark.server
def test_email_through_a_real_smtp_server(smtp_server):
    controller, received = smtp_server
    channel = EmailChannel(host="127.0.0.1", port=controller.port, sender="bot@trademl",
                           recipients=["ops@example.org"], timeout=5)  # fmt: skip
    assert channel.deliver(_message()) == 1
    deadline = time.time() + 5
    while not received and time.time() < deadline:
        time.sleep(0.05)
    assert received[0]["to"] == ["ops@example.org"]
    assert "Subject: [trademl CRITICAL] btc: acc" in received[0]["data"]
    assert "accuracy fell" in received[0]["data"]


@pytest.mark.server
def test_webhooks_through_a_real_http_server(http_server):
    server, base = http_server
    WebhookChannel(url=f"{base}/hook").deliver(_message())
    SlackWebhookChannel(url=f"{base}/slack").deliver(_message())
    generic, slack = server.calls
    assert generic["path"] == "/hook" and generic["body"]["rule"] == "acc"
    assert generic["body"]["severity"] == "critical" and generic["body"]["value"] == 0.1
    assert slack["path"] == "/slack" and "accuracy fell" in slack["body"]["text"]
    assert slack["body"]["blocks"][0]["type"] == "section"


@pytest.mark.server
def test_retries_then_success_and_timeouts(http_server):
    server, base = http_server
    server.statuses = [500, 503]
    attempts = WebhookChannel(url=base, retries=2, backoff=0.01).deliver(_message())
    assert attempts == 3 and len(server.calls) == 3
    server.delay = 2.0
    channel = WebhookChannel(url=base, retries=0, timeout=0.3)
    started = time.perf_counter()
    with pytest.raises(Exception, match="WebhookChannel"):
        channel.deliver(_message())
    assert time.perf_counter() - started < 1.5


@pytest.mark.server
def test_a_failing_channel_never_blocks_the_others(tmp_path, http_server, smtp_server, unused_port):
    server, base = http_server
    controller, received = smtp_server
    store = open_store(tmp_path / "f.db")
    channels = {
        "dead": WebhookChannel(
            url=f"http://127.0.0.1:{unused_port}/", retries=1, backoff=0.01, timeout=1
        ),  # fmt: skip
        "hook": WebhookChannel(url=base),
        "email": make_channel(
            "email", ChannelSpec(kind="email", port=controller.port, recipients=["a@b.c"])
        ),
        "log": make_channel("log", ChannelSpec(kind="log")),
    }
    rule = _rule(channels=["dead", "hook", "email", "log", "missing"])
    engine = AlertEngine(store, rules=[rule], channels=channels)
    actions = engine.evaluate("btc", {"performance.accuracy.drop_vs_baseline": 0.5}, now=T0)
    delivered = actions[0]["delivered"]
    assert delivered["dead"].startswith("failed")
    assert delivered["hook"] == delivered["email"] == delivered["log"] == "sent"
    assert delivered["missing"] == "not configured"
    assert len(server.calls) == 1
    events = store.alert_history(actions[0]["alert_id"])
    assert set(events["event"]) == {"opened", "sent", "failed", "skipped"}


def test_make_channel_requires_settings():
    with pytest.raises(ValueError, match=r"channels\.pager\.url"):
        make_channel("pager", ChannelSpec(kind="webhook"))
    with pytest.raises(ValueError, match=r"channels\.mail\.recipients"):
        make_channel("mail", ChannelSpec(kind="email"))


def test_log_channel_logs_at_the_severity(caplog):
    with caplog.at_level(logging.INFO, logger="trademl.alerts"):
        LogChannel().deliver(_message(severity="critical"))
    assert caplog.records[-1].levelno == logging.CRITICAL
