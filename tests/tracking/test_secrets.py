"""Secrets of a spec never reach MLflow: not its params, not the stored spec, not its logs."""

from __future__ import annotations

import logging

import pytest

from trademl.config import load_spec
from trademl.config.secrets import MASK, redact_spec, redact_url, resolve_env
from trademl.errors import SpecError
from trademl.tracking import start_run
from trademl.tracking._store import client
from trademl.tracking.artifacts import read_spec_text

SECRETS = ["hunter2-smtp-pw", "SECRETTOKEN123", "tok-in-query", "sk-live-bearer-XYZ", "pgpass99"]


def _spec_with_secrets() -> dict:
    return {
        "name": "secrets-test",
        "monitoring": {
            "db_url": "postgresql://ops:pgpass99@db.internal:5432/monitor",
            "channels": {
                "mail": {"kind": "email", "recipients": ["ops@example.org"],
                         "username": "ops", "password": "hunter2-smtp-pw"},
                "hook": {"kind": "webhook",
                         "url": "https://hooks.example.com/services/T0/SECRETTOKEN123?k=tok-in-query",
                         "headers": {"Authorization": "Bearer sk-live-bearer-XYZ"}},
                "ref": {"kind": "slack", "url": "${HOOK_URL}",
                        "headers": {"X-Api-Key": "${HOOK_KEY}"}},
            },
        },
    }  # fmt: skip


def test_params_spec_artifact_and_logs_hold_references_and_masks_only(store, caplog):
    caplog.set_level(logging.DEBUG)
    spec = load_spec(_spec_with_secrets())
    with start_run(spec) as run:
        run_id = run.info.run_id
    params = client().get_run(run_id).data.params
    stored = read_spec_text(run_id)
    everything = "\n".join([*params.values(), *params.keys(), stored, caplog.text])
    for secret in SECRETS:
        assert secret not in everything
    assert params["monitoring.channels.mail.password"] == MASK
    assert params["monitoring.channels.hook.url"] == "https://hooks.example.com/***"
    assert params["monitoring.channels.hook.headers.Authorization"] == MASK
    assert params["monitoring.channels.ref.url"] == "${HOOK_URL}"
    assert params["monitoring.channels.ref.headers.X-Api-Key"] == "${HOOK_KEY}"
    assert params["monitoring.db_url"] == "postgresql://ops:***@db.internal:5432/monitor"
    assert "${HOOK_URL}" in stored
    # the loader said which fields hold literal secrets (names only, never values)
    assert "monitoring.channels.mail.password holds a literal secret" in caplog.text


def test_references_resolve_at_use_time_and_a_missing_one_is_named(monkeypatch):
    monkeypatch.setenv("HOOK_URL", "https://hooks.example.com/x")
    assert resolve_env("${HOOK_URL}", field="f") == "https://hooks.example.com/x"
    monkeypatch.delenv("HOOK_URL")
    with pytest.raises(SpecError, match=r"^monitoring.channels.ref.url: environment variable "):
        resolve_env("${HOOK_URL}", field="monitoring.channels.ref.url")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/***"),
        ("http://127.0.0.1:9/hook?token=abc", "http://127.0.0.1:9/***"),
        ("https://user:pw@host/", "https://user:***@host"),
        ("${HOOK}", "${HOOK}"),
        ("not a url", MASK),
    ],
)
def test_redact_url_keeps_scheme_and_host_only(url, shown):
    assert redact_url(url) == shown


def test_redact_spec_masks_secret_keys_anywhere():
    spec = {"data": {"api_key": "abc123"}, "x": {"token": "${T}"}, "y": "sqlite:///a.db"}
    assert redact_spec(spec) == {"data": {"api_key": MASK}, "x": {"token": "${T}"}, "y": spec["y"]}
