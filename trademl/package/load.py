"""``load_model(uri)``: a model package from the registry or a run, verified before unpickling.

URIs: ``NAME@ALIAS`` (``btc@champion``), ``NAME/VERSION`` (``btc/3``), ``models:/NAME/3``,
``models:/NAME@ALIAS`` and ``runs:/RUN_ID`` (the run's ``model`` artifact). The files are
copied to a private folder, their SHA-256 compared with the manifest recorded when the
version was registered (or the model logged), and only then unpickled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from trademl.errors import SpecError
from trademl.package.model import ModelPackage

__all__ = ["ModelRef", "load_model", "parse_model_uri"]

RUN_MANIFEST_TAG = "trademl.sha256.{artifact}"
RUN_SIGNATURE_TAG = "trademl.sha256.{artifact}.signature"
_NAME = r"[^@/:]+"


@dataclass(frozen=True)
class ModelRef:
    """A parsed model URI: a registered name with a version or an alias, or a run."""

    name: str | None = None
    version: int | None = None
    alias: str | None = None
    run_id: str | None = None
    artifact: str = "model"

    def __str__(self) -> str:
        if self.run_id:
            return f"runs:/{self.run_id}/{self.artifact}"
        if self.version is not None:
            return f"{self.name}/{self.version}"
        return f"{self.name}@{self.alias}"


def parse_model_uri(uri: str) -> ModelRef:
    """``NAME@ALIAS``, ``NAME/VERSION``, ``models:/…`` or ``runs:/ID[/ARTIFACT]``."""
    text = str(uri).strip()
    if m := re.fullmatch(r"runs:/([0-9a-fA-F]+)(?:/([\w.-]+))?", text):
        return ModelRef(run_id=m.group(1), artifact=m.group(2) or "model")
    text = text.removeprefix("models:/")
    if m := re.fullmatch(rf"({_NAME})@([\w-]+)", text):
        return ModelRef(name=m.group(1), alias=m.group(2))
    if m := re.fullmatch(rf"({_NAME})/(\d+)", text):
        return ModelRef(name=m.group(1), version=int(m.group(2)))
    if re.fullmatch(_NAME, text):
        return ModelRef(name=text, alias="champion")
    raise SpecError(
        f"model {uri!r}: expected NAME@ALIAS, NAME/VERSION, models:/NAME/VERSION or runs:/RUN_ID"
    )


def run_subject(run_id: str, artifact: str) -> str:
    """What a run model's manifest signature is bound to."""
    return f"runs:/{run_id}/{artifact}"


def _download_run_model(ref: ModelRef, *, allow_unsigned: bool) -> tuple[Path, dict[str, str]]:
    import tempfile

    from mlflow.exceptions import MlflowException

    from trademl.tracking import _store
    from trademl.tracking.errors import IntegrityError, TrackingError

    client = _store.client()
    try:
        run = client.get_run(ref.run_id)
    except MlflowException:
        raise TrackingError(f"run {ref.run_id!r} not found in {_store.tracking_uri()}") from None
    raw = run.data.tags.get(RUN_MANIFEST_TAG.format(artifact=ref.artifact))
    if not raw:
        raise IntegrityError(
            f"run {ref.run_id} has no SHA-256 manifest for its {ref.artifact!r} model "
            "(it was not logged by trademl run); refusing to unpickle it"
        )
    from trademl.package.signing import verify_manifest_signature
    from trademl.tracking.integrity import parse_manifest

    manifest = parse_manifest(raw, where=f"run {ref.run_id}")
    verify_manifest_signature(
        manifest,
        run.data.tags.get(RUN_SIGNATURE_TAG.format(artifact=ref.artifact)),
        subject=run_subject(ref.run_id, ref.artifact),
        allow_unsigned=allow_unsigned,
    )
    folder = tempfile.mkdtemp(prefix="trademl-model-")
    try:
        local = _store.download_artifacts(
            artifact_uri=f"runs:/{ref.run_id}/{ref.artifact}", dst_path=folder
        )
    except (MlflowException, OSError):
        raise TrackingError(f"run {ref.run_id} has no {ref.artifact!r} model artifact") from None
    return Path(local), manifest


def load_model(
    uri: str, *, tracking_uri: str | None = None, allow_unsigned: bool = False
) -> ModelPackage:
    """The model package at ``uri``, its files checked against their SHA-256 manifest first.

    The manifest must carry a valid HMAC signature (``trademl.package.signing``);
    ``allow_unsigned`` accepts one without a signature, with a warning. There is no way
    to skip the SHA-256 check: unpickling an unchecked file runs whatever it holds.
    """
    import mlflow.pyfunc

    from trademl import tracking
    from trademl.tracking.errors import TrackingError
    from trademl.tracking.integrity import (
        _compare,
        download_version,
        hash_directory,
        resolve_version,
        verify,
    )

    ref = parse_model_uri(uri)
    tracking.configure() if tracking_uri is None else _configure_uri(tracking_uri)
    if ref.run_id:
        local, manifest = _download_run_model(ref, allow_unsigned=allow_unsigned)
        _compare(f"runs:/{ref.run_id}", ref.artifact, manifest, hash_directory(local))
    else:
        number = resolve_version(ref.name, alias=ref.alias, version=ref.version)
        local = download_version(ref.name, number)
        verify(ref.name, number, path=local, allow_unsigned=allow_unsigned)
    loaded = mlflow.pyfunc.load_model(str(local))
    package = getattr(loaded.unwrap_python_model(), "model", None)
    if not isinstance(package, ModelPackage):
        raise TrackingError(
            f"{uri}: not a trademl model package (found {type(package).__name__}); "
            "register it with trademl run"
        )
    return package


def _configure_uri(uri: str) -> None:
    from trademl import tracking
    from trademl.config.tracking import TrackingSpec

    tracking.configure(TrackingSpec(uri=uri))
