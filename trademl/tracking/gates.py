"""Quality gates: a model version's recorded metrics against bounds from the spec."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from trademl.config.tracking import GateSpec

__all__ = ["check_gates", "describe_failures"]


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


def describe_failures(results: list[dict]) -> str:
    """``"deflated_sharpe = 0.91 < min 0.95 (short by 0.04)"``, one clause per failed gate."""
    clauses = []
    for r in results:
        if r["passed"]:
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
