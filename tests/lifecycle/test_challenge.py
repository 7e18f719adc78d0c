"""The offline verdict: both versions predict the same out-of-sample bars."""

from __future__ import annotations

import json

import pytest

from trademl.config import load_spec
from trademl.errors import DataError
from trademl.lifecycle.challenge import MIN_COMMON_BARS, challenge


def test_challenge_compares_the_same_bars(two_versions, monkeypatch):
    folder, spec, name = two_versions
    monkeypatch.chdir(folder)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", spec["tracking"]["uri"])
    result = challenge(name, spec=load_spec(spec))
    assert result.champion == "v1"
    [comparison] = result.comparisons
    assert comparison.challenger == "v2"
    assert comparison.n_bars == result.n_bars >= MIN_COMMON_BARS
    assert 0 <= comparison.returns_test["p_value"] <= 1
    assert 0 <= comparison.loss_test["p_value"] <= 1
    assert comparison.bootstrap["low"] <= comparison.mean_return_difference
    assert comparison.mean_return_difference <= comparison.bootstrap["high"]
    assert comparison.verdict in {"challenger", "champion", "no difference"}
    assert set(result.metrics) == {"v1", "v2"}
    json.dumps(result.to_dict())  # the CLI's --json


def test_a_model_cannot_challenge_itself(two_versions, monkeypatch):
    folder, spec, name = two_versions
    monkeypatch.chdir(folder)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", spec["tracking"]["uri"])
    with pytest.raises(DataError, match="cannot challenge itself"):
        challenge(name, [1], spec=load_spec(spec))


def test_challenge_cli_json(two_versions, monkeypatch, cli):
    folder, spec, name = two_versions
    monkeypatch.chdir(folder)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", spec["tracking"]["uri"])
    code, out, err = cli("challenge", name, "--challenger", "2", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["verdict"] in {"champion", "v2"}
    assert {"statistic", "p_value"} <= set(data["comparisons"][0]["returns_test"])
    assert "effect_size" in data["comparisons"][0]
