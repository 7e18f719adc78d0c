"""Turning facts into alerts: deduplication, cooldown, per-channel rate limits, escalation.

State lives in the monitoring store (``alerts`` and ``alert_events``), so a monitor that
restarts, or several monitors, agree on what is open. Deliveries run concurrently,
each bounded by its channel's timeout and retries; a failing channel is recorded in the
history and never stops the others.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pandas as pd

from trademl.monitoring._time import from_ns, parse_duration, utcnow
from trademl.monitoring.alerts.channels import AlertChannel, AlertMessage
from trademl.monitoring.alerts.rules import AlertRule
from trademl.monitoring.store import MonitorStore

__all__ = ["AlertEngine"]

logger = logging.getLogger(__name__)


class AlertEngine:
    """Evaluates ``rules`` against facts and notifies ``channels`` (name -> channel)."""

    def __init__(
        self,
        store: MonitorStore,
        *,
        rules: list[AlertRule],
        channels: dict[str, AlertChannel],
        max_per_hour: dict[str, int] | None = None,
    ):
        self.store = store
        self.rules = rules
        self.channels = channels
        self.max_per_hour = max_per_hour

    def evaluate(self, model: str, facts: dict[str, float], *, now: datetime | None = None):
        """Apply every rule to ``facts`` of ``model``; returns what happened, one dict per rule
        that did something (opened, deduplicated, suppressed, resolved, escalated)."""
        now = now or utcnow()
        actions = []
        active = self.store.active_alerts(model)
        touches: list[tuple[int, float | None, str]] = []
        for rule in self.rules:
            verdict = rule.evaluate(facts)
            fingerprint = f"{model}:{rule.name}"
            existing = active.get(fingerprint)
            if verdict is True:
                text, value = rule.render(model, facts)
                if existing is not None:
                    touches.append((existing["id"], value, text))
                    actions.append(_action("deduplicated", rule, existing["id"], text))
                    continue
                last = self.store.last_resolved(fingerprint)
                cooldown = parse_duration(rule.cooldown, name=f"rule {rule.name} cooldown")
                if last is not None and now - from_ns(last["resolved_ns"]) < cooldown:
                    actions.append(_action("cooldown", rule, last["id"], text))
                    continue
                alert_id = self.store.open_alert(
                    fingerprint=fingerprint, rule=rule.name, model=model,
                    severity=rule.severity, message=text, value=value, now=now,
                )  # fmt: skip
                delivered = self._notify(self.store.alert(alert_id), rule.channels, now=now)
                actions.append(_action("opened", rule, alert_id, text, delivered))
            elif verdict is False and existing is not None and rule.auto_resolve:
                self.store.set_alert_state(
                    existing["id"], "resolved", actor="monitor", now=now,
                    detail="condition cleared",
                )  # fmt: skip
                actions.append(_action("resolved", rule, existing["id"], "condition cleared"))
        self.store.touch_alerts(touches, now=now)
        actions.extend(self.escalate(now=now))
        return actions

    def escalate(self, *, now: datetime | None = None) -> list[dict]:
        """Send open (unacknowledged) critical alerts older than their rule's
        ``escalate_after`` to the rule's ``escalate_to`` channels, once."""
        now = now or utcnow()
        actions = []
        by_name = {rule.name: rule for rule in self.rules}
        open_alerts = self.store.alerts(state="open")
        for alert in open_alerts.to_dict(orient="records"):
            rule = by_name.get(alert["rule"])
            if (
                rule is None
                or alert["severity"] != "critical"
                or rule.escalate_after is None
                or not rule.escalate_to
                or pd.notna(alert["escalated_ns"])  # escalate once
            ):
                continue
            wait = parse_duration(rule.escalate_after, name=f"rule {rule.name} escalate_after")
            if now - from_ns(int(alert["first_ns"])) < wait:
                continue
            self.store.mark_escalated(int(alert["id"]), now)
            self.store.add_alert_event(
                int(alert["id"]), "escalated", now=now, detail=",".join(rule.escalate_to)
            )
            delivered = self._notify(alert, rule.escalate_to, now=now, escalation=True)
            actions.append(
                _action("escalated", rule, int(alert["id"]), alert["message"], delivered)
            )
        return actions

    def _notify(self, alert: dict, names: list[str], *, now: datetime, escalation=False):
        message = AlertMessage(
            alert_id=int(alert["id"]), rule=alert["rule"], model=alert["model"],
            severity=alert["severity"], message=alert["message"], value=_number(alert["value"]),
            first_seen=from_ns(int(alert["first_ns"])).isoformat(), escalation=escalation,
        )  # fmt: skip
        ready: dict[str, AlertChannel] = {}
        outcome: dict[str, str] = {}
        for name in names:
            channel = self.channels.get(name)
            if channel is None:
                outcome[name] = "not configured"
                self.store.add_alert_event(message.alert_id, "skipped", now=now, channel=name,
                                           detail="channel not configured")  # fmt: skip
                continue
            limit = (self.max_per_hour or {}).get(name)
            if (
                limit is not None
                and self.store.sent_count(name, since=now - timedelta(hours=1)) >= limit
            ):
                outcome[name] = "rate limited"
                self.store.add_alert_event(message.alert_id, "rate_limited", now=now, channel=name,
                                           detail=f"{limit} per hour reached")  # fmt: skip
                continue
            ready[name] = channel
        if not ready:
            return outcome
        with ThreadPoolExecutor(max_workers=len(ready)) as pool:
            futures = {name: pool.submit(ch.deliver, message) for name, ch in ready.items()}
            for name, future in futures.items():
                try:
                    attempts = future.result()
                except Exception as exc:  # noqa: BLE001 - a failing channel must not stop others
                    logger.error("alert %s: channel %s failed: %s", message.alert_id, name, exc)
                    outcome[name] = f"failed: {exc}"
                    self.store.add_alert_event(message.alert_id, "failed", now=now, channel=name,
                                               detail=str(exc)[:500])  # fmt: skip
                else:
                    outcome[name] = "sent"
                    self.store.add_alert_event(message.alert_id, "sent", now=now, channel=name,
                                               detail=f"attempts={attempts}")  # fmt: skip
        return outcome


def _action(kind: str, rule: AlertRule, alert_id: int, text: str, delivered=None) -> dict:
    return {
        "action": kind,
        "rule": rule.name,
        "severity": rule.severity,
        "alert_id": int(alert_id),
        "message": text,
        "delivered": delivered or {},
    }


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
