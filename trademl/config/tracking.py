"""``tracking:`` section: where runs and models are stored and what a promotion must pass."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from trademl.config._base import SpecModel

__all__ = ["GateSpec", "PlausibilitySpec", "TrackingSpec"]

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
