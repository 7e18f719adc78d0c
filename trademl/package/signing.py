"""HMAC-SHA256 signatures of SHA-256 manifests, so a manifest in the store cannot be rewritten.

A manifest (``{relative/path: sha256}``) lives as a tag in the MLflow store; anyone who can
write the store could swap ``model.pkl`` and recompute it. The signature binds the manifest
to what it describes (``models:/NAME/VERSION`` or ``runs:/ID/ARTIFACT``) with a key the
store never sees:

- ``$TRADEML_SIGNING_KEY`` (any string, at least 16 characters) when set, else
- a key file, ``$TRADEML_SIGNING_KEY_FILE`` or ``~/.config/trademl/signing.key``
  (``$XDG_CONFIG_HOME`` respected), created with mode 0600 the first time something is
  signed, so a single-user demo works without set-up.

Signatures read ``hmac-sha256:<key id>:<hex digest>``; the key id (first 12 hex digits of
the key's SHA-256) lets an error say "signed with another key" without revealing it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import warnings
from collections.abc import Mapping
from pathlib import Path

from trademl.tracking.errors import IntegrityError

__all__ = [
    "KEY_ENV",
    "KEY_FILE_ENV",
    "SignatureError",
    "UnsignedModelWarning",
    "key_file_path",
    "sign_manifest",
    "signing_key",
    "verify_manifest_signature",
]

log = logging.getLogger(__name__)

KEY_ENV = "TRADEML_SIGNING_KEY"
KEY_FILE_ENV = "TRADEML_SIGNING_KEY_FILE"
SCHEME = "hmac-sha256"
_MIN_KEY_CHARS = 16


class SignatureError(IntegrityError):
    """A manifest is unsigned, signed with another key, or its signature does not match."""


class UnsignedModelWarning(UserWarning):
    """A model was loaded without a valid signature because the caller allowed it."""


def key_file_path() -> Path:
    if os.environ.get(KEY_FILE_ENV):
        return Path(os.environ[KEY_FILE_ENV]).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "trademl" / "signing.key"


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # O_EXCL: two processes signing at once must not each write a different key
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    log.warning("created a signing key for model manifests at %s (mode 0600)", path)


def signing_key(*, create: bool = False) -> bytes | None:
    """The key from ``$TRADEML_SIGNING_KEY``, else the key file (made when ``create``)."""
    value = os.environ.get(KEY_ENV)
    if value is not None:
        if len(value.strip()) < _MIN_KEY_CHARS:
            raise SignatureError(
                f"{KEY_ENV} is set but shorter than {_MIN_KEY_CHARS} characters; "
                "use a long random value (e.g. `python -c 'import secrets; "
                "print(secrets.token_hex(32))'`)"
            )
        return value.strip().encode()
    path = key_file_path()
    if not path.is_file():
        if not create:
            return None
        _create_key_file(path)
    if path.stat().st_mode & 0o077:
        raise SignatureError(
            f"signing key file {path} is readable by other users; run `chmod 600 {path}`"
        )
    text = path.read_text(encoding="utf-8").strip()
    if len(text) < _MIN_KEY_CHARS:
        raise SignatureError(
            f"signing key file {path} holds fewer than {_MIN_KEY_CHARS} characters"
        )
    return text.encode()


def _key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:12]


def _message(manifest: Mapping[str, str], subject: str) -> bytes:
    body = json.dumps(dict(manifest), sort_keys=True, separators=(",", ":"))
    return f"trademl-manifest-v1\n{subject}\n{body}".encode()


def sign_manifest(manifest: Mapping[str, str], *, subject: str) -> str:
    """The signature of ``manifest`` for ``subject`` (creating the key file if needed)."""
    key = signing_key(create=True)
    assert key is not None  # create=True always yields a key or raises
    digest = hmac.new(key, _message(manifest, subject), hashlib.sha256).hexdigest()
    return f"{SCHEME}:{_key_id(key)}:{digest}"


def _refuse_or_warn(problem: str, *, subject: str, allow_unsigned: bool) -> None:
    if not allow_unsigned:
        raise SignatureError(
            f"{subject}: {problem}; refusing to unpickle it "
            "(pass --allow-unsigned / allow_unsigned=True to load it anyway)"
        )
    text = f"{subject}: {problem}; loading it anyway because allow_unsigned was given"
    log.warning(text)
    warnings.warn(text, UnsignedModelWarning, stacklevel=3)


def verify_manifest_signature(
    manifest: Mapping[str, str],
    signature: str | None,
    *,
    subject: str,
    allow_unsigned: bool = False,
    label: str | None = None,
) -> bool:
    """True when ``signature`` is this key's signature of ``manifest`` for ``subject``.

    A missing signature, or no key to check it with, raises ``SignatureError`` unless
    ``allow_unsigned`` (then it warns and returns False). A signature that does not match
    is always refused: the manifest or the files were changed after signing. Errors
    start with ``label`` (default: ``subject``).
    """
    signed_for, subject = subject, label or subject
    if not signature:
        _refuse_or_warn("has no manifest signature", subject=subject, allow_unsigned=allow_unsigned)
        return False
    scheme, _, rest = signature.partition(":")
    key_id, _, digest = rest.partition(":")
    if scheme != SCHEME or not key_id or not digest:
        raise SignatureError(f"{subject}: manifest signature is malformed ({scheme!r} scheme)")
    key = signing_key()
    if key is None:
        _refuse_or_warn(
            f"is signed, but no signing key is available ({KEY_ENV} unset, "
            f"no key file at {key_file_path()})",
            subject=subject,
            allow_unsigned=allow_unsigned,
        )
        return False
    if key_id != _key_id(key):
        raise SignatureError(
            f"{subject}: manifest was signed with another key (id {key_id}, "
            f"this key is {_key_id(key)}); set {KEY_ENV} to the key that signed it"
        )
    expected = hmac.new(key, _message(manifest, signed_for), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, digest):
        raise SignatureError(
            f"{subject}: manifest signature does not match (the manifest was rewritten "
            "after signing); refusing to unpickle it"
        )
    return True
