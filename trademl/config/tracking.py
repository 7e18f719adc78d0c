"""``tracking:`` section: where runs and models are stored and what a promotion must pass."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from trademl.config._base import SpecModel

__all__ = ["GateSpec", "TrackingSpec"]

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
