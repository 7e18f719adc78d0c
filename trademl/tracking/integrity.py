"""SHA-256 of every file of a registered model, recorded at registration, checked on load."""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException

from trademl.tracking import _store
from trademl.tracking.errors import IntegrityError, TrackingError

__all__ = [
    "MANIFEST_TAG",
    "SIGNATURE_TAG",
    "download_version",
    "hash_directory",
    "load_model",
    "sign_version",
    "verify",
]

log = logging.getLogger(__name__)

MANIFEST_TAG = "trademl.sha256"
# HMAC of the manifest (trademl.package.signing): a re-tagged manifest does not match it
SIGNATURE_TAG = "trademl.sha256.signature"
# MLflow itself rewrites this file on every download of a models:/ URI (name and version)
_VOLATILE_FILES = {"registered_model_meta"}
_CHUNK = 1 << 20


def hash_directory(path: str | Path) -> dict[str, str]:
    """``{relative/path: sha256}`` of every file under ``path`` (sorted, POSIX separators)."""
    root = Path(path)
    manifest = {}
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = file.relative_to(root).as_posix()
        if relative in _VOLATILE_FILES:
            continue
        digest = hashlib.sha256()
        with file.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        manifest[relative] = digest.hexdigest()
    return manifest


def _model_version(name: str, version: int | str):
    try:
        return _store.client().get_model_version(name, str(version))
    except MlflowException:
        raise TrackingError(f"model {name!r} has no version {version}") from None


def download_version(name: str, version: int | str, dst: str | Path | None = None) -> Path:
    """Copy a version's files to a fresh local folder (never verify the store in place)."""
    _model_version(name, version)
    uri = _store.client().get_model_version_download_uri(name, str(version))
    target = Path(dst) if dst is not None else Path(tempfile.mkdtemp(prefix="trademl-model-"))
    target.mkdir(parents=True, exist_ok=True)
    return Path(_store.download_artifacts(artifact_uri=uri, dst_path=str(target)))


def version_subject(name: str, version: int | str) -> str:
    """What a version's manifest signature is bound to (a copied tag fits no other version)."""
    return f"models:/{name}/{int(version)}"


def sign_version(name: str, version: int | str, manifest: dict[str, str]) -> None:
    """Record ``manifest`` and its signature on a version (registration does this)."""
    from trademl.package.signing import sign_manifest

    client = _store.client()
    signature = sign_manifest(manifest, subject=version_subject(name, version))
    client.set_model_version_tag(name, str(version), MANIFEST_TAG, json.dumps(manifest))
    client.set_model_version_tag(name, str(version), SIGNATURE_TAG, signature)


def recorded_manifest(
    name: str, version: int | str, *, allow_unsigned: bool = False
) -> tuple[dict[str, str], bool]:
    """The version's manifest and whether it is signed, its signature checked (see
    ``trademl.package.signing``)."""
    from trademl.package.signing import verify_manifest_signature

    mv = _model_version(name, version)
    raw = mv.tags.get(MANIFEST_TAG)
    if not raw:
        raise IntegrityError(
            f"model {name} v{version} has no SHA-256 manifest (tag {MANIFEST_TAG}); "
            "it was not registered with trademl.tracking.register_model"
        )
    manifest = parse_manifest(raw, where=f"model {name} v{version}")
    signed = verify_manifest_signature(
        manifest,
        mv.tags.get(SIGNATURE_TAG),
        subject=version_subject(name, version),
        allow_unsigned=allow_unsigned,
    )
    return manifest, signed


def parse_manifest(raw: str, *, where: str) -> dict[str, str]:
    try:
        manifest = json.loads(raw)
    except json.JSONDecodeError:
        manifest = None
    if not isinstance(manifest, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in manifest.items()
    ):
        raise IntegrityError(f"{where}: its SHA-256 manifest is not a JSON object of digests")
    return manifest


def _compare(name: str, version: int | str, recorded: dict, actual: dict) -> None:
    problems = {}
    for path, digest in recorded.items():
        if path not in actual:
            problems[path] = "missing"
        elif actual[path] != digest:
            problems[path] = f"sha256 {actual[path][:12]}… != recorded {digest[:12]}…"
    for path in actual.keys() - recorded.keys():
        problems[path] = "not in the manifest (added after registration)"
    if problems:
        detail = "; ".join(f"{path}: {what}" for path, what in sorted(problems.items()))
        raise IntegrityError(
            f"model {name} v{version} failed its integrity check, refusing it: {detail}",
            files=problems,
        )


def verify(
    name: str,
    version: int | str,
    *,
    path: str | Path | None = None,
    allow_unsigned: bool = False,
) -> dict[str, Any]:
    """Check a version's manifest signature and its files against the manifest; raise
    ``IntegrityError`` (``SignatureError`` for a missing or wrong signature).

    ``path`` checks an already downloaded copy instead of downloading one.
    ``allow_unsigned`` accepts a version without a signature (with a warning); a signature
    that does not match is refused regardless.
    """
    recorded, signed = recorded_manifest(name, version, allow_unsigned=allow_unsigned)
    local = Path(path) if path is not None else download_version(name, version)
    _compare(name, version, recorded, hash_directory(local))
    return {
        "name": name,
        "version": int(version),
        "files": len(recorded),
        "signed": signed,
        "path": str(local),
    }


def resolve_version(name: str, *, alias: str | None = None, version: int | None = None) -> int:
    if version is not None:
        _model_version(name, version)
        return int(version)
    alias = alias or "champion"
    try:
        mv = _store.client().get_model_version_by_alias(name, alias)
    except MlflowException:
        raise TrackingError(f"model {name!r} has no version with alias {alias!r}") from None
    return int(mv.version)


def load_model(
    name: str,
    *,
    alias: str | None = "champion",
    version: int | None = None,
    check_integrity: bool = True,
    allow_unsigned: bool = False,
):
    """Load a registered version as an ``mlflow.pyfunc`` model, verified before unpickling.

    The files are copied to a private folder, hashed there and loaded from there, so
    what is verified is exactly what is loaded. ``allow_unsigned`` accepts a version whose
    manifest has no signature; ``check_integrity=False`` skips every check and says so
    with an ``UnsignedModelWarning`` (unpickling runs whatever code the file holds).
    """
    import warnings

    import mlflow.pyfunc

    from trademl.package.signing import UnsignedModelWarning

    number = resolve_version(name, alias=alias, version=version)
    local = download_version(name, number)
    if check_integrity:
        verify(name, number, path=local, allow_unsigned=allow_unsigned)
    else:
        text = (
            f"model {name} v{number}: loading WITHOUT any integrity or signature check "
            "(check_integrity=False); its pickle runs whatever code it holds"
        )
        log.warning(text)
        warnings.warn(text, UnsignedModelWarning, stacklevel=2)
    model = mlflow.pyfunc.load_model(str(local))
    log.info("loaded model %s v%s from %s", name, number, local)
    return model
