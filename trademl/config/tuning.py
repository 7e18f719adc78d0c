"""``tuning:`` section: the Optuna study (sampler, pruner, storage, objectives).

Search spaces themselves live beside the model (``model.search_space``) because their
names are the model's parameters; the range types are declared here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from trademl.config._base import SpecModel

__all__ = [
    "CategoricalRange",
    "FloatRange",
    "IntRange",
    "ParamRange",
    "TuningSpec",
]


def _metric_name(value: Any) -> str:
    """The registry's canonical name for ``value`` (``auc`` -> ``roc_auc``)."""
    from trademl.validation.metrics import get_metric

    if not isinstance(value, str):
        raise ValueError(f"expected a metric name, got {value!r}")
    return get_metric(value).name  # ValueError listing the valid names and aliases


Metric = Annotated[str, BeforeValidator(_metric_name)]


class IntRange(SpecModel):
    type: Literal["int"]
    low: int
    high: int
    step: int = Field(default=1, ge=1)
    log: bool = False

    @model_validator(mode="after")
    def _check(self) -> IntRange:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) must be <= high ({self.high})")
        if self.log and self.low < 1:
            raise ValueError(f"log scale needs low >= 1, got low={self.low}")
        if self.log and self.step != 1:
            raise ValueError("log scale and step > 1 cannot be combined")
        return self


class FloatRange(SpecModel):
    type: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> FloatRange:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) must be <= high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"log scale needs low > 0, got low={self.low}")
        if self.log and self.step is not None:
            raise ValueError("log scale and step cannot be combined")
        return self


class CategoricalRange(SpecModel):
    type: Literal["categorical"]
    choices: list[Any] = Field(min_length=1)


ParamRange = Annotated[IntRange | FloatRange | CategoricalRange, Field(discriminator="type")]


class TuningSpec(SpecModel):
    # 0 trials = no search: the model's params are used as they are
    n_trials: int = Field(default=20, ge=0, le=1_000_000)
    timeout: float | None = Field(default=None, gt=0)
    sampler: Literal["tpe", "random", "grid", "cmaes", "nsga2"] = "tpe"
    # auto = median for one objective, none for several (Optuna cannot prune those)
    pruner: Literal["auto", "median", "hyperband", "none"] = "auto"
    n_startup_trials: int = Field(default=5, ge=0)
    # the objective: one metric, or several for a Pareto front (e.g. [sharpe, turnover]);
    # any name or alias of the metric registry (trademl.validation.metrics), normalised
    # to its canonical name (auc -> roc_auc); see docs/metrics.md
    metric: Metric = "sharpe"
    objectives: list[Metric] | None = None
    # storage URL: None = sqlite:///optuna.db in the working directory (a study resumes by
    # name); with n_jobs > 1 the default is Optuna's journal file, safe for several processes
    storage: str | None = None
    study_name: str | None = None
    resume: bool = True
    n_jobs: int = Field(default=1, ge=1)
    # log every trial as a child MLflow run of the experiment run
    log_trials: bool = True
    plots: bool = True

    @model_validator(mode="after")
    def _check(self) -> TuningSpec:
        objectives = self.objectives or []
        if len(set(objectives)) != len(objectives):
            raise ValueError(f"objectives must be distinct, got {objectives}")
        if len(objectives) > 1 and self.pruner in ("median", "hyperband"):
            raise ValueError(
                f"pruner={self.pruner!r} cannot be used with several objectives "
                "(Optuna prunes single-objective studies only); use pruner: none"
            )
        if len(objectives) > 1 and self.sampler in ("cmaes", "tpe") and self.sampler == "cmaes":
            raise ValueError(
                "sampler 'cmaes' is single-objective; use nsga2 for several objectives"
            )
        return self

    @property
    def metrics(self) -> list[str]:
        """The objective metrics in order (one unless ``objectives`` lists several)."""
        return list(self.objectives) if self.objectives else [self.metric]

    @property
    def directions(self) -> list[str]:
        from trademl.validation.metrics import get_metric

        return [get_metric(m).optuna_direction for m in self.metrics]

    @property
    def pruner_name(self) -> str:
        if self.pruner == "auto":
            return "median" if len(self.metrics) == 1 else "none"
        return self.pruner
