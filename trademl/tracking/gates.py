"""Quality gates: a model version's recorded metrics against bounds from the spec, and the
plausibility bounds every promotion must pass (even with no gate configured)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from trademl.config.tracking import GateSpec, PlausibilitySpec

__all__ = [
    "AUC_METRICS",
    "ACCURACY_METRICS",
    "check_gates",
    "check_plausibility",
    "describe_failures",
    "gates_of_run",
    "plausibility_of_run",
]

# the run metrics each plausibility bound applies to (whichever the run recorded)
ACCURACY_METRICS = ("oos_accuracy", "oos_balanced_accuracy", "cv_accuracy", "cv_balanced_accuracy")
AUC_METRICS = ("oos_roc_auc", "oos_auc", "cv_roc_auc", "cv_auc")
_PLAUSIBLE = "implausibly high for a market direction model"
_LOOK_AHEAD_HINT = "check for look-ahead (features.modules, execution_lag)"


def _as_gate(metric: str, gate: GateSpec | Mapping[str, Any]) -> GateSpec:
    if isinstance(gate, GateSpec):
        return gate
    if not isinstance(gate, Mapping):
        raise ValueError(f"gate {metric!r} must be a mapping like {{min: 0.95}}, got {gate!r}")
    return GateSpec.model_validate(dict(gate))


def check_gates(
    gates: Mapping[str, GateSpec | Mapping[str, Any]],
    metrics: Mapping[str, float],
    champion_metrics: Mapping[str, float] | None = None,
) -> list[dict]:
    """One result per bound: ``{gate, bound, threshold, value, passed, margin, note}``.

    ``margin`` is how far the value is inside (>0) or outside (<0) the bound. A
    ``"champion"`` threshold passes when there is no champion to compare with, and
    fails when the champion did not record the metric.
    """
    results = []
    for metric, raw in gates.items():
        gate = _as_gate(metric, raw)
        for bound in ("min", "max"):
            threshold = getattr(gate, bound)
            if threshold is None:
                continue
            result = {"gate": metric, "bound": bound, "threshold": threshold, "note": ""}
            value = metrics.get(metric)
            result["value"] = value
            if threshold == "champion":
                if champion_metrics is None:
                    result.update(passed=True, margin=None, note="no champion to compare with")
                    results.append(result)
                    continue
                if champion_metrics.get(metric) is None:
                    result.update(passed=False, margin=None, note="the champion has no such metric")
                    results.append(result)
                    continue
                result["threshold"] = threshold = float(champion_metrics[metric])
                result["note"] = "the champion's value"
            if value is None or math.isnan(value):
                result.update(passed=False, margin=None, note="metric not recorded on the run")
                results.append(result)
                continue
            margin = value - threshold if bound == "min" else threshold - value
            result.update(passed=margin >= 0, margin=margin)
            results.append(result)
    return results


def gates_of_run(params: Mapping[str, str]) -> dict[str, GateSpec]:
    """The ``tracking.gates`` the run's own spec logged (flattened ``tracking.gates.M.min``
    params): what a promotion checks when it is given no gates."""
    bounds: dict[str, dict[str, Any]] = {}
    prefix = "tracking.gates."
    for key, text in params.items():
        if not key.startswith(prefix) or text in ("None", "null", ""):
            continue
        metric, _, bound = key[len(prefix) :].rpartition(".")
        if not metric or bound not in ("min", "max"):
            continue
        try:
            value: Any = text if text == "champion" else float(text)
        except ValueError:
            continue  # not a value this version wrote
        bounds.setdefault(metric, {})[bound] = value
    return {metric: GateSpec.model_validate(b) for metric, b in sorted(bounds.items())}


def plausibility_of_run(
    plausibility: PlausibilitySpec | Mapping[str, Any] | None, params: Mapping[str, str]
) -> PlausibilitySpec:
    """The bounds to apply: ``plausibility`` if given, else those the run's own spec logged
    (``tracking.plausibility.*`` params), else the defaults."""
    if isinstance(plausibility, PlausibilitySpec):
        return plausibility
    if plausibility is not None:
        if not isinstance(plausibility, Mapping):
            raise ValueError(
                "plausibility must be a mapping like {max_accuracy: 0.9, max_auc: 0.9}, "
                f"got {plausibility!r}"
            )
        return PlausibilitySpec.model_validate(dict(plausibility))
    logged = {}
    for field in PlausibilitySpec.model_fields:
        text = params.get(f"tracking.plausibility.{field}")
        if text is None:
            continue
        try:
            logged[field] = None if text in ("None", "null", "") else float(text)
        except ValueError:
            continue  # not a value this version wrote: keep the default
    try:
        return PlausibilitySpec.model_validate(logged)
    except ValueError:
        return PlausibilitySpec()


def check_plausibility(plausibility: PlausibilitySpec, metrics: Mapping[str, float]) -> list[dict]:
    """One result per recorded accuracy / AUC metric: refused (``passed`` False) at or
    above its bound. Same keys as :func:`check_gates`, with ``bound`` "plausible"."""
    results = []
    for field, names in (("max_accuracy", ACCURACY_METRICS), ("max_auc", AUC_METRICS)):
        threshold = getattr(plausibility, field)
        if threshold is None:
            continue
        for metric in names:
            value = metrics.get(metric)
            if value is None or math.isnan(value):
                continue
            results.append(
                {
                    "gate": metric,
                    "bound": "plausible",
                    "threshold": float(threshold),
                    "value": float(value),
                    "passed": value < threshold,
                    "margin": threshold - value,
                    "note": f"tracking.plausibility.{field}",
                }
            )
    return results


def describe_failures(results: list[dict]) -> str:
    """``"deflated_sharpe = 0.91 < min 0.95 (short by 0.04)"``, one clause per failed gate;
    implausible scores first, with what to look for."""
    implausible = [r for r in results if r["bound"] == "plausible" and not r["passed"]]
    clauses = []
    if implausible:
        named = [f"{r['gate']} = {r['value']:.6g} >= {r['threshold']:.6g}" for r in implausible]
        scores = ", ".join(named[:-1]) + " and " + named[-1] if len(named) > 1 else named[0]
        verb = "is" if len(implausible) == 1 else "are"
        clauses.append(f"{scores} {verb} {_PLAUSIBLE}; {_LOOK_AHEAD_HINT}")
    for r in results:
        if r["passed"] or r["bound"] == "plausible":
            continue
        if r["margin"] is None:
            clauses.append(f"{r['gate']}: {r['note']}")
            continue
        sign = "<" if r["bound"] == "min" else ">"
        source = f" ({r['note']})" if r["note"] else ""
        clauses.append(
            f"{r['gate']} = {r['value']:.6g} {sign} {r['bound']} {r['threshold']:.6g}{source}, "
            f"short by {-r['margin']:.4g}"
        )
    return "; ".join(clauses)
