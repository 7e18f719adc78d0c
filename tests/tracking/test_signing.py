"""Signed manifests on a real MLflow SQLite store: a re-tagged manifest, a missing or foreign
signature and a tampered joblib file are refused before anything is unpickled."""

from __future__ import annotations

import json
import os
import pickle
import stat
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sklearn.linear_model import LogisticRegression

from trademl.config import ExperimentSpec
from trademl.package.signing import (
    KEY_ENV,
    KEY_FILE_ENV,
    SignatureError,
    UnsignedModelWarning,
    sign_manifest,
    signing_key,
    verify_manifest_signature,
)
from trademl.tracking import load_model, log_model, register_model, start_run, verify
from trademl.tracking._store import client
from trademl.tracking.integrity import MANIFEST_TAG, SIGNATURE_TAG, download_version, hash_directory


class _Payload:
    """Unpickling this writes a marker file: proof that a refused pickle never ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


def _log_run(btc_xy) -> str:
    features, target = btc_xy
    with start_run(ExperimentSpec(name="signing-test", seed=1)) as run:
        model = LogisticRegression(max_iter=300).fit(features, target)
        log_model(model, input_example=features.head(3), card={"purpose": "signing test"})
    return run.info.run_id


@pytest.fixture(scope="module")
def run_id(module_store, activate_store, btc_xy):
    """A run whose files no test changes (versions of one run share its files)."""
    activate_store(module_store)
    return _log_run(btc_xy)


def _stored(name: str, version: int) -> Path:
    return Path(urlparse(client().get_model_version_download_uri(name, str(version))).path)


def test_a_re_tagged_manifest_is_refused_and_its_payload_never_runs(store, btc_xy, tmp_path):
    name = "retagged"
    version = register_model(_log_run(btc_xy), name)
    assert verify(name, version)["signed"] is True
    marker = tmp_path / "payload-ran"
    (_stored(name, version) / "model.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    # the attacker recomputes the SHA-256 manifest and re-tags the version: hashes match
    forged = hash_directory(download_version(name, version))
    client().set_model_version_tag(name, str(version), MANIFEST_TAG, json.dumps(forged))
    with pytest.raises(SignatureError, match=r"models:/retagged/1: manifest signature does not"):
        load_model(name, version=version)
    with pytest.raises(SignatureError):
        load_model(name, version=version, allow_unsigned=True)  # a wrong signature: always
    assert not marker.exists()


def test_a_signature_copied_from_another_version_does_not_fit(store, run_id):
    name = "copied"
    first = register_model(run_id, name)
    second = register_model(run_id, name)
    tags = client().get_model_version(name, str(first)).tags
    client().set_model_version_tag(name, str(second), MANIFEST_TAG, tags[MANIFEST_TAG])
    client().set_model_version_tag(name, str(second), SIGNATURE_TAG, tags[SIGNATURE_TAG])
    with pytest.raises(SignatureError, match="does not match"):
        verify(name, second)
    verify(name, first)


def test_unsigned_is_refused_unless_allowed_and_then_warned(store, run_id, btc_xy):
    name = "unsigned"
    version = register_model(run_id, name)
    client().delete_model_version_tag(name, str(version), SIGNATURE_TAG)
    with pytest.raises(SignatureError, match="has no manifest signature; refusing to unpickle"):
        load_model(name, version=version)
    with pytest.warns(UnsignedModelWarning, match="loading it anyway"):
        model = load_model(name, version=version, allow_unsigned=True)
    assert len(model.predict(btc_xy[0].head(4))) == 4
    with pytest.warns(UnsignedModelWarning, match="WITHOUT any integrity"):
        load_model(name, version=version, check_integrity=False)


def test_a_version_signed_with_another_key_names_both_key_ids(store, run_id, monkeypatch):
    name = "other-key"
    monkeypatch.setenv(KEY_ENV, "a" * 32)
    version = register_model(run_id, name)
    verify(name, version)
    monkeypatch.setenv(KEY_ENV, "b" * 32)
    with pytest.raises(SignatureError, match=r"signed with another key \(id [0-9a-f]{12}"):
        verify(name, version)


def test_the_key_file_is_created_once_with_mode_0600(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    path = tmp_path / "config" / "signing.key"
    monkeypatch.setenv(KEY_FILE_ENV, str(path))
    assert signing_key() is None  # verifying never creates a key
    signature = sign_manifest({"a": "0" * 64}, subject="s")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sign_manifest({"a": "0" * 64}, subject="s") == signature
    assert verify_manifest_signature({"a": "0" * 64}, signature, subject="s")
    os.chmod(path, 0o644)
    with pytest.raises(SignatureError, match="readable by other users; run `chmod 600"):
        signing_key()
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(SignatureError, match="shorter than 16 characters"):
        signing_key()


def test_a_changed_joblib_model_file_is_refused(tmp_path, btc_xy):
    from trademl.models import load
    from trademl.models.factory import build_model

    features, target = btc_xy
    model = build_model({"kind": "logistic"}, "classification").fit(features, target)
    path = model.save(tmp_path / "m.joblib")
    assert len(load(path).predict(features.head(3))) == 3
    marker = tmp_path / "payload-ran"
    path.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(SignatureError, match=r"m\.joblib: SHA-256 differs from the one signed"):
        load(path)
    (tmp_path / "m.joblib.sig").unlink()
    with pytest.raises(SignatureError, match="m.joblib: has no manifest signature"):
        load(path)
    assert not marker.exists()
