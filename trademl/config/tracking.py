"""``tracking:`` section: where runs and models are stored and what a promotion must pass."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from trademl.config._base import SpecModel

__all__ = ["GateSpec", "PlausibilitySpec", "TrackingSpec", "model_name_problem"]


# what MLflow can track to: databases (SQLAlchemy), a tracking server, a local folder
TRACKING_SCHEMES = (
    "sqlite", "postgresql", "mysql", "mssql", "http", "https", "file", "databricks",
    "databricks-uc", "uc",
)  # fmt: skip


def check_tracking_uri(uri: str) -> str:
    """``uri`` when MLflow can use it: a known scheme, or a plain path (a file store)."""
    text = uri.strip()
    if "${" in text:  # an ${ENV} reference: checked once resolved, at use time
        return uri
    if "://" in text:
        scheme = text.split("://", 1)[0].split("+", 1)[0].lower()
        if scheme not in TRACKING_SCHEMES:
            raise ValueError(
                f"tracking URI {text!r}: unknown scheme {scheme!r} "
                f"(expected one of {', '.join(TRACKING_SCHEMES[:6])}, or a folder path)"
            )
    return uri


def model_name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a registered model name, or None when it can.

    ``/``, ``@`` and ``:`` would make ``NAME/VERSION`` and ``NAME@ALIAS`` ambiguous; a name
    holding both quote kinds cannot be quoted in an MLflow filter; control characters
    and surrounding spaces hide the name's real spelling.
    """
    if not isinstance(name, str) or not name.strip():
        return "must be a non-empty string"
    if name != name.strip():
        return "must not start or end with spaces"
    if any(ch in name for ch in "/@:"):
        return "must not contain '/', '@' or ':' (they separate versions and aliases)"
    if "'" in name and '"' in name:
        return "must not contain both ' and \" (it could not be quoted in a registry search)"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return "must not contain control characters"
    if len(name) > 256:
        return f"must be at most 256 characters, got {len(name)}"
    return None


Threshold = float | Literal["champion"]


class GateSpec(SpecModel):
    """A bound on one recorded run metric; ``"champion"`` means the current champion's value.

    ``{min: 0.95}`` requires metric >= 0.95; ``{min: champion}`` requires metric >= the
    champion's value of the same metric (passes when there is no champion yet).
    """

    min: Threshold | None = None
    max: Threshold | None = None

    @model_validator(mode="after")
    def _has_a_bound(self) -> GateSpec:
        if self.min is None and self.max is None:
            raise ValueError("a gate needs at least one of min or max")
        return self


class PlausibilitySpec(SpecModel):
    """Scores no honest market direction model reaches: a version whose run recorded one at
    or above a bound is refused promotion (a look-ahead leak is far likelier than skill).

    ``max_accuracy`` bounds ``oos_accuracy``, ``oos_balanced_accuracy``, ``cv_accuracy``
    and ``cv_balanced_accuracy``; ``max_auc`` bounds ``oos_roc_auc``, ``oos_auc``,
    ``cv_roc_auc`` and ``cv_auc`` (whichever the run recorded). ``null`` turns one off.
    """

    max_accuracy: float | None = Field(0.9, gt=0.5, le=1.0)
    max_auc: float | None = Field(0.9, gt=0.5, le=1.0)


class TrackingSpec(SpecModel):
    # False: the pipeline runs without MLflow (nothing is logged)
    enabled: bool = True
    # MLflow tracking URI; None: $MLFLOW_TRACKING_URI, else sqlite:///mlruns.db in the cwd
    uri: str | None = None
    # where artifacts of runs go for a database store; None: ./mlartifacts in the cwd
    artifact_root: str | None = None
    # experiment name; None: the spec's ``name``
    experiment: str | None = None
    # registered model name; None: the spec's ``name``
    model_name: str | None = None
    # metric name -> bound a model version must meet to be promoted
    gates: dict[str, GateSpec] = Field(default_factory=dict)
    # checked at every promotion, even with no gates: implausibly high accuracy / AUC
    plausibility: PlausibilitySpec = Field(default_factory=PlausibilitySpec)
    # refuse to promote a degenerate model (one side on > 95% of holdout bars, a
    # near-constant score, early stopping after a few rounds); see trademl.pipeline.degenerate
    refuse_degenerate: bool = True

    @field_validator("uri")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        return None if value is None else check_tracking_uri(value)

    @field_validator("model_name")
    @classmethod
    def _registrable(cls, value: str | None) -> str | None:
        problem = None if value is None else model_name_problem(value)
        if problem:
            raise ValueError(f"a model name {problem}")
        return value
